"""`/tickets` on Telegram and X: the real adapters against the fake platform servers, the real runtime on SQLite."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.app.config import Config
from bot.app.wiring import Core, Runtime, open_runtime
from bot.core.conversation import LISTED_TICKETS
from bot.core.messages import Priority
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.x_api import FakeXApi
from tests.test_telegram import ME, Bench, _bench, telegram_config
from tests.test_twitter import World, new_channel

TG_USER = 501
X_USER = "2244994945"
UPDATED = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"
Say = Callable[[str], Awaitable[str]]  # the user writes; the bot's last message to them


@pytest.fixture
async def telegram(db_config: Config, core: Core) -> AsyncIterator[Bench]:
    async with FakeTelegramApi(bot_id=ME.id, bot_username=ME.username) as fake:
        bench = await _bench(fake, db_config, core, telegram_config(fake))
        try:
            yield bench
        finally:
            await bench.channel.stop()
            await bench.runtime.close()


@pytest.fixture
async def x_world(db_config: Config, core: Core) -> AsyncIterator[World]:
    async with FakeXApi() as x:
        rt = await open_runtime(db_config, core_parts=core)
        channel = new_channel(rt, x, [])
        try:
            yield World(rt, channel, x)
        finally:
            await channel.stop()
            await rt.close()


async def two_tickets(say: Say, rt: Runtime, channel: str, user: str) -> tuple[int, int]:
    """A ticket resolved (and rated), then a second one an agent is working on; returns their numbers."""
    await say("/human")
    await say("skip")
    first = await rt.store.open_ticket_for(channel, user)
    assert first is not None
    await rt.tickets.resolve(first.number, "alice")
    await say("5")
    await say("/human")
    await say("skip")
    second = await rt.store.open_ticket_for(channel, user)
    assert second is not None and second.number != first.number
    await rt.tickets.claim(second.number, "bob")
    return first.number, second.number


async def lists_the_tickets_in_both_languages(say: Say, rt: Runtime, channel: str, user: str) -> None:
    assert (await say("/tickets")).startswith("You have no tickets. Type /human to open one.")
    first, second = await two_tickets(say, rt, channel, user)

    listed = await say("/tickets")
    lines = listed.splitlines()
    assert lines[0] == "Your tickets:"
    assert re.fullmatch(rf"#{second} in progress \(updated {UPDATED}\)", lines[1]), lines
    assert re.fullmatch(rf"#{first} resolved \(updated {UPDATED}\)", lines[2]), lines  # most recent first
    assert lines[3] == "Type /ticket for the open one's status."

    # Once nothing is open the list has no pointer to /ticket. (/lang waits until then: with a ticket open,
    # what the user writes goes to the agent.)
    await rt.tickets.resolve(second, "bob")
    await say("/lang zh")
    listed_zh = (await say("/tickets")).splitlines()
    assert listed_zh[0] == "你的工单："
    assert re.fullmatch(rf"#{second} 已解决（更新于 {UPDATED}）", listed_zh[1]), listed_zh
    assert re.fullmatch(rf"#{first} 已解决（更新于 {UPDATED}）", listed_zh[2]), listed_zh
    assert len(listed_zh) == 3


async def test_tickets_on_telegram(telegram: Bench) -> None:
    async def say(text: str) -> str:
        await telegram.say(text)
        return telegram.fake.texts(TG_USER)[-1]

    await lists_the_tickets_in_both_languages(say, telegram.runtime, "telegram", str(TG_USER))


async def test_tickets_on_x(x_world: World) -> None:
    async def say(text: str) -> str:
        return await x_world.dm(text, X_USER)

    await lists_the_tickets_in_both_languages(say, x_world.rt, "twitter", X_USER)


async def test_the_list_counts_only_this_users_tickets_and_a_few_at_most(telegram: Bench) -> None:
    async def say(text: str) -> str:
        await telegram.say(text)
        return telegram.fake.texts(TG_USER)[-1]

    other = telegram.fake.private_chat(TG_USER + 1)
    await telegram.say("/human", chat=other, sender=telegram.fake.user(TG_USER + 1))
    await telegram.say("skip", chat=other, sender=telegram.fake.user(TG_USER + 1))
    assert (await say("/tickets")).startswith("You have no tickets.")
    rt = telegram.runtime
    for _ in range(7):  # opened by agents' tools rather than chat, which would hit the per-user rate limit
        ticket = await rt.store.open_ticket(
            "telegram", str(TG_USER), str(TG_USER), "en", Priority.NORMAL, None, "human_request", "help"
        )
        await rt.tickets.resolve(ticket.number, "alice")
    listed = (await say("/tickets")).splitlines()
    assert listed[0] == "Your tickets:" and len(listed) == 1 + LISTED_TICKETS
    assert listed[1].startswith(f"#{ticket.number} resolved")


async def test_the_rating_on_x_is_a_numbered_choice_and_the_number_typed_is_stored(x_world: World) -> None:
    await x_world.dm("/human", X_USER)
    await x_world.dm("skip", X_USER)
    rt = x_world.rt
    ticket = await rt.store.open_ticket_for("twitter", X_USER)
    assert ticket is not None
    await rt.tickets.resolve(ticket.number, "alice")
    asked = x_world.x.texts_to(X_USER)[-1]
    assert f"Ticket #{ticket.number} has been resolved" in asked
    assert "Reply 1, 2, 3, 4 or 5:" in asked
    assert all(f"{n}. {'★' * n}" in asked.splitlines() for n in range(1, 6))
    assert (await x_world.dm("4", X_USER)).startswith("Thank you for your feedback!")
    assert await rt.store.rating(ticket.number) == 4
