"""The ticket domain: statuses, the moves between them, and the refusals, whatever store keeps the tickets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from bot.core.conversation import ConversationKey
from bot.core.messages import Lang, Priority
from bot.core.ports import StoreError


class TicketRefused(StoreError):
    """A ticket operation the rules do not allow (a final ticket claimed, a second rating, an illegal move)."""


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


UserStatus = Literal["submitted", "in_progress", "waiting_for_you", "resolved", "cancelled"]
# What users are told ("My tickets", /tickets): the exchange's support guide speaks of submitted / in progress /
# replied, not of claims.
USER_STATUS: Mapping[TicketStatus, UserStatus] = MappingProxyType(
    {
        TicketStatus.OPEN: "submitted",
        TicketStatus.CLAIMED: "in_progress",
        TicketStatus.WAITING_USER: "waiting_for_you",
        TicketStatus.RESOLVED: "resolved",
        TicketStatus.CANCELLED: "cancelled",
    }
)


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

    @property
    def conversation_key(self) -> ConversationKey:
        """The (channel, conversation id) key of the ticket's conversation, e.g. for `Store.transcript`."""
        return (self.channel, self.conversation_id)

    @property
    def is_open(self) -> bool:
        """True until the ticket is resolved or cancelled."""
        return self.status not in FINAL_STATUSES


@dataclass(frozen=True, slots=True)
class UserTicket:
    """A ticket as its user's list shows it: the ticket and when anything last happened on it."""

    ticket: Ticket
    updated_at: datetime


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
class TicketStats:
    """Service figures over the tickets opened since a moment; None where there is no data."""

    opened: int
    median_seconds_to_claim: float | None
    median_seconds_to_resolve: float | None
    csat_average: float | None
    csat_count: int


def check_claim(ticket: Ticket, agent: str) -> TicketStatus:
    """The status a claim by `agent` leaves the ticket in; TicketRefused when it cannot be claimed."""
    if ticket.status in FINAL_STATUSES:
        raise TicketRefused(f"ticket #{ticket.number} is {ticket.status.value}; it cannot be claimed")
    if ticket.assignee == agent and ticket.status != TicketStatus.OPEN:
        raise TicketRefused(f"ticket #{ticket.number} is already claimed by {agent}")
    return TicketStatus.CLAIMED if ticket.status == TicketStatus.OPEN else ticket.status


def check_transition(ticket: Ticket, new: TicketStatus) -> None:
    """TicketRefused unless the ticket may move to `new`."""
    if new not in TRANSITIONS[ticket.status]:
        raise TicketRefused(f"ticket #{ticket.number} is {ticket.status.value}; it cannot become {new.value}")


def check_agent_reply(ticket: Ticket) -> None:
    """TicketRefused when the ticket is finished."""
    if ticket.status in FINAL_STATUSES:
        raise TicketRefused(f"ticket #{ticket.number} is {ticket.status.value}; it cannot be replied to")


def check_rating(ticket: Ticket, rating: int, already_rated: bool) -> None:
    """TicketRefused unless `rating` is 1-5 for a resolved ticket not rated yet."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise TicketRefused(f"a rating must be a whole number from 1 to 5, not {rating!r}")
    if ticket.status != TicketStatus.RESOLVED:
        raise TicketRefused(f"ticket #{ticket.number} is {ticket.status.value}; only resolved tickets can be rated")
    if already_rated:
        raise TicketRefused(f"ticket #{ticket.number} has already been rated")
