"""One unit of work per message: the same message delivered twice at once, two messages of one conversation at once,
a slow agents' tool, a reply split into parts, and the ticket's Slack message after every change.

Real parts: the runtime on a SQLite file, the Slack agent desk on a fake Slack Web API over HTTP, the Telegram
channel polling a fake Bot API over HTTP.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from adapters.base import InMemoryChannel
from adapters.slack_desk import SlackAgentDesk, ticket_message_ts
from adapters.telegram import TelegramChannel
from bot.app.config import Config, SlackConfig, TelegramConfig
from bot.app.wiring import Core, Runtime, open_runtime
from bot.core.messages import Action, InboundMessage
from tests.conftest import new_pg_database
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.wiring import with_store
from tests.test_slack_desk import CHANNEL_ID, SECRET, TOKEN, message_event, send_event

_ids = itertools.count(1)


@dataclass
class World:
    runtime: Runtime
    user: InMemoryChannel
    slack_api: FakeSlackApi
    slack: SlackAgentDesk
    http: httpx.AsyncClient


@pytest.fixture
async def world(config: Config, core: Core, tmp_path: Path) -> AsyncIterator[World]:
    async with world_at(config, core, tmp_path / "o.db") as w:
        yield w


class world_at:
    """A runtime with a user channel and the Slack agent desk on a fake Slack API, on the database at `db`."""

    def __init__(self, config: Config, core: Core, db: Path, pg_url: str = "") -> None:
        self._config, self._core, self._db = with_store(config, db), core, db
        if pg_url:  # PostgreSQL instead of the SQLite file
            store = self._config.store.model_copy(update={"url": pg_url})
            self._config = self._config.model_copy(update={"store": store})

    async def __aenter__(self) -> World:
        self._api = FakeSlackApi(TOKEN, channels={"agents": CHANNEL_ID})
        await self._api.__aenter__()
        user = InMemoryChannel(name="telegram")
        runtime = await open_runtime(self._config, {"telegram": user}, core_parts=self._core)
        slack_config = SlackConfig(
            bot_token=TOKEN, signing_secret=SECRET, channel=CHANNEL_ID, api_base_url=self._api.base_url
        )
        slack = SlackAgentDesk(slack_config, runtime.store, runtime.tickets, brand_name="ExampleX")
        runtime.agents.notifiers.append(slack)
        transport = httpx.ASGITransport(app=Starlette(routes=slack.asgi_routes()))
        self._http = httpx.AsyncClient(transport=transport, base_url="http://omnidesk.test")
        self.world = World(runtime, user, self._api, slack, self._http)
        return self.world

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()
        await self.world.slack.stop()
        await self.world.runtime.close()
        await self._api.__aexit__(None, None, None)


def message(text: str, message_id: str | None = None) -> InboundMessage:
    return InboundMessage("telegram", "user-1", "chat-1", message_id or f"m{next(_ids)}", text)


async def settle(w: World) -> None:
    """Let the background deliveries (agent notices) finish, as a running OmniDesk would."""
    await w.runtime.outbox.drain()
    await w.slack.drain()


@dataclass(frozen=True)
class Observed:
    """What the user and the agents saw of the message under test, and what the store kept."""

    replies: tuple[str, ...]
    tickets: int
    announcements: int
    relays: int
    statuses: tuple[str, ...]
    ratings: tuple[int | None, ...]


async def observe(w: World, replies_before: int, slack_calls_before: int) -> Observed:
    calls = w.slack_api.calls[slack_calls_before:]
    posts = [c.params for c in calls if c.method == "chat.postMessage"]
    tickets = await w.runtime.store.list_tickets()
    return Observed(
        replies=tuple(w.user.texts("chat-1")[replies_before:]),
        tickets=len(tickets),
        announcements=sum("thread_ts" not in p and "Ticket #" in str(p.get("text")) for p in posts),
        relays=sum(str(p.get("text", "")).startswith(":speech_balloon:") for p in posts),
        statuses=tuple(t.status.value for t in tickets),
        ratings=tuple([await w.runtime.store.rating(t.number) for t in tickets]),
    )


URGENT = "my account was hacked, someone withdrew all my USDT"
# kind -> (messages before, the message delivered twice at once, whether an agent resolves the ticket before it)
KINDS: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "faq": ((), "how do I reset my 2FA?", False),
    "ticket-opening": ((), URGENT, False),
    "intake answer": (("I want to talk to a human",), "skip", False),
    "follow-up": ((URGENT,), "any news? I also lost access to my email", False),
    "/cancel": ((URGENT,), "/cancel", False),
    "rating": ((URGENT,), "5", True),
}


async def run_kind(w: World, kind: str, twice: bool) -> Observed:
    before, text, resolve_first = KINDS[kind]
    for earlier in before:
        await w.runtime.desk.handle(message(earlier))
    await settle(w)
    if resolve_first:
        [ticket] = await w.runtime.store.list_tickets()
        await w.runtime.tickets.resolve(ticket.number, "alice")
        await settle(w)
    replies_before, calls_before = len(w.user.texts("chat-1")), len(w.slack_api.calls)
    under_test = message(text)
    deliveries = (under_test, under_test) if twice else (under_test,)
    await asyncio.gather(*(w.runtime.desk.handle(m) for m in deliveries))
    await settle(w)
    return await observe(w, replies_before, calls_before)


@pytest.mark.parametrize("kind", list(KINDS))
async def test_the_same_message_delivered_twice_at_once_is_handled_once(
    kind: str, config: Config, core: Core, tmp_path: Path
) -> None:
    """A Telegram retry or a widget resend arriving while the first delivery is being handled: exactly one ticket,
    one announcement, one relay, and the reply the user gets for one delivery (not an apology, not two)."""
    async with world_at(config, core, tmp_path / "once.db") as w:
        once = await run_kind(w, kind, twice=False)
    async with world_at(config, core, tmp_path / "twice.db") as w:
        twice = await run_kind(w, kind, twice=True)
    assert once.replies and not any("went wrong" in r for r in once.replies)
    assert twice == once


async def test_two_messages_of_one_conversation_at_once_give_the_sequential_result(world: World) -> None:
    """Two misunderstood messages sent together: decline then escalate (the second miss), as one after the other."""
    first, second = message("blorp zzv qwx"), message("flibber gnash prrt")
    results = await asyncio.gather(world.runtime.desk.handle(first), world.runtime.desk.handle(second))
    actions = [r.decision.action if r else None for r in results]
    assert actions == [Action.DECLINE, Action.ESCALATE]
    state = await world.runtime.store.load_conversation_state(("telegram", "chat-1"))
    assert state.misses == 0 and state.intake is not None  # the escalation's questions are being asked


async def test_an_agents_thread_reply_redraws_the_ticket_as_claimed(world: World) -> None:
    await world.runtime.desk.handle(message(URGENT))
    await settle(world)
    [ticket] = await world.runtime.store.list_tickets()
    ts = await ticket_message_ts(world.runtime.store, ticket.number)
    assert ts is not None
    updates_before = len(world.slack_api.calls_to("chat.update"))

    assert (await send_event(world.http, message_event("EvRedraw", ts, text="Looking at it now"))).status_code == 200
    await settle(world)

    updates = world.slack_api.calls_to("chat.update")[updates_before:]
    assert updates and updates[-1]["ts"] == ts
    drawn = json.dumps(updates[-1]["blocks"])
    assert "Claimed" in drawn and "alice" in drawn and "Open, unclaimed" not in drawn
    assert "omnidesk_claim" not in drawn  # no Claim button that would refuse the agent


async def test_a_rate_limit_on_part_2_of_a_long_reply_never_resends_part_1(
    config: Config, core: Core, tmp_path: Path
) -> None:
    """An agent's long answer goes out in Telegram-sized parts; Telegram refuses part 2 once (429)."""
    cfg = with_store(config, tmp_path / "o.db")
    async with FakeTelegramApi() as fake:
        runtime = await open_runtime(cfg, core_parts=core)
        tg = TelegramChannel(TelegramConfig(token=fake.token, base_url=fake.base_url), runtime.store)
        runtime.channels["telegram"] = tg
        try:
            await runtime.desk.handle(InboundMessage("telegram", "77", "77", "m1", URGENT))
            [ticket] = await runtime.store.list_tickets()
            lines = [f"Line {n:02d}: " + "step by step, " * 8 for n in range(60)]
            fake.succeed_next("sendMessage")
            fake.rate_limit_next_send(1)
            await runtime.tickets.reply(ticket.number, "alice", "\n".join(lines))
            await asyncio.sleep(1.1)  # Telegram's retry_after
            await runtime.outbox.flush()
            await runtime.outbox.flush()
        finally:
            await tg.stop()
            await runtime.close()
    sent = "\n".join(t for t in fake.texts(77) if "ExampleX support" in t or "Line" in t)
    counts = {n: sent.count(f"Line {n:02d}:") for n in range(60)}
    assert len([t for t in fake.texts(77) if "Line" in t]) >= 2, "the answer should need several parts"
    assert set(counts.values()) == {1}, {n: c for n, c in counts.items() if c != 1}


