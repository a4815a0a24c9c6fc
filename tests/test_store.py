"""The store against both engines (a real SQLite file and a real PostgreSQL database): schema, conversation state,
tickets, inbox/outbox. Every test taking `store` or `open_db` runs on each engine."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.conversation import ConversationState
from bot.core.effects import FollowUp
from bot.core.messages import Priority, Suggestion
from bot.store import MIGRATIONS, SqliteConversationStates, Store, StoreError, StorePort, Ticket, TicketStatus
from bot.store.pg_store import PgStore
from bot.store.records import Clock

START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "omnidesk.db"


OpenDb = Callable[[Clock], Awaitable[StorePort]]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_db(request: pytest.FixtureRequest, db_path: Path) -> OpenDb:
    """Opens the test's own database (the same one each time) on the engine of the parameter."""
    if request.param == "sqlite":

        async def sqlite(clock: Clock) -> StorePort:
            return await Store.open(db_path, clock=clock)

        return sqlite
    url = request.getfixturevalue("pg_url")

    async def postgresql(clock: Clock) -> StorePort:
        return await PgStore.open(url, clock=clock)

    return postgresql


@pytest.fixture
async def store(open_db: OpenDb, clock: FakeClock) -> AsyncIterator[StorePort]:
    opened = await open_db(clock)
    try:
        yield opened
    finally:
        await opened.close()


@contextlib.asynccontextmanager
async def closing(store: StorePort) -> AsyncIterator[StorePort]:
    try:
        yield store
    finally:
        await store.close()


async def open_ticket(store: StorePort, conversation_id: str = "chat-1", user: str = "u1") -> Ticket:
    return await store.open_ticket(
        "telegram", conversation_id, user, "en", Priority.HIGH, "account", "human_request", "cannot log in"
    )


def pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as raw:
        return raw.execute(f"PRAGMA {name}").fetchone()[0]


# -- schema --------------------------------------------------------------------------------------------------


async def test_migrations_are_applied_and_reopening_is_idempotent(db_path: Path, clock: FakeClock) -> None:
    async with await Store.open(db_path, clock=clock) as store:
        await open_ticket(store)
    assert pragma(db_path, "user_version") == len(MIGRATIONS)
    async with await Store.open(db_path, clock=clock) as store:
        assert [t.number for t in await store.list_tickets()] == [1001]
    assert pragma(db_path, "user_version") == len(MIGRATIONS)
    with sqlite3.connect(db_path) as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {
        "conversations",
        "messages",
        "tickets",
        "ticket_events",
        "csat_ratings",
        "inbox",
        "outbox",
        "cursors",
    } <= tables


async def test_a_newer_schema_fails_with_a_clear_message(db_path: Path) -> None:
    newer = len(MIGRATIONS) + 1
    with sqlite3.connect(db_path) as raw:
        raw.execute(f"PRAGMA user_version = {newer}")
    message = f"database schema version {newer} is newer than this OmniDesk supports ({len(MIGRATIONS)}); upgrade"
    with pytest.raises(StoreError, match=message.replace("(", r"\(").replace(")", r"\)")):
        await Store.open(db_path)
    # Nothing was created in the newer database.
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


async def test_wal_mode_and_foreign_keys_are_on(db_path: Path, clock: FakeClock) -> None:
    async with await Store.open(db_path, clock=clock) as store:
        await _check_wal_and_foreign_keys(store, db_path)


async def _check_wal_and_foreign_keys(store: Store, db_path: Path) -> None:
    assert pragma(db_path, "journal_mode") == "wal"
    # foreign_keys is per connection: check the store's own by breaking a reference through it.
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        await store._thread.write(
            store._sql._db.execute,
            "INSERT INTO messages (conversation, direction, text, created_at) VALUES (999, 'in', 'x', 'now')",
        )
    row = await store._thread.read(store._sql._one, "PRAGMA foreign_keys")
    assert row is not None and row[0] == 1


# -- conversation state --------------------------------------------------------------------------------------


