"""What the store keeps and hands back: tickets, transcript messages, outbox items, and the errors it raises."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from bot.core.conversation import ConversationKey
from bot.core.messages import Lang, Priority

Direction = Literal["in", "out"]
Clock = Callable[[], datetime]


class StoreError(Exception):
    """The store refused an operation (unknown ticket, illegal transition, unsupported schema, ...)."""


class TicketStatus(StrEnum):
    """Where a ticket is in its life; resolved and cancelled are final."""

    OPEN = "open"
    CLAIMED = "claimed"
    WAITING_USER = "waiting_user"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({TicketStatus.RESOLVED, TicketStatus.CANCELLED})

# The moves set_status allows; claim(), resolve() and cancel() follow the same table.
TRANSITIONS: Mapping[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OPEN: frozenset({TicketStatus.CLAIMED, TicketStatus.RESOLVED, TicketStatus.CANCELLED}),
    TicketStatus.CLAIMED: frozenset(
        {TicketStatus.OPEN, TicketStatus.WAITING_USER, TicketStatus.RESOLVED, TicketStatus.CANCELLED}
    ),
    TicketStatus.WAITING_USER: frozenset({TicketStatus.CLAIMED, TicketStatus.RESOLVED, TicketStatus.CANCELLED}),
    TicketStatus.RESOLVED: frozenset(),
    TicketStatus.CANCELLED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Ticket:
    """One escalation to a human agent; users quote it as `#<number>`."""

    number: int
    channel: str
    conversation_id: str  # the channel's conversation id
    channel_user_id: str
    status: TicketStatus
    priority: Priority
    category: str | None
    reason: str | None
    summary: str
    assignee: str | None
    lang: Lang
    created_at: datetime
    claimed_at: datetime | None
    first_reply_at: datetime | None
    resolved_at: datetime | None
    slack_ts: str | None

    @property
    def conversation_key(self) -> ConversationKey:
        """The (channel, conversation id) key of the ticket's conversation, e.g. for `Store.transcript`."""
        return (self.channel, self.conversation_id)

    @property
    def is_open(self) -> bool:
        """True until the ticket is resolved or cancelled."""
        return self.status not in FINAL_STATUSES


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One row of a ticket's audit log."""

    id: int
    ticket: int
    kind: str  # "opened", "claimed", "user_message", "agent_reply", "status", "resolved", "cancelled", "rated", ...
    actor: str
    detail: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message of a conversation's transcript (text as redacted by the caller)."""

    id: int
    channel: str
    conversation_id: str
    direction: Direction
    text: str
    platform_message_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredAttachment:
    """A file a user sent on a ticket: the channel's reference to it (a Telegram file id, a widget file path)."""

    id: int
    ticket: int
    channel: str
    kind: str
    ref: str
    mime_type: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A message waiting to be (or already) delivered by a channel adapter."""

    id: int
    channel: str
    conversation_id: str
    payload: dict[str, Any]
    status: Literal["pending", "sent", "failed"]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class TicketStats:
    """Service figures over the tickets opened since a moment; None where there is no data."""

    opened: int
    median_seconds_to_claim: float | None
    median_seconds_to_resolve: float | None
    csat_average: float | None
    csat_count: int


@dataclass(frozen=True, slots=True)
class ArticleVotes:
    """The help center's "was this helpful?" answers for one entry."""

    entry_id: str
    helpful: int
    not_helpful: int


@dataclass(frozen=True, slots=True)
class UserTicket:
    """A ticket as its user's list shows it: the ticket and when anything last happened on it."""

    ticket: Ticket
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxDepth:
    """Replies waiting for delivery, and when the oldest of them was queued (None when there is none)."""

    pending: int
    oldest_created_at: datetime | None


def utc_now() -> datetime:
    """The default clock: the current time in UTC."""
    return datetime.now(UTC)