async def telegram_latencies(config: Config, core: Core, db: Path, slack_limited_for: float) -> list[float]:
    """Seconds from each update being available to its reply reaching Telegram, for 12 users of whom 4 escalate,
    with Slack answering 429 for `slack_limited_for` seconds."""
    cfg = with_store(config, db)
    async with FakeTelegramApi(max_long_poll=0.2) as fake, FakeSlackApi(TOKEN, channels={"agents": CHANNEL_ID}) as api:
        runtime = await open_runtime(cfg, core_parts=core)
        slack_config = SlackConfig(bot_token=TOKEN, signing_secret=SECRET, channel=CHANNEL_ID, api_base_url=api.base_url)
        slack = SlackAgentDesk(slack_config, runtime.store, runtime.tickets, brand_name="ExampleX")
        runtime.agents.notifiers.append(slack)
        tg = TelegramChannel(TelegramConfig(token=fake.token, base_url=fake.base_url), runtime.store, poll_timeout=1)
        runtime.channels["telegram"] = tg
        if slack_limited_for:
            api.rate_limit(slack_limited_for)
        pushed: dict[int, float] = {}
        answered: dict[int, float] = {}
        try:
            await tg.start(runtime.desk.handle)
            for user in range(1, 13):
                text = URGENT if user % 3 == 0 else "how do I reset my 2FA?"
                chat, sender = fake.private_chat(9000 + user), fake.user(9000 + user)
                fake.push_update(fake.message_update(fake.message(chat, sender, text)))
                pushed[9000 + user] = time.monotonic()
                await asyncio.sleep(0.05)
            deadline = time.monotonic() + 30
            while len(answered) < len(pushed) and time.monotonic() < deadline:
                for chat_id in pushed:
                    if chat_id not in answered and fake.texts(chat_id):
                        answered[chat_id] = time.monotonic()
                await asyncio.sleep(0.005)
        finally:
            await tg.stop()
            await slack.stop()
            await runtime.close()
    assert len(answered) == len(pushed), "some users got no answer"
    return [answered[c] - pushed[c] for c in pushed]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


