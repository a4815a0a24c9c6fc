"""SQLite store over one aiosqlite connection: conversations, transcripts, tickets with an audit log, inbox/outbox."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import sqlite3
import statistics
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import aiosqlite

from bot.conversation import ConversationKey, ConversationState, Intake
from bot.messages import Decision, Lang, Priority, Suggestion

Direction = Literal["in", "out"]
Clock = Callable[[], datetime]

# Each script upgrades the schema by one version; PRAGMA user_version records how many have been applied.
# Never edit a released script: append a new one instead.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        channel_user_id TEXT,
        lang TEXT,
        lang_choice TEXT,
        state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'inactive')),
        misses INTEGER NOT NULL DEFAULT 0,
        last_suggestions TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (channel, conversation_id)
    );

    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation INTEGER NOT NULL REFERENCES conversations (id),
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        text TEXT NOT NULL,
        platform_message_id TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages (conversation, id);

    -- AUTOINCREMENT so a number users have quoted is never reused; sqlite_sequence is seeded below.
    CREATE TABLE tickets (
        number INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation INTEGER NOT NULL REFERENCES conversations (id),
        channel TEXT NOT NULL,
        channel_user_id TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open'
            CHECK (status IN ('open', 'claimed', 'waiting_user', 'resolved', 'cancelled')),
        priority TEXT NOT NULL CHECK (priority IN ('normal', 'high', 'urgent')),
        category TEXT,
        reason TEXT,
        summary TEXT NOT NULL,
        assignee TEXT,
        lang TEXT NOT NULL,
        created_at TEXT NOT NULL,
        claimed_at TEXT,
        first_reply_at TEXT,
        resolved_at TEXT,
        slack_ts TEXT
    );
    -- The first ticket is #1001: short enough to quote, and not mistaken for a count.
    INSERT INTO sqlite_sequence (name, seq) VALUES ('tickets', 1000);
    -- At most one unfinished ticket per conversation, even when two messages escalate at once.
    CREATE UNIQUE INDEX tickets_one_open_per_conversation ON tickets (conversation)
        WHERE status NOT IN ('resolved', 'cancelled');
    CREATE INDEX tickets_by_status ON tickets (status, number);
    CREATE INDEX tickets_by_created_at ON tickets (created_at);

    CREATE TABLE ticket_events (
        id INTEGER PRIMARY KEY,
        ticket INTEGER NOT NULL REFERENCES tickets (number),
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        detail TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket, id);

    CREATE TABLE csat_ratings (
        ticket INTEGER NOT NULL UNIQUE REFERENCES tickets (number),
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
        created_at TEXT NOT NULL
    );

    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        platform_message_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL,
        handled_at TEXT,
        UNIQUE (channel, platform_message_id)
    );

    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT
    );
    CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id);

    CREATE TABLE cursors (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    """
    ALTER TABLE conversations ADD COLUMN flow TEXT NOT NULL DEFAULT '{}';
    CREATE INDEX tickets_slack_ts ON tickets (slack_ts);
    """,
    """
    ALTER TABLE messages ADD COLUMN action TEXT;
    ALTER TABLE messages ADD COLUMN reason TEXT;
    ALTER TABLE messages ADD COLUMN faq_id TEXT;
    CREATE INDEX messages_by_time ON messages (created_at);
    """,
    """
    CREATE TABLE attachments (
        id INTEGER PRIMARY KEY,
        ticket INTEGER NOT NULL REFERENCES tickets (number),
        channel TEXT NOT NULL,
        kind TEXT NOT NULL,
        ref TEXT NOT NULL,
        mime_type TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX attachments_by_ticket ON attachments (ticket, id);
    """,
)


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
_TRANSITIONS: Mapping[TicketStatus, frozenset[TicketStatus]] = {
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


def utc_now() -> datetime:
    """The default clock: the current time in UTC."""
    return datetime.now(UTC)


class Store:
    """All persistent state of OmniDesk, over one SQLite connection in WAL mode."""

    def __init__(self, db: aiosqlite.Connection, clock: Clock) -> None:
        """Wrap an open connection; use `Store.open`, which also configures and migrates it."""
        self._db = db
        self._clock = clock
        # One connection is shared by every coroutine, so a transaction spans awaits where another coroutine's
        # statements could land inside it; the lock keeps each transaction (and each read) whole.
        self._lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, path: str | Path, clock: Clock = utc_now, busy_timeout_ms: int = 5000) -> Store:
        """Open (creating if needed) the database at `path` and bring its schema up to date."""
        # isolation_level=None: sqlite3 must not open transactions behind our back; we BEGIN explicitly.
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            store = cls(db, clock)
            await store._migrate()
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        if not self._closed:
            self._closed = True
            await self._db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- plumbing ---------------------------------------------------------------------------------------------

    async def _migrate(self) -> None:
        async with self._transaction():
            row = await self._one("PRAGMA user_version")
            version = int(row[0]) if row is not None else 0
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"database schema version {version} is newer than this OmniDesk supports "
                    f"({len(MIGRATIONS)}); upgrade OmniDesk"
                )
            for script in MIGRATIONS[version:]:
                # executescript would COMMIT first, so run the statements one by one inside our transaction.
                for statement in _statements(script):
                    await self._db.execute(statement)
            if version != len(MIGRATIONS):
                await self._db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """Hold the lock and one IMMEDIATE transaction: committed on success, rolled back on any error."""
        async with self._lock:
            # IMMEDIATE takes the write lock up front, so a read-then-write cannot fail halfway with SQLITE_BUSY.
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                await self._db.execute("COMMIT")
            except BaseException:
                # If a cancelled COMMIT went through anyway there is nothing left to roll back; keep the real error.
                with contextlib.suppress(sqlite3.OperationalError):
                    await self._db.execute("ROLLBACK")
                raise

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = list(await self._db.execute_fetchall(sql, params))
        return rows[0] if rows else None

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return list(await self._db.execute_fetchall(sql, params))

    async def _read_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        async with self._lock:
            return await self._one(sql, params)

    async def _read_all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._lock:
            return await self._all(sql, params)

    def _now(self) -> str:
        return _iso(self._clock())

    async def _conversation_row_id(self, key: ConversationKey, now: str, channel_user_id: str | None = None) -> int:
        """The row id of a conversation, creating it if new; fills in the user id when given."""
        # The router's state (lang, misses, ...) is left alone: only save_conversation_state writes it.
        row = await self._one(
            """
            INSERT INTO conversations (channel, conversation_id, channel_user_id, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (channel, conversation_id) DO UPDATE SET
                channel_user_id = COALESCE(excluded.channel_user_id, channel_user_id),
                updated_at = excluded.updated_at
            RETURNING id
            """,
            (key[0], key[1], channel_user_id, now, now),
        )
        assert row is not None  # RETURNING always yields the row on insert and on update
        return int(row["id"])

    # -- conversation state -----------------------------------------------------------------------------------

    async def load_conversation_state(self, key: ConversationKey) -> ConversationState:
        """The router's memory of a conversation (a fresh state if unknown)."""
        row = await self._read_one(
            "SELECT lang, lang_choice, misses, last_suggestions, flow FROM conversations "
            "WHERE channel = ? AND conversation_id = ?",
            key,
        )
        if row is None:
            return ConversationState()
        suggestions = tuple(
            Suggestion(label=str(item["label"]), payload=str(item["payload"]))
            for item in json.loads(row["last_suggestions"])
        )
        flow = json.loads(row["flow"])
        return ConversationState(
            lang_choice=_lang_or_none(row["lang_choice"]),
            last_lang=_lang_or_none(row["lang"]),
            misses=int(row["misses"]),
            last_suggestions=suggestions,
            intake=_intake_from_json(flow.get("intake")),
            ticket=flow.get("ticket"),
            rating_for=flow.get("rating_for"),
        )

    async def save_conversation_state(self, key: ConversationKey, state: ConversationState) -> None:
        """Remember the router's memory of a conversation."""
        async with self._transaction():
            await self._save_state(key, state)

    async def _save_state(self, key: ConversationKey, state: ConversationState) -> None:
        suggestions = json.dumps(
            [{"label": s.label, "payload": s.payload} for s in state.last_suggestions], ensure_ascii=False
        )
        flow = json.dumps(
            {
                "intake": dataclasses.asdict(state.intake) if state.intake else None,
                "ticket": state.ticket,
                "rating_for": state.rating_for,
            },
            ensure_ascii=False,
        )
        now = self._now()
        await self._db.execute(
            """
            INSERT INTO conversations
                (channel, conversation_id, lang, lang_choice, misses, last_suggestions, flow, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (channel, conversation_id) DO UPDATE SET
                lang = excluded.lang,
                lang_choice = excluded.lang_choice,
                misses = excluded.misses,
                last_suggestions = excluded.last_suggestions,
                flow = excluded.flow,
                updated_at = excluded.updated_at
            """,
            (key[0], key[1], state.last_lang, state.lang_choice, state.misses, suggestions, flow, now, now),
        )

    # -- transcripts ------------------------------------------------------------------------------------------

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
        async with self._transaction():
            return await self._insert_message(
                channel, conversation_id, direction, text, platform_message_id, channel_user_id, decision
            )

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
    ) -> list[OutboxItem]:
        """In ONE transaction: the (redacted) inbound message, the conversation's new state, its replies queued in
        the outbox and in the transcript, and the inbox row marked handled. A crash before the commit leaves the
        message to be handled again from the old state; after it, the replies are in the outbox and a redelivery
        is skipped: no lost message, no second reply."""
        async with self._transaction():
            if state is not None:
                await self._save_state((channel, conversation_id), state)
            await self._insert_message(
                channel, conversation_id, "in", text, platform_message_id, channel_user_id, decision
            )
            items = []
            for reply in replies:
                items.append(await self._queue_reply(channel, conversation_id, reply))
            await self._mark_handled(channel, platform_message_id)
            return items

    async def _insert_message(
        self,
        channel: str,
        conversation_id: str,
        direction: Direction,
        text: str,
        platform_message_id: str | None = None,
        channel_user_id: str | None = None,
        decision: Decision | None = None,
    ) -> StoredMessage:
        """record_message inside the caller's transaction."""
        if direction not in ("in", "out"):
            raise StoreError(f"message direction must be 'in' or 'out', not {direction!r}")
        now = self._now()
        conversation = await self._conversation_row_id((channel, conversation_id), now, channel_user_id)
        row = await self._one(
            "INSERT INTO messages (conversation, direction, text, platform_message_id, created_at, action, reason, "
            "faq_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                conversation,
                direction,
                text,
                platform_message_id,
                now,
                decision.action.value if decision else None,
                decision.reason if decision else None,
                decision.faq_id if decision else None,
            ),
        )
        assert row is not None
        if direction == "in":
            ticket = await self._one(
                "SELECT number, channel_user_id FROM tickets "
                "WHERE conversation = ? AND status NOT IN ('resolved', 'cancelled')",
                (conversation,),
            )
            if ticket is not None:
                await self._event(int(ticket["number"]), "user_message", str(ticket["channel_user_id"]), text, now)
        return StoredMessage(int(row["id"]), channel, conversation_id, direction, text, platform_message_id, _dt(now))

    async def transcript(self, conversation: ConversationKey, limit: int | None = None) -> list[StoredMessage]:
        """A conversation's messages, oldest first; with `limit`, only the latest `limit` of them."""
        rows = await self._read_all(
            """
            SELECT * FROM (
                SELECT m.id, c.channel, c.conversation_id, m.direction, m.text, m.platform_message_id, m.created_at
                FROM messages m JOIN conversations c ON c.id = m.conversation
                WHERE c.channel = ? AND c.conversation_id = ?
                ORDER BY m.id DESC LIMIT ?
            ) ORDER BY id
            """,
            (conversation[0], conversation[1], -1 if limit is None else limit),
        )
        return [
            StoredMessage(
                id=int(r["id"]),
                channel=r["channel"],
                conversation_id=r["conversation_id"],
                direction="in" if r["direction"] == "in" else "out",
                text=r["text"],
                platform_message_id=r["platform_message_id"],
                created_at=_dt(r["created_at"]),
            )
            for r in rows
        ]

    # -- tickets ----------------------------------------------------------------------------------------------

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
        priority = Priority(priority)
        async with self._transaction():
            now = self._now()
            conversation = await self._conversation_row_id((channel, conversation_id), now, channel_user_id)
            existing = await self._one(
                "SELECT number FROM tickets WHERE conversation = ? AND status NOT IN ('resolved', 'cancelled')",
                (conversation,),
            )
            if existing is not None:
                raise StoreError(
                    f"conversation {channel}:{conversation_id} already has open ticket #{existing['number']}"
                )
            row = await self._one(
                """
                INSERT INTO tickets
                    (conversation, channel, channel_user_id, priority, category, reason, summary, lang, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING number
                """,
                (conversation, channel, channel_user_id, priority.value, category, reason, summary, lang, now),
            )
            assert row is not None
            number = int(row["number"])
            detail = f"priority={priority.value} category={category or '-'} reason={reason or '-'}"
            await self._event(number, "opened", channel_user_id, detail, now)
            return await self._ticket(number)

    async def open_ticket_for(self, channel: str, conversation_id: str) -> Ticket | None:
        """The conversation's unfinished (not resolved or cancelled) ticket, if any."""
        async with self._lock:
            row = await self._one(
                """
                SELECT t.number FROM tickets t JOIN conversations c ON c.id = t.conversation
                WHERE c.channel = ? AND c.conversation_id = ? AND t.status NOT IN ('resolved', 'cancelled')
                """,
                (channel, conversation_id),
            )
            return None if row is None else await self._ticket(int(row["number"]))

    async def get_ticket(self, number: int) -> Ticket:
        """The ticket `#number`; StoreError if there is none."""
        async with self._lock:
            return await self._ticket(number)

    async def list_tickets(self, status: TicketStatus | None = None) -> list[Ticket]:
        """All tickets (or those in one status), oldest first."""
        sql = _TICKET_SELECT + (" WHERE t.status = ?" if status is not None else "") + " ORDER BY t.number"
        rows = await self._read_all(sql, () if status is None else (TicketStatus(status).value,))
        return [_ticket_from_row(r) for r in rows]

    async def claim(self, number: int, agent: str) -> Ticket:
        """An agent takes the ticket: open -> claimed, or takes it over from another agent while unfinished."""
        async with self._transaction():
            now = self._now()
            ticket = await self._ticket(number)
            if ticket.status in FINAL_STATUSES:
                raise StoreError(f"ticket #{number} is {ticket.status.value}; it cannot be claimed")
            if ticket.assignee == agent and ticket.status != TicketStatus.OPEN:
                raise StoreError(f"ticket #{number} is already claimed by {agent}")
            previous = ticket.assignee
            status = TicketStatus.CLAIMED if ticket.status == TicketStatus.OPEN else ticket.status
            await self._db.execute(
                "UPDATE tickets SET status = ?, assignee = ?, claimed_at = COALESCE(claimed_at, ?) WHERE number = ?",
                (status.value, agent, now, number),
            )
            await self._event(number, "claimed", agent, f"from {previous}" if previous else None, now)
            return await self._ticket(number)

    async def add_agent_reply(self, number: int, agent: str, text: str) -> Ticket:
        """Log an agent's reply on an unfinished ticket; the first one sets `first_reply_at`."""
        async with self._transaction():
            now = self._now()
            ticket = await self._ticket(number)
            if ticket.status in FINAL_STATUSES:
                raise StoreError(f"ticket #{number} is {ticket.status.value}; it cannot be replied to")
            await self._db.execute(
                "UPDATE tickets SET first_reply_at = COALESCE(first_reply_at, ?) WHERE number = ?", (now, number)
            )
            await self._event(number, "agent_reply", agent, text, now)
            return await self._ticket(number)

    async def set_status(self, number: int, status: TicketStatus, actor: str) -> Ticket:
        """Move a ticket to `status` if the move is legal (see _TRANSITIONS); resolving/cancelling as resolve/cancel."""
        return await self._transition(number, TicketStatus(status), actor)

    async def resolve(self, number: int, actor: str) -> Ticket:
        """Mark an unfinished ticket resolved; sets `resolved_at`."""
        return await self._transition(number, TicketStatus.RESOLVED, actor)

    async def cancel(self, number: int, actor: str) -> Ticket:
        """Cancel an unfinished ticket (e.g. the user withdrew it)."""
        return await self._transition(number, TicketStatus.CANCELLED, actor)

    async def rate(self, number: int, rating: int) -> None:
        """Store the user's CSAT rating (1-5) of a resolved ticket; once per ticket."""
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise StoreError(f"a rating must be a whole number from 1 to 5, not {rating!r}")
        async with self._transaction():
            now = self._now()
            ticket = await self._ticket(number)
            if ticket.status != TicketStatus.RESOLVED:
                raise StoreError(f"ticket #{number} is {ticket.status.value}; only resolved tickets can be rated")
            if await self._one("SELECT 1 FROM csat_ratings WHERE ticket = ?", (number,)) is not None:
                raise StoreError(f"ticket #{number} has already been rated")
            await self._db.execute(
                "INSERT INTO csat_ratings (ticket, rating, created_at) VALUES (?, ?, ?)", (number, rating, now)
            )
            await self._event(number, "rated", ticket.channel_user_id, str(rating), now)

    async def rating(self, number: int) -> int | None:
        """The ticket's CSAT rating, or None if not rated."""
        row = await self._read_one("SELECT rating FROM csat_ratings WHERE ticket = ?", (number,))
        return None if row is None else int(row["rating"])

    async def set_slack_ts(self, number: int, ts: str) -> Ticket:
        """Remember the Slack message that mirrors the ticket (its thread carries the agents' work)."""
        async with self._transaction():
            now = self._now()
            await self._ticket(number)
            await self._db.execute("UPDATE tickets SET slack_ts = ? WHERE number = ?", (ts, number))
            await self._event(number, "slack_ts", "bot", ts, now)
            return await self._ticket(number)

    async def message_counts(self, since: datetime) -> dict[tuple[str, str], int]:
        """(channel, direction) -> number of messages since `since`."""
        rows = await self._read_all(
            "SELECT c.channel, m.direction, COUNT(*) AS n FROM messages m JOIN conversations c ON c.id = m.conversation "
            "WHERE m.created_at >= ? GROUP BY c.channel, m.direction",
            (_iso(since),),
        )
        return {(str(r["channel"]), str(r["direction"])): int(r["n"]) for r in rows}

    async def decision_counts(self, since: datetime) -> dict[str, int]:
        """Router action -> number of inbound messages since `since`."""
        rows = await self._read_all(
            "SELECT action, COUNT(*) AS n FROM messages WHERE direction = 'in' AND action IS NOT NULL "
            "AND created_at >= ? GROUP BY action",
            (_iso(since),),
        )
        return {str(r["action"]): int(r["n"]) for r in rows}

    async def not_understood(self, since: datetime, limit: int = 5000) -> list[str]:
        """Redacted texts of inbound messages the bot did not understand or was unsure of, newest first."""
        rows = await self._read_all(
            "SELECT text FROM messages WHERE direction = 'in' AND created_at >= ? AND "
            "(action = 'clarify' OR reason = 'not_understood') AND text NOT LIKE '/%' ORDER BY id DESC LIMIT ?",
            (_iso(since), limit),
        )
        return [str(r["text"]) for r in rows]

    async def unclaimed_since(self, before: datetime) -> list[Ticket]:
        """Open tickets created before `before` that nobody claimed and that were not reminded about yet."""
        rows = await self._read_all(
            _TICKET_SELECT
            + " WHERE t.status = 'open' AND t.created_at < ? AND NOT EXISTS "
            "(SELECT 1 FROM ticket_events e WHERE e.ticket = t.number AND e.kind = 'reminded') ORDER BY t.number",
            (_iso(before),),
        )
        return [_ticket_from_row(row) for row in rows]

    async def has_event(self, number: int, kind: str) -> bool:
        """True when the ticket's audit log has an event of this kind."""
        row = await self._read_one("SELECT 1 FROM ticket_events WHERE ticket = ? AND kind = ? LIMIT 1", (number, kind))
        return row is not None

    async def add_event(self, number: int, kind: str, actor: str, detail: str | None = None) -> None:
        """Append to the ticket's audit log."""
        async with self._transaction():
            await self._ticket(number)
            await self._event(number, kind, actor, detail, self._now())

    async def mark_reminded(self, number: int) -> None:
        """Record that agents were reminded of the ticket (so they are reminded once)."""
        async with self._transaction():
            await self._ticket(number)
            await self._event(number, "reminded", "bot", None, self._now())

    async def ticket_by_slack_ts(self, ts: str) -> Ticket | None:
        """The ticket mirrored by this Slack message, or None."""
        row = await self._read_one(_TICKET_SELECT + " WHERE t.slack_ts = ?", (ts,))
        return None if row is None else _ticket_from_row(row)

    async def add_attachment(self, number: int, kind: str, ref: str, mime_type: str | None) -> StoredAttachment:
        """Keep a reference to a file the user sent on the ticket (its caption is in the redacted transcript)."""
        async with self._transaction():
            ticket = await self._ticket(number)
            now = self._now()
            row = await self._one(
                "INSERT INTO attachments (ticket, channel, kind, ref, mime_type, created_at) VALUES (?, ?, ?, ?, ?, ?) "
                "RETURNING id",
                (number, ticket.channel, kind, ref, mime_type, now),
            )
            assert row is not None
            await self._event(number, "attachment", ticket.channel_user_id, f"{kind} {ref}", now)
            return StoredAttachment(int(row["id"]), number, ticket.channel, kind, ref, mime_type, _dt(now))

    async def attachments(self, number: int) -> list[StoredAttachment]:
        """The files sent on a ticket, oldest first."""
        rows = await self._read_all("SELECT * FROM attachments WHERE ticket = ? ORDER BY id", (number,))
        return [
            StoredAttachment(
                int(r["id"]), int(r["ticket"]), str(r["channel"]), str(r["kind"]), str(r["ref"]), r["mime_type"],
                _dt(r["created_at"]),
            )
            for r in rows
        ]

    async def ticket_events(self, number: int) -> list[TicketEvent]:
        """The ticket's audit log, oldest first."""
        rows = await self._read_all(
            "SELECT id, ticket, kind, actor, detail, created_at FROM ticket_events WHERE ticket = ? ORDER BY id",
            (number,),
        )
        return [
            TicketEvent(int(r["id"]), int(r["ticket"]), r["kind"], r["actor"], r["detail"], _dt(r["created_at"]))
            for r in rows
        ]

    async def ticket_stats(self, since: datetime) -> TicketStats:
        """Median seconds to claim and to resolve, and the CSAT average, of the tickets opened at or after `since`."""
        async with self._lock:
            rows = await self._all(
                """
                SELECT t.created_at, t.claimed_at, t.resolved_at, r.rating
                FROM tickets t LEFT JOIN csat_ratings r ON r.ticket = t.number
                WHERE t.created_at >= ?
                """,
                (_iso(since),),
            )
        to_claim = [_seconds(r["created_at"], r["claimed_at"]) for r in rows if r["claimed_at"] is not None]
        to_resolve = [_seconds(r["created_at"], r["resolved_at"]) for r in rows if r["resolved_at"] is not None]
        ratings = [int(r["rating"]) for r in rows if r["rating"] is not None]
        return TicketStats(
            opened=len(rows),
            median_seconds_to_claim=statistics.median(to_claim) if to_claim else None,
            median_seconds_to_resolve=statistics.median(to_resolve) if to_resolve else None,
            csat_average=statistics.fmean(ratings) if ratings else None,
            csat_count=len(ratings),
        )

    async def _transition(self, number: int, new: TicketStatus, actor: str) -> Ticket:
        async with self._transaction():
            now = self._now()
            ticket = await self._ticket(number)
            if new not in _TRANSITIONS[ticket.status]:
                raise StoreError(f"ticket #{number} is {ticket.status.value}; it cannot become {new.value}")
            assignee = ticket.assignee
            kind = "status"
            if new == TicketStatus.CLAIMED and assignee is None:
                assignee = actor  # claiming through set_status: the actor takes it
                kind = "claimed"
            elif new == TicketStatus.OPEN:
                assignee = None  # released back to the queue
            elif new in FINAL_STATUSES:
                kind = new.value
            await self._db.execute(
                """
                UPDATE tickets SET status = ?, assignee = ?,
                    claimed_at = CASE WHEN ? THEN COALESCE(claimed_at, ?) ELSE claimed_at END,
                    resolved_at = CASE WHEN ? THEN ? ELSE resolved_at END
                WHERE number = ?
                """,
                (new.value, assignee, kind == "claimed", now, new == TicketStatus.RESOLVED, now, number),
            )
            await self._event(number, kind, actor, f"{ticket.status.value} -> {new.value}", now)
            return await self._ticket(number)

    async def _ticket(self, number: int) -> Ticket:
        row = await self._one(_TICKET_SELECT + " WHERE t.number = ?", (number,))
        if row is None:
            raise StoreError(f"there is no ticket #{number}")
        return _ticket_from_row(row)

    async def _event(self, number: int, kind: str, actor: str, detail: str | None, now: str) -> None:
        await self._db.execute(
            "INSERT INTO ticket_events (ticket, kind, actor, detail, created_at) VALUES (?, ?, ?, ?, ?)",
            (number, kind, actor, detail, now),
        )

    # -- inbox, outbox, cursors -------------------------------------------------------------------------------

    async def inbox_add(self, channel: str, platform_message_id: str, payload: Mapping[str, Any]) -> bool:
        """Record a received platform message; False if it was already received (a redelivery)."""
        async with self._transaction():
            cursor = await self._db.execute(
                "INSERT INTO inbox (channel, platform_message_id, payload, received_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (channel, platform_message_id) DO NOTHING",
                (channel, platform_message_id, _json(payload), self._now()),
            )
            return cursor.rowcount == 1

    async def inbox_receive(self, channel: str, platform_message_id: str, payload: Mapping[str, Any]) -> bool:
        """Record a received platform message; True while it still needs handling (new, or never finished)."""
        async with self._transaction():
            cursor = await self._db.execute(
                "INSERT INTO inbox (channel, platform_message_id, payload, received_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (channel, platform_message_id) DO NOTHING",
                (channel, platform_message_id, _json(payload), self._now()),
            )
            if cursor.rowcount == 1:
                return True
            row = await self._one(
                "SELECT handled_at FROM inbox WHERE channel = ? AND platform_message_id = ?",
                (channel, platform_message_id),
            )
            return row is not None and row["handled_at"] is None

    async def inbox_mark_handled(self, channel: str, platform_message_id: str) -> None:
        """Note that a received message has been fully handled."""
        async with self._transaction():
            await self._mark_handled(channel, platform_message_id)

    async def _mark_handled(self, channel: str, platform_message_id: str) -> None:
        await self._db.execute(
            "UPDATE inbox SET handled_at = COALESCE(handled_at, ?) WHERE channel = ? AND platform_message_id = ?",
            (self._now(), channel, platform_message_id),
        )

    async def outbox_add(self, channel: str, conversation_id: str, payload: Mapping[str, Any]) -> OutboxItem:
        """Queue a message for delivery, due now."""
        async with self._transaction():
            return await self._insert_outbox(channel, conversation_id, payload)

    async def queue_reply(self, channel: str, conversation_id: str, payload: Mapping[str, Any]) -> OutboxItem:
        """A reply outside any inbound message (an agent's answer): into the transcript and the outbox, together."""
        async with self._transaction():
            return await self._queue_reply(channel, conversation_id, payload)

    async def _queue_reply(self, channel: str, conversation_id: str, payload: Mapping[str, Any]) -> OutboxItem:
        await self._insert_message(channel, conversation_id, "out", str(payload.get("text", "")))
        return await self._insert_outbox(channel, conversation_id, payload)

    async def _insert_outbox(self, channel: str, conversation_id: str, payload: Mapping[str, Any]) -> OutboxItem:
        now = self._now()
        row = await self._one(
            "INSERT INTO outbox (channel, conversation_id, payload, next_attempt_at, created_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING *",
            (channel, conversation_id, _json(payload), now, now),
        )
        assert row is not None
        return _outbox_from_row(row)

    async def outbox_pending(self, limit: int = 100) -> list[OutboxItem]:
        """Pending messages that are due (next attempt not in the future), oldest due first."""
        rows = await self._read_all(
            "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, id LIMIT ?",
            (self._now(), limit),
        )
        return [_outbox_from_row(r) for r in rows]

    async def outbox_get(self, item_id: int) -> OutboxItem:
        """One outbox item; StoreError if there is none."""
        row = await self._read_one("SELECT * FROM outbox WHERE id = ?", (item_id,))
        if row is None:
            raise StoreError(f"there is no outbox item {item_id}")
        return _outbox_from_row(row)

    async def outbox_mark_sent(self, item_id: int) -> None:
        """Delivery succeeded."""
        async with self._transaction():
            await self._outbox_pending_row(item_id)
            await self._db.execute(
                "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ? WHERE id = ?",
                (self._now(), item_id),
            )

    async def outbox_mark_failed(
        self, item_id: int, permanent: bool, error: str, retry_at: datetime | None = None
    ) -> None:
        """Delivery failed: give up if `permanent`, else try again at `retry_at`."""
        if not permanent and retry_at is None:
            raise StoreError("a temporary outbox failure needs retry_at")
        async with self._transaction():
            await self._outbox_pending_row(item_id)
            if permanent:
                await self._db.execute(
                    "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?",
                    (error, item_id),
                )
            else:
                assert retry_at is not None
                await self._db.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
                    (error, _iso(retry_at), item_id),
                )

    async def _outbox_pending_row(self, item_id: int) -> None:
        row = await self._one("SELECT status FROM outbox WHERE id = ?", (item_id,))
        if row is None:
            raise StoreError(f"there is no outbox item {item_id}")
        if row["status"] != "pending":
            raise StoreError(f"outbox item {item_id} is already {row['status']}")

    async def cursor_get(self, name: str) -> str | None:
        """A saved position (e.g. a polling offset), or None."""
        row = await self._read_one("SELECT value FROM cursors WHERE name = ?", (name,))
        return None if row is None else str(row["value"])

    async def cursor_set(self, name: str, value: str) -> None:
        """Save a position."""
        async with self._transaction():
            await self._db.execute(
                "INSERT INTO cursors (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )


class SqliteConversationStates:
    """The router's `ConversationStates` kept in the store, so conversations survive restarts."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, key: ConversationKey) -> ConversationState:
        """The state of a conversation (a fresh one if unknown)."""
        return await self._store.load_conversation_state(key)

    async def put(self, key: ConversationKey, state: ConversationState) -> None:
        """Remember a conversation's new state."""
        await self._store.save_conversation_state(key, state)


_TICKET_SELECT = """
    SELECT t.number, t.channel, c.conversation_id, t.channel_user_id, t.status, t.priority, t.category, t.reason,
        t.summary, t.assignee, t.lang, t.created_at, t.claimed_at, t.first_reply_at, t.resolved_at, t.slack_ts
    FROM tickets t JOIN conversations c ON c.id = t.conversation
"""


def _intake_from_json(value: Any) -> Intake | None:
    if not value:
        return None
    return Intake(
        reason=str(value["reason"]),
        priority=Priority(value["priority"]),
        category=value.get("category"),
        summary=str(value["summary"]),
        questions=tuple(value.get("questions", ())),
        answers=tuple(value.get("answers", ())),
    )


def _ticket_from_row(row: sqlite3.Row) -> Ticket:
    return Ticket(
        number=int(row["number"]),
        channel=row["channel"],
        conversation_id=row["conversation_id"],
        channel_user_id=row["channel_user_id"],
        status=TicketStatus(row["status"]),
        priority=Priority(row["priority"]),
        category=row["category"],
        reason=row["reason"],
        summary=row["summary"],
        assignee=row["assignee"],
        lang=_lang_or_none(row["lang"]) or "en",
        created_at=_dt(row["created_at"]),
        claimed_at=_dt_or_none(row["claimed_at"]),
        first_reply_at=_dt_or_none(row["first_reply_at"]),
        resolved_at=_dt_or_none(row["resolved_at"]),
        slack_ts=row["slack_ts"],
    )


def _outbox_from_row(row: sqlite3.Row) -> OutboxItem:
    status = row["status"]
    return OutboxItem(
        id=int(row["id"]),
        channel=row["channel"],
        conversation_id=row["conversation_id"],
        payload=json.loads(row["payload"]),
        status="sent" if status == "sent" else "failed" if status == "failed" else "pending",
        attempts=int(row["attempts"]),
        next_attempt_at=_dt(row["next_attempt_at"]),
        last_error=row["last_error"],
        created_at=_dt(row["created_at"]),
        sent_at=_dt_or_none(row["sent_at"]),
    )


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into statements (sqlite3.complete_statement knows about quotes and comments)."""
    buffer = ""
    for part in script.split(";"):
        buffer += part + ";"
        if sqlite3.complete_statement(buffer):
            if _has_code(buffer):
                yield buffer.strip()
            buffer = ""
    if _has_code(buffer):
        raise StoreError(f"incomplete SQL statement in migration: {buffer.strip()[:80]!r}")


def _has_code(sql: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in sql.rstrip(";").splitlines())


def _iso(moment: datetime) -> str:
    """A fixed-width UTC ISO-8601 string, so stored timestamps compare correctly as text."""
    if moment.tzinfo is None:
        raise StoreError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _dt_or_none(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _seconds(start: str, end: str) -> float:
    return (_dt(end) - _dt(start)).total_seconds()


def _lang_or_none(value: object) -> Lang | None:
    if value == "en":
        return "en"
    if value == "zh":
        return "zh"
    return None


def _json(payload: Mapping[str, Any]) -> str:
    return json.dumps(dict(payload), ensure_ascii=False, sort_keys=True)
