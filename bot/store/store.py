"""The store the rest of OmniDesk uses: async methods, each one hop to the database thread (see `SqliteThread`)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.core.conversation import ConversationKey, ConversationSnapshot, ConversationState
from bot.core.effects import Effect
from bot.core.messages import Decision, Lang, Priority
from bot.store.checkpointer import CHECKPOINT_INTERVAL_SECONDS, WalCheckpointer
from bot.store.port import StorePort
from bot.store.queries import StoreQueries
from bot.store.records import (
    ArticleVotes,
    Clock,
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
    utc_now,
)
from bot.store.schema import migrate
from bot.store.sqlite_thread import SqliteThread

# A WAL file that grew under a burst is cut back to this size when it starts over.
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


class Store:
    """All persistent state of OmniDesk, in one SQLite file in WAL mode.

    Reads run as they come; writes are transactions, and writes that arrive together are committed together.
    Every method returns only once its effect is committed.
    """

    def __init__(self, thread: SqliteThread, sql: StoreQueries, checkpointer: WalCheckpointer) -> None:
        """Use `Store.open`, which starts the database thread and migrates the schema."""
        self._thread = thread
        self._sql = sql
        self._checkpointer = checkpointer
        self._conversation_locks: dict[ConversationKey, tuple[asyncio.Lock, int]] = {}

    @classmethod
    async def open(
        cls,
        path: str | Path,
        clock: Clock = utc_now,
        busy_timeout_ms: int = 5000,
        checkpoint_interval: float = CHECKPOINT_INTERVAL_SECONDS,
    ) -> Store:
        """Open (creating if needed) the database at `path` and bring its schema up to date."""
        built: list[StoreQueries] = []

        def setup(db: sqlite3.Connection) -> None:
            db.row_factory = sqlite3.Row
            db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA wal_autocheckpoint = 0")  # the WalCheckpointer's job, off the writer's thread
            db.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}")
            db.execute("PRAGMA foreign_keys = ON")
            # Deleted and overwritten content is zeroed, not left in free space: a row redacted in place (a seed
            # phrase found with its last part) must not keep its old text in the file.
            db.execute("PRAGMA secure_delete = ON")
            migrate(db)
            built.append(StoreQueries(db, clock))

        thread = SqliteThread(path, setup)
        await thread.start()
        checkpointer = WalCheckpointer(path, checkpoint_interval)
        checkpointer.start()
        return cls(thread, built[0], checkpointer)

    async def close(self) -> None:
        """Finish the queued calls and close the database; safe to call twice."""
        await self._checkpointer.close()
        await self._thread.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def load_conversation_state(self, key: ConversationKey) -> ConversationState:
        """The router's memory of a conversation (a fresh state if unknown)."""
        return await self._thread.read(self._sql.load_conversation_state, key)

    async def save_conversation_state(self, key: ConversationKey, state: ConversationState) -> None:
        """Remember the router's memory of a conversation."""
        await self._thread.write(self._sql.save_conversation_state, key, state)

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
        """Append a message (text ALREADY REDACTED) to the transcript; a user's message is logged on an open ticket.

        The router's decision on an inbound message is kept with it for `omnidesk report`.
        """
        return await self._thread.write(
            self._sql.record_message,
            channel,
            conversation_id,
            direction,
            text,
            platform_message_id,
            channel_user_id,
            decision,
        )

    async def receive_inbound(
        self, channel: str, platform_message_id: str, conversation: ConversationKey
    ) -> ConversationSnapshot | None:
        """The state (with its ticket and version) to handle a message from; None when it was handled already."""
        return await self._thread.read(self._sql.receive_inbound, channel, platform_message_id, conversation)

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
        """`redact_earlier`: earlier messages of the conversation to store redacted, (row id, new text), in the same
        transaction (a seed phrase sent in parts is found with its last part).

        In ONE transaction: the (redacted) inbound message, its effects (tickets opened, cancelled, rated,
        follow-ups, with their agent notices queued in the outbox), the conversation's new state, its replies queued
        in the outbox and in the transcript, and the inbox row marked handled. A crash before the commit leaves the
        message to be handled again from the old state; after it, a redelivery is skipped: no lost message, no
        second reply, ticket or relay. None, writing nothing, when another delivery of the same message was
        completed first; StateConflict, writing nothing, when the conversation is no longer at `version`.
        Returns the queued items: the replies (with NEW_TICKET replaced by the opened ticket's number), then the
        agent notices, each conversation's preceded by its older items still pending (to be sent first).
        After a redaction in place the WAL, which still holds the old rows, is truncated right away."""
        items = await self._thread.write(
            self._sql.complete_inbound,
            channel,
            platform_message_id,
            conversation_id,
            channel_user_id,
            text,
            decision,
            replies,
            state,
            effects,
            version,
            redact_earlier,
        )
        if redact_earlier and items is not None:
            self._checkpointer.truncate_soon()
        return items

    async def transcript(
        self, conversation: ConversationKey, limit: int | None = None, after: int = 0
    ) -> list[StoredMessage]:
        """A conversation's messages with ids above `after`, oldest first; with `limit`, only the latest `limit`."""
        return await self._thread.read(self._sql.transcript, conversation, limit, after)

    async def inbound_message(self, conversation: ConversationKey, platform_message_id: str) -> StoredMessage | None:
        """A user's message as stored (redacted), by its platform id; None if it is not stored."""
        return await self._thread.read(self._sql.inbound_message, conversation, platform_message_id)

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
        return await self._thread.write(
            self._sql.open_ticket, channel, conversation_id, channel_user_id, lang, priority, category, reason, summary
        )

    async def open_ticket_for(self, channel: str, conversation_id: str) -> Ticket | None:
        """The conversation's unfinished (not resolved or cancelled) ticket, if any."""
        return await self._thread.read(self._sql.open_ticket_for, channel, conversation_id)

    async def get_ticket(self, number: int) -> Ticket:
        """The ticket `#number`; StoreError if there is none."""
        return await self._thread.read(self._sql.get_ticket, number)

    async def list_tickets(self, status: TicketStatus | None = None) -> list[Ticket]:
        """All tickets (or those in one status), oldest first."""
        return await self._thread.read(self._sql.list_tickets, status)

    async def claim(self, number: int, agent: str) -> Ticket:
        """An agent takes the ticket: open -> claimed, or takes it over from another agent while unfinished.
        This and every status change queue a redraw of the ticket for agents, in the same transaction."""
        return await self._thread.write(self._sql.claim, number, agent)

    async def add_agent_reply(self, number: int, agent: str, text: str) -> Ticket:
        """Log an agent's reply on an unfinished ticket; the first one sets `first_reply_at`."""
        return await self._thread.write(self._sql.add_agent_reply, number, agent, text)

    async def set_status(self, number: int, status: TicketStatus, actor: str) -> Ticket:
        """Move a ticket to `status` if the move is legal (see _TRANSITIONS); resolving/cancelling as resolve/cancel."""
        return await self._thread.write(self._sql.set_status, number, status, actor)

    async def resolve(self, number: int, actor: str) -> Ticket:
        """Mark an unfinished ticket resolved; sets `resolved_at`."""
        return await self._thread.write(self._sql.resolve, number, actor)

    async def resolve_asking_rating(
        self, number: int, actor: str, reply: Mapping[str, Any]
    ) -> tuple[Ticket, list[OutboxItem]]:
        """An agent resolves the ticket. In ONE transaction: the ticket resolved (its redraw queued), its
        conversation's state leaving the ticket and waiting for the rating, at a new version (a message decided
        from the old state meanwhile is decided again: see `complete_inbound`), and `reply` queued to the user.
        Returns the ticket and the queued items (after the conversation's older items still pending)."""
        return await self._thread.write(self._sql.resolve_asking_rating, number, actor, reply)

    async def cancel(self, number: int, actor: str) -> Ticket:
        """Cancel an unfinished ticket (e.g. the user withdrew it)."""
        return await self._thread.write(self._sql.cancel, number, actor)

    async def rate(self, number: int, rating: int) -> None:
        """Store the user's CSAT rating (1-5) of a resolved ticket; once per ticket."""
        return await self._thread.write(self._sql.rate, number, rating)

    async def rating(self, number: int) -> int | None:
        """The ticket's CSAT rating, or None if not rated."""
        return await self._thread.read(self._sql.rating, number)

    async def message_counts(self, since: datetime) -> dict[tuple[str, str], int]:
        """(channel, direction) -> number of messages since `since`."""
        return await self._thread.read(self._sql.message_counts, since)

    async def decision_counts(self, since: datetime) -> dict[str, int]:
        """Router action -> number of inbound messages since `since`."""
        return await self._thread.read(self._sql.decision_counts, since)

    async def not_understood(self, since: datetime, limit: int = 5000) -> list[str]:
        """Redacted texts of inbound messages the bot did not understand or was unsure of, newest first."""
        return await self._thread.read(self._sql.not_understood, since, limit)

    async def unclaimed_since(self, before: datetime) -> list[Ticket]:
        """Open tickets created before `before` that nobody claimed and that were not reminded about yet."""
        return await self._thread.read(self._sql.unclaimed_since, before)

    async def has_event(self, number: int, kind: str) -> bool:
        """True when the ticket's audit log has an event of this kind."""
        return await self._thread.read(self._sql.has_event, number, kind)

    async def add_event(self, number: int, kind: str, actor: str, detail: str | None = None) -> None:
        """Append to the ticket's audit log."""
        return await self._thread.write(self._sql.add_event, number, kind, actor, detail)

    async def mark_reminded(self, number: int) -> None:
        """Record that agents are reminded of the ticket (once), and queue the reminder for them."""
        return await self._thread.write(self._sql.mark_reminded, number)

    async def add_attachment(self, number: int, kind: str, ref: str, mime_type: str | None) -> StoredAttachment:
        """Keep a reference to a file the user sent on the ticket (its caption is in the redacted transcript)."""
        return await self._thread.write(self._sql.add_attachment, number, kind, ref, mime_type)

    async def attachments(self, number: int) -> list[StoredAttachment]:
        """The files sent on a ticket, oldest first."""
        return await self._thread.read(self._sql.attachments, number)

    async def ticket_events(self, number: int) -> list[TicketEvent]:
        """The ticket's audit log, oldest first."""
        return await self._thread.read(self._sql.ticket_events, number)

    async def ticket_stats(self, since: datetime) -> TicketStats:
        """Median seconds to claim and to resolve, and the CSAT average, of the tickets opened at or after `since`."""
        return await self._thread.read(self._sql.ticket_stats, since)

    async def tickets_of(self, channel: str, conversation_id: str, limit: int = 50) -> list[UserTicket]:
        """A conversation's tickets, newest first, each with the time of its last event ("My tickets")."""
        return await self._thread.read(self._sql.tickets_of, channel, conversation_id, limit)

    async def ticket_status_counts(self) -> dict[str, int]:
        """Status -> number of tickets in it, over all tickets (for /metrics)."""
        return await self._thread.read(self._sql.ticket_status_counts)

    async def add_article_vote(self, entry_id: str, helpful: bool, lang: Lang) -> None:
        """Record one "was this helpful?" answer on a help-center article."""
        return await self._thread.write(self._sql.add_article_vote, entry_id, helpful, lang)

    async def article_votes(self, since: datetime) -> list[ArticleVotes]:
        """Per entry, the helpful / not helpful votes since `since`, the most "not helpful" first."""
        return await self._thread.read(self._sql.article_votes, since)

    async def outbox_depth(self) -> OutboxDepth:
        """How many replies wait for delivery and since when the oldest has (for /metrics)."""
        return await self._thread.read(self._sql.outbox_depth)

    async def inbox_add(self, channel: str, platform_message_id: str, payload: Mapping[str, Any]) -> bool:
        """Record a received platform message; False if it was already received (a redelivery)."""
        return await self._thread.write(self._sql.inbox_add, channel, platform_message_id, payload)

    async def inbox_mark_handled(self, channel: str, platform_message_id: str) -> None:
        """Note that a received message has been fully handled."""
        return await self._thread.write(self._sql.inbox_mark_handled, channel, platform_message_id)

    async def outbox_add(self, channel: str, conversation_id: str, payload: Mapping[str, Any]) -> OutboxItem:
        """Queue a message for delivery, due now."""
        return await self._thread.write(self._sql.outbox_add, channel, conversation_id, payload)

    async def queue_reply(self, channel: str, conversation_id: str, payload: Mapping[str, Any]) -> list[OutboxItem]:
        """A reply outside any inbound message (an agent's answer): into the transcript once, and into the outbox as
        one row per part when the payload lists its `parts` (else one row), together. Returns the new rows, preceded
        by the conversation's older rows still pending (to be sent first)."""
        return await self._thread.write(self._sql.queue_reply, channel, conversation_id, payload)

    async def outbox_pending(self, limit: int = 100) -> list[OutboxItem]:
        """Pending messages that are due (next attempt not in the future), oldest due first."""
        return await self._thread.read(self._sql.outbox_pending, limit)

    async def outbox_get(self, item_id: int) -> OutboxItem:
        """One outbox item; StoreError if there is none."""
        return await self._thread.read(self._sql.outbox_get, item_id)

    async def outbox_mark_sent(self, item_id: int) -> None:
        """Delivery succeeded."""
        return await self._thread.write(self._sql.outbox_mark_sent, item_id)

    async def outbox_mark_failed(
        self, item_id: int, permanent: bool, error: str, retry_at: datetime | None = None
    ) -> None:
        """Delivery failed: give up if `permanent`, else try again at `retry_at`."""
        return await self._thread.write(self._sql.outbox_mark_failed, item_id, permanent, error, retry_at)

    async def revoke_webchat_session(self, session_id: str) -> bool:
        """Refuse the widget session's tokens from now on; False when it was already revoked."""
        return await self._thread.write(self._sql.revoke_webchat_session, session_id)

    async def webchat_session_revoked(self, session_id: str) -> bool:
        """Whether the widget session was revoked."""
        return await self._thread.read(self._sql.webchat_session_revoked, session_id)

    async def webchat_sessions(self, limit: int = 50) -> list[WebchatSession]:
        """Widget sessions with a conversation, most recently active first."""
        return await self._thread.read(self._sql.webchat_sessions, limit)

    async def move_conversations(self, channel: str, old: str, new: str) -> int:
        """Move a conversation (and its per-user ones, `old:*`) to a new id, e.g. a Telegram group that became a
        supergroup; its tickets and pending replies go with it. Returns how many conversations moved."""
        return await self._thread.write(self._sql.move_conversations, channel, old, new)

    async def cursor_get(self, name: str) -> str | None:
        """A saved position (e.g. a polling offset), or None."""
        return await self._thread.read(self._sql.cursor_get, name)

    async def cursor_set(self, name: str, value: str) -> None:
        """Save a position."""
        return await self._thread.write(self._sql.cursor_set, name, value)

    async def cursor_setdefault(self, name: str, value: str) -> str:
        """The saved value of `name`, saving `value` first if there is none."""
        return await self._thread.write(self._sql.cursor_setdefault, name, value)

    async def outbox_claim(self, limit: int = 100) -> list[OutboxItem]:
        """The due items for this process to deliver: one process owns a SQLite desk, so nothing to lease."""
        return await self.outbox_pending(limit)

    @contextlib.asynccontextmanager
    async def conversation_lock(self, key: ConversationKey) -> AsyncIterator[None]:
        """Serialise the handling of one conversation (one process owns a SQLite desk: an in-process lock)."""
        lock, users = self._conversation_locks.get(key, (asyncio.Lock(), 0))
        self._conversation_locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._conversation_locks[key]
            if users == 1:  # nobody else holds or waits for it: forget it (bounded memory)
                del self._conversation_locks[key]
            else:
                self._conversation_locks[key] = (lock, users - 1)

    def leadership(self, name: str) -> SoleLeadership:
        """One process owns a SQLite desk: it always leads."""
        return SoleLeadership()

    async def publish(self, topic: str, payload: str) -> None:
        """No other instance shares a SQLite desk: nobody to tell."""

    async def subscribe(self, topic: str, listener: Callable[[str], Awaitable[None]]) -> None:
        """No other instance shares a SQLite desk: nothing will arrive."""


class SoleLeadership:
    """The leadership of the only instance: acquired at once, never lost."""

    def __init__(self) -> None:
        self.lost = asyncio.Event()

    async def try_acquire(self) -> bool:
        """Lead (at once)."""
        return True

    async def acquire(self) -> None:
        """Lead (at once)."""

    async def release(self) -> None:
        """Nothing to give back."""


class SqliteConversationStates:
    """The router's `ConversationStates` kept in the store, so conversations survive restarts."""

    def __init__(self, store: StorePort) -> None:
        self._store = store

    async def get(self, key: ConversationKey) -> ConversationState:
        """The state of a conversation (a fresh one if unknown)."""
        return await self._store.load_conversation_state(key)

    async def put(self, key: ConversationKey, state: ConversationState) -> None:
        """Remember a conversation's new state."""
        await self._store.save_conversation_state(key, state)