async def test_a_slack_rate_limit_does_not_hold_telegram_users_back(config: Config, core: Core, tmp_path: Path) -> None:
    """Slack answering 429 (Retry-After 10 s) while tickets are opened: the users' replies come as fast as without."""
    normal = await telegram_latencies(config, core, tmp_path / "normal.db", slack_limited_for=0)
    limited = await telegram_latencies(config, core, tmp_path / "limited.db", slack_limited_for=10)
    print(f"\nSLACK 429: Telegram p99 {p99(normal) * 1000:.0f} ms without, {p99(limited) * 1000:.0f} ms with a 10 s 429")
    assert p99(limited) < 5.0, "a user waited on Slack"
    assert p99(limited) <= 2 * p99(normal) + 0.5


async def test_a_reply_carries_its_language_and_the_bots_human_label(world: World) -> None:
    """Adapters draw the "talk to a human" choice as the bot words it, in the reply's language, without guessing:
    the reply as the channel gets it back from the outbox says both."""
    await world.runtime.desk.handle(message("/lang zh"))
    await world.runtime.desk.handle(message("how do I reset my 2FA?"))
    [(_, last)] = world.user.sent[-1:]
    assert last.offer_human and last.lang == "zh" and last.human_label == "转人工客服"


FOLLOW_UP = "any news? I also lost access to my email"


async def agent_resolves_while_user_writes(w: World, order: str) -> tuple[Observed, tuple[int | None, int | None]]:
    """An agent resolves the ticket and the user sends a follow-up: one after the other (`order`), or at once."""
    await w.runtime.desk.handle(message(URGENT))
    await settle(w)
    [ticket] = await w.runtime.store.list_tickets()
    replies_before, calls_before = len(w.user.texts("chat-1")), len(w.slack_api.calls)
    follow_up = message(FOLLOW_UP)
    if order == "agent first":
        await w.runtime.tickets.resolve(ticket.number, "alice")
        await w.runtime.desk.handle(follow_up)
    elif order == "user first":
        await w.runtime.desk.handle(follow_up)
        await w.runtime.tickets.resolve(ticket.number, "alice")
    elif order == "at once, user started first":
        await asyncio.gather(w.runtime.desk.handle(follow_up), w.runtime.tickets.resolve(ticket.number, "alice"))
    else:
        await asyncio.gather(w.runtime.tickets.resolve(ticket.number, "alice"), w.runtime.desk.handle(follow_up))
    await settle(w)
    state = await w.runtime.store.load_conversation_state(("telegram", "chat-1"))
    return await observe(w, replies_before, calls_before), (state.ticket, state.rating_for)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
@pytest.mark.parametrize("started_first", ["user", "agent"])
async def test_an_agent_resolving_while_the_users_message_is_handled_gives_a_sequential_result(
    started_first: str, engine: str, config: Config, core: Core, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The agent's change to the conversation (ticket closed, rating asked) and the user's follow-up do not overwrite
    each other: the result is the user's message then the resolve, or the resolve then the user's message."""

    async def at(name: str) -> world_at:
        if engine == "sqlite":
            return world_at(config, core, tmp_path / f"{name}.db")
        url = await new_pg_database(request.getfixturevalue("pg_server"))
        return world_at(config, core, tmp_path / f"{name}.db", pg_url=url)

    sequential = []
    for order in ("user first", "agent first"):
        async with await at(order) as w:
            sequential.append(await agent_resolves_while_user_writes(w, order))
    async with await at("at once") as w:
        at_once = await agent_resolves_while_user_writes(w, f"at once, {started_first} started first")
    assert sequential[0] != sequential[1]
    assert at_once in sequential, (at_once, sequential)