async def test_conversation_state_round_trips(store: StorePort) -> None:
    states = SqliteConversationStates(store)
    key = ("telegram", "chat-1")
    assert await states.get(key) == ConversationState()
    state = ConversationState(
        lang_choice="zh",
        last_lang="zh",
        misses=2,
        last_suggestions=(Suggestion("重置 2FA", "faq:reset-2fa"), Suggestion("Talk to a human", "human")),
    )
    await states.put(key, state)
    assert await states.get(key) == state
    assert await states.get(("webchat", "chat-1")) == ConversationState()  # keyed by channel too
    await states.put(key, ConversationState(last_lang="en"))
    assert await states.get(key) == ConversationState(last_lang="en")


async def test_moving_a_groups_conversations_takes_their_tickets_and_pending_replies(store: Store) -> None:
    states = SqliteConversationStates(store)
    for conversation in ("-42", "-42:7", "-42:8", "-421:7", "-4_:7"):
        await states.put(("telegram", conversation), ConversationState(last_lang="en"))
    await states.put(("telegram", "-100:8"), ConversationState(last_lang="zh"))  # already written in the new chat
    ticket = await store.open_ticket("telegram", "-42:7", "7", "en", Priority.URGENT, None, "security_incident", "x")
    [pending] = await store.queue_reply("telegram", "-42:7", {"text": "hello"})
    assert await store.move_conversations("telegram", "-42", "-100") == 2  # "-42" and "-42:7"; "-42:8" is taken
    assert (await store.get_ticket(ticket.number)).conversation_id == "-100:7"
    assert (await store.outbox_get(pending.id)).conversation_id == "-100:7"
    assert await states.get(("telegram", "-100:8")) == ConversationState(last_lang="zh")
    assert await states.get(("telegram", "-42:8")) == ConversationState(last_lang="en")  # left where it was
    assert await states.get(("telegram", "-421:7")) == ConversationState(last_lang="en")  # another group
    assert await states.get(("telegram", "-100:7")) == ConversationState(last_lang="en")
    assert await store.move_conversations("telegram", "-4_", "-5") == 1  # LIKE wildcards are escaped


# -- tickets -------------------------------------------------------------------------------------------------


async def test_ticket_lifecycle_writes_an_event_per_change_with_clock_timestamps(
    store: Store, clock: FakeClock
) -> None:
    ticket = await open_ticket(store)
    assert ticket.status == TicketStatus.OPEN
    assert (ticket.priority, ticket.category, ticket.reason, ticket.lang) == (
        Priority.HIGH,
        "account",
        "human_request",
        "en",
    )
    assert ticket.created_at == START and ticket.claimed_at is None

    claimed_at = clock.advance(minutes=5)
    ticket = await store.claim(ticket.number, "alice")
    assert (ticket.status, ticket.assignee, ticket.claimed_at) == (TicketStatus.CLAIMED, "alice", claimed_at)

    replied_at = clock.advance(minutes=1)
    ticket = await store.add_agent_reply(ticket.number, "alice", "Please send a screenshot")
    assert ticket.first_reply_at == replied_at
    clock.advance(minutes=1)
    ticket = await store.add_agent_reply(ticket.number, "alice", "Still there?")
    assert ticket.first_reply_at == replied_at  # set once

    clock.advance(minutes=1)
    ticket = await store.set_status(ticket.number, TicketStatus.WAITING_USER, "alice")
    assert ticket.status == TicketStatus.WAITING_USER

    clock.advance(minutes=1)
    await store.record_message("telegram", "chat-1", "in", "here it is [REDACTED]", platform_message_id="m9")

    resolved_at = clock.advance(minutes=10)
    ticket = await store.resolve(ticket.number, "alice")
    assert (ticket.status, ticket.resolved_at, ticket.is_open) == (TicketStatus.RESOLVED, resolved_at, False)
    assert ticket.claimed_at == claimed_at  # untouched by later changes

    events = await store.ticket_events(ticket.number)
    assert [(e.kind, e.actor) for e in events] == [
        ("opened", "u1"),
        ("claimed", "alice"),
        ("agent_reply", "alice"),
        ("agent_reply", "alice"),
        ("status", "alice"),
        ("user_message", "u1"),
        ("resolved", "alice"),
    ]
    assert [e.created_at for e in events] == [START + timedelta(minutes=m) for m in (0, 5, 6, 7, 8, 9, 19)]
    assert events[4].detail == "claimed -> waiting_user"
    assert events[5].detail == "here it is [REDACTED]"
    assert await store.get_ticket(ticket.number) == ticket


