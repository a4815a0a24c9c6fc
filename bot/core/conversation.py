"""Per-conversation memory the router needs between messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.core.messages import Lang, Priority, Suggestion

ConversationKey = tuple[str, str]  # (channel, conversation id)
# How many of a conversation's tickets are loaded with its state (most recently updated first), for `/tickets`.
LISTED_TICKETS = 5


@dataclass(frozen=True, slots=True)
class Intake:
    """An escalation collecting details before its ticket opens: at most two short, skippable questions."""

    reason: str
    priority: Priority
    category: str | None  # the knowledge-base category the questions are chosen for
    summary: str  # the (redacted) message that asked for a person
    questions: tuple[str, ...]  # keys of the questions still to ask, next first
    answers: tuple[str, ...] = ()  # redacted answers so far


@dataclass(frozen=True, slots=True)
class ConversationState:
    """The user's language, misses in a row, the last choices offered, and where an escalation stands."""

    lang_choice: Lang | None = None  # set by /lang; wins over detection
    last_lang: Lang | None = None
    misses: int = 0
    last_suggestions: tuple[Suggestion, ...] = ()
    intake: Intake | None = None  # set while details for a new ticket are being asked
    ticket: int | None = None  # the open ticket messages are relayed to; FAQ answers pause meanwhile
    rating_for: int | None = None  # a resolved ticket whose 1-5 rating is awaited


@dataclass(frozen=True, slots=True)
class TicketView:
    """What the deciding steps may know of the conversation's ticket: read with its state, never changed by them."""

    number: int
    status: str  # a TicketStatus value: "open", "claimed", "waiting_user", "resolved", "cancelled"
    priority: Priority
    updated_at: datetime | None = None  # when anything last happened on it (in the conversation's ticket list)

    @property
    def is_open(self) -> bool:
        """True until the ticket is resolved or cancelled."""
        return self.status not in ("resolved", "cancelled")


@dataclass(frozen=True, slots=True)
class ConversationSnapshot:
    """A conversation as loaded to handle one message: its state, its ticket, the version both were read at, and its
    latest tickets."""

    state: ConversationState
    ticket: TicketView | None = None
    version: int = 0  # the message's transaction commits only if the conversation is still at this version
    tickets: tuple[TicketView, ...] = ()  # its latest tickets (at most LISTED_TICKETS), most recently updated first


class ConversationStates(Protocol):
    """Where conversation state is kept between messages."""

    async def get(self, key: ConversationKey) -> ConversationState:
        """The state of a conversation (a fresh one if unknown)."""
        ...

    async def put(self, key: ConversationKey, state: ConversationState) -> None:
        """Remember a conversation's new state."""
        ...


class InMemoryConversationStates:
    """Conversation state in a dict: for the CLI and tests, and until the SQLite store takes over."""

    def __init__(self) -> None:
        self._states: dict[ConversationKey, ConversationState] = {}

    async def get(self, key: ConversationKey) -> ConversationState:
        """The state of a conversation (a fresh one if unknown)."""
        return self._states.get(key, ConversationState())

    async def put(self, key: ConversationKey, state: ConversationState) -> None:
        """Remember a conversation's new state."""
        self._states[key] = state
