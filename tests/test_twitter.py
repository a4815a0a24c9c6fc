"""The X DM channel end to end: tweepy over real HTTP to a fake X API, the real router, desk and a SQLite file."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette

from adapters.twitter import (
    CURSOR,
    MAX_DM_CHARS,
    SIGNATURE_HEADER,
    WEBHOOK_PATH,
    TwitterChannel,
    format_reply,
    split_text,
)
from bot.app.config import Config, TwitterConfig
from bot.app.wiring import Core, Runtime, open_runtime
from bot.core.messages import Action, InboundMessage, Reply, Suggestion
from bot.core.ports import DeliveryError
from bot.core.router import RouterResult
from tests.fakes.loopback import eventually
from tests.fakes.x_api import FakeXApi

USER = "2244994945"
OTHER_USER = "783214"
NOW = 1_750_000_000.0  # the channel's clock in tests that check waits


@dataclass
class World:
    """A runtime with the X channel registered, the fake X API behind it, and every router result seen."""

    rt: Runtime
    channel: TwitterChannel
    x: FakeXApi
    waits: list[float] = field(default_factory=list)
    results: list[RouterResult] = field(default_factory=list)

    async def handle(self, message: InboundMessage) -> RouterResult | None:
        result = await self.rt.desk.handle(message)
        if result is not None:
            self.results.append(result)
        return result

    async def dm(self, text: str, sender: str = USER) -> str:
        """The user sends a DM and the bot polls once; returns the last DM the bot sent to that user."""
        self.x.add_dm(sender, text)
        await self.channel.poll_once(self.handle)
        return self.x.texts_to(sender)[-1]


def x_config(x: FakeXApi, **changes: object) -> TwitterConfig:
    keys = {
        "consumer_key": x.consumer_key,
        "consumer_secret": x.consumer_secret,
        "access_token": x.access_token,
        "access_token_secret": x.access_token_secret,
        "api_base_url": x.base_url,
    }
    return TwitterConfig.model_validate({**keys, **changes})


def new_channel(world_rt: Runtime, x: FakeXApi, waits: list[float], **changes: object) -> TwitterChannel:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    channel = TwitterChannel(x_config(x, **changes), world_rt.store, sleep=sleep, clock=lambda: NOW)
    world_rt.channels[channel.name] = channel
    return channel


@pytest.fixture
async def x() -> AsyncIterator[FakeXApi]:
    async with FakeXApi() as api:
        yield api


@pytest.fixture
async def world(db_config: Config, core: Core, x: FakeXApi) -> AsyncIterator[World]:
    rt = await open_runtime(db_config, core_parts=core)
    waits: list[float] = []
    channel = new_channel(rt, x, waits)
    yield World(rt, channel, x, waits)
    await channel.stop()
    await rt.close()


# -- round trips through polling ----------------------------------------------------------------------------------


async def test_the_running_poller_answers_a_question(db_config: Config, core: Core, x: FakeXApi) -> None:
    rt = await open_runtime(db_config, core_parts=core)
    channel = TwitterChannel(x_config(x, poll_interval_seconds=0.05), rt.store)
    rt.channels[channel.name] = channel
    try:
        await channel.start(rt.desk.handle)
        x.add_dm(USER, "How do I reset my Google Authenticator?")
        await eventually(lambda: bool(x.texts_to(USER)))
        answer = x.texts_to(USER)[0]
        assert "authenticator" in answer.lower() and answer.endswith("Type human for a person.")
        transcript = await rt.desk.history("twitter", USER)
        assert [m.direction for m in transcript] == ["in", "out"]
        assert transcript[0].text == "How do I reset my Google Authenticator?"
    finally:
        await channel.stop()
        await rt.close()
    assert ("GET", "/2/users/me") in x.requests  # the bot's own id, to skip its own messages


async def test_stop_lets_the_message_in_hand_finish(world: World) -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(message: InboundMessage) -> RouterResult | None:
        entered.set()
        await release.wait()
        return await world.handle(message)

    event_id = world.x.add_dm(USER, "where is my UID")
    world.x.add_dm(USER, "what is the withdrawal fee")
    await world.channel.start(slow)
    await asyncio.wait_for(entered.wait(), 10)
    stopping = asyncio.create_task(world.channel.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, 10)
    assert len(world.x.texts_to(USER)) == 1  # the first answered, the second left for the next start
    assert await world.rt.store.cursor_get(CURSOR) == event_id


async def test_a_clarify_is_a_numbered_list_and_1_picks_the_first_choice(world: World) -> None:
    text = await world.dm("code")
    clarify = world.results[-1]
    assert clarify.decision.action is Action.CLARIFY
    choices = clarify.replies[-1].suggestions
    numbers = ", ".join(str(n) for n in range(1, len(choices)))
    assert f"Reply {numbers} or {len(choices)}:" in text
    assert f"1. {choices[0].label}" in text and f"{len(choices)}. Talk to a human" in text
    assert text.endswith("or type human for a person")
    await world.dm("1")
    picked = world.results[-1]
    assert picked.decision.action is Action.ANSWER
    assert choices[0].payload == f"/faq {picked.decision.faq_id}"


async def test_a_secret_is_redacted_and_the_user_warned(world: World) -> None:
    text = await world.dm("my password is Sup3rS3cret!")
    assert "Change that password" in text
    history = await world.rt.desk.history("twitter", USER)
    assert [m.direction for m in history] == ["in", "out"]
    assert "my password is" in history[0].text and not any("Sup3rS3cret" in m.text for m in history)


async def test_an_escalation_asks_skippable_questions_then_gives_a_ticket_number(world: World) -> None:
    assert "coin and network" in await world.dm("my USDT deposit never arrived, I want to talk to a real person")
    assert "TxID" in await world.dm("skip")
    last = await world.dm("skip")
    ticket = await world.rt.store.open_ticket_for("twitter", USER)
    assert ticket is not None and f"#{ticket.number}" in last


async def test_an_agent_reply_is_delivered_by_dm(world: World) -> None:
    await world.dm("my account was hacked!")
    ticket = await world.rt.store.open_ticket_for("twitter", USER)
    assert ticket is not None
    await world.rt.tickets.claim(ticket.number, "alice")
    await world.rt.tickets.reply(ticket.number, "alice", "Can you send the TxID?")
    assert world.x.texts_to(USER)[-1].startswith("alice (ExampleX support): Can you send the TxID?")


async def test_the_bots_own_messages_and_other_events_are_ignored(world: World) -> None:
    await world.dm("where is my UID")
    sent = len(world.x.sent)
    assert world.x.events[-1]["sender_id"] == world.x.bot_user_id  # X lists the bot's reply among the DM events
    world.x.add_dm(world.x.bot_user_id, "a DM the team sent from the X app")
    newest = world.x.add_dm(USER, "", event_type="ParticipantsJoin")
    assert await world.channel.poll_once(world.handle) == 0
    assert len(world.x.sent) == sent and len(world.results) == 1
    assert await world.rt.store.cursor_get(CURSOR) == newest  # skipped events are not fetched again


async def test_a_restart_in_the_middle_resumes_without_loss_or_repeat(
    db_config: Config, core: Core, x: FakeXApi
) -> None:
    questions = ["where is my UID", "what is the withdrawal fee", "what are the trading fees", "fees", "2fa"]
    users = [str(700 + i) for i in range(len(questions))]
    for user, question in zip(users, questions, strict=True):
        x.add_dm(user, question)
    first_seen: list[str] = []
    rt = await open_runtime(db_config, core_parts=core)
    channel = new_channel(rt, x, [])

    async def crashes_at_the_fourth(message: InboundMessage) -> RouterResult | None:
        if len(first_seen) == 3:
            raise RuntimeError("the process died")
        first_seen.append(message.text)
        return await rt.desk.handle(message)

    with pytest.raises(RuntimeError):
        await channel.poll_once(crashes_at_the_fourth)
    await rt.close()
    assert first_seen == questions[:3]

    rt = await open_runtime(db_config, core_parts=core)  # a new process: same database, new channel
    channel = new_channel(rt, x, [])
    second_seen: list[str] = []

    async def records(message: InboundMessage) -> RouterResult | None:
        second_seen.append(message.text)
        return await rt.desk.handle(message)

    try:
        assert await channel.poll_once(records) == 2
        assert await channel.poll_once(records) == 0
    finally:
        await rt.close()
    assert second_seen == questions[3:]
    assert [len(x.texts_to(user)) for user in users] == [1, 1, 1, 1, 1]


async def test_the_first_poll_leaves_the_old_dm_backlog_unanswered(db_config: Config, core: Core, x: FakeXApi) -> None:
    # Without a saved cursor, X returns up to 30 days of DMs: only the last hour's are answered.
    x.add_dm("801", "where is my UID (asked last week)")
    x.events[-1]["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 7 * 86400))
    x.add_dm("802", "what is the withdrawal fee (asked two hours ago)")
    x.events[-1]["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 2 * 3600))
    x.add_dm("803", "where is my UID")
    rt = await open_runtime(db_config, core_parts=core)
    channel = TwitterChannel(x_config(x), rt.store, clock=time.time)
    rt.channels[channel.name] = channel
    try:
        assert await channel.poll_once(rt.desk.handle) == 1
        assert (x.texts_to("801"), x.texts_to("802"), len(x.texts_to("803"))) == ([], [], 1)
        x.add_dm("801", "hello again")  # once a cursor is saved, every new DM is answered, whoever sent it
        assert await channel.poll_once(rt.desk.handle) == 1
        assert len(x.texts_to("801")) == 1
    finally:
        await rt.close()


async def test_a_429_while_polling_is_waited_out_until_the_announced_reset(world: World) -> None:
    world.x.add_dm(USER, "where is my UID")
    world.x.fail_next(429, "/2/dm_events", reset_at=int(NOW) + 120)
    assert await world.channel.poll_once(world.handle) == 1
    assert world.waits == [120.0]
    assert len(world.x.texts_to(USER)) == 1


async def test_send_failures_become_delivery_errors(world: World) -> None:
    reply = Reply("hello")
    world.x.add_dm(USER, "hi")  # the fake only lets the bot DM users it knows
    world.x.fail_next(429, "/2/dm_conversations/", reset_at=int(NOW) + 45)
    with pytest.raises(DeliveryError) as limited:
        await world.channel.send(USER, reply)
    assert limited.value.retry_after == 45.0 and not limited.value.permanent
    world.x.fail_next(403, "/2/dm_conversations/")
    with pytest.raises(DeliveryError) as refused:
        await world.channel.send(USER, reply)
    assert refused.value.permanent
    world.x.fail_next(503, "/2/dm_conversations/")
    with pytest.raises(DeliveryError) as down:
        await world.channel.send(USER, reply)
    assert not down.value.permanent
    await world.channel.send(USER, reply)
    assert world.x.texts_to(USER) == ["hello"]


async def test_requests_are_signed_with_the_configured_keys(world: World) -> None:
    wrong = TwitterChannel(x_config(world.x, consumer_secret="not-the-secret"), world.rt.store)
    world.x.add_dm(USER, "hi")
    with pytest.raises(DeliveryError) as unauthorized:
        await wrong.send(USER, Reply("hello"))
    assert "401" in str(unauthorized.value) and not unauthorized.value.permanent
    assert world.x.sent == []


async def test_a_long_reply_is_split_under_the_dm_limit(world: World) -> None:
    world.x.add_dm(USER, "hi")
    paragraph = ("word " * 800).strip()  # 3,999 characters: two fit in one DM, three do not
    await world.channel.send(USER, Reply("\n\n".join([paragraph] * 3)))
    texts = world.x.texts_to(USER)
    assert texts == [f"{paragraph}\n\n{paragraph}", paragraph]  # cut at the paragraph break
    assert all(len(t) <= MAX_DM_CHARS for t in texts)


def test_split_text_cuts_at_breaks_and_keeps_everything() -> None:
    assert split_text("short") == ["short"]
    parts = split_text("aaaa bbbb\ncccc", limit=10)
    assert parts == ["aaaa bbbb", "cccc"]
    assert split_text("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]


def test_choices_are_numbered_in_the_replys_language() -> None:
    choices = (Suggestion("谷歌验证器", "/faq reset-2fa"), Suggestion("转人工客服", "/human"))
    text = format_reply(Reply("你是想问以下哪个问题？", choices, offer_human=True, lang="zh"))
    assert text == "你是想问以下哪个问题？\n\n回复 1 或 2：\n1. 谷歌验证器\n2. 转人工客服\n或输入“人工”转人工客服"
    assert format_reply(Reply("Pick one", choices[:1])) == "Pick one\n\nReply 1:\n1. 谷歌验证器"
    assert format_reply(Reply("Done.")) == "Done."


async def test_typing_human_after_the_list_reaches_a_person(world: World) -> None:
    await world.dm("code")
    await world.dm("human")
    assert world.results[-1].decision.action is Action.ESCALATE


# -- webhook (Account Activity) -----------------------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def activity(x: FakeXApi, event_id: str, sender: str, text: str) -> bytes:
    """An Account Activity delivery of one DM, as X posts it."""
    recipient = x.bot_user_id if sender != x.bot_user_id else USER
    event = {
        "type": "message_create",
        "id": event_id,
        "created_timestamp": "1750000000123",
        "message_create": {
            "target": {"recipient_id": recipient},
            "sender_id": sender,
            "message_data": {
                "text": text,
                "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
            },
        },
    }
    users = {uid: {"id": uid, "screen_name": name} for uid, name in x.users.items()}
    return json.dumps({"for_user_id": x.bot_user_id, "direct_message_events": [event], "users": users}).encode()


@pytest.fixture
async def hook(db_config: Config, core: Core, x: FakeXApi) -> AsyncIterator[tuple[World, httpx.AsyncClient]]:
    rt = await open_runtime(db_config, core_parts=core)
    channel = new_channel(rt, x, [], mode="webhook")
    world = World(rt, channel, x)
    await channel.start(world.handle)
    app = Starlette(routes=channel.webhook_routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://omnidesk.test") as client:
        yield world, client
    await channel.stop()
    await rt.close()
    assert ("GET", "/2/dm_events") not in x.requests  # webhook mode does not poll


async def test_the_crc_challenge_is_answered(hook: tuple[World, httpx.AsyncClient]) -> None:
    world, client = hook
    response = await client.get(WEBHOOK_PATH, params={"crc_token": "9b4507b3-9040-4669-9ca3-6b94edb50553"})
    assert response.status_code == 200
    expected = sign(world.x.consumer_secret, b"9b4507b3-9040-4669-9ca3-6b94edb50553")
    assert response.json() == {"response_token": expected}
    assert (await client.get(WEBHOOK_PATH)).status_code == 400


async def test_a_signed_webhook_dm_is_answered(hook: tuple[World, httpx.AsyncClient]) -> None:
    world, client = hook
    world.x.users[USER] = "someone"
    body = activity(world.x, "1790000000000000077", USER, "how do I reset my 2FA?")
    response = await client.post(WEBHOOK_PATH, content=body, headers={SIGNATURE_HEADER: sign("cs-test", body)})
    assert response.status_code == 200
    assert world.results[-1].decision.action is Action.ANSWER
    assert len(world.x.texts_to(USER)) == 1
    again = await client.post(WEBHOOK_PATH, content=body, headers={SIGNATURE_HEADER: sign("cs-test", body)})
    assert again.status_code == 200 and len(world.x.texts_to(USER)) == 1  # a redelivery is handled once
    own = activity(world.x, "1790000000000000078", world.x.bot_user_id, "the bot's own reply")
    assert (await client.post(WEBHOOK_PATH, content=own, headers={SIGNATURE_HEADER: sign("cs-test", own)})).is_success
    assert len(world.results) == 1
    other = json.loads(activity(world.x, "1790000000000000079", USER, "where is my UID"))
    other["for_user_id"] = "999"  # the same webhook also serves another subscribed account
    body = json.dumps(other).encode()
    assert (await client.post(WEBHOOK_PATH, content=body, headers={SIGNATURE_HEADER: sign("cs-test", body)})).is_success
    assert len(world.results) == 1


@pytest.mark.parametrize("signature", [None, "sha256=AAAA", "signed-with-the-wrong-secret"])
async def test_a_webhook_with_a_bad_or_missing_signature_is_refused_and_not_processed(
    hook: tuple[World, httpx.AsyncClient], signature: str | None
) -> None:
    world, client = hook
    world.x.users[USER] = "someone"
    body = activity(world.x, "1790000000000000099", USER, "how do I reset my 2FA?")
    if signature == "signed-with-the-wrong-secret":
        signature = sign("not-the-secret", body)
    headers = {SIGNATURE_HEADER: signature} if signature is not None else {}
    response = await client.post(WEBHOOK_PATH, content=body, headers=headers)
    assert response.status_code == 403
    assert world.results == [] and world.x.sent == []
    assert await world.rt.desk.history("twitter", USER) == []


async def test_a_signed_webhook_that_is_not_json_is_a_400(hook: tuple[World, httpx.AsyncClient]) -> None:
    world, client = hook
    body = b"{not json"
    response = await client.post(WEBHOOK_PATH, content=body, headers={SIGNATURE_HEADER: sign("cs-test", body)})
    assert response.status_code == 400 and world.results == []


async def test_webhook_events_wait_for_start(db_config: Config, core: Core, x: FakeXApi) -> None:
    rt = await open_runtime(db_config, core_parts=core)
    channel = new_channel(rt, x, [], mode="webhook")
    app = Starlette(routes=channel.webhook_routes())
    body = activity(x, "1790000000000000111", USER, "hi")
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://omnidesk.test") as c:
            response = await c.post(WEBHOOK_PATH, content=body, headers={SIGNATURE_HEADER: sign("cs-test", body)})
        assert response.status_code == 503  # X redelivers; nothing is lost before the desk is attached
    finally:
        await rt.close()
