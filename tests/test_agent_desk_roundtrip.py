"""The whole agent round trip: a user escalates, Slack (a fake Slack Web API over HTTP) gets the ticket, an agent
claims, answers in the thread and resolves, and the user gets the answer and the rating request on their channel."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from adapters.base import InMemoryChannel
from adapters.slack_desk import CLAIM_ACTION, RESOLVE_ACTION, SlackAgentDesk, ticket_message_ts
from bot.app.config import Config, SlackConfig
from bot.app.wiring import Core, Runtime, open_runtime
from bot.core.messages import InboundMessage
from bot.store import TicketStatus
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.wiring import with_store
from tests.test_slack_desk import CHANNEL_ID, SECRET, TOKEN, click, message_event, send_event

_ids = itertools.count(1)


@pytest.fixture
async def world(
    config: Config, core: Core, tmp_path: Path
) -> AsyncIterator[tuple[Runtime, InMemoryChannel, FakeSlackApi, SlackAgentDesk, httpx.AsyncClient]]:
    config = with_store(config, tmp_path / "o.db")
    user_channel = InMemoryChannel(name="webchat")
    async with FakeSlackApi(TOKEN, channels={"agents": CHANNEL_ID}) as api:
        runtime = await open_runtime(config, {"webchat": user_channel}, core_parts=core)
        slack_config = SlackConfig(bot_token=TOKEN, signing_secret=SECRET, channel=CHANNEL_ID, api_base_url=api.base_url)
        slack = SlackAgentDesk(slack_config, runtime.store, runtime.tickets, brand_name="ExampleX")
        runtime.agents.notifiers.append(slack)
        transport = httpx.ASGITransport(app=Starlette(routes=slack.asgi_routes()))
        async with httpx.AsyncClient(transport=transport, base_url="http://omnidesk.test") as http:
            yield runtime, user_channel, api, slack, http
        await slack.stop()
        await runtime.close()


async def say(runtime: Runtime, text: str) -> None:
    await runtime.desk.handle(InboundMessage("webchat", "visitor", "session-1", str(next(_ids)), text))
    await runtime.outbox.drain()  # agents are told in the background


async def test_escalation_to_slack_and_back_to_the_user(world) -> None:  # type: ignore[no-untyped-def]
    runtime, user, api, slack, http = world
    await say(runtime, "someone logged into my account and withdrew my USDT, I did not make this withdrawal")
    ticket = await runtime.store.open_ticket_for("webchat", "session-1")
    assert ticket is not None
    root = api.calls_to("chat.postMessage")[0]
    assert f"#{ticket.number}" in root["text"] and root["channel"] == CHANNEL_ID
    ts = await ticket_message_ts(runtime.store, ticket.number)
    assert ts is not None

    await say(runtime, "my seed phrase is " + " ".join(["abandon"] * 11 + ["about"]) + " is it safe?")
    thread_posts = [c for c in api.calls_to("chat.postMessage") if c.get("thread_ts") == ts]
    assert thread_posts and "abandon abandon" not in str(api.calls)  # redacted before Slack ever sees it

    assert (await click(http, CLAIM_ACTION, ticket.number)).status_code == 200
    await slack.drain()
    assert (await runtime.store.get_ticket(ticket.number)).status is TicketStatus.CLAIMED

    reply = message_event("Ev1", ts, text="We froze your account. Which network did you use?")
    assert (await send_event(http, reply)).status_code == 200
    assert (await send_event(http, reply, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})).status_code == 200
    await slack.drain()
    delivered = [t for t in user.texts("session-1") if "We froze your account" in t]
    assert len(delivered) == 1  # Slack's retry delivered once

    assert (await click(http, RESOLVE_ACTION, ticket.number)).status_code == 200
    await slack.drain()
    assert "rating from 1" in user.texts("session-1")[-1]
    await say(runtime, "5")
    assert await runtime.store.rating(ticket.number) == 5
    assert api.calls_to("chat.update")  # the root message follows the ticket's status
