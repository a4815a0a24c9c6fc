"""The store's port: the API every caller uses, implemented by the SQLite `Store` and the PostgreSQL `PgStore`.

A `typing.Protocol` rather than one class over two engine backends: the engines differ in how a call runs (SQLite:
synchronous SQL on one thread with group commit; PostgreSQL: asyncpg coroutines on a pool), so a shared class would
force one engine into the other's shape. mypy checks that both classes implement this port (see the assignments
at the bottom), and callers depend on nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.core.conversation import ConversationKey, ConversationSnapshot, ConversationState
from bot.core.effects import Effect
from bot.core.messages import Decision, Lang, Priority
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


class StorePort(Protocol):
    """All persistent state of OmniDesk; every method returns only once its effect is committed."""

    async def close(self) -> None:
        """Finish what is queued and close; safe to call twice."""
        ...

    def conversation_lock(self, key: ConversationKey) -> AbstractAsyncContextManager[None]:
        """Serialise the handling of one conversation across every instance sharing the store."""
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

    async def receive_inbound(
        self, channel: str, platform_message_id: str, conversation: ConversationKey
    ) -> ConversationSnapshot | None:
        """The state (with its ticket and version) to handle a message from; None when it was handled already."""
        ...

    async def complete_inbound(
        self,
        channel: str,
        platform_message_id: str,
        conversation_id: str,
        channel_user_id: str,
        text: str,
        decision: Decision | None,
        replies: Sequence[Mapping[str, Any]],
        state: ConversationState | None = None,
        effects: Sequence[Effect] = (),
        version: int | None = None,
        redact_earlier: Sequence[tuple[int, str]] = (),
    ) -> list[OutboxItem] | None:
        """The message, its effects, new state, replies and inbox row in one transaction; None for a redelivery,
        StateConflict when the conversation is no longer at `version`."""
        ...

    async def transcript(
        self, conversation: ConversationKey, limit: int | None = None, after: int = 0
    ) -> list[StoredMessage]:
        """A conversation's messages with ids above `after`, oldest first; with `limit`, only the latest `limit`."""
        ...

    async def inbound_message(self, conversation: ConversationKey, platform_message_id: str) -> StoredMessage | None:
        """A user's message as stored (redacted), by its platform id; None if it is not stored."""
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

    async def queue_reply(self, channel: str, conversation_id: str, payload: Mapping[str, Any]) -> list[OutboxItem]:
        """A reply outside any inbound message (an agent's answer): into the transcript and the outbox, together."""
        ...

    async def outbox_pending(self, limit: int = 100) -> list[OutboxItem]:
        """Pending messages that are due (next attempt not in the future), oldest due first."""
        ...

    async def outbox_depth(self) -> OutboxDepth:
        """How many replies wait for delivery and since when the oldest has (for /metrics)."""
        ...

    async def outbox_get(self, item_id: int) -> OutboxItem:
        """One outbox item; StoreError if there is none."""
        ...

    async def outbox_mark_sent(self, item_id: int) -> None:
        """Delivery succeeded."""
        ...

    async def outbox_mark_failed(
        self, item_id: int, permanent: bool, error: str, retry_at: datetime | None = None
    ) -> None:
        """Delivery failed: give up if `permanent`, else try again at `retry_at`."""
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

    async def move_conversations(self, channel: str, old: str, new: str) -> int:
        """Move a conversation (and its per-user ones, `old:*`) to a new id; returns how many moved."""
        ...

    async def cursor_get(self, name: str) -> str | None:
        """A saved position (e.g. a polling offset), or None."""
        ...

    async def cursor_set(self, name: str, value: str) -> None:
        """Save a position."""
        ...

    async def cursor_setdefault(self, name: str, value: str) -> str:
        """The saved value of `name`, saving `value` first if there is none."""
        ...

    async def outbox_claim(self, limit: int = 100) -> list[OutboxItem]:
        """The due items for this process to deliver: one process owns a SQLite desk, so nothing to lease."""
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