async def test_ticket_numbers_start_at_1001_and_increase(store: StorePort) -> None:
    first = await open_ticket(store, "chat-1")
    second = await open_ticket(store, "chat-2")
    await store.cancel(second.number, "u1")
    third = await open_ticket(store, "chat-2")
    assert [first.number, second.number, third.number] == [1001, 1002, 1003]
    assert [t.number for t in await store.list_tickets()] == [1001, 1002, 1003]
    assert [t.number for t in await store.list_tickets(TicketStatus.CANCELLED)] == [1002]
    assert [t.number for t in await store.list_tickets(TicketStatus.OPEN)] == [1001, 1003]


async def test_open_ticket_for_finds_only_the_unfinished_one(store: StorePort) -> None:
    assert await store.open_ticket_for("telegram", "chat-1") is None
    old = await open_ticket(store)
    await store.resolve(old.number, "alice")
    assert await store.open_ticket_for("telegram", "chat-1") is None
    current = await open_ticket(store)
    await open_ticket(store, "chat-2")
    found = await store.open_ticket_for("telegram", "chat-1")
    assert found is not None and found.number == current.number
    assert found.conversation_key == ("telegram", "chat-1")
    assert await store.open_ticket_for("webchat", "chat-1") is None


async def test_a_conversation_has_at_most_one_unfinished_ticket(store: StorePort) -> None:
    await open_ticket(store)
    with pytest.raises(StoreError, match="already has open ticket #1001"):
        await open_ticket(store)
    results = await asyncio.gather(open_ticket(store, "chat-2"), open_ticket(store, "chat-2"), return_exceptions=True)
    assert sum(isinstance(r, Ticket) for r in results) == 1
    assert sum(isinstance(r, StoreError) for r in results) == 1


async def test_illegal_transitions_raise(store: StorePort) -> None:
    ticket = await open_ticket(store)
    with pytest.raises(StoreError, match="no ticket #9999"):
        await store.claim(9999, "alice")
    with pytest.raises(StoreError, match="is open; it cannot become waiting_user"):
        await store.set_status(ticket.number, TicketStatus.WAITING_USER, "alice")
    await store.claim(ticket.number, "alice")
    with pytest.raises(StoreError, match="already claimed by alice"):
        await store.claim(ticket.number, "alice")
    taken = await store.claim(ticket.number, "bob")  # a take-over is allowed and logged
    assert taken.assignee == "bob"
    await store.resolve(ticket.number, "bob")
    with pytest.raises(StoreError, match="is resolved; it cannot be claimed"):
        await store.claim(ticket.number, "carol")
    with pytest.raises(StoreError, match="is resolved; it cannot become cancelled"):
        await store.cancel(ticket.number, "u1")
    with pytest.raises(StoreError, match="is resolved; it cannot be replied to"):
        await store.add_agent_reply(ticket.number, "bob", "hello?")
    with pytest.raises(StoreError, match="is resolved; it cannot become open"):
        await store.set_status(ticket.number, TicketStatus.OPEN, "bob")
    # A refused change leaves no trace in the audit log.
    assert [e.kind for e in await store.ticket_events(ticket.number)] == ["opened", "claimed", "claimed", "resolved"]
    assert (await store.ticket_events(ticket.number))[2].detail == "from alice"


async def test_a_rating_is_bounded_stored_once_and_only_for_resolved_tickets(store: StorePort) -> None:
    ticket = await open_ticket(store)
    with pytest.raises(StoreError, match="only resolved tickets can be rated"):
        await store.rate(ticket.number, 5)
    await store.resolve(ticket.number, "alice")
    for bad in (0, 6, -1):
        with pytest.raises(StoreError, match="from 1 to 5"):
            await store.rate(ticket.number, bad)
    assert await store.rating(ticket.number) is None
    await store.rate(ticket.number, 4)
    with pytest.raises(StoreError, match="already been rated"):
        await store.rate(ticket.number, 5)
    assert await store.rating(ticket.number) == 4
    assert [(e.kind, e.detail) for e in await store.ticket_events(ticket.number)][-1] == ("rated", "4")


