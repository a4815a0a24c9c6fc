"""The store methods behind the help center, "My tickets" and /metrics, on both engines (a real SQLite file and a
real PostgreSQL database), as tests/test_store.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.conversation import LISTED_TICKETS
from bot.core.messages import Suggestion
from bot.store import Store, StorePort, TicketStatus
from bot.store.pg_store import PgStore
from bot.store.records import Clock
from tests.test_store import FakeClock, OpenDb, open_ticket


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", "postgresql"])
def open_db(request: pytest.FixtureRequest, tmp_path: Path) -> OpenDb:
    """Opens the test's own database on the engine of the parameter."""
    if request.param == "sqlite":

        async def sqlite(clock: Clock) -> StorePort:
            return await Store.open(tmp_path / "omnidesk.db", clock=clock)

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


async def test_article_votes_are_counted_per_entry_most_unhelpful_first(store: StorePort, clock: FakeClock) -> None:
    start = clock()
    await store.add_article_vote("reset-2fa", True, "en")
    await store.add_article_vote("reset-2fa", False, "zh")
    await store.add_article_vote("kyc-how", False, "en")
    await store.add_article_vote("kyc-how", False, "en")
    votes = await store.article_votes(start)
    assert [(v.entry_id, v.helpful, v.not_helpful) for v in votes] == [("kyc-how", 0, 2), ("reset-2fa", 1, 1)]
    assert await store.article_votes(start + timedelta(days=1)) == []


async def test_a_conversations_tickets_newest_first_with_their_last_update(store: StorePort, clock: FakeClock) -> None:
    first = await open_ticket(store, "chat-1")
    await store.resolve(first.number, "alice")
    clock.advance(seconds=60)
    second = await open_ticket(store, "chat-1")
    clock.advance(seconds=60)
    await store.claim(second.number, "bob")
    await open_ticket(store, "chat-2")
    mine = await store.tickets_of("telegram", "chat-1")
    assert [(t.ticket.number, t.ticket.status) for t in mine] == [
        (second.number, TicketStatus.CLAIMED),
        (first.number, TicketStatus.RESOLVED),
    ]
    assert mine[0].updated_at == clock()  # the claim just now
    assert mine[0].updated_at > mine[0].ticket.created_at
    assert await store.tickets_of("telegram", "nobody") == []
    assert await store.ticket_status_counts() == {"resolved": 1, "claimed": 1, "open": 1}


async def test_outbox_depth_and_a_replys_choices_in_the_transcript(store: StorePort, clock: FakeClock) -> None:
    empty = await store.outbox_depth()
    assert (empty.pending, empty.oldest_created_at) == (0, None)
    queued_at = clock()
    choices = [{"label": "★★★★★", "payload": "5"}, {"label": "what are the fees", "payload": "/faq fees"}]
    [first] = await store.queue_reply("webchat", "s1", {"text": "Rate us", "suggestions": choices})
    clock.advance(seconds=30)
    await store.queue_reply("webchat", "s1", {"text": "plain"})
    depth = await store.outbox_depth()
    assert (depth.pending, depth.oldest_created_at) == (2, queued_at)
    await store.outbox_mark_sent(first.id)
    assert (await store.outbox_depth()).pending == 1

    transcript = await store.transcript(("webchat", "s1"))
    assert [m.suggestions for m in transcript] == [
        (Suggestion("★★★★★", "5"), Suggestion("what are the fees", "/faq fees")),
        (),
    ]


async def test_an_agents_reply_keeps_its_agent_in_the_transcript(store: StorePort) -> None:
    await store.queue_reply("webchat", "s1", {"text": "From a person", "agent": "alice"})
    await store.queue_reply("webchat", "s1", {"text": "From the bot"})
    transcript = await store.transcript(("webchat", "s1"))
    assert [(m.text, m.agent) for m in transcript] == [("From a person", "alice"), ("From the bot", None)]


async def test_the_conversations_tickets_are_loaded_with_its_state_most_recently_updated_first(
    store: StorePort, clock: FakeClock
) -> None:
    fresh = await store.receive_inbound("telegram", "m-0", ("telegram", "chat-1"))
    assert fresh is not None and fresh.tickets == ()
    first = await open_ticket(store, "chat-1")
    clock.advance(seconds=60)
    resolved_at = clock()
    await store.resolve(first.number, "alice")  # one open ticket per conversation: the next one after this
    clock.advance(seconds=60)
    second = await open_ticket(store, "chat-1")
    clock.advance(seconds=60)
    await store.claim(second.number, "bob")
    await open_ticket(store, "chat-2")  # another conversation's
    snapshot = await store.receive_inbound("telegram", "m-1", ("telegram", "chat-1"))
    assert snapshot is not None
    assert [(t.number, t.status, t.is_open) for t in snapshot.tickets] == [
        (second.number, "claimed", True),
        (first.number, "resolved", False),
    ]
    assert [t.updated_at for t in snapshot.tickets] == [clock(), resolved_at]
    clock.advance(seconds=5)
    await store.rate(first.number, 5)  # the older ticket is the one updated last now
    again = await store.receive_inbound("telegram", "m-1", ("telegram", "chat-1"))
    assert again is not None and [t.number for t in again.tickets] == [first.number, second.number]
    # Only the latest few are loaded, whatever the history.
    for _ in range(LISTED_TICKETS + 2):
        clock.advance(seconds=1)
        await store.resolve((await open_ticket(store, "chat-3")).number, "alice")
    many = await store.receive_inbound("telegram", "m-2", ("telegram", "chat-3"))
    assert many is not None and len(many.tickets) == LISTED_TICKETS
    numbers = [t.number for t in many.tickets]
    assert numbers == sorted(numbers, reverse=True)
