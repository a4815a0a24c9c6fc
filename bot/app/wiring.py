"""Wiring: builds the router and its parts from config. The one place that knows every concrete class."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.app.config import Config, ConfigError
from bot.core.commit import MessageCommit
from bot.core.conversation import ConversationStates, InMemoryConversationStates
from bot.core.desk_middleware import Dedup, DeskMiddleware, ErrorApology, FloodControl
from bot.core.messages import Lang
from bot.core.metrics import Metrics
from bot.core.outbox import Outbox
from bot.core.pipeline import Desk
from bot.core.ports import Channel
from bot.core.router import Router
from bot.desk.agents import AgentNotifier
from bot.desk.notifications import AgentRelay
from bot.desk.tickets import TicketDesk
from bot.knowledge.examples import load_examples
from bot.knowledge.fitted import fitted_weights
from bot.knowledge.intents import intent_kind, load_intents, load_other_products
from bot.knowledge.knowledge_base import KnowledgeBase, default_faq_dir, load_knowledge_base
from bot.knowledge.matcher import FaqMatcher
from bot.knowledge.ranker import Ranker
from bot.knowledge.semantic import EmbeddingCache, load_encoder
from bot.knowledge.texts import ReplyTexts
from bot.security.secret_scanner import SecretScanner
from bot.store import SqliteConversationStates, StorePort, open_store
from handlers.base import Handler, TurnMiddleware
from handlers.commands import CommandAction, CommandHandler, CommandsFirst, GeneralCommands
from handlers.escalation import MAX_RELATED_ARTICLES, Categorizer, EscalationHandler, Escalator, RelatedArticles
from handlers.fallback import FallbackHandler
from handlers.faq_answer import FaqAnswerHandler
from handlers.pattern_decline import (
    ADVICE_ENTRY_ID,
    ILLEGAL_ENTRY_ID,
    SMALL_TALK_ENTRY_ID,
    PatternDeclineHandler,
    asks_for_advice,
    asks_for_creative_writing,
    asks_for_scam_material,
)
from handlers.replies import ReplyBuilder
from handlers.secret_guard import SecretGuard, SecretOnlyHandler
from handlers.ticket_list import TicketList
from handlers.tickets import IntakeHandler, RatingPassThrough, TicketCommands, TicketForm, TicketRelay
from handlers.understanding import RankingStep


@dataclass(frozen=True, slots=True)
class Core:
    """The parts every channel shares."""

    config: Config
    kb: KnowledgeBase
    matcher: FaqMatcher  # the ranker's lexical stage (knowledge base and escalation intents)
    ranker: Ranker
    scanner: SecretScanner
    router: Router


def build_core(
    config: Config,
    kb: KnowledgeBase | None = None,
    ranker: Ranker | None = None,
    scanner: SecretScanner | None = None,
    states: ConversationStates | None = None,
    with_tickets: bool = False,
    texts: ReplyTexts | None = None,
) -> Core:
    """Build the router. Without tickets an escalation is a decision only (as `omnidesk classify` wants)."""
    faq_dir = Path(config.faq_path) if config.faq_path else None
    kb = kb or load_knowledge_base(faq_dir)
    ranker = ranker or build_ranker(config, kb)
    matcher = ranker.matcher
    scanner = scanner or SecretScanner()
    scanner.load_chinese_words()  # the router scans every message in the event loop
    texts = texts or ReplyTexts(config.brand)
    replies = ReplyBuilder(kb, config.brand, texts)
    escalator = Escalator(
        replies,
        with_tickets,
        # half the clarify bar: a category only picks two skippable intake questions, and the escalation intent
        # the message matched takes part of the lexical confidence
        faq_categorizer(kb, matcher, config.matcher.clarify / 2),
        related_entries(matcher, config.matcher.clarify),
    )
    # Middleware around the deciding handlers, outermost first: the guard redacts before anything reads the text;
    # with a ticket in progress its own commands, then a rating or a follow-up for agents, take the message.
    middlewares: list[TurnMiddleware] = [SecretGuard(scanner, texts, config.agents.relay_hold_seconds)]
    if with_tickets:
        general = GeneralCommands(kb, replies, escalator).by_name()
        ticket_commands: dict[str, CommandAction] = {
            **TicketCommands(texts).by_name(),
            # The bot's own commands work while a ticket is open too, instead of reaching the agent as text (/human
            # stays a follow-up: it asks the agent who already has the ticket).
            **{name: general[name] for name in ("start", "help", "lang", "faq", "category")},
            **TicketList(texts).by_name(),
            # The web form's ticket: before the relay, so an open ticket gets the form's text as a follow-up.
            **TicketForm(escalator, texts, frozenset(c.slug for c in kb.browsable_categories)).by_name(),
        }
        middlewares += [CommandsFirst(ticket_commands), RatingPassThrough(texts), TicketRelay(texts)]
    # Commands by name: register one by adding its name and what runs it (see handlers.commands.GeneralCommands).
    commands: dict[str, CommandAction] = GeneralCommands(kb, replies, escalator).by_name()
    steps: list[Handler[Any]] = [SecretOnlyHandler()]
    if with_tickets:
        steps.append(IntakeHandler(escalator, texts))
    other_products = load_other_products(faq_dir, (config.brand.name,))
    steps += [
        CommandHandler(commands, texts),
        # before the escalation step: "write a story about a withdrawal that never arrives" is no incident
        PatternDeclineHandler(kb, replies, SMALL_TALK_ENTRY_ID, asks_for_creative_writing, SMALL_TALK_ENTRY_ID),
        RankingStep(
            ranker,
            config.matcher.clarify,
            config.matcher.answer,
            kb.declining_ids,
        ),
        EscalationHandler(
            escalator,
            config.matcher.escalate,
            config.matcher.self_caused,
            other_products,
            # another person said to have acted: the security intent where the ranking would offer choices is enough
            suspected_at=config.matcher.clarify,
        ),
        # so "should I buy BTC after my deposit arrives" is never answered with an FAQ entry
        PatternDeclineHandler(kb, replies, ADVICE_ENTRY_ID, asks_for_advice, "investment_advice"),
        PatternDeclineHandler(kb, replies, ILLEGAL_ENTRY_ID, asks_for_scam_material, ILLEGAL_ENTRY_ID),
        FaqAnswerHandler(kb, ranker, config.matcher, replies, other_products),
        FallbackHandler(replies, escalator),
    ]
    router = Router(middlewares, steps, states or InMemoryConversationStates(), config.default_language)
    return Core(config, kb, matcher, ranker, scanner, router)


def shipped_embeddings(faq_dir: Path | None) -> Path:
    """Where the knowledge base's embeddings are shipped beside it (`omnidesk faq embed` writes them)."""
    return (faq_dir or default_faq_dir()) / "embeddings"