async def test_concurrent_claims_let_exactly_one_agent_win(store: StorePort) -> None:
    ticket = await open_ticket(store)
    await store.resolve((await open_ticket(store, "chat-2")).number, "x")
    results = await asyncio.gather(
        store.claim(ticket.number, "alice"), store.claim(ticket.number, "alice"), return_exceptions=True
    )
    assert sum(isinstance(r, Ticket) for r in results) == 1
    assert [e.kind for e in await store.ticket_events(ticket.number)] == ["opened", "claimed"]


async def test_concurrent_writers_on_one_connection_do_not_interleave_transactions(store: StorePort) -> None:
    states = SqliteConversationStates(store)
    writes: list[Awaitable[object]] = [
        store.record_message("telegram", f"chat-{n % 3}", "in", f"message {n}") for n in range(30)
    ]
    writes += [states.put(("telegram", f"chat-{n}"), ConversationState(misses=n)) for n in range(3)]
    writes += [open_ticket(store, f"chat-{n}") for n in range(3)]
    await asyncio.gather(*writes)
    assert sum([len(await store.transcript(("telegram", f"chat-{n}"))) for n in range(3)]) == 30
    assert [t.number for t in await store.list_tickets()] == [1001, 1002, 1003]


async def test_ticket_stats(store: StorePort, clock: FakeClock) -> None:
    empty = await store.ticket_stats(START)
    assert (empty.opened, empty.median_seconds_to_claim, empty.median_seconds_to_resolve, empty.csat_average) == (
        0,
        None,
        None,
        None,
    )
    for conversation, claim_after, resolve_after, rating in (("a", 60, 600, 5), ("b", 180, 1200, 2), ("c", 120, 0, 0)):
        clock.now = START
        ticket = await open_ticket(store, conversation)
        clock.now = START + timedelta(seconds=claim_after)
        await store.claim(ticket.number, "alice")
        if resolve_after:
            clock.now = START + timedelta(seconds=resolve_after)
            await store.resolve(ticket.number, "alice")
            await store.rate(ticket.number, rating)
    stats = await store.ticket_stats(START)
    assert stats.opened == 3
    assert stats.median_seconds_to_claim == 120
    assert stats.median_seconds_to_resolve == 900
    assert (stats.csat_average, stats.csat_count) == (3.5, 2)
    assert (await store.ticket_stats(START + timedelta(seconds=1))).opened == 0


# -- transcripts, inbox, outbox, cursors ---------------------------------------------------------------------


async def test_transcript_keeps_order_and_limits(store: StorePort, clock: FakeClock) -> None:
    await store.record_message("telegram", "chat-1", "in", "hi", platform_message_id="1", channel_user_id="u1")
    clock.advance(seconds=1)
    await store.record_message("telegram", "chat-1", "out", "hello, how can I help?")
    await store.record_message("telegram", "chat-2", "in", "other chat")
    clock.advance(seconds=1)
    await store.record_message("telegram", "chat-1", "in", "my withdrawal is stuck")
    transcript = await store.transcript(("telegram", "chat-1"))
    assert [(m.direction, m.text) for m in transcript] == [
        ("in", "hi"),
        ("out", "hello, how can I help?"),
        ("in", "my withdrawal is stuck"),
    ]
    assert transcript[0].platform_message_id == "1" and transcript[0].created_at == START
    assert [m.text for m in await store.transcript(("telegram", "chat-1"), limit=2)] == [
        "hello, how can I help?",
        "my withdrawal is stuck",
    ]
    with pytest.raises(StoreError, match="direction"):
        await store.record_message("telegram", "chat-1", "sideways", "x")  # type: ignore[arg-type]


async def test_inbox_rejects_duplicates(store: StorePort) -> None:
    assert await store.inbox_add("telegram", "42", {"text": "hi"}) is True
    assert await store.inbox_add("telegram", "42", {"text": "hi again"}) is False
    assert await store.inbox_add("twitter", "42", {"text": "hi"}) is True  # ids are unique per channel
    await store.inbox_mark_handled("telegram", "42")


