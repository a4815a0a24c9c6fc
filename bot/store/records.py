"""What the store hands back: the clock it stamps rows with, and the records of its API (defined elsewhere)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core.ports import Direction, OutboxDepth, OutboxItem, StoredMessage, StoreError
from bot.desk.domain import (
    FINAL_STATUSES,
    TRANSITIONS,
    StoredAttachment,
    Ticket,
    TicketEvent,
    TicketRefused,
    TicketStats,
    TicketStatus,
    UserTicket,
)

# The records the store's API returns live with their domain (tickets) or the core's ports (transcript, outbox);
# they are named here too so the store's callers find them where the API is.
__all__ = [
    "FINAL_STATUSES",
    "TRANSITIONS",
    "ArticleVotes",
    "Clock",
    "Direction",
    "OutboxDepth",
    "OutboxItem",
    "StoreError",
    "StoredAttachment",
    "StoredMessage",
    "Ticket",
    "TicketEvent",
    "TicketRefused",
    "TicketStats",
    "TicketStatus",
    "UserTicket",
    "WebchatSession",
    "utc_now",
]

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class ArticleVotes:
    """The help center's "was this helpful?" answers for one entry."""

    entry_id: str
    helpful: int
    not_helpful: int


def utc_now() -> datetime:
    """The default clock: the current time in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WebchatSession:
    """A widget session as the store knows it: its conversation's times, and whether it was revoked."""

    session_id: str
    created_at: datetime
    last_active_at: datetime
    revoked_at: datetime | None