def build_ranker(config: Config, kb: KnowledgeBase) -> Ranker:
    """The knowledge base and escalation intents, ranked lexically and, unless `matcher.encoder` is none,
    semantically with the fitted fusion weights (the knowledge base's embeddings cached in `matcher.cache_dir`)."""
    faq_dir = Path(config.faq_path) if config.faq_path else None
    name = config.matcher.encoder
    try:
        encoder = None if name == "none" else load_encoder(name)
    except (ImportError, OSError, RuntimeError) as exc:  # a missing package or an engine this machine cannot run
        raise ConfigError(
            f"config key 'matcher.encoder': the {name} encoder could not be loaded ({exc}); "
            "install it, or set OMNIDESK_ENCODER=none for the lexical ranker alone"
        ) from None
    cache = EmbeddingCache(Path(config.matcher.cache_dir).expanduser(), shipped_embeddings(faq_dir))
    weights = fitted_weights(encoder.name if encoder else None)
    return Ranker.build(kb, load_intents(faq_dir), encoder, cache, weights, load_examples(faq_dir))


def faq_categorizer(kb: KnowledgeBase, matcher: FaqMatcher, min_confidence: float) -> Categorizer:
    """The category of the entry a message is most likely about, to choose the questions for its ticket."""

    def categorize(text: str, lang: Lang) -> str | None:
        # the best FAQ entry: an escalation intent ("talk to a person") names no category
        candidates = [c for c in matcher.match(text, lang, limit=4) if intent_kind(c.entry_id) is None]
        if not candidates or candidates[0].confidence < min_confidence:
            return None
        entry = kb.entry(candidates[0].entry_id)
        return entry.category if entry is not None and entry.kind == "answer" else None

    return categorize