async def test_outbox_pending_sent_and_failed(store: StorePort, clock: FakeClock) -> None:
    first = await store.outbox_add("telegram", "chat-1", {"text": "one"})
    second = await store.outbox_add("telegram", "chat-1", {"text": "two"})
    third = await store.outbox_add("webchat", "s-9", {"text": "三"})
    # A conversation's items go out in order: its second waits while its first is pending.
    assert [i.id for i in await store.outbox_pending(10)] == [first.id, third.id]
    assert [i.id for i in await store.outbox_pending(1)] == [first.id]
    assert first.payload == {"text": "one"} and first.status == "pending" and first.attempts == 0

    await store.outbox_mark_sent(first.id)
    await store.outbox_mark_failed(second.id, permanent=False, error="timeout", retry_at=START + timedelta(minutes=1))
    await store.outbox_mark_failed(third.id, permanent=True, error="chat not found")
    assert await store.outbox_pending(10) == []  # second is not due yet

    sent = await store.outbox_get(first.id)
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, START)
    failed = await store.outbox_get(third.id)
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 1, "chat not found")

    clock.advance(minutes=1)
    [retry] = await store.outbox_pending(10)
    assert (retry.id, retry.attempts, retry.last_error, retry.payload) == (second.id, 1, "timeout", {"text": "two"})
    with pytest.raises(StoreError, match="already sent"):
        await store.outbox_mark_sent(first.id)
    with pytest.raises(StoreError, match="retry_at"):
        await store.outbox_mark_failed(second.id, permanent=False, error="x")


async def test_cursors(store: StorePort) -> None:
    assert await store.cursor_get("telegram.offset") is None
    await store.cursor_set("telegram.offset", "100")
    await store.cursor_set("telegram.offset", "101")
    assert await store.cursor_get("telegram.offset") == "101"


async def test_data_survives_close_and_reopen(open_db: OpenDb, clock: FakeClock) -> None:
    key = ("telegram", "chat-1")
    state = ConversationState(lang_choice="zh", misses=1, last_suggestions=(Suggestion("Human", "human"),))
    store = await open_db(clock)
    async with closing(store):
        await SqliteConversationStates(store).put(key, state)
        ticket = await open_ticket(store)
        await store.claim(ticket.number, "alice")
        await store.record_message("telegram", "chat-1", "in", "hello")
        await store.inbox_add("telegram", "7", {"x": 1})
        await store.outbox_add("telegram", "chat-1", {"text": "queued"})
        await store.cursor_set("c", "v")
    store = await open_db(clock)
    async with closing(store):
        assert await SqliteConversationStates(store).get(key) == state
        assert await store.get_ticket(ticket.number) == await store.get_ticket(1001)
        assert (await store.get_ticket(1001)).assignee == "alice"
        assert [e.kind for e in await store.ticket_events(1001)] == ["opened", "claimed", "user_message"]
        assert [m.text for m in await store.transcript(key)] == ["hello"]
        assert await store.inbox_add("telegram", "7", {"x": 1}) is False
        # The claim queued the ticket's redraw for agents with it.
        assert [i.payload for i in await store.outbox_pending(10)] == [
            {"notice": "redraw", "text": ""},
            {"text": "queued"},
        ]
        assert await store.cursor_get("c") == "v"
        assert (await open_ticket(store, "chat-2")).number == 1002


async def test_a_naive_clock_is_refused(open_db: OpenDb) -> None:
    store = await open_db(lambda: datetime(2024, 1, 1))
    async with closing(store):
        with pytest.raises(StoreError, match="timezone-aware"):
            await store.inbox_add("telegram", "1", {})


def test_a_reply_survives_the_outbox_payload_round_trip() -> None:
    from bot.core.messages import Reply
    from bot.core.outbox import reply_from_payload, reply_to_payload

    reply = Reply("Did you mean:", (Suggestion("Reset 2FA", "/faq reset-2fa"),), offer_human=True, transcript_id=7)
    payload = reply_to_payload(reply)
    assert json.loads(json.dumps(payload)) == payload  # stored as JSON
    assert reply_from_payload(payload) == reply
    assert reply_from_payload(reply_to_payload(Reply("plain"))) == Reply("plain")


