"""The store on PostgreSQL (asyncpg): the same API as the SQLite `Store`, for several instances on one database.

Each write is one transaction on a pooled connection; rows that two instances could change together are locked
(`SELECT ... FOR UPDATE`) or guarded by a unique index. Outbox items are claimed with `FOR UPDATE SKIP LOCKED` and a
lease; conversations are serialised across instances with advisory locks; the pollers' leader holds an advisory
lock on a connection of its own; `LISTEN/NOTIFY` carries events between instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import statistics
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bot.core.conversation import (
    LISTED_TICKETS,
    ConversationKey,
    ConversationSnapshot,
    ConversationState,
    TicketView,
)
from bot.core.effects import CancelTicket, Effect, FollowUp, OpenTicket, RateTicket
from bot.core.messages import Decision, Lang, Priority, Suggestion
from bot.core.ports import AGENTS, AgentNoticeKind, StateConflict
from bot.desk.domain import check_agent_reply, check_claim, check_rating, check_transition
from bot.store.opening import redact_url
from bot.store.pg_schema import migrate_pg
from bot.store.queries import (
    _TICKET_SELECT,
    CONVERSATION_TICKETS_SQL,
    _json,
    _outbox_from_row,
    _state_from_row,
    _stored_message_from_row,
    _ticket_from_row,
    _ticket_views,
    _user_ticket_from_row,
    _with_ticket_number,
)
from bot.store.records import (
    FINAL_STATUSES,
    ArticleVotes,
    Clock,
    Direction,
    OutboxDepth,
    OutboxItem,
    StoredAttachment,
    StoredMessage,
    StoreError,
    Ticket,
    TicketEvent,
    TicketStats,
    TicketStatus,
    UserTicket,
    WebchatSession,
    utc_now,
)

log = logging.getLogger(__name__)
# An instance that claimed an outbox item and died leaves it to the others after this long: the window in which a
# reply the platform accepted, but that was not yet marked sent, is sent a second time.
OUTBOX_LEASE = timedelta(seconds=30)
# How often a follower asks for the leader lock, and the leader checks its connection: takeover within ~2x this.
LEADER_CHECK_SECONDS = 2.0
CONNECT_TIMEOUT_SECONDS = 10.0

Connection = asyncpg.Connection | PoolConnectionProxy
Listener = Callable[[str], Awaitable[None]]


TICKET_SELECT = _TICKET_SELECT
OPEN_STATUSES_SQL = "status NOT IN ('resolved', 'cancelled')"


class PgStore:
    """All persistent state of OmniDesk in PostgreSQL; every method returns only once its effect is committed."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        lock_pool: asyncpg.Pool,
        url: str,
        clock: Clock,
        lease_new_outbox: bool,
        outbox_lease: timedelta,
    ) -> None:
        """Use `PgStore.open`, which connects and migrates the schema."""
        self._pool = pool
        self._lock_pool = lock_pool
        self._url = url
        self._clock = clock
        self._lease_new_outbox = lease_new_outbox
        self._outbox_lease = outbox_lease
        self._listener: Connection | None = None
        self._listeners: dict[str, list[Listener]] = {}
        self._closed = False
        self._tasks: set[asyncio.Future[None]] = set()

    @classmethod
    async def open(
        cls,
        url: str,
        clock: Clock = utc_now,
        lease_new_outbox: bool = True,
        outbox_lease: timedelta = OUTBOX_LEASE,
        pool_size: int = 10,
        lock_pool_size: int = 32,
    ) -> PgStore:
        """Connect to `url` and bring the schema up to date (StoreError, one line, when that fails).

        `lease_new_outbox`: replies queued here are delivered here (leased to this instance at once, so no other
        instance sends them meanwhile); the agent CLI, which only queues, passes False. `lock_pool_size` bounds
        how many conversations one instance handles at once (each holds its advisory lock on a connection)."""
        try:
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=pool_size, timeout=CONNECT_TIMEOUT_SECONDS, command_timeout=60
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError, TimeoutError) as exc:
            raise StoreError(f"cannot connect to the PostgreSQL store at {redact_url(url)}: {exc}") from None
        try:
            async with pool.acquire() as connection:
                await migrate_pg(connection)
            lock_pool = await asyncpg.create_pool(url, min_size=0, max_size=lock_pool_size)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, lock_pool, url, clock, lease_new_outbox, outbox_lease)

    async def close(self) -> None:
        """Close the connections; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
        await self._lock_pool.close()
        await self._pool.close()

    async def __aenter__(self) -> PgStore:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _now(self) -> datetime:
        return _aware(self._clock())

    @property
    def pool(self) -> asyncpg.Pool:
        """The connection pool (for tools such as migrate-store and the tests)."""
        return self._pool

    @contextlib.asynccontextmanager
    async def _tx(self) -> AsyncIterator[Connection]:
        async with self._pool.acquire() as connection, connection.transaction():
            yield connection

    # -- conversation state -----------------------------------------------------------------------------------

    async def load_conversation_state(self, key: ConversationKey) -> ConversationState:
        """The router's memory of a conversation (a fresh state if unknown)."""
        row = await self._pool.fetchrow(
            "SELECT lang, lang_choice, misses, last_suggestions, flow FROM conversations "
            "WHERE channel = $1 AND conversation_id = $2",
            key[0],
            key[1],
        )
        return _state_from_row(row)

    async def save_conversation_state(self, key: ConversationKey, state: ConversationState) -> None:
        """Remember the router's memory of a conversation."""
        async with self._tx() as db:
            await _save_state(db, key, state, None, self._now())

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
        """Append a message (text ALREADY REDACTED) to the transcript; a user's message is logged on an open ticket."""
        async with self._tx() as db:
            return await _record_message(
                db, self._now(), channel, conversation_id, direction, text, platform_message_id, channel_user_id,
                decision,
            )  # fmt: skip

    async def receive_inbound(
        self, channel: str, platform_message_id: str, conversation: ConversationKey
    ) -> ConversationSnapshot | None:
        """The state (with its ticket and version) to handle a message from; None when it was handled already."""
        row = await self._pool.fetchrow(
            """
            SELECT (SELECT handled_at FROM inbox WHERE channel = $1 AND platform_message_id = $2) AS handled_at,
                c.lang, c.lang_choice, c.misses, c.last_suggestions, c.flow, c.version,
                t.number AS ticket_number, t.status AS ticket_status, t.priority AS ticket_priority
            FROM (SELECT 1) AS one LEFT JOIN conversations c ON c.channel = $3 AND c.conversation_id = $4
            LEFT JOIN tickets t ON t.number = (c.flow::jsonb ->> 'ticket')::bigint
            """,
            channel,
            platform_message_id,
            conversation[0],
            conversation[1],
        )
        if row is None:  # never: the one-row FROM always yields a row
            return ConversationSnapshot(ConversationState())
        if row["handled_at"] is not None:
            return None
        ticket = (
            None
            if row["ticket_number"] is None
            else TicketView(int(row["ticket_number"]), str(row["ticket_status"]), Priority(row["ticket_priority"]))
        )
        # A new conversation has no tickets: only a known one costs the second (indexed) query.
        listed = (
            ()
            if row["version"] is None
            else _ticket_views(
                await self._pool.fetch(CONVERSATION_TICKETS_SQL.format("$1", "$2", "$3"), *conversation, LISTED_TICKETS)
            )
        )
        return ConversationSnapshot(_state_from_row(row), ticket, int(row["version"] or 0), listed)

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
        """In ONE transaction: the inbound message, its effects (tickets opened, cancelled, rated, follow-ups, with
        their agent notices queued), the new state, its replies (outbox and transcript), the inbox row marked
        handled; StateConflict, writing nothing, when the conversation is no longer at `version`. None, writing nothing, when another delivery of the same message was completed first:
        the inbox's unique key makes a second instance's insert wait for the first one's commit, then find it."""
        now = self._now()
        async with self._tx() as db:
            claimed = await db.fetchval(
                "INSERT INTO inbox (channel, platform_message_id, payload, received_at, handled_at) "
                "VALUES ($1, $2, $3, $4, $4) "
                "ON CONFLICT (channel, platform_message_id) DO UPDATE SET handled_at = excluded.handled_at "
                "WHERE inbox.handled_at IS NULL RETURNING id",
                channel,
                platform_message_id,
                _json({"user": channel_user_id}),
                now,
            )
            if claimed is None:
                return None
            key = (channel, conversation_id)
            if version is not None:
                # FOR UPDATE: the version read is the one this transaction commits over.
                current = await db.fetchval(
                    "SELECT version FROM conversations WHERE channel = $1 AND conversation_id = $2 FOR UPDATE",
                    channel,
                    conversation_id,
                )
                if (int(current) if current is not None else 0) != version:
                    raise StateConflict(f"conversation {channel}:{conversation_id} changed since it was read")
            notices: list[OutboxItem] = []
            for effect in effects:
                opened = await self._apply(db, now, key, channel_user_id, effect, notices)
                if opened is not None and state is not None:
                    state = dataclasses.replace(state, ticket=opened)
                    replies = [_with_ticket_number(reply, opened) for reply in replies]
            if state is not None:
                conversation = await _save_state(db, key, state, channel_user_id, now)
            else:
                conversation = await _conversation_row_id(db, key, now, channel_user_id)
            for message_id, redacted in redact_earlier:  # a seed phrase sent in parts: its earlier parts
                old = await db.fetchval(
                    "SELECT text FROM messages WHERE id = $1 AND conversation = $2 AND direction = 'in'",
                    message_id,
                    conversation,
                )
                if old is not None:
                    await db.execute("UPDATE messages SET text = $1 WHERE id = $2", redacted, message_id)
                    await db.execute(
                        "UPDATE ticket_events SET detail = $1 WHERE kind = 'user_message' AND detail = $2 "
                        "AND ticket IN (SELECT number FROM tickets WHERE conversation = $3)",
                        redacted,
                        old,
                        conversation,
                    )
                    await db.execute(  # the message relayed to agents: the notice kept in the outbox
                        "UPDATE outbox SET payload = jsonb_set(payload::jsonb, '{text}', to_jsonb($1::text))::text "
                        "WHERE channel = $2 AND conversation_id IN "
                        "(SELECT number::text FROM tickets WHERE conversation = $3) "
                        "AND payload::jsonb ->> 'notice' = 'relay' AND payload::jsonb ->> 'text' = $4",
                        redacted,
                        AGENTS,
                        conversation,
                        old,
                    )
            await _record_message(
                db, now, channel, conversation_id, "in", text, platform_message_id, decision=decision,
                conversation=conversation,
            )  # fmt: skip
            queued = [
                item for r in replies for item in await self._queue_reply(db, now, channel, conversation_id, r, conversation)
            ]
            # The replies, then the agent notices the effects queued, after what is still pending before them.
            return await self._after_earlier_pending(db, queued + notices)

    async def transcript(
        self, conversation: ConversationKey, limit: int | None = None, after: int = 0
    ) -> list[StoredMessage]:
        """A conversation's messages with ids above `after`, oldest first; with `limit`, only the latest `limit`."""
        rows = await self._pool.fetch(
            """
            SELECT * FROM (
                SELECT m.id, c.channel, c.conversation_id, m.direction, m.text, m.platform_message_id, m.created_at,
                    m.suggestions, m.agent
                FROM messages m JOIN conversations c ON c.id = m.conversation
                WHERE c.channel = $1 AND c.conversation_id = $2 AND m.id > $3
                ORDER BY m.id DESC LIMIT $4
            ) AS latest ORDER BY id
            """,
            conversation[0],
            conversation[1],
            after,
            limit,
        )
        return [_stored_message_from_row(r) for r in rows]

    async def inbound_message(self, conversation: ConversationKey, platform_message_id: str) -> StoredMessage | None:
        """A user's message as stored (redacted), by its platform id; None if it is not stored."""
        row = await self._pool.fetchrow(
            """
            SELECT m.id, c.channel, c.conversation_id, m.direction, m.text, m.platform_message_id, m.created_at,
                m.suggestions, m.agent
            FROM messages m JOIN conversations c ON c.id = m.conversation
            WHERE c.channel = $1 AND c.conversation_id = $2 AND m.direction = 'in' AND m.platform_message_id = $3
            ORDER BY m.id DESC LIMIT 1
            """,
            conversation[0],
            conversation[1],
            platform_message_id,
        )
        return None if row is None else _stored_message_from_row(row)

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
        try:
            async with self._tx() as db:
                return await _open_ticket(
                    db, self._now(), channel, conversation_id, channel_user_id, lang, priority, category, reason,
                    summary,
                )  # fmt: skip
        except asyncpg.UniqueViolationError:
            # Another instance opened one between our check and our insert: the index is the last word.
            raise StoreError(f"conversation {channel}:{conversation_id} already has an open ticket") from None

    async def open_ticket_for(self, channel: str, conversation_id: str) -> Ticket | None:
        """The conversation's unfinished (not resolved or cancelled) ticket, if any."""
        row = await self._pool.fetchrow(
            TICKET_SELECT + " WHERE c.channel = $1 AND c.conversation_id = $2 AND t.status NOT IN "
            "('resolved', 'cancelled')",
            channel,
            conversation_id,
        )
        return None if row is None else _ticket_from_row(row)

    async def get_ticket(self, number: int) -> Ticket:
        """The ticket `#number`; StoreError if there is none."""
        async with self._pool.acquire() as db:
            return await _ticket(db, number)

    async def list_tickets(self, status: TicketStatus | None = None) -> list[Ticket]:
        """All tickets (or those in one status), oldest first."""
        if status is None:
            rows = await self._pool.fetch(TICKET_SELECT + " ORDER BY t.number")
        else:
            rows = await self._pool.fetch(
                TICKET_SELECT + " WHERE t.status = $1 ORDER BY t.number", TicketStatus(status).value
            )
        return [_ticket_from_row(r) for r in rows]

    async def claim(self, number: int, agent: str) -> Ticket:
        """An agent takes the ticket: open -> claimed, or takes it over from another agent while unfinished."""
        now = self._now()
        async with self._tx() as db:
            ticket = await _ticket(db, number, for_update=True)
            status = check_claim(ticket, agent)
            previous = ticket.assignee
            await db.execute(
                "UPDATE tickets SET status = $1, assignee = $2, claimed_at = COALESCE(claimed_at, $3) WHERE number = $4",
                status.value,
                agent,
                now,
                number,
            )
            await _event(db, number, "claimed", agent, f"from {previous}" if previous else None, now)
            await self._notify_agents(db, now, number, "redraw", lease=False)
            return await _ticket(db, number)

    async def add_agent_reply(self, number: int, agent: str, text: str) -> Ticket:
        """Log an agent's reply on an unfinished ticket; the first one sets `first_reply_at`."""
        now = self._now()
        async with self._tx() as db:
            check_agent_reply(await _ticket(db, number, for_update=True))
            await db.execute(
                "UPDATE tickets SET first_reply_at = COALESCE(first_reply_at, $1) WHERE number = $2", now, number
            )
            await _event(db, number, "agent_reply", agent, text, now)
            return await _ticket(db, number)

    async def set_status(self, number: int, status: TicketStatus, actor: str) -> Ticket:
        """Move a ticket to `status` if the move is legal."""
        return await self._transition(number, TicketStatus(status), actor)

    async def resolve(self, number: int, actor: str) -> Ticket:
        """Mark an unfinished ticket resolved; sets `resolved_at`."""
        return await self._transition(number, TicketStatus.RESOLVED, actor)

    async def resolve_asking_rating(
        self, number: int, actor: str, reply: Mapping[str, Any]
    ) -> tuple[Ticket, list[OutboxItem]]:
        """In one transaction: the ticket resolved, its conversation waiting for the rating at a new version (a
        message decided from the old state meanwhile is decided again), and `reply` queued to the user."""
        now = self._now()
        async with self._tx() as db:
            ticket = await self._transition_in(db, now, number, TicketStatus.RESOLVED, actor)
            key = ticket.conversation_key
            # FOR UPDATE: the state read is the one this transaction replaces (a message's commit waits for it).
            row = await db.fetchrow(
                "SELECT lang, lang_choice, misses, last_suggestions, flow FROM conversations "
                "WHERE channel = $1 AND conversation_id = $2 FOR UPDATE",
                key[0],
                key[1],
            )
            state = dataclasses.replace(_state_from_row(row), ticket=None, rating_for=number, last_suggestions=())
            conversation = await _save_state(db, key, state, None, now)
            items = await self._queue_reply(db, now, ticket.channel, ticket.conversation_id, reply, conversation)
            return ticket, await self._after_earlier_pending(db, items)

    async def cancel(self, number: int, actor: str) -> Ticket:
        """Cancel an unfinished ticket."""
        return await self._transition(number, TicketStatus.CANCELLED, actor)

    async def _transition(self, number: int, new: TicketStatus, actor: str) -> Ticket:
        async with self._tx() as db:
            return await self._transition_in(db, self._now(), number, new, actor)

    async def _transition_in(self, db: Connection, now: datetime, number: int, new: TicketStatus, actor: str) -> Ticket:
        if True:  # (one indentation level with the callers' transaction blocks)
            ticket = await _ticket(db, number, for_update=True)
            check_transition(ticket, new)
            assignee = ticket.assignee
            kind = "status"
            if new == TicketStatus.CLAIMED and assignee is None:
                assignee = actor
                kind = "claimed"
            elif new == TicketStatus.OPEN:
                assignee = None
            elif new in FINAL_STATUSES:
                kind = new.value
            await db.execute(
                """
                UPDATE tickets SET status = $1, assignee = $2,
                    claimed_at = CASE WHEN $3 THEN COALESCE(claimed_at, $4) ELSE claimed_at END,
                    resolved_at = CASE WHEN $5 THEN $4 ELSE resolved_at END
                WHERE number = $6
                """,
                new.value,
                assignee,
                kind == "claimed",
                now,
                new == TicketStatus.RESOLVED,
                number,
            )
            await _event(db, number, kind, actor, f"{ticket.status.value} -> {new.value}", now)
            await self._notify_agents(db, now, number, "redraw", lease=False)  # every change redraws it for agents
            return await _ticket(db, number)

    async def rate(self, number: int, rating: int) -> None:
        """Store the user's CSAT rating (1-5) of a resolved ticket; once per ticket."""
        async with self._tx() as db:
            await _rate(db, self._now(), number, rating)

    async def rating(self, number: int) -> int | None:
        """The ticket's CSAT rating, or None if not rated."""
        value = await self._pool.fetchval("SELECT rating FROM csat_ratings WHERE ticket = $1", number)
        return None if value is None else int(value)

    async def message_counts(self, since: datetime) -> dict[tuple[str, str], int]:
        """(channel, direction) -> number of messages since `since`."""
        rows = await self._pool.fetch(
            "SELECT c.channel, m.direction, COUNT(*) AS n FROM messages m JOIN conversations c ON c.id = m.conversation "
            "WHERE m.created_at >= $1 GROUP BY c.channel, m.direction",
            _aware(since),
        )
        return {(str(r["channel"]), str(r["direction"])): int(r["n"]) for r in rows}

    async def decision_counts(self, since: datetime) -> dict[str, int]:
        """Router action -> number of inbound messages since `since`."""
        rows = await self._pool.fetch(
            "SELECT action, COUNT(*) AS n FROM messages WHERE direction = 'in' AND action IS NOT NULL "
            "AND created_at >= $1 GROUP BY action",
            _aware(since),
        )
        return {str(r["action"]): int(r["n"]) for r in rows}

    async def not_understood(self, since: datetime, limit: int = 5000) -> list[str]:
        """Redacted texts of inbound messages the bot did not understand or was unsure of, newest first."""
        rows = await self._pool.fetch(
            "SELECT text FROM messages WHERE direction = 'in' AND created_at >= $1 AND "
            "(action = 'clarify' OR reason = 'not_understood') AND text NOT LIKE '/%' ORDER BY id DESC LIMIT $2",
            _aware(since),
            limit,
        )
        return [str(r["text"]) for r in rows]

    async def unclaimed_since(self, before: datetime) -> list[Ticket]:
        """Open tickets created before `before` that nobody claimed and that were not reminded about yet."""
        rows = await self._pool.fetch(
            TICKET_SELECT + " WHERE t.status = 'open' AND t.created_at < $1 AND NOT EXISTS "
            "(SELECT 1 FROM ticket_events e WHERE e.ticket = t.number AND e.kind = 'reminded') ORDER BY t.number",
            _aware(before),
        )
        return [_ticket_from_row(row) for row in rows]

    async def has_event(self, number: int, kind: str) -> bool:
        """True when the ticket's audit log has an event of this kind."""
        value = await self._pool.fetchval(
            "SELECT 1 FROM ticket_events WHERE ticket = $1 AND kind = $2 LIMIT 1", number, kind
        )
        return value is not None

    async def add_event(self, number: int, kind: str, actor: str, detail: str | None = None) -> None:
        """Append to the ticket's audit log."""
        async with self._tx() as db:
            await _ticket(db, number)
            await _event(db, number, kind, actor, detail, self._now())

    async def mark_reminded(self, number: int) -> None:
        """Record that agents are reminded of the ticket (once), and queue the reminder for them."""
        now = self._now()
        async with self._tx() as db:
            await _ticket(db, number)
            await _event(db, number, "reminded", "bot", None, now)
            await self._notify_agents(db, now, number, "remind", lease=False)

    async def add_attachment(self, number: int, kind: str, ref: str, mime_type: str | None) -> StoredAttachment:
        """Keep a reference to a file the user sent on the ticket."""
        async with self._tx() as db:
            return await _add_attachment(db, self._now(), number, kind, ref, mime_type)

    async def attachments(self, number: int) -> list[StoredAttachment]:
        """The files sent on a ticket, oldest first."""
        rows = await self._pool.fetch("SELECT * FROM attachments WHERE ticket = $1 ORDER BY id", number)
        return [
            StoredAttachment(
                int(r["id"]),
                int(r["ticket"]),
                str(r["channel"]),
                str(r["kind"]),
                str(r["ref"]),
                r["mime_type"],
                r["created_at"],
            )
            for r in rows
        ]

    async def ticket_events(self, number: int) -> list[TicketEvent]:
        """The ticket's audit log, oldest first."""
        rows = await self._pool.fetch(
            "SELECT id, ticket, kind, actor, detail, created_at FROM ticket_events WHERE ticket = $1 ORDER BY id",
            number,
        )
        return [
            TicketEvent(int(r["id"]), int(r["ticket"]), r["kind"], r["actor"], r["detail"], r["created_at"])
            for r in rows
        ]

    async def ticket_stats(self, since: datetime) -> TicketStats:
        """Median seconds to claim and to resolve, and the CSAT average, of the tickets opened at or after `since`."""
        rows = await self._pool.fetch(
            """
            SELECT t.created_at, t.claimed_at, t.resolved_at, r.rating
            FROM tickets t LEFT JOIN csat_ratings r ON r.ticket = t.number
            WHERE t.created_at >= $1
            """,
            _aware(since),
        )
        to_claim = [(r["claimed_at"] - r["created_at"]).total_seconds() for r in rows if r["claimed_at"] is not None]
        to_resolve = [
            (r["resolved_at"] - r["created_at"]).total_seconds() for r in rows if r["resolved_at"] is not None
        ]
        ratings = [int(r["rating"]) for r in rows if r["rating"] is not None]
        return TicketStats(
            opened=len(rows),
            median_seconds_to_claim=statistics.median(to_claim) if to_claim else None,
            median_seconds_to_resolve=statistics.median(to_resolve) if to_resolve else None,
            csat_average=statistics.fmean(ratings) if ratings else None,
            csat_count=len(ratings),
        )

    async def tickets_of(self, channel: str, conversation_id: str, limit: int = 50) -> list[UserTicket]:
        """A conversation's tickets, newest first, each with the time of its last event ("My tickets")."""
        rows = await self._pool.fetch(
            TICKET_SELECT.replace(
                "\n    FROM ",
                ", (SELECT MAX(e.created_at) FROM ticket_events e WHERE e.ticket = t.number) AS updated_at\n    FROM ",
            )
            + " WHERE c.channel = $1 AND c.conversation_id = $2 ORDER BY t.number DESC LIMIT $3",
            channel,
            conversation_id,
            limit,
        )
        return [_user_ticket_from_row(r) for r in rows]

    async def ticket_status_counts(self) -> dict[str, int]:
        """Status -> number of tickets in it, over all tickets (for /metrics)."""
        rows = await self._pool.fetch("SELECT status, COUNT(*) AS n FROM tickets GROUP BY status")
        return {str(r["status"]): int(r["n"]) for r in rows}

    # -- the help center ------------------------------------------------------------------------------------

    async def add_article_vote(self, entry_id: str, helpful: bool, lang: Lang) -> None:
        """Record one "was this helpful?" answer on a help-center article."""
        await self._pool.execute(
            "INSERT INTO article_votes (entry_id, helpful, lang, created_at) VALUES ($1, $2, $3, $4)",
            _text(entry_id),
            int(helpful),
            lang,
            self._now(),
        )

    async def article_votes(self, since: datetime) -> list[ArticleVotes]:
        """Per entry, the helpful / not helpful votes since `since`, the most "not helpful" first (then by entry id,
        in code-point order as SQLite's)."""
        rows = await self._pool.fetch(
            "SELECT entry_id, SUM(helpful) AS yes, SUM(1 - helpful) AS no FROM article_votes "
            'WHERE created_at >= $1 GROUP BY entry_id ORDER BY SUM(1 - helpful) DESC, entry_id COLLATE "C"',
            _aware(since),
        )
        return [ArticleVotes(str(r["entry_id"]), int(r["yes"]), int(r["no"])) for r in rows]

    # -- inbox, outbox, cursors -------------------------------------------------------------------------------

    async def inbox_add(self, channel: str, platform_message_id: str, payload: Mapping[str, Any]) -> bool:
        """Record a received platform message; False if it was already received (a redelivery)."""
        inserted = await self._pool.fetchval(
            "INSERT INTO inbox (channel, platform_message_id, payload, received_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (channel, platform_message_id) DO NOTHING RETURNING id",
            channel,
            platform_message_id,
            _json(payload),
            self._now(),
        )
        return inserted is not None

    async def inbox_mark_handled(self, channel: str, platform_message_id: str) -> None:
        """Note that a received message has been fully handled."""
        await self._pool.execute(
            "UPDATE inbox SET handled_at = COALESCE(handled_at, $1) WHERE channel = $2 AND platform_message_id = $3",
            self._now(),
            channel,
            platform_message_id,
        )

    async def outbox_add(self, channel: str, conversation_id: str, payload: Mapping[str, Any]) -> OutboxItem:
        """Queue a message for delivery, due now."""
        async with self._pool.acquire() as db:
            return await self._outbox_add(db, self._now(), channel, conversation_id, payload, lease=False)

    async def queue_reply(self, channel: str, conversation_id: str, payload: Mapping[str, Any]) -> list[OutboxItem]:
        """A reply outside any inbound message (an agent's answer): into the transcript and the outbox (a row per
        part), together; returned after the conversation's items still pending before it."""
        async with self._tx() as db:
            items = await self._queue_reply(db, self._now(), channel, conversation_id, payload, None)
            return await self._after_earlier_pending(db, items)

    async def outbox_pending(self, limit: int = 100) -> list[OutboxItem]:
        """Pending items that are due (and not leased to an instance delivering them), each conversation's first
        only (a conversation's items go out in order), oldest due first."""
        rows = await self._pool.fetch(
            "SELECT * FROM outbox o WHERE status = 'pending' AND next_attempt_at <= $1 "
            "AND (lease_until IS NULL OR lease_until <= $1) AND NOT EXISTS (" + _EARLIER_PENDING + ") "
            "ORDER BY next_attempt_at, id LIMIT $2",
            self._now(),
            limit,
        )
        return [_outbox_from_row(r) for r in rows]

    async def outbox_claim(self, limit: int = 100) -> list[OutboxItem]:
        """Take up to `limit` due items for delivery by this instance, each leased for `outbox_lease`; only each
        conversation's first pending item (its next one waits for it, even while another instance holds it).

        `FOR UPDATE SKIP LOCKED`: instances flushing at the same moment take disjoint items without waiting on
        each other; an item whose lease has run out (its instance died mid-delivery) is due again."""
        now = self._now()
        # `leased`: the lease before this claim, set only when another sender had the item and its lease ran out.
        rows = await self._pool.fetch(
            """
            WITH due AS (
                SELECT id, lease_until IS NOT NULL AS leased FROM outbox o WHERE status = 'pending'
                    AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until <= $2) AND NOT EXISTS ("""
            + _EARLIER_PENDING
            + """)
                ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED
            )
            UPDATE outbox SET lease_until = $1 FROM due WHERE outbox.id = due.id RETURNING outbox.*, due.leased
            """,
            now + self._outbox_lease,
            now,
            limit,
        )
        claimed = (dataclasses.replace(_outbox_from_row(r), claimed_before=bool(r["leased"])) for r in rows)
        return sorted(claimed, key=lambda item: (item.next_attempt_at, item.id))

    async def outbox_depth(self) -> OutboxDepth:
        """How many replies wait for delivery and since when the oldest has (for /metrics)."""
        row = await self._pool.fetchrow(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE status = 'pending'"
        )
        assert row is not None  # an aggregate always yields one row
        return OutboxDepth(int(row["n"]), row["oldest"])

    async def outbox_get(self, item_id: int) -> OutboxItem:
        """One outbox item; StoreError if there is none."""
        row = await self._pool.fetchrow("SELECT * FROM outbox WHERE id = $1", item_id)
        if row is None:
            raise StoreError(f"there is no outbox item {item_id}")
        return _outbox_from_row(row)

    async def outbox_mark_sent(self, item_id: int) -> None:
        """Delivery succeeded."""
        # One statement, one round trip (no BEGIN/COMMIT): this runs for every reply.
        updated = await self._pool.fetchval(
            "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = $1, lease_until = NULL "
            "WHERE id = $2 AND status = 'pending' RETURNING id",
            self._now(),
            item_id,
        )
        if updated is None:
            async with self._pool.acquire() as db:
                await _outbox_pending_row(db, item_id)  # raises: no such item, or not pending

    async def outbox_mark_failed(
        self, item_id: int, permanent: bool, error: str, retry_at: datetime | None = None
    ) -> None:
        """Delivery failed: give up if `permanent`, else try again at `retry_at`."""
        if not permanent and retry_at is None:
            raise StoreError("a temporary outbox failure needs retry_at")
        async with self._tx() as db:
            await _outbox_pending_row(db, item_id, for_update=True)
            if permanent:
                await db.execute(
                    "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $1, lease_until = NULL "
                    "WHERE id = $2",
                    error,
                    item_id,
                )
            else:
                assert retry_at is not None
                await db.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, "
                    "lease_until = NULL WHERE id = $3",
                    error,
                    _aware(retry_at),
                    item_id,
                )

    # -- widget sessions ------------------------------------------------------------------------------------------

    async def revoke_webchat_session(self, session_id: str) -> bool:
        """Refuse the widget session's tokens from now on (on every instance); False when it was already revoked."""
        revoked = await self._pool.fetchval(
            "INSERT INTO webchat_revoked_sessions (session_id, revoked_at) VALUES ($1, $2) "
            "ON CONFLICT (session_id) DO NOTHING RETURNING session_id",
            session_id,
            self._now(),
        )
        return revoked is not None

    async def webchat_session_revoked(self, session_id: str) -> bool:
        """Whether the widget session was revoked."""
        found = await self._pool.fetchval("SELECT 1 FROM webchat_revoked_sessions WHERE session_id = $1", session_id)
        return found is not None

    async def webchat_sessions(self, limit: int = 50) -> list[WebchatSession]:
        """Widget sessions with a conversation, most recently active first."""
        rows = await self._pool.fetch(
            """
            SELECT c.conversation_id, c.created_at, c.updated_at, r.revoked_at
            FROM conversations c LEFT JOIN webchat_revoked_sessions r ON r.session_id = c.conversation_id
            WHERE c.channel = 'webchat' ORDER BY c.updated_at DESC, c.id DESC LIMIT $1
            """,
            limit,
        )
        return [WebchatSession(str(r[0]), r[1], r[2], r[3]) for r in rows]

    async def move_conversations(self, channel: str, old: str, new: str) -> int:
        """Move a conversation (and its per-user ones, `old:*`) to a new id, with its tickets and pending replies;
        one already at the new id keeps its own. Returns how many conversations moved."""
        pattern = old.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ":%"
        where = "channel = $2 AND (conversation_id = $3 OR conversation_id LIKE $4 ESCAPE '\\')"
        async with self._tx() as db:
            moved = await db.fetchval(
                f"""
                WITH moved AS (
                    UPDATE conversations SET conversation_id = $1 || substr(conversation_id, $5)
                    WHERE {where} AND NOT EXISTS (
                        SELECT 1 FROM conversations taken
                        WHERE taken.channel = conversations.channel
                          AND taken.conversation_id = $1 || substr(conversations.conversation_id, $5)
                    ) RETURNING 1
                ) SELECT count(*) FROM moved
                """,
                new,
                channel,
                old,
                pattern,
                len(old) + 1,
            )
            await db.execute(
                f"UPDATE outbox SET conversation_id = $1 || substr(conversation_id, $5) "
                f"WHERE status = 'pending' AND {where}",
                new,
                channel,
                old,
                pattern,
                len(old) + 1,
            )
            return int(moved)

    async def cursor_get(self, name: str) -> str | None:
        """A saved position (e.g. a polling offset), or None."""
        value = await self._pool.fetchval("SELECT value FROM cursors WHERE name = $1", name)
        return None if value is None else str(value)

    async def cursor_set(self, name: str, value: str) -> None:
        """Save a position."""
        await self._pool.execute(
            "INSERT INTO cursors (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            name,
            value,
        )

    async def cursor_setdefault(self, name: str, value: str) -> str:
        """The saved value of `name`, saving `value` first if there is none: instances starting together agree."""
        while True:
            # Two statements, each with a fresh snapshot: a single statement could miss a row committed by another
            # instance after it started (its insert then does nothing, and its select does not see the row).
            inserted = await self._pool.fetchval(
                "INSERT INTO cursors (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value",
                name,
                value,
            )
            saved = inserted if inserted is not None else await self.cursor_get(name)
            if saved is not None:
                return str(saved)

    # -- coordination across instances ------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def conversation_lock(self, key: ConversationKey) -> AsyncIterator[None]:
        """Serialise the handling of one conversation across every instance (a session advisory lock held on a
        connection of the lock pool for the block); other conversations go on in parallel."""
        async with self._lock_pool.acquire() as connection:
            lock = f"{key[0]}\x1f{key[1]}"
            await connection.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", lock)
            try:
                yield
            finally:
                # A connection whose unlock failed is broken: the pool discards it, and the lock dies with it.
                await connection.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", lock)

    def leadership(self, name: str) -> PgLeadership:
        """The election for a role only one instance may play at a time (the pollers)."""
        return PgLeadership(self._url, name)

    async def publish(self, topic: str, payload: str) -> None:
        """Tell every instance listening on `topic` (this one included); PostgreSQL caps a payload at 8000 bytes."""
        await self._pool.execute("SELECT pg_notify($1, $2)", topic, payload)

    async def subscribe(self, topic: str, listener: Listener) -> None:
        """Call `listener(payload)` for each notification on `topic`, on a connection kept for listening."""
        if self._listener is None:
            self._listener = await asyncpg.connect(self._url)
        self._listeners.setdefault(topic, []).append(listener)

        def deliver(connection: object, pid: int, channel: str, payload: object) -> None:
            for each in self._listeners.get(channel, ()):
                task = asyncio.ensure_future(_logged(each(str(payload)), channel))
                self._tasks.add(task)  # kept until done: the loop holds only a weak reference
                task.add_done_callback(self._tasks.discard)

        if len(self._listeners[topic]) == 1:
            await self._listener.add_listener(topic, deliver)

    # -- helpers inside a transaction -------------------------------------------------------------------------

    async def _apply(
        self,
        db: Connection,
        now: datetime,
        key: ConversationKey,
        user_id: str,
        effect: Effect,
        notices: list[OutboxItem],
    ) -> int | None:
        """Apply one effect of a message (as the SQLite store's `_apply`); returns the number of the ticket an
        OpenTicket leaves the conversation with. Agent notices are queued in this transaction, into `notices`."""
        if isinstance(effect, OpenTicket):
            existing = await db.fetchval(
                "SELECT t.number FROM tickets t JOIN conversations c ON c.id = t.conversation "
                f"WHERE c.channel = $1 AND c.conversation_id = $2 AND t.{OPEN_STATUSES_SQL}",
                key[0],
                key[1],
            )
            if existing is not None:  # e.g. the state lost track of it: the conversation keeps its one ticket
                return int(existing)
            ticket = await _open_ticket(
                db, now, key[0], key[1], user_id, effect.lang, effect.priority, effect.category, effect.reason,
                effect.summary,
            )  # fmt: skip
            for attachment in effect.attachments:
                await _add_attachment(db, now, ticket.number, attachment.kind, attachment.ref, attachment.mime_type)
            notices.append(await self._notify_agents(db, now, ticket.number, "announce", lease=self._lease_new_outbox))
            return ticket.number
        ticket = await _ticket(db, effect.ticket, for_update=True)
        if isinstance(effect, FollowUp):
            if not ticket.is_open:
                return None
            for attachment in effect.attachments:
                await _add_attachment(db, now, ticket.number, attachment.kind, attachment.ref, attachment.mime_type)
            if ticket.status is TicketStatus.WAITING_USER:  # the user answered: back to the agent
                await self._transition_in(db, now, ticket.number, TicketStatus.CLAIMED, "user")
            relay = await self._notify_agents(
                db, now, ticket.number, "relay", effect.text, lease=self._lease_new_outbox, hold=effect.hold_seconds
            )
            notices.append(relay)
        elif isinstance(effect, CancelTicket):
            if ticket.is_open:
                await self._transition_in(db, now, ticket.number, TicketStatus.CANCELLED, "user")
        elif isinstance(effect, RateTicket):
            rated = await db.fetchval("SELECT 1 FROM csat_ratings WHERE ticket = $1", ticket.number) is not None
            if ticket.status is TicketStatus.RESOLVED and not rated:
                await _rate(db, now, ticket.number, effect.rating)
        return None

    async def _notify_agents(
        self,
        db: Connection,
        now: datetime,
        number: int,
        kind: AgentNoticeKind,
        text: str = "",
        *,
        lease: bool,
        hold: float = 0.0,
    ) -> OutboxItem:
        """Queue a notice for agents in the transaction of the change it tells of, due in `hold` seconds; leased
        when this instance delivers it right after the commit (a held one is not: any instance's flush sends it)."""
        payload = {"notice": kind, "text": text}
        return await self._outbox_add(db, now, AGENTS, str(number), payload, lease=lease and not hold, hold=hold)

    async def _queue_reply(
        self,
        db: Connection,
        now: datetime,
        channel: str,
        conversation_id: str,
        payload: Mapping[str, Any],
        conversation: int | None,
    ) -> list[OutboxItem]:
        """One transcript message, and an outbox row per part (as the channel splits it), each with its id."""
        offered = tuple(
            Suggestion(str(s["label"]), str(s["payload"]))
            for s in payload.get("suggestions", ())
            if isinstance(s, Mapping) and "label" in s and "payload" in s
        )
        stored = await _record_message(
            db,
            now,
            channel,
            conversation_id,
            "out",
            str(payload.get("text", "")),
            conversation=conversation,
            suggestions=offered,
            agent=payload["agent"] if isinstance(payload.get("agent"), str) else None,
        )
        parts: list[Mapping[str, Any]] = payload.get("parts") or [payload]
        whole = {k: v for k, v in payload.items() if k != "parts"}
        return [
            await self._outbox_add(
                db,
                now,
                channel,
                conversation_id,
                {**(part if part is not payload else whole), "transcript_id": stored.id},
                lease=self._lease_new_outbox,
            )
            for part in parts
        ]

    async def _after_earlier_pending(self, db: Connection, items: list[OutboxItem]) -> list[OutboxItem]:
        """`items` preceded, conversation by conversation, by the older items still pending there: a sender
        delivers them in order (as the SQLite store's)."""
        earlier: list[OutboxItem] = []
        for channel, conversation_id in dict.fromkeys((i.channel, i.conversation_id) for i in items):
            first = min(i.id for i in items if (i.channel, i.conversation_id) == (channel, conversation_id))
            rows = await db.fetch(
                "SELECT * FROM outbox WHERE status = 'pending' AND channel = $1 AND conversation_id = $2 AND id < $3 "
                "ORDER BY id",
                channel,
                conversation_id,
                first,
            )
            # A leased one is (or was: its lease may have run out) another sender's.
            earlier += [
                dataclasses.replace(_outbox_from_row(row), claimed_before=row["lease_until"] is not None)
                for row in rows
            ]
        return earlier + items

    async def _outbox_add(
        self,
        db: Connection,
        now: datetime,
        channel: str,
        conversation_id: str,
        payload: Mapping[str, Any],
        lease: bool,
        hold: float = 0.0,
    ) -> OutboxItem:
        # A reply is leased at once to this instance, which delivers it right after the commit: another instance's
        # flush must not send it meanwhile. If this instance dies first, the lease runs out and another one sends it.
        lease_until = now + self._outbox_lease if lease else None
        due = now + timedelta(seconds=hold)
        item_id = await db.fetchval(
            "INSERT INTO outbox (channel, conversation_id, payload, next_attempt_at, created_at, lease_until) "
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            channel,
            conversation_id,
            _json(payload),
            due,
            now,
            lease_until,
        )
        return OutboxItem(int(item_id), channel, conversation_id, dict(payload), "pending", 0, due, None, now, None)