def related_entries(matcher: FaqMatcher, min_confidence: float) -> RelatedArticles:
    """The entries (up to three) close enough to a written request to be worth reading while it waits for an agent."""

    def related(text: str, lang: Lang) -> list[str]:
        return [
            c.entry_id
            for c in matcher.match(text, lang, limit=MAX_RELATED_ARTICLES)
            if c.confidence >= min_confidence and intent_kind(c.entry_id) is None  # intents have no article
        ]

    return related


@dataclass(frozen=True, slots=True)
class Runtime:
    """A running OmniDesk: the core, its store, and the services around them."""

    core: Core
    store: StorePort
    outbox: Outbox
    tickets: TicketDesk
    agents: AgentRelay  # the agents' tools (Slack) are added to its notifiers
    desk: Desk
    channels: dict[str, Channel]

    async def close(self) -> None:
        """Finish the deliveries running in the background and close the store."""
        await self.outbox.drain()
        await self.store.close()


async def open_runtime(
    config: Config,
    channels: dict[str, Channel] | None = None,
    notifiers: list[AgentNotifier] | None = None,
    core_parts: Core | None = None,
    deliver_now: bool = True,
) -> Runtime:
    """Open the store (`config.store.url`, else SQLite at `config.store.path`) and wire tickets, delivery and the router around it.

    `channels` may be filled in later (adapters often need the desk first); `core_parts` reuses a built
    knowledge base, matcher and scanner; without `deliver_now` replies are only queued for a running OmniDesk.
    """
    # A process that only queues (the agent CLI) leaves its replies unleased, for any running instance to send.
    store = await open_store(
        config.store.url,
        config.store.path,
        lease_new_outbox=deliver_now,
        outbox_lease=timedelta(seconds=config.store.outbox_lease_seconds),
    )
    channels = channels if channels is not None else {}
    metrics = Metrics()
    agents = AgentRelay(store, notifiers or [])
    outbox = Outbox(store, channels, deliver_now=deliver_now, metrics=metrics, agents=agents)
    states = SqliteConversationStates(store)
    parts = core_parts
    scanner = parts.scanner if parts else SecretScanner()
    texts = ReplyTexts(config.brand)
    tickets = TicketDesk(store, outbox, texts, scanner, agents)
    core = build_core(
        config,
        kb=parts.kb if parts else None,
        ranker=parts.ranker if parts else None,
        scanner=scanner,
        states=states,
        with_tickets=True,
        texts=texts,
    )
    commit = MessageCommit(store, outbox, texts)
    reply_lang = core.router.reply_lang
    desk_middlewares: list[DeskMiddleware] = [
        # Outermost first: a handled message is skipped before it counts against the user's limit, and the
        # apology answers only what failed in deciding or committing.
        Dedup(store),
        FloodControl(commit, core.scanner, texts, reply_lang),
        ErrorApology(commit, core.scanner, texts, reply_lang),
    ]
    desk = Desk(core.router, store, commit, desk_middlewares, core.scanner, metrics)
    return Runtime(core, store, outbox, tickets, agents, desk, channels)
