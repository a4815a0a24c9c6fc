"""What every router step shares: the turn it works on, the outcome that ends a turn, the handler interface of the
deciding steps, and the middleware that runs around them.

Steps decide; they do not act: what should happen to tickets is returned as effects in the Outcome."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from bot.core.conversation import ConversationState, TicketView
from bot.core.effects import Effect
from bot.core.messages import Decision, InboundMessage, Lang, Reply
from bot.core.middleware import Middleware

if TYPE_CHECKING:
    from bot.knowledge.ranker import Ranking

MatchT = TypeVar("MatchT")


@dataclass(frozen=True, slots=True)
class Turn:
    """One message on its way through the steps."""

    message: InboundMessage  # its text is what later steps read: redacted, secret-bearing clauses dropped
    lang: Lang  # the language to reply in
    text_lang: Lang  # the language the text is written in, for matching
    state: ConversationState
    ticket: TicketView | None = None  # the conversation's ticket (state.ticket) as loaded with the state
    tickets: tuple[TicketView, ...] = ()  # its latest tickets, most recently updated first, loaded with the state
    notices: tuple[Reply, ...] = ()  # replies sent before the deciding step's own, e.g. the secret warning
    secret_kinds: frozenset[str] = frozenset()
    redacted_text: str | None = None  # the whole message with secrets replaced: what may be stored and logged
    # The conversation's last messages as stored, (row id, text), oldest first: given when this one may continue a
    # seed phrase sent in parts. The guard fills `redact_earlier` with those it redacted again: (row id, new text).
    earlier: tuple[tuple[int, str], ...] = ()
    redact_earlier: tuple[tuple[int, str], ...] = ()
    relay_hold: float = 0.0  # seconds to hold its relay to agents: it may be the first part of a seed phrase
    ranking: Ranking | None = None  # FAQ entries and escalation intents for the text, once the ranking step ran

    @property
    def said(self) -> str:
        """The whole message as it may be stored and shown to agents: secrets replaced, no clause dropped."""
        return self.redacted_text if self.redacted_text is not None else self.message.text


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a turn ends: the decision, the replies, the conversation's new state, and the effects the desk applies
    with them in one transaction."""

    decision: Decision
    replies: tuple[Reply, ...]
    state: ConversationState
    effects: tuple[Effect, ...] = ()


# Around the deciding handlers (the secret guard, the ticket pass-throughs): each gets the turn and `next`, the
# rest of the chain (the middleware after it, then the handlers), and returns the turn's Outcome.
NextStep = Callable[[Turn], Awaitable[Outcome]]
TurnMiddleware = Middleware[Turn, Outcome]


class Handler(ABC, Generic[MatchT]):
    """A deciding step: `check` returns match data (or None to pass), `handle` receives it.

    `handle` returns an Outcome to end the turn, or a changed Turn for the next step (the ranking step only adds
    the ranking, for the steps after it, when no step before it decided).
    """

    @abstractmethod
    def check(self, turn: Turn) -> MatchT | None:
        """Match data if this step applies to the turn, else None."""

    @abstractmethod
    async def handle(self, turn: Turn, match: MatchT) -> Turn | Outcome:
        """Act on a turn this step matched."""