async def test_a_transcript_from_a_message_id_on(store: StorePort) -> None:
    for n in range(5):
        await store.record_message("webchat", "s1", "in", f"m{n}")
    everything = await store.transcript(("webchat", "s1"))
    later = await store.transcript(("webchat", "s1"), after=everything[2].id)
    assert [m.text for m in later] == ["m3", "m4"]
    assert [m.text for m in await store.transcript(("webchat", "s1"), limit=1, after=everything[0].id)] == ["m4"]


async def test_text_with_a_nul_is_stored(store: StorePort) -> None:
    # Browsers can send NUL; PostgreSQL's text cannot hold it, so there it becomes U+FFFD, and nothing fails.
    await store.record_message("webchat", "s1", "in", "a\x00b")
    [item] = await store.queue_reply("webchat", "s1", {"text": "c\x00d"})
    assert item.payload["text"] in ("c\x00d", "c\ufffdd")
    assert [m.text.replace("\ufffd", "\x00") for m in await store.transcript(("webchat", "s1"))] == ["a\x00b", "c\x00d"]


async def test_a_message_redacted_afterwards_is_redacted_in_its_ticket_events_and_relayed_notice(
    store: StorePort,
) -> None:
    """A seed phrase sent in parts: the first part, relayed to the open ticket, is redacted with the last one in
    the transcript, the ticket's events and the relay notice kept in the outbox (sent or not)."""
    ticket = await open_ticket(store)
    first = "regret cabin"
    relay = await store.complete_inbound(
        "telegram", "m1", "chat-1", "u1", first, None, [], effects=[FollowUp(ticket.number, first)]
    )
    assert relay is not None and any(item.payload.get("text") == first for item in relay)
    await store.outbox_mark_sent(next(item.id for item in relay if item.payload.get("text") == first))
    stored = next(m for m in await store.transcript(("telegram", "chat-1")) if m.text == first)
    await store.complete_inbound(
        "telegram",
        "m3",
        "chat-1",
        "u1",
        "[REDACTED:SEED_PHRASE]",
        None,
        [],
        redact_earlier=[(stored.id, "[REDACTED:SEED_PHRASE]")],
    )
    assert all(first not in m.text for m in await store.transcript(("telegram", "chat-1")))
    assert all(first not in (e.detail or "") for e in await store.ticket_events(ticket.number))
    notices = [await store.outbox_get(item.id) for item in relay]
    assert [n.payload["text"] for n in notices if n.payload.get("notice") == "relay"] == ["[REDACTED:SEED_PHRASE]"]


async def test_a_held_relay_is_due_after_its_hold_and_goes_out_redacted_when_the_rest_came_meanwhile(
    store: StorePort, clock: FakeClock
) -> None:
    """A follow-up that may start a seed phrase is queued for agents due after its hold; the next message, which
    completes the phrase, redacts it while it waits; once due it goes out in order, redacted."""
    ticket = await open_ticket(store)
    for item in await store.outbox_pending(10):  # the ticket's announcement
        await store.outbox_mark_sent(item.id)
    first = "regret cabin"
    queued = await store.complete_inbound(
        "telegram", "m1", "chat-1", "u1", first, None, [], effects=[FollowUp(ticket.number, first, hold_seconds=15)]
    )
    assert queued is not None
    [held] = queued
    assert held.next_attempt_at == START + timedelta(seconds=15)
    assert await store.outbox_pending(10) == []  # not due: nothing is sent meanwhile
    stored = next(m for m in await store.transcript(("telegram", "chat-1")) if m.text == first)
    rest = "[REDACTED:SEED_PHRASE]"
    await store.complete_inbound(
        "telegram",
        "m2",
        "chat-1",
        "u1",
        rest,
        None,
        [],
        effects=[FollowUp(ticket.number, rest)],
        redact_earlier=[(stored.id, rest)],
    )
    assert await store.outbox_pending(10) == []  # the later relay waits behind the held one
    clock.advance(seconds=15)
    [due] = await store.outbox_pending(10)
    assert (due.id, due.payload["text"]) == (held.id, rest)
