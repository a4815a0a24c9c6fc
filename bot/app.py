"""Wiring: builds the router and its parts from config. The one place that knows every concrete class."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.config import Config
from bot.conversation import ConversationStates, InMemoryConversationStates
from bot.knowledge_base import KnowledgeBase, load_knowledge_base
from bot.matcher import FaqMatcher
from bot.router import Router
from bot.secret_scanner import SecretScanner
from bot.texts import ReplyTexts
from handlers.commands import CommandHandler
from handlers.escalation import EscalationHandler
from handlers.fallback import FallbackHandler
from handlers.faq_answer import FaqAnswerHandler
from handlers.investment_advice import InvestmentAdviceHandler
from handlers.replies import ReplyBuilder
from handlers.secret_guard import SecretGuard, SecretOnlyHandler


@dataclass(frozen=True, slots=True)
class Core:
    """The parts every channel shares."""

    config: Config
    kb: KnowledgeBase
    matcher: FaqMatcher
    scanner: SecretScanner
    router: Router


def build_core(
    config: Config,
    kb: KnowledgeBase | None = None,
    matcher: FaqMatcher | None = None,
    scanner: SecretScanner | None = None,
    states: ConversationStates | None = None,
) -> Core:
    """Build the router with its steps in order: guard, commands, escalation, advice, FAQ, fallback."""
    kb = kb or load_knowledge_base(Path(config.faq_path) if config.faq_path else None)
    matcher = matcher or FaqMatcher.from_knowledge_base(kb)
    scanner = scanner or SecretScanner()
    texts = ReplyTexts(config.brand)
    replies = ReplyBuilder(kb, config.brand, texts)
    handlers = (
        SecretGuard(scanner, texts),
        SecretOnlyHandler(),
        CommandHandler(kb, replies),
        EscalationHandler(replies),
        InvestmentAdviceHandler(kb, replies),
        FaqAnswerHandler(kb, matcher, config.matcher, replies),
        FallbackHandler(replies),
    )
    router = Router(handlers, states or InMemoryConversationStates(), config.default_language)
    return Core(config, kb, matcher, scanner, router)
