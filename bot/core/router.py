"""The one entry point every channel calls: a message in, the decision and replies out."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.conversation import ConversationState, ConversationStates, TicketView
from bot.core.effects import Effect
from bot.core.handler import Handler, Outcome, Turn, TurnMiddleware
from bot.core.messages import Action, Decision, InboundMessage, Lang, Reply
from bot.core.middleware import chained
from bot.knowledge.language import detect_language

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RouterResult:
    """What the router did with one message."""

    decision: Decision
    replies: tuple[Reply, ...]
    redacted_text: str  # the message as it may be stored and logged
    secret_kinds: frozenset[str]
    state: ConversationState  # the conversation's state after this message
    effects: tuple[Effect, ...] = ()  # for the desk to apply with the message (open ticket, follow-up, ...)
    # Earlier messages of the conversation to store redacted, (row id, new text): a seed phrase sent in parts.
    redact_earlier: tuple[tuple[int, str], ...] = ()

    @property
    def secret_detected(self) -> bool:
        """True when the guard redacted something."""
        return bool(self.secret_kinds)


class Router:
    """Runs each message through the middleware (the secret guard, the ticket pass-throughs), then the deciding
    handlers in order until one decides."""

    def __init__(
        self,
        middlewares: Sequence[TurnMiddleware],
        handlers: Sequence[Handler[Any]],
        states: ConversationStates,
        default_lang: Lang = "en",
    ) -> None:
        if not handlers:
            raise ValueError("the router needs at least one handler")
        self._middlewares = tuple(middlewares)
        self._handlers = tuple(handlers)
        self._states = states
        self._default_lang: Lang = default_lang

    def with_states(self, states: ConversationStates) -> Router:
        """The same steps keeping conversation state elsewhere (e.g. one message on its own)."""
        return Router(self._middlewares, self._handlers, states, self._default_lang)

    async def route(self, message: InboundMessage) -> RouterResult:
        """Decide and reply; the conversation's state is updated."""
        key = (message.channel, message.conversation_id)
        result = await self.decide(message, await self._states.get(key))
        await self._states.put(key, result.state)
        return result

    async def decide(
        self,
        message: InboundMessage,
        state: ConversationState,
        ticket: TicketView | None = None,
        earlier: Sequence[tuple[int, str]] = (),
        tickets: Sequence[TicketView] = (),
    ) -> RouterResult:
        """Decide and reply from the conversation's `state` (and its `ticket`), without saving or changing anything:
        the caller applies the result with the message in one transaction (see Desk). `earlier`: the conversation's
        last stored messages (row id, text), when this one may continue a seed phrase sent in parts; `tickets`: its
        latest tickets."""
        turn = dataclasses.replace(self._start(message, state, ticket), earlier=tuple(earlier), tickets=tuple(tickets))
        outcome, last_turn = await self._run(turn)
        redacted = last_turn.redacted_text if last_turn.redacted_text is not None else message.text
        result = RouterResult(
            outcome.decision,
            outcome.replies,
            redacted,
            last_turn.secret_kinds,
            outcome.state,
            outcome.effects,
            last_turn.redact_earlier,
        )
        # One line per message would be most of an INFO log (and of the redaction filter's work) under load: the
        # routine ones are DEBUG, escalations INFO; /metrics and `omnidesk report` count everything.
        log.log(
            logging.INFO if result.decision.action is Action.ESCALATE else logging.DEBUG,
            "routed channel=%s conversation=%s action=%s faq=%s confidence=%.2f reason=%s secret=%s",
            message.channel,
            message.conversation_id,
            result.decision.action.value,
            result.decision.faq_id,
            result.decision.confidence,
            result.decision.reason,
            ",".join(sorted(result.secret_kinds)) or "-",
        )
        return result

    def reply_lang(self, message: InboundMessage, state: ConversationState) -> Lang:
        """The language to answer `message` in: the user's /lang choice, else the message's own."""
        return state.lang_choice or self._text_lang(message, state)

    def _text_lang(self, message: InboundMessage, state: ConversationState) -> Lang:
        return detect_language(message.text) or state.last_lang or message.lang_hint or self._default_lang

    def _start(self, message: InboundMessage, state: ConversationState, ticket: TicketView | None) -> Turn:
        text_lang = self._text_lang(message, state)
        lang = state.lang_choice or text_lang
        state = dataclasses.replace(state, last_lang=lang)
        return Turn(message=message, lang=lang, text_lang=text_lang, state=state, ticket=ticket)

    async def _run(self, turn: Turn) -> tuple[Outcome, Turn]:
        """The outcome, and the turn as the step that decided saw it (redacted): what is stored and logged."""
        seen: list[Turn] = []

        async def decide(turn: Turn) -> Outcome:
            outcome, decided_on = await self._decide(turn)
            seen.append(decided_on)
            return outcome

        return await chained(self._middlewares, decide, seen)(turn), seen[-1]

    async def _decide(self, turn: Turn) -> tuple[Outcome, Turn]:
        """The deciding handler's outcome, and the turn it decided on."""
        for handler in self._handlers:
            match = handler.check(turn)
            if match is None:
                continue
            result = await handler.handle(turn, match)
            if isinstance(result, Outcome):
                return result, turn
            turn = result
        raise RuntimeError("no handler decided; the last handler must always apply")
