"""The store's SQL: each public method is the body of one read or one transaction, run on the database thread."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import statistics
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.core.conversation import (
    LISTED_TICKETS,
    ConversationKey,
    ConversationSnapshot,
    ConversationState,
    Intake,
    TicketView,
)
from bot.core.effects import NEW_TICKET, CancelTicket, Effect, FollowUp, OpenTicket, RateTicket
from bot.core.messages import Decision, Lang, Priority, Suggestion
from bot.core.ports import AGENTS, AgentNoticeKind, StateConflict
from bot.desk.domain import check_agent_reply, check_claim, check_rating, check_transition
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
)


class Row(Protocol):
    """A result row by column name: sqlite3.Row or asyncpg.Record (the converters below serve both engines)."""

    def __getitem__(self, key: str, /) -> Any: ...


class StoreQueries:
    """Synchronous SQL over one `sqlite3.Connection`, called by `Store` through `SqliteThread`, which owns the
    transactions. Each public method is documented on its `Store` counterpart."""

    def __init__(self, db: sqlite3.Connection, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
        return row

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self._db.execute(sql, params).fetchall()

    def _now(self) -> str:
        return _iso(self._clock())

    def _conversation_row_id(self, key: ConversationKey, now: str, channel_user_id: str | None = None) -> int:
        """The row id of a conversation, creating it if new; fills in the user id when given."""
        # The router's state (lang, misses, ...) is left alone: only save_conversation_state writes it.
        row = self._one(
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

    def load_conversation_state(self, key: ConversationKey) -> ConversationState:
        row = self._one(
            "SELECT lang, lang_choice, misses, last_suggestions, flow FROM conversations "
            "WHERE channel = ? AND conversation_id = ?",
            key,
        )
        return _state_from_row(row)

    def save_conversation_state(
        self, key: ConversationKey, state: ConversationState, channel_user_id: str | None = None
    ) -> int:
        """Upsert the conversation with its new state; returns its row id."""
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
        row = self._one(
            """
            INSERT INTO conversations (channel, conversation_id, channel_user_id, lang, lang_choice, misses,
                last_suggestions, flow, created_at, updated_at, version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
            ON CONFLICT (channel, conversation_id) DO UPDATE SET
                channel_user_id = COALESCE(excluded.channel_user_id, channel_user_id),
                lang = excluded.lang,
                lang_choice = excluded.lang_choice,
                misses = excluded.misses,
                last_suggestions = excluded.last_suggestions,
                flow = excluded.flow,
                updated_at = excluded.updated_at,
                version = version + 1
            RETURNING id
            """,
            (
                key[0],
                key[1],
                channel_user_id,
                state.last_lang,
                state.lang_choice,
                state.misses,
                suggestions,
                flow,
                now,
                now,
            ),
        )
        assert row is not None  # RETURNING always yields the row on insert and on update
        return int(row["id"])

    # -- transcripts ------------------------------------------------------------------------------------------

    def receive_inbound(
        self, channel: str, platform_message_id: str, conversation: ConversationKey
    ) -> ConversationSnapshot | None:
        # One statement: the inbox check, the state and its ticket together (one row, whether or not any exists).
        row = self._one(
            """
            SELECT (SELECT handled_at FROM inbox WHERE channel = ? AND platform_message_id = ?) AS handled_at,
                c.lang, c.lang_choice, c.misses, c.last_suggestions, c.flow, c.version,
                t.number AS ticket_number, t.status AS ticket_status, t.priority AS ticket_priority
            FROM (SELECT 1) LEFT JOIN conversations c ON c.channel = ? AND c.conversation_id = ?
            LEFT JOIN tickets t ON t.number = json_extract(c.flow, '$.ticket')
            """,
            (channel, platform_message_id, conversation[0], conversation[1]),
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
                self._all(CONVERSATION_TICKETS_SQL.format("?", "?", "?"), (*conversation, LISTED_TICKETS))
            )
        )
        return ConversationSnapshot(_state_from_row(row), ticket, int(row["version"] or 0), listed)

    def complete_inbound(
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
        # Marking it handled is also the check that no other delivery of it got here first; only ids go into the
        # inbox (the raw text may hold a secret).
        now = self._now()
        claimed = self._one(
            "INSERT INTO inbox (channel, platform_message_id, payload, received_at, handled_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (channel, platform_message_id) DO UPDATE SET handled_at = excluded.handled_at "
            "WHERE handled_at IS NULL RETURNING id",
            (channel, platform_message_id, _json({"user": channel_user_id}), now, now),
        )
        if claimed is None:
            return None
        key = (channel, conversation_id)
        if version is not None:
            row = self._one("SELECT version FROM conversations WHERE channel = ? AND conversation_id = ?", key)
            if (int(row["version"]) if row is not None else 0) != version:
                raise StateConflict(f"conversation {channel}:{conversation_id} changed since it was read")
        before = self._one("SELECT MAX(id) AS id FROM outbox") if effects else None
        for effect in effects:
            opened = self._apply(key, channel_user_id, effect)
            if opened is not None and state is not None:
                state = dataclasses.replace(state, ticket=opened)
                replies = [_with_ticket_number(reply, opened) for reply in replies]
        conversation = (
            self.save_conversation_state(key, state, channel_user_id)
            if state is not None
            else self._conversation_row_id(key, self._now(), channel_user_id)
        )
        self.redact_messages(conversation, redact_earlier)
        self.record_message(
            channel, conversation_id, "in", text, platform_message_id, decision=decision, conversation=conversation
        )
        queued = [
            item for reply in replies for item in self._queue_reply(channel, conversation_id, reply, conversation)
        ]
        if before is not None:  # the agent notices the effects queued (announce, relay, redraw), to deliver now too
            rows = self._all("SELECT * FROM outbox WHERE channel = ? AND id > ?", (AGENTS, before["id"] or 0))
            queued += [_outbox_from_row(row) for row in rows]
        return self._after_earlier_pending(queued)

    def _after_earlier_pending(self, items: list[OutboxItem]) -> list[OutboxItem]:
        """`items` preceded, conversation by conversation, by the older items still pending there (a reply waiting
        for its retry, a ticket's announcement not yet delivered after a restart): a sender delivers them in order."""
        earlier: list[OutboxItem] = []
        for channel, conversation_id in dict.fromkeys((i.channel, i.conversation_id) for i in items):
            first = min(i.id for i in items if (i.channel, i.conversation_id) == (channel, conversation_id))
            rows = self._all(
                "SELECT * FROM outbox WHERE status = 'pending' AND channel = ? AND conversation_id = ? AND id < ? "
                "ORDER BY id",
                (channel, conversation_id, first),
            )
            earlier += [_outbox_from_row(row) for row in rows]
        return earlier + items

    def _apply(self, key: ConversationKey, user_id: str, effect: Effect) -> int | None:
        """Apply one effect of a message; returns the number of the ticket an OpenTicket leaves the conversation
        with. Agent notices are queued in the outbox, in this same transaction."""
        if isinstance(effect, OpenTicket):
            existing = self.open_ticket_for(*key)
            if existing is not None:  # e.g. the state lost track of it: the conversation keeps its one ticket
                return existing.number
            ticket = self.open_ticket(
                key[0], key[1], user_id, effect.lang, effect.priority, effect.category, effect.reason, effect.summary
            )
            for attachment in effect.attachments:
                self.add_attachment(ticket.number, attachment.kind, attachment.ref, attachment.mime_type)
            self._notify_agents(ticket.number, "announce")
            return ticket.number
        ticket = self._ticket(effect.ticket)
        if isinstance(effect, FollowUp):
            if not ticket.is_open:
                return None
            for attachment in effect.attachments:
                self.add_attachment(ticket.number, attachment.kind, attachment.ref, attachment.mime_type)
            if ticket.status is TicketStatus.WAITING_USER:  # the user answered: back to the agent
                self._transition(ticket.number, TicketStatus.CLAIMED, "user")
            self._notify_agents(ticket.number, "relay", effect.text, effect.hold_seconds)
        elif isinstance(effect, CancelTicket):
            if ticket.is_open:
                self._transition(ticket.number, TicketStatus.CANCELLED, "user")
        elif isinstance(effect, RateTicket):
            rated = self._one("SELECT 1 FROM csat_ratings WHERE ticket = ?", (ticket.number,)) is not None
            if ticket.status is TicketStatus.RESOLVED and not rated:
                self.rate(ticket.number, effect.rating)
        return None

    def _notify_agents(self, number: int, kind: AgentNoticeKind, text: str = "", hold: float = 0.0) -> OutboxItem:
        """Queue a notice for agents in the transaction of the change it tells of, due in `hold` seconds."""
        return self.outbox_add(AGENTS, str(number), {"notice": kind, "text": text}, hold)

    def record_message(
        self,
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
        """`conversation` is the conversation's row id, when the caller has it already; `suggestions` the choices
        a reply offered, `agent` who wrote it."""
        if direction not in ("in", "out"):
            raise StoreError(f"message direction must be 'in' or 'out', not {direction!r}")
        now = self._now()
        if conversation is None:
            conversation = self._conversation_row_id((channel, conversation_id), now, channel_user_id)
        row = self._one(
            "INSERT INTO messages (conversation, direction, text, platform_message_id, created_at, action, reason, "
            "faq_id, suggestions, agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                conversation,
                direction,
                text,
                platform_message_id,
                now,
                decision.action.value if decision else None,
                decision.reason if decision else None,
                decision.faq_id if decision else None,
                json.dumps([{"label": c.label, "payload": c.payload} for c in suggestions], ensure_ascii=False)
                if suggestions
                else None,
                agent,
            ),
        )
        assert row is not None
        if direction == "in":
            ticket = self._one(
                "SELECT number, channel_user_id FROM tickets "
                "WHERE conversation = ? AND status NOT IN ('resolved', 'cancelled')",
                (conversation,),
            )
            if ticket is not None:
                self._event(int(ticket["number"]), "user_message", str(ticket["channel_user_id"]), text, now)
        return StoredMessage(
            int(row["id"]),
            channel,
            conversation_id,
            direction,
            text,
            platform_message_id,
            _dt(now),
            tuple(suggestions),
            agent,
        )

    def redact_messages(self, conversation: int, items: Sequence[tuple[int, str]]) -> None:
        """Replace the text of the conversation's user messages (row id, redacted text), and of the copies kept in
        its tickets' events."""
        for message_id, text in items:
            old = self._one(
                "SELECT text FROM messages WHERE id = ? AND conversation = ? AND direction = 'in'",
                (message_id, conversation),
            )
            if old is None:
                continue
            self._db.execute("UPDATE messages SET text = ? WHERE id = ?", (text, message_id))
            self._db.execute(
                "UPDATE ticket_events SET detail = ? WHERE kind = 'user_message' AND detail = ? "
                "AND ticket IN (SELECT number FROM tickets WHERE conversation = ?)",
                (text, old["text"], conversation),
            )
            # The message relayed to agents (sent or still pending): the notice kept in the outbox.
            self._db.execute(
                "UPDATE outbox SET payload = json_set(payload, '$.text', ?) WHERE channel = ? "
                "AND conversation_id IN (SELECT CAST(number AS TEXT) FROM tickets WHERE conversation = ?) "
                "AND json_extract(payload, '$.notice') = 'relay' AND json_extract(payload, '$.text') = ?",
                (text, AGENTS, conversation, old["text"]),
            )

    def transcript(
        self, conversation: ConversationKey, limit: int | None = None, after: int = 0
    ) -> list[StoredMessage]:
        rows = self._all(
            """
            SELECT * FROM (
                SELECT m.id, c.channel, c.conversation_id, m.direction, m.text, m.platform_message_id, m.created_at,
                    m.suggestions, m.agent
                FROM messages m JOIN conversations c ON c.id = m.conversation
                WHERE c.channel = ? AND c.conversation_id = ? AND m.id > ?
                ORDER BY m.id DESC LIMIT ?
            ) ORDER BY id
            """,
            (conversation[0], conversation[1], after, -1 if limit is None else limit),
        )
        return [_stored_message_from_row(r) for r in rows]

    def inbound_message(self, conversation: ConversationKey, platform_message_id: str) -> StoredMessage | None:
        row = self._one(
            """
            SELECT m.id, c.channel, c.conversation_id, m.direction, m.text, m.platform_message_id, m.created_at,
                    m.suggestions, m.agent
            FROM messages m JOIN conversations c ON c.id = m.conversation
            WHERE c.channel = ? AND c.conversation_id = ? AND m.direction = 'in' AND m.platform_message_id = ?
            ORDER BY m.id DESC LIMIT 1
            """,
            (conversation[0], conversation[1], platform_message_id),
        )
        return None if row is None else _stored_message_from_row(row)

    # -- tickets ----------------------------------------------------------------------------------------------

    def open_ticket(
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
        priority = Priority(priority)
        now = self._now()
        conversation = self._conversation_row_id((channel, conversation_id), now, channel_user_id)
        existing = self._one(
            "SELECT number FROM tickets WHERE conversation = ? AND status NOT IN ('resolved', 'cancelled')",
            (conversation,),
        )
        if existing is not None:
            raise StoreError(f"conversation {channel}:{conversation_id} already has open ticket #{existing['number']}")
        row = self._one(
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
        self._event(number, "opened", channel_user_id, detail, now)
        return self._ticket(number)

    def open_ticket_for(self, channel: str, conversation_id: str) -> Ticket | None:
        row = self._one(
            """
            SELECT t.number FROM tickets t JOIN conversations c ON c.id = t.conversation
            WHERE c.channel = ? AND c.conversation_id = ? AND t.status NOT IN ('resolved', 'cancelled')
            """,
            (channel, conversation_id),
        )
        return None if row is None else self._ticket(int(row["number"]))

    def get_ticket(self, number: int) -> Ticket:
        return self._ticket(number)

    def list_tickets(self, status: TicketStatus | None = None) -> list[Ticket]:
        sql = _TICKET_SELECT + (" WHERE t.status = ?" if status is not None else "") + " ORDER BY t.number"
        rows = self._all(sql, () if status is None else (TicketStatus(status).value,))
        return [_ticket_from_row(r) for r in rows]

    def claim(self, number: int, agent: str) -> Ticket:
        now = self._now()
        ticket = self._ticket(number)
        status = check_claim(ticket, agent)
        previous = ticket.assignee
        self._db.execute(
            "UPDATE tickets SET status = ?, assignee = ?, claimed_at = COALESCE(claimed_at, ?) WHERE number = ?",
            (status.value, agent, now, number),
        )
        self._event(number, "claimed", agent, f"from {previous}" if previous else None, now)
        self._notify_agents(number, "redraw")
        return self._ticket(number)

    def add_agent_reply(self, number: int, agent: str, text: str) -> Ticket:
        now = self._now()
        check_agent_reply(self._ticket(number))
        self._db.execute(
            "UPDATE tickets SET first_reply_at = COALESCE(first_reply_at, ?) WHERE number = ?", (now, number)
        )
        self._event(number, "agent_reply", agent, text, now)
        return self._ticket(number)

    def set_status(self, number: int, status: TicketStatus, actor: str) -> Ticket:
        return self._transition(number, TicketStatus(status), actor)

    def resolve(self, number: int, actor: str) -> Ticket:
        return self._transition(number, TicketStatus.RESOLVED, actor)

    def cancel(self, number: int, actor: str) -> Ticket:
        return self._transition(number, TicketStatus.CANCELLED, actor)

    def resolve_asking_rating(
        self, number: int, actor: str, reply: Mapping[str, Any]
    ) -> tuple[Ticket, list[OutboxItem]]:
        ticket = self._transition(number, TicketStatus.RESOLVED, actor)
        key = ticket.conversation_key
        state = dataclasses.replace(
            self.load_conversation_state(key), ticket=None, rating_for=number, last_suggestions=()
        )
        conversation = self.save_conversation_state(key, state)  # a new version: see Store.resolve_asking_rating
        items = self._queue_reply(ticket.channel, ticket.conversation_id, reply, conversation)
        return ticket, self._after_earlier_pending(items)

    def rate(self, number: int, rating: int) -> None:
        now = self._now()
        ticket = self._ticket(number)
        rated = self._one("SELECT 1 FROM csat_ratings WHERE ticket = ?", (number,)) is not None
        check_rating(ticket, rating, rated)
        self._db.execute(
            "INSERT INTO csat_ratings (ticket, rating, created_at) VALUES (?, ?, ?)", (number, rating, now)
        )
        self._event(number, "rated", ticket.channel_user_id, str(rating), now)

    def rating(self, number: int) -> int | None:
        row = self._one("SELECT rating FROM csat_ratings WHERE ticket = ?", (number,))
        return None if row is None else int(row["rating"])

    def message_counts(self, since: datetime) -> dict[tuple[str, str], int]:
        rows = self._all(
            "SELECT c.channel, m.direction, COUNT(*) AS n FROM messages m JOIN conversations c ON c.id = m.conversation "
            "WHERE m.created_at >= ? GROUP BY c.channel, m.direction",
            (_iso(since),),
        )
        return {(str(r["channel"]), str(r["direction"])): int(r["n"]) for r in rows}

    def decision_counts(self, since: datetime) -> dict[str, int]:
        rows = self._all(
            "SELECT action, COUNT(*) AS n FROM messages WHERE direction = 'in' AND action IS NOT NULL "
            "AND created_at >= ? GROUP BY action",
            (_iso(since),),
        )
        return {str(r["action"]): int(r["n"]) for r in rows}

    def not_understood(self, since: datetime, limit: int = 5000) -> list[str]:
        rows = self._all(
            "SELECT text FROM messages WHERE direction = 'in' AND created_at >= ? AND "
            "(action = 'clarify' OR reason = 'not_understood') AND text NOT LIKE '/%' ORDER BY id DESC LIMIT ?",
            (_iso(since), limit),
        )
        return [str(r["text"]) for r in rows]

    def unclaimed_since(self, before: datetime) -> list[Ticket]:
        rows = self._all(
            _TICKET_SELECT + " WHERE t.status = 'open' AND t.created_at < ? AND NOT EXISTS "
            "(SELECT 1 FROM ticket_events e WHERE e.ticket = t.number AND e.kind = 'reminded') ORDER BY t.number",
            (_iso(before),),
        )
        return [_ticket_from_row(row) for row in rows]

    def has_event(self, number: int, kind: str) -> bool:
        row = self._one("SELECT 1 FROM ticket_events WHERE ticket = ? AND kind = ? LIMIT 1", (number, kind))
        return row is not None

    def add_event(self, number: int, kind: str, actor: str, detail: str | None = None) -> None:
        self._ticket(number)
        self._event(number, kind, actor, detail, self._now())

    def mark_reminded(self, number: int) -> None:
        self._ticket(number)
        self._event(number, "reminded", "bot", None, self._now())
        self._notify_agents(number, "remind")

    def add_attachment(self, number: int, kind: str, ref: str, mime_type: str | None) -> StoredAttachment:
        ticket = self._ticket(number)
        now = self._now()
        row = self._one(
            "INSERT INTO attachments (ticket, channel, kind, ref, mime_type, created_at) VALUES (?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            (number, ticket.channel, kind, ref, mime_type, now),
        )
        assert row is not None
        self._event(number, "attachment", ticket.channel_user_id, f"{kind} {ref}", now)
        return StoredAttachment(int(row["id"]), number, ticket.channel, kind, ref, mime_type, _dt(now))

    def attachments(self, number: int) -> list[StoredAttachment]:
        rows = self._all("SELECT * FROM attachments WHERE ticket = ? ORDER BY id", (number,))
        return [
            StoredAttachment(
                int(r["id"]),
                int(r["ticket"]),
                str(r["channel"]),
                str(r["kind"]),
                str(r["ref"]),
                r["mime_type"],
                _dt(r["created_at"]),
            )
            for r in rows
        ]

    def ticket_events(self, number: int) -> list[TicketEvent]:
        rows = self._all(
            "SELECT id, ticket, kind, actor, detail, created_at FROM ticket_events WHERE ticket = ? ORDER BY id",
            (number,),
        )
        return [
            TicketEvent(int(r["id"]), int(r["ticket"]), r["kind"], r["actor"], r["detail"], _dt(r["created_at"]))
            for r in rows
        ]

    def tickets_of(self, channel: str, conversation_id: str, limit: int = 50) -> list[UserTicket]:
        rows = self._all(
            _TICKET_SELECT.replace(
                "\n    FROM ",
                ", (SELECT MAX(e.created_at) FROM ticket_events e WHERE e.ticket = t.number) AS updated_at\n    FROM ",
            )
            + " WHERE c.channel = ? AND c.conversation_id = ? ORDER BY t.number DESC LIMIT ?",
            (channel, conversation_id, limit),
        )
        return [_user_ticket_from_row(r) for r in rows]

    def ticket_status_counts(self) -> dict[str, int]:
        rows = self._all("SELECT status, COUNT(*) AS n FROM tickets GROUP BY status")
        return {str(r["status"]): int(r["n"]) for r in rows}

    def add_article_vote(self, entry_id: str, helpful: bool, lang: Lang) -> None:
        self._db.execute(
            "INSERT INTO article_votes (entry_id, helpful, lang, created_at) VALUES (?, ?, ?, ?)",
            (entry_id, int(helpful), lang, self._now()),
        )

    def article_votes(self, since: datetime) -> list[ArticleVotes]:
        rows = self._all(
            "SELECT entry_id, SUM(helpful) AS yes, SUM(1 - helpful) AS no FROM article_votes "
            "WHERE created_at >= ? GROUP BY entry_id ORDER BY SUM(1 - helpful) DESC, entry_id",
            (_iso(since),),
        )
        return [ArticleVotes(str(r["entry_id"]), int(r["yes"]), int(r["no"])) for r in rows]

    def ticket_stats(self, since: datetime) -> TicketStats:
        rows = self._all(
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

    def _transition(self, number: int, new: TicketStatus, actor: str) -> Ticket:
        now = self._now()
        ticket = self._ticket(number)
        check_transition(ticket, new)
        assignee = ticket.assignee
        kind = "status"
        if new == TicketStatus.CLAIMED and assignee is None:
            assignee = actor  # claiming through set_status: the actor takes it
            kind = "claimed"
        elif new == TicketStatus.OPEN:
            assignee = None  # released back to the queue
        elif new in FINAL_STATUSES:
            kind = new.value
        self._db.execute(
            """
            UPDATE tickets SET status = ?, assignee = ?,
                claimed_at = CASE WHEN ? THEN COALESCE(claimed_at, ?) ELSE claimed_at END,
                resolved_at = CASE WHEN ? THEN ? ELSE resolved_at END
            WHERE number = ?
            """,
            (new.value, assignee, kind == "claimed", now, new == TicketStatus.RESOLVED, now, number),
        )
        self._event(number, kind, actor, f"{ticket.status.value} -> {new.value}", now)
        self._notify_agents(number, "redraw")  # every change of a ticket redraws its message for agents
        return self._ticket(number)

    def _ticket(self, number: int) -> Ticket:
        row = self._one(_TICKET_SELECT + " WHERE t.number = ?", (number,))
        if row is None:
            raise StoreError(f"there is no ticket #{number}")
        return _ticket_from_row(row)

    def _event(self, number: int, kind: str, actor: str, detail: str | None, now: str) -> None:
        self._db.execute(
            "INSERT INTO ticket_events (ticket, kind, actor, detail, created_at) VALUES (?, ?, ?, ?, ?)",
            (number, kind, actor, detail, now),
        )

    # -- inbox, outbox, cursors -------------------------------------------------------------------------------

    def inbox_add(self, channel: str, platform_message_id: str, payload: Mapping[str, Any]) -> bool:
        cursor = self._db.execute(
            "INSERT INTO inbox (channel, platform_message_id, payload, received_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (channel, platform_message_id) DO NOTHING",
            (channel, platform_message_id, _json(payload), self._now()),
        )
        return cursor.rowcount == 1

    def inbox_mark_handled(self, channel: str, platform_message_id: str) -> None:
        self._db.execute(
            "UPDATE inbox SET handled_at = COALESCE(handled_at, ?) WHERE channel = ? AND platform_message_id = ?",
            (self._now(), channel, platform_message_id),
        )

    def queue_reply(self, channel: str, conversation_id: str, payload: Mapping[str, Any]) -> list[OutboxItem]:
        return self._after_earlier_pending(self._queue_reply(channel, conversation_id, payload))

    def _queue_reply(
        self, channel: str, conversation_id: str, payload: Mapping[str, Any], conversation: int | None = None
    ) -> list[OutboxItem]:
        offered = tuple(
            Suggestion(str(s["label"]), str(s["payload"]))
            for s in payload.get("suggestions", ())
            if isinstance(s, Mapping) and "label" in s and "payload" in s
        )
        stored = self.record_message(
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
            self.outbox_add(
                channel, conversation_id, {**(part if part is not payload else whole), "transcript_id": stored.id}
            )
            for part in parts
        ]

    def outbox_add(
        self, channel: str, conversation_id: str, payload: Mapping[str, Any], hold: float = 0.0
    ) -> OutboxItem:
        now = self._now()
        due = _iso(_dt(now) + timedelta(seconds=hold)) if hold else now
        cursor = self._db.execute(
            "INSERT INTO outbox (channel, conversation_id, payload, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?)",
            (channel, conversation_id, _json(payload), due, now),
        )
        assert cursor.lastrowid is not None
        return OutboxItem(
            cursor.lastrowid, channel, conversation_id, dict(payload), "pending", 0, _dt(due), None, _dt(now), None
        )

    def outbox_pending(self, limit: int = 100) -> list[OutboxItem]:
        rows = self._all(
            # Only the first pending item of each conversation: a conversation's items go out in order, so a later
            # one (part 2 of a reply, a relay before its ticket's announcement) waits for the one before it.
            "SELECT * FROM outbox o WHERE status = 'pending' AND next_attempt_at <= ? AND NOT EXISTS ("
            "SELECT 1 FROM outbox e WHERE e.status = 'pending' AND e.channel = o.channel "
            "AND e.conversation_id = o.conversation_id AND e.id < o.id) "
            "ORDER BY next_attempt_at, id LIMIT ?",
            (self._now(), limit),
        )
        return [_outbox_from_row(r) for r in rows]

    def outbox_depth(self) -> OutboxDepth:
        row = self._one("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE status = 'pending'")
        assert row is not None  # an aggregate always yields one row
        return OutboxDepth(int(row["n"]), _dt_or_none(row["oldest"]))

    def outbox_get(self, item_id: int) -> OutboxItem:
        row = self._one("SELECT * FROM outbox WHERE id = ?", (item_id,))
        if row is None:
            raise StoreError(f"there is no outbox item {item_id}")
        return _outbox_from_row(row)

    def outbox_mark_sent(self, item_id: int) -> None:
        cursor = self._db.execute(
            "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ? WHERE id = ? AND status = 'pending'",
            (self._now(), item_id),
        )
        if cursor.rowcount != 1:
            self._outbox_pending_row(item_id)  # raises: no such item, or not pending

    def outbox_mark_failed(self, item_id: int, permanent: bool, error: str, retry_at: datetime | None = None) -> None:
        if not permanent and retry_at is None:
            raise StoreError("a temporary outbox failure needs retry_at")
        self._outbox_pending_row(item_id)
        if permanent:
            self._db.execute(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error, item_id),
            )
        else:
            assert retry_at is not None
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
                (error, _iso(retry_at), item_id),
            )

    def _outbox_pending_row(self, item_id: int) -> None:
        """Raise unless the outbox item exists and is pending."""
        row = self._one("SELECT status FROM outbox WHERE id = ?", (item_id,))
        if row is None:
            raise StoreError(f"there is no outbox item {item_id}")
        if row["status"] != "pending":
            raise StoreError(f"outbox item {item_id} is already {row['status']}")

    # -- widget sessions ------------------------------------------------------------------------------------------

    def revoke_webchat_session(self, session_id: str) -> bool:
        row = self._one(
            "INSERT INTO webchat_revoked_sessions (session_id, revoked_at) VALUES (?, ?) "
            "ON CONFLICT (session_id) DO NOTHING RETURNING session_id",
            (session_id, self._now()),
        )
        return row is not None

    def webchat_session_revoked(self, session_id: str) -> bool:
        return self._one("SELECT 1 FROM webchat_revoked_sessions WHERE session_id = ?", (session_id,)) is not None

    def webchat_sessions(self, limit: int) -> list[WebchatSession]:
        rows = self._all(
            """
            SELECT c.conversation_id, c.created_at, c.updated_at, r.revoked_at
            FROM conversations c LEFT JOIN webchat_revoked_sessions r ON r.session_id = c.conversation_id
            WHERE c.channel = 'webchat' ORDER BY c.updated_at DESC, c.id DESC LIMIT ?
            """,
            (limit,),
        )
        return [
            WebchatSession(
                str(row["conversation_id"]),
                _dt(row["created_at"]),
                _dt(row["updated_at"]),
                _dt_or_none(row["revoked_at"]),
            )
            for row in rows
        ]

    def move_conversations(self, channel: str, old: str, new: str) -> int:
        """Rename conversation `old` and its per-user ones `old:*` to `new` / `new:*`, with their tickets (which
        follow the row) and pending replies; one already at the new id keeps its own. Returns how many moved."""
        pattern = old.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ":%"
        where = "channel = ? AND (conversation_id = ? OR conversation_id LIKE ? ESCAPE '\\')"
        # Plain SQL (no UPDATE OR IGNORE), so a PostgreSQL store can run the same statements.
        moved = self._db.execute(
            f"""
            UPDATE conversations SET conversation_id = ? || substr(conversation_id, ?)
            WHERE {where} AND NOT EXISTS (
                SELECT 1 FROM conversations taken
                WHERE taken.channel = conversations.channel
                  AND taken.conversation_id = ? || substr(conversations.conversation_id, ?)
            )
            """,
            (new, len(old) + 1, channel, old, pattern, new, len(old) + 1),
        )
        self._db.execute(
            f"UPDATE outbox SET conversation_id = ? || substr(conversation_id, ?) WHERE status = 'pending' AND {where}",
            (new, len(old) + 1, channel, old, pattern),
        )
        return moved.rowcount

    def cursor_get(self, name: str) -> str | None:
        row = self._one("SELECT value FROM cursors WHERE name = ?", (name,))
        return None if row is None else str(row["value"])

    def cursor_setdefault(self, name: str, value: str) -> str:
        self._db.execute("INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", (name, value))
        saved = self.cursor_get(name)
        assert saved is not None
        return saved

    def cursor_set(self, name: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )


_TICKET_SELECT = """
    SELECT t.number, t.channel, c.conversation_id, t.channel_user_id, t.status, t.priority, t.category, t.reason,
        t.summary, t.assignee, t.lang, t.created_at, t.claimed_at, t.first_reply_at, t.resolved_at
    FROM tickets t JOIN conversations c ON c.id = t.conversation
"""


# A conversation's tickets as its user lists them (`/tickets`): most recently updated first. Formatted with the
# engine's three placeholders (channel, conversation id, limit).
CONVERSATION_TICKETS_SQL = """
    SELECT t.number, t.status, t.priority,
        COALESCE((SELECT MAX(e.created_at) FROM ticket_events e WHERE e.ticket = t.number), t.created_at) AS updated_at
    FROM tickets t JOIN conversations c ON c.id = t.conversation
    WHERE c.channel = {} AND c.conversation_id = {}
    ORDER BY updated_at DESC, t.number DESC LIMIT {}
"""


def _ticket_views(rows: Sequence[Row]) -> tuple[TicketView, ...]:
    return tuple(
        TicketView(int(r["number"]), str(r["status"]), Priority(r["priority"]), _dt(r["updated_at"])) for r in rows
    )


def _with_ticket_number(payload: Mapping[str, Any], number: int) -> dict[str, Any]:
    """A reply payload (and its parts) with the NEW_TICKET placeholder replaced by the opened ticket's number."""
    text = str(payload.get("text", ""))
    filled = {**payload, "text": text.replace(NEW_TICKET, str(number))}
    if NEW_TICKET in text:  # the reply about the new ticket (email puts its number in the subject)
        filled["ticket"] = number
    if "parts" in payload:
        filled["parts"] = [_with_ticket_number(part, number) for part in payload["parts"]]
    return filled


def _state_from_row(row: Row | None) -> ConversationState:
    """A conversation's state from its row (fresh when there is no row, or the conversation has no columns)."""
    if row is None or row["misses"] is None:
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


def _ticket_from_row(row: Row) -> Ticket:
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
    )


def _stored_message_from_row(row: Row) -> StoredMessage:
    return StoredMessage(
        id=int(row["id"]),
        channel=row["channel"],
        conversation_id=row["conversation_id"],
        direction="in" if row["direction"] == "in" else "out",
        text=row["text"],
        platform_message_id=row["platform_message_id"],
        created_at=_dt(row["created_at"]),
        suggestions=tuple(
            Suggestion(str(s["label"]), str(s["payload"])) for s in json.loads(row["suggestions"] or "[]")
        ),
        agent=row["agent"],
    )


def _outbox_from_row(row: Row) -> OutboxItem:
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


def _user_ticket_from_row(row: Row) -> UserTicket:
    ticket = _ticket_from_row(row)
    return UserTicket(ticket, _dt_or_none(row["updated_at"]) or ticket.created_at)


def _iso(moment: datetime) -> str:
    """A fixed-width UTC ISO-8601 string, so stored timestamps compare correctly as text."""
    if moment.tzinfo is None:
        raise StoreError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(value: str | datetime) -> datetime:
    """A stored timestamp: ISO text from SQLite, a datetime from PostgreSQL."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _dt_or_none(value: str | datetime | None) -> datetime | None:
    return None if value is None else _dt(value)


def _seconds(start: str | datetime, end: str | datetime) -> float:
    return (_dt(end) - _dt(start)).total_seconds()


def _lang_or_none(value: object) -> Lang | None:
    if value == "en":
        return "en"
    if value == "zh":
        return "zh"
    return None


def _json(payload: Mapping[str, Any]) -> str:
    return json.dumps(dict(payload), ensure_ascii=False, sort_keys=True)
