"""What only several instances on one PostgreSQL database need: migrations under an advisory lock, outbox claims
with SKIP LOCKED and leases, per-conversation locks, the pollers' leader, LISTEN/NOTIFY, shared secrets."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from bot.store import StoreError, open_store
from bot.store.pg_schema import PG_MIGRATIONS
from bot.store.pg_store import PgStore
from tests.fakes.loopback import free_port

START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


async def test_instances_starting_together_migrate_once(pg_url: str) -> None:
    stores = await asyncio.gather(*(PgStore.open(pg_url) for _ in range(4)))
    try:
        connection = await asyncpg.connect(pg_url)
        try:
            assert await connection.fetchval("SELECT version FROM schema_version") == len(PG_MIGRATIONS)
            assert await connection.fetchval("SELECT count(*) FROM schema_version") == 1
        finally:
            await connection.close()
        ticket = await stores[0].open_ticket("telegram", "c", "u", "en", "normal", None, None, "s")  # type: ignore[arg-type]
        assert ticket.number == 1001
    finally:
        for store in stores:
            await store.close()


async def test_a_newer_schema_is_refused(pg_url: str) -> None:
    await (await PgStore.open(pg_url)).close()
    connection = await asyncpg.connect(pg_url)
    await connection.execute("UPDATE schema_version SET version = 99")
    await connection.close()
    with pytest.raises(StoreError, match="newer than this OmniDesk supports"):
        await PgStore.open(pg_url)


async def test_a_bad_url_or_an_unreachable_database_fails_with_one_clear_message() -> None:
    with pytest.raises(StoreError, match=r"store\.url must be a postgresql://"):
        await open_store("mysql://x@y/z", "unused.db")
    with pytest.raises(
        StoreError, match=r"cannot connect to the PostgreSQL store at postgresql://u:\*\*\*@127\.0\.0\.1"
    ):
        await open_store(f"postgresql://u:secret@127.0.0.1:{free_port()}/x", "unused.db")


async def test_outbox_items_are_claimed_by_one_instance_and_released_when_the_lease_runs_out(pg_url: str) -> None:
    now = [START]
    a, b = [await PgStore.open(pg_url, clock=lambda: now[0]) for _ in range(2)]
    try:
        items = [await a.outbox_add("telegram", f"chat-{n}", {"text": str(n)}) for n in range(20)]
        claimed_a, claimed_b = await asyncio.gather(a.outbox_claim(15), b.outbox_claim(15))
        ids_a, ids_b = {i.id for i in claimed_a}, {i.id for i in claimed_b}
        assert not ids_a & ids_b, "SKIP LOCKED: each item goes to one instance"
        assert ids_a | ids_b == {i.id for i in items}
        assert not any(i.claimed_before for i in [*claimed_a, *claimed_b])  # nobody had them: a first attempt
        assert await a.outbox_claim(100) == [] and await b.outbox_claim(100) == []
        # b delivers its items; a "dies" holding its claims: after the lease another instance takes them.
        for item in claimed_b:
            await b.outbox_mark_sent(item.id)
        now[0] += timedelta(seconds=29)
        assert await b.outbox_claim(100) == []
        now[0] += timedelta(seconds=2)
        taken_over = await b.outbox_claim(100)
        assert {i.id for i in taken_over} == ids_a
        # a may have sent them before it died: the agents' tool looks before posting such an item again.
        assert all(i.claimed_before for i in taken_over)
    finally:
        await a.close()
        await b.close()


async def test_a_reply_queued_for_delivery_here_is_leased_and_one_queued_by_the_cli_is_not(pg_url: str) -> None:
    instance = await PgStore.open(pg_url)
    cli = await PgStore.open(pg_url, lease_new_outbox=False)
    try:
        await instance.queue_reply("webchat", "s1", {"text": "delivered by this instance"})
        [queued] = await cli.queue_reply("webchat", "s2", {"text": "for any instance"})
        assert [i.id for i in await instance.outbox_claim(10)] == [queued.id]
        # A conversation's items go out in order: its next one waits while the first is leased elsewhere.
        await cli.queue_reply("webchat", "s1", {"text": "after the first"})
        assert await cli.outbox_claim(10) == []
    finally:
        await instance.close()
        await cli.close()


async def test_one_conversation_is_serialised_across_instances_and_others_run_in_parallel(pg_url: str) -> None:
    a, b = await PgStore.open(pg_url), await PgStore.open(pg_url)
    try:
        events: list[str] = []

        async def hold(store: PgStore, key: tuple[str, str], name: str) -> None:
            async with store.conversation_lock(key):
                events.append(f"{name} in")
                await asyncio.sleep(0.3)
                events.append(f"{name} out")

        started = time.monotonic()
        await asyncio.gather(hold(a, ("webchat", "s1"), "a1"), hold(b, ("webchat", "s1"), "b1"))
        serial = time.monotonic() - started
        assert events in (["a1 in", "a1 out", "b1 in", "b1 out"], ["b1 in", "b1 out", "a1 in", "a1 out"])
        assert serial >= 0.6
        started = time.monotonic()
        await asyncio.gather(hold(a, ("webchat", "s2"), "a2"), hold(b, ("webchat", "s3"), "b2"))
        assert time.monotonic() - started < 0.55
    finally:
        await a.close()
        await b.close()


async def test_one_leader_at_a_time_and_a_follower_takes_over_when_it_goes(pg_url: str) -> None:
    a, b = await PgStore.open(pg_url), await PgStore.open(pg_url)
    try:
        leader_a, leader_b = a.leadership("pollers"), b.leadership("pollers")
        await asyncio.wait_for(leader_a.acquire(), 5)
        follower = asyncio.create_task(leader_b.acquire())
        await asyncio.sleep(2.5)
        assert not follower.done(), "a second leader while the first holds the lock"
        started = time.monotonic()
        await leader_a.release()
        await asyncio.wait_for(follower, 10)
        assert time.monotonic() - started < 10
        await leader_b.release()
    finally:
        await a.close()
        await b.close()


async def test_notifications_reach_every_instance(pg_url: str) -> None:
    a, b = await PgStore.open(pg_url), await PgStore.open(pg_url)
    try:
        heard: asyncio.Queue[str] = asyncio.Queue()

        async def on_event(payload: str) -> None:
            await heard.put(payload)

        await b.subscribe("omnidesk_test", on_event)
        await a.publish("omnidesk_test", '{"hello": "世界"}')
        assert await asyncio.wait_for(heard.get(), 5) == '{"hello": "世界"}'
    finally:
        await a.close()
        await b.close()


async def test_instances_agree_on_a_secret_created_at_the_same_moment(pg_url: str) -> None:
    stores = [await PgStore.open(pg_url) for _ in range(3)]
    try:
        values = await asyncio.gather(*(s.cursor_setdefault("secret", f"v{n}") for n, s in enumerate(stores)))
        assert len(set(values)) == 1 and await stores[0].cursor_get("secret") == values[0]
    finally:
        for store in stores:
            await store.close()


async def test_a_redelivery_to_two_instances_at_once_is_completed_once(pg_url: str) -> None:
    a, b = await PgStore.open(pg_url), await PgStore.open(pg_url)
    try:
        results = await asyncio.gather(
            *(
                store.complete_inbound("telegram", "m1", "chat", "u", "hi", None, [{"text": "hello"}])
                for store in (a, b, a, b)
            )
        )
        assert sum(r is not None for r in results) == 1
        assert [m.text for m in await a.transcript(("telegram", "chat"))] == ["hi", "hello"]
    finally:
        await a.close()
        await b.close()
