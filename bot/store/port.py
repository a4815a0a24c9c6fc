"""The store's port: the API every caller uses, implemented by the SQLite `Store` and the PostgreSQL `PgStore`.

A `typing.Protocol` rather than one class over two engine backends: the engines differ in how a call runs (SQLite:
synchronous SQL on one thread with group commit; PostgreSQL: asyncpg coroutines on a pool), so a shared class would
force one engine into the other's shape. mypy checks that both classes implement this port (see the assignments
at the bottom), and callers depend on nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.core.conversation import ConversationKey, ConversationState
from bot.core.messages import Decision, Lang, Priority
from bot.core.ports import ConversationMoves, MessageStore, OutboxStore
from bot.store.records import (
    ArticleVotes,
    Direction,
    OutboxDepth,
    OutboxItem,
    StoredAttachment,
    StoredMessage,
    Ticket,
    TicketEvent,
    TicketStats,
    TicketStatus,
    UserTicket,
    WebchatSession,
)


class Leadership(Protocol):
    """An election for a role one instance plays at a time: `acquire` waits until this instance leads; `lost` is
    set if it can no longer be sure it does."""

    lost: asyncio.Event

    async def try_acquire(self) -> bool: ...

    async def acquire(self) -> None: ...

    async def release(self) -> None: ...


class StorePort(MessageStore, OutboxStore, ConversationMoves, Protocol):
    """All persistent state of OmniDesk; every method returns only once its effect is committed."""

    async def close(self) -> None:
        """Finish what is queued and close; safe to call twice."""
        ...

    def leadership(self, name: str) -> Leadership:
        """The election for a role only one instance may play at a time (the pollers)."""
        ...

    async def load_conversation_state(self, key: ConversationKey) -> ConversationState:
        """The router's memory of a conversation (a fresh state if unknown)."""
        ...

    async def save_conversation_state(self, key: ConversationKey, state: ConversationState) -> None:
        """Remember the router's memory of a conversation."""
        ...

    async def record_message(
        self,
        channel: str,
        conversation_id: str,
        direction: Direction,
        text: str,
        platform_message_id: str | None = None,
        channel_user_id: str | None = None,
        decision: Decision | None = None,
    ) -> StoredMessage:
        """Append a message (text ALREADY REDACTED) to the transcript; a user's message is logged on an open ticket."""
        ...

    async def open_ticket(
        self,
        channel: str,
        conversation_id: str,
        channel_user_id: str,
        lang: Lang,
        priority: Priority,
        category: str | None,
        reason: str | None,
        summary: str,
    ) -> Ticket:
        """Open a ticket for a conversation; fails if the conversation already has an unfinished one."""
        ...

    async def open_ticket_for(self, channel: str, conversation_id: str) -> Ticket | None:
        """The conversation's unfinished (not resolved or cancelled) ticket, if any."""
        ...

    async def get_ticket(self, number: int) -> Ticket:
        """The ticket `#number`; StoreError if there is none."""
        ...

    async def list_tickets(self, status: TicketStatus | None = None) -> list[Ticket]:
        """All tickets (or those in one status), oldest first."""
        ...

    async def claim(self, number: int, agent: str) -> Ticket:
        """An agent takes the ticket: open -> claimed, or takes it over from another agent while unfinished."""
        ...

    async def add_agent_reply(self, number: int, agent: str, text: str) -> Ticket:
        """Log an agent's reply on an unfinished ticket; the first one sets `first_reply_at`."""
        ...

    async def set_status(self, number: int, status: TicketStatus, actor: str) -> Ticket:
        """Move a ticket to `status` if the move is legal (see _TRANSITIONS); resolving/cancelling as resolve/cancel."""
        ...

    async def resolve(self, number: int, actor: str) -> Ticket:
        """Mark an unfinished ticket resolved; sets `resolved_at`."""
        ...

    async def resolve_asking_rating(
        self, number: int, actor: str, reply: Mapping[str, Any]
    ) -> tuple[Ticket, list[OutboxItem]]:
        """In one transaction: the ticket resolved, its conversation waiting for the rating (a new state version),
        and `reply` queued to the user; returns the ticket and the queued items."""
        ...

    async def cancel(self, number: int, actor: str) -> Ticket:
        """Cancel an unfinished ticket (e.g. the user withdrew it)."""
        ...

    async def rate(self, number: int, rating: int) -> None:
        """Store the user's CSAT rating (1-5) of a resolved ticket; once per ticket."""
        ...

    async def rating(self, number: int) -> int | None:
        """The ticket's CSAT rating, or None if not rated."""
        ...

    async def message_counts(self, since: datetime) -> dict[tuple[str, str], int]:
        """(channel, direction) -> number of messages since `since`."""
        ...

    async def decision_counts(self, since: datetime) -> dict[str, int]:
        """Router action -> number of inbound messages since `since`."""
        ...

    async def not_understood(self, since: datetime, limit: int = 5000) -> list[str]:
        """Redacted texts of inbound messages the bot did not understand or was unsure of, newest first."""
        ...

    async def unclaimed_since(self, before: datetime) -> list[Ticket]:
        """Open tickets created before `before` that nobody claimed and that were not reminded about yet."""
        ...

    async def has_event(self, number: int, kind: str) -> bool:
        """True when the ticket's audit log has an event of this kind."""
        ...

    async def add_event(self, number: int, kind: str, actor: str, detail: str | None = None) -> None:
        """Append to the ticket's audit log."""
        ...

    async def mark_reminded(self, number: int) -> None:
        """Record that agents were reminded of the ticket (so they are reminded once)."""
        ...

    async def add_attachment(self, number: int, kind: str, ref: str, mime_type: str | None) -> StoredAttachment:
        """Keep a reference to a file the user sent on the ticket (its caption is in the redacted transcript)."""
        ...

    async def attachments(self, number: int) -> list[StoredAttachment]:
        """The files sent on a ticket, oldest first."""
        ...

    async def ticket_events(self, number: int) -> list[TicketEvent]:
        """The ticket's audit log, oldest first."""
        ...

    async def ticket_stats(self, since: datetime) -> TicketStats:
        """Median seconds to claim and to resolve, and the CSAT average, of the tickets opened at or after `since`."""
        ...

    async def tickets_of(self, channel: str, conversation_id: str, limit: int = 50) -> list[UserTicket]:
        """A conversation's tickets, newest first, each with the time of its last event ("My tickets")."""
        ...

    async def ticket_status_counts(self) -> dict[str, int]:
        """Status -> number of tickets in it, over all tickets (for /metrics)."""
        ...

    async def add_article_vote(self, entry_id: str, helpful: bool, lang: Lang) -> None:
        """Record one "was this helpful?" answer on a help-center article."""
        ...

    async def article_votes(self, since: datetime) -> list[ArticleVotes]:
        """Per entry, the helpful / not helpful votes since `since`, the most "not helpful" first."""
        ...

    async def inbox_add(self, channel: str, platform_message_id: str, payload: Mapping[str, Any]) -> bool:
        """Record a received platform message; False if it was already received (a redelivery)."""
        ...

    async def inbox_mark_handled(self, channel: str, platform_message_id: str) -> None:
        """Note that a received message has been fully handled."""
        ...

    async def outbox_add(self, channel: str, conversation_id: str, payload: Mapping[str, Any]) -> OutboxItem:
        """Queue a message for delivery, due now."""
        ...

    async def outbox_depth(self) -> OutboxDepth:
        """How many replies wait for delivery and since when the oldest has (for /metrics)."""
        ...

    async def revoke_webchat_session(self, session_id: str) -> bool:
        """Refuse the widget session's tokens from now on; False when it was already revoked."""
        ...

    async def webchat_session_revoked(self, session_id: str) -> bool:
        """Whether the widget session was revoked."""
        ...

    async def webchat_sessions(self, limit: int = 50) -> list[WebchatSession]:
        """Widget sessions with a conversation, most recently active first."""
        ...

    async def cursor_setdefault(self, name: str, value: str) -> str:
        """The saved value of `name`, saving `value` first if there is none."""
        ...

    async def publish(self, topic: str, payload: str) -> None:
        """No other instance shares a SQLite desk: nobody to tell."""
        ...

    async def subscribe(self, topic: str, listener: Callable[[str], Awaitable[None]]) -> None:
        """No other instance shares a SQLite desk: nothing will arrive."""
        ...


if TYPE_CHECKING:
    from bot.store.pg_store import PgStore
    from bot.store.store import Store

    def _implements_port(sqlite: Store, postgresql: PgStore) -> tuple[StorePort, StorePort]:
        return sqlite, postgresql  # mypy fails here when either engine drifts from the port