class PgLeadership:
    """An advisory lock held on a dedicated connection: whoever holds it plays the role. When the holder dies
    its connection closes and PostgreSQL releases the lock; a follower asking every `LEADER_CHECK_SECONDS` takes
    over. `lost` is set when the leader's own connection fails (it can no longer be sure it leads)."""

    def __init__(self, url: str, name: str, check_seconds: float = LEADER_CHECK_SECONDS) -> None:
        self._url = url
        self._name = name
        self._check = check_seconds
        self._connection: Connection | None = None
        self._watch: asyncio.Task[None] | None = None
        self.lost = asyncio.Event()

    async def try_acquire(self) -> bool:
        """One attempt: True when this instance now leads."""
        try:
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncpg.connect(self._url, timeout=CONNECT_TIMEOUT_SECONDS)
            won = await self._connection.fetchval(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 1))", f"omnidesk-leader:{self._name}"
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("leader election %s: %s", self._name, exc)
            await self._drop_connection()
            return False
        if won:
            self._watch = asyncio.create_task(self._watch_connection(), name=f"leader-{self._name}")
        return bool(won)

    async def acquire(self) -> None:
        """Wait until this instance leads (retrying through connection failures)."""
        while not await self.try_acquire():
            await asyncio.sleep(self._check)

    async def _watch_connection(self) -> None:
        assert self._connection is not None
        while True:
            await asyncio.sleep(self._check)
            try:
                await self._connection.fetchval("SELECT 1", timeout=self._check * 2)
            except Exception as exc:  # any failure: the lock may be gone with the connection
                log.error("leader %s lost its database connection: %s", self._name, exc)
                self.lost.set()
                return

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)

    async def release(self) -> None:
        """Step down (closing the connection releases the lock)."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._drop_connection()


# -- statements shared by the methods above -------------------------------------------------------------------

# A conversation's items go out in order: an item waits while an earlier one of its conversation is pending.
_EARLIER_PENDING = (
    "SELECT 1 FROM outbox e WHERE e.status = 'pending' AND e.channel = o.channel "
    "AND e.conversation_id = o.conversation_id AND e.id < o.id"
)


async def _open_ticket(
    db: Connection,
    now: datetime,
    channel: str,
    conversation_id: str,
    channel_user_id: str,
    lang: Lang,
    priority: Priority,
    category: str | None,
    reason: str | None,
    summary: str,
) -> Ticket:
    priority = Priority(priority)
    conversation = await _conversation_row_id(db, (channel, conversation_id), now, channel_user_id)
    existing = await db.fetchval(
        f"SELECT number FROM tickets WHERE conversation = $1 AND {OPEN_STATUSES_SQL}", conversation
    )
    if existing is not None:
        raise StoreError(f"conversation {channel}:{conversation_id} already has open ticket #{existing}")
    number = await db.fetchval(
        """
        INSERT INTO tickets
            (conversation, channel, channel_user_id, priority, category, reason, summary, lang, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING number
        """,
        conversation, channel, channel_user_id, priority.value, category, reason, summary, lang, now,
    )  # fmt: skip
    detail = f"priority={priority.value} category={category or '-'} reason={reason or '-'}"
    await _event(db, int(number), "opened", channel_user_id, detail, now)
    return await _ticket(db, int(number))


async def _rate(db: Connection, now: datetime, number: int, rating: int) -> None:
    ticket = await _ticket(db, number, for_update=True)
    rated = await db.fetchval("SELECT 1 FROM csat_ratings WHERE ticket = $1", number) is not None
    check_rating(ticket, rating, rated)
    inserted = await db.fetchval(
        "INSERT INTO csat_ratings (ticket, rating, created_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (ticket) DO NOTHING RETURNING ticket",
        number,
        rating,
        now,
    )
    if inserted is None:
        raise StoreError(f"ticket #{number} has already been rated")
    await _event(db, number, "rated", ticket.channel_user_id, str(rating), now)


async def _add_attachment(
    db: Connection, now: datetime, number: int, kind: str, ref: str, mime_type: str | None
) -> StoredAttachment:
    ticket = await _ticket(db, number)
    attachment_id = await db.fetchval(
        "INSERT INTO attachments (ticket, channel, kind, ref, mime_type, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        number, ticket.channel, kind, ref, mime_type, now,
    )  # fmt: skip
    await _event(db, number, "attachment", ticket.channel_user_id, f"{kind} {ref}", now)
    return StoredAttachment(int(attachment_id), number, ticket.channel, kind, ref, mime_type, now)


async def _logged(work: Awaitable[None], topic: str) -> None:
    try:
        await work
    except Exception:
        log.exception("a listener of %s failed", topic)


async def _conversation_row_id(
    db: Connection, key: ConversationKey, now: datetime, channel_user_id: str | None = None
) -> int:
    value = await db.fetchval(
        """
        INSERT INTO conversations (channel, conversation_id, channel_user_id, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $4)
        ON CONFLICT (channel, conversation_id) DO UPDATE SET
            channel_user_id = COALESCE(excluded.channel_user_id, conversations.channel_user_id),
            updated_at = excluded.updated_at
        RETURNING id
        """,
        key[0],
        key[1],
        channel_user_id,
        now,
    )
    return int(value)


async def _save_state(
    db: Connection, key: ConversationKey, state: ConversationState, channel_user_id: str | None, now: datetime
) -> int:
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
    value = await db.fetchval(
        """
        INSERT INTO conversations (channel, conversation_id, channel_user_id, lang, lang_choice, misses,
            last_suggestions, flow, created_at, updated_at, version)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1)
        ON CONFLICT (channel, conversation_id) DO UPDATE SET
            channel_user_id = COALESCE(excluded.channel_user_id, conversations.channel_user_id),
            lang = excluded.lang,
            lang_choice = excluded.lang_choice,
            misses = excluded.misses,
            last_suggestions = excluded.last_suggestions,
            flow = excluded.flow,
            updated_at = excluded.updated_at,
            version = conversations.version + 1
        RETURNING id
        """,
        key[0], key[1], channel_user_id, state.last_lang, state.lang_choice, state.misses, suggestions, flow, now,
    )  # fmt: skip
    return int(value)


async def _record_message(
    db: Connection,
    now: datetime,
    channel: str,
    conversation_id: str,
    direction: Direction,
    text: str,
    platform_message_id: str | None = None,
    channel_user_id: str | None = None,
    decision: Decision | None = None,
    conversation: int | None = None,
    suggestions: Sequence[Suggestion] = (),
    agent: str | None = None,
) -> StoredMessage:
    """`suggestions`: the choices a reply offered; `agent`: who wrote it."""
    if direction not in ("in", "out"):
        raise StoreError(f"message direction must be 'in' or 'out', not {direction!r}")
    if conversation is None:
        conversation = await _conversation_row_id(db, (channel, conversation_id), now, channel_user_id)
    # One round trip: the message, and a user's message logged on the conversation's open ticket (a
    # data-modifying CTE runs whether or not the outer query reads it).
    message_id = await db.fetchval(
        f"""
        WITH message AS (
            INSERT INTO messages (conversation, direction, text, platform_message_id, created_at, action, reason,
                faq_id, suggestions, agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id
        ), logged AS (
            INSERT INTO ticket_events (ticket, kind, actor, detail, created_at)
            SELECT number, 'user_message', channel_user_id, $3, $5 FROM tickets
            WHERE $2 = 'in' AND conversation = $1 AND {OPEN_STATUSES_SQL}
        )
        SELECT id FROM message
        """,
        conversation,
        direction,
        _text(text),
        platform_message_id,
        now,
        decision.action.value if decision else None,
        decision.reason if decision else None,
        decision.faq_id if decision else None,
        _text(json.dumps([{"label": c.label, "payload": c.payload} for c in suggestions], ensure_ascii=False))
        if suggestions
        else None,
        agent,
    )
    return StoredMessage(
        int(message_id),
        channel,
        conversation_id,
        direction,
        text,
        platform_message_id,
        now,
        tuple(suggestions),
        agent,
    )


async def _ticket(db: Connection, number: int, for_update: bool = False) -> Ticket:
    # Lock the ticket's row first: two agents (on two instances) changing it at once take turns.
    if for_update and await db.fetchval("SELECT number FROM tickets WHERE number = $1 FOR UPDATE", number) is None:
        raise StoreError(f"there is no ticket #{number}")
    row = await db.fetchrow(TICKET_SELECT + " WHERE t.number = $1", number)
    if row is None:
        raise StoreError(f"there is no ticket #{number}")
    return _ticket_from_row(row)


async def _event(db: Connection, number: int, kind: str, actor: str, detail: str | None, now: datetime) -> None:
    await db.execute(
        "INSERT INTO ticket_events (ticket, kind, actor, detail, created_at) VALUES ($1, $2, $3, $4, $5)",
        number,
        kind,
        actor,
        None if detail is None else _text(detail),
        now,
    )


async def _outbox_pending_row(db: Connection, item_id: int, for_update: bool = False) -> None:
    status = await db.fetchval(
        "SELECT status FROM outbox WHERE id = $1" + (" FOR UPDATE" if for_update else ""), item_id
    )
    if status is None:
        raise StoreError(f"there is no outbox item {item_id}")
    if status != "pending":
        raise StoreError(f"outbox item {item_id} is already {status}")


def _text(value: str) -> str:
    """PostgreSQL's text cannot hold NUL (SQLite's can): a NUL a user typed is kept as U+FFFD."""
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise StoreError("timestamps must be timezone-aware")
    return moment
