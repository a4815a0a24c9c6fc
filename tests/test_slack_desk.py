"""The Slack agent desk against a fake Slack Web API over real HTTP, with a real store and signed Slack requests."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette

from adapters.slack_desk import CLAIM_ACTION, RESOLVE_ACTION, SlackAgentDesk, plain_text
from bot.app.config import SlackConfig
from bot.core.messages import Priority
from bot.core.ports import AgentNotice
from bot.desk.agents import AgentNotifier
from bot.store import Store, Ticket, TicketStatus
from tests.fakes.slack_api import FakeSlackApi, slack_signature_headers

TOKEN = "xoxb-omnidesk-test"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL_ID = "C0AGENTS"


class RecordingActions:
    """AgentActions over the real store, recording each call and announcing changes like TicketDesk does."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: list[tuple[Any, ...]] = []
        self.notifiers: list[AgentNotifier] = []

    async def get(self, number: int) -> Ticket:
        return await self.store.get_ticket(number)

    async def claim(self, number: int, agent: str) -> Ticket:
        self.calls.append(("claim", number, agent))
        return await self._announce(await self.store.claim(number, agent))

    async def reply(self, number: int, agent: str, text: str) -> Ticket:
        self.calls.append(("reply", number, agent, text))
        return await self.store.add_agent_reply(number, agent, text)

    async def resolve(self, number: int, agent: str) -> Ticket:
        self.calls.append(("resolve", number, agent))
        return await self._announce(await self.store.resolve(number, agent))

    async def _announce(self, ticket: Ticket) -> Ticket:
        for notifier in self.notifiers:
            await notifier.ticket_updated(ticket, notice=AgentNotice(ticket.number, "redraw"))
        return ticket


@pytest.fixture
async def api() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi(TOKEN, channels={"agents": CHANNEL_ID}) as fake:
        yield fake


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "omnidesk.db") as opened:
        yield opened


@pytest.fixture
def actions(store: Store) -> RecordingActions:
    return RecordingActions(store)


@pytest.fixture
async def desk(api: FakeSlackApi, store: Store, actions: RecordingActions) -> AsyncIterator[SlackAgentDesk]:
    # The configured channel is a name: the desk must learn the ID Slack returns, which chat.update needs.
    config = SlackConfig(bot_token=TOKEN, signing_secret=SECRET, channel="#agents", api_base_url=api.base_url)
    slack = SlackAgentDesk(config, store, actions, brand_name="ExampleX")
    actions.notifiers.append(slack)
    yield slack
    await slack.stop()


@pytest.fixture
async def http(desk: SlackAgentDesk) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=Starlette(routes=desk.asgi_routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://omnidesk.test") as client:
        yield client


async def open_ticket(store: Store, priority: Priority = Priority.URGENT, summary: str = "Funds stolen") -> Ticket:
    await store.record_message("telegram", "chat-9", "in", "my account was hacked <!channel>", channel_user_id="u9")
    await store.record_message("telegram", "chat-9", "out", "Please change your password now.")
    return await store.open_ticket("telegram", "chat-9", "u9", "en", priority, "security", "security_incident", summary)


async def announce(desk: SlackAgentDesk, store: Store, ticket: Ticket) -> tuple[Ticket, str]:
    """Announce the ticket; returns it and the ts of its Slack message."""
    notice = AgentNotice(ticket.number, "announce", item_id=ticket.number * 10)
    await desk.ticket_opened(ticket, await store.transcript(ticket.conversation_key), notice=notice)
    ts = await desk.message_ts(ticket.number)
    assert ts is not None
    return await store.get_ticket(ticket.number), ts


def button_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [element["action_id"] for block in blocks if block["type"] == "actions" for element in block["elements"]]


def interactivity(
    action_id: str,
    number: int,
    user_id: str = "U0ALICE",
    username: str = "alice",
    action_ts: str = "1700000000.000100",
) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": username, "name": username, "team_id": "T0FAKE"},
        "api_app_id": "A0OMNI",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": CHANNEL_ID, "is_ephemeral": False},
        "trigger_id": "123.456.abc",
        "team": {"id": "T0FAKE", "domain": "fake-workspace"},
        "channel": {"id": CHANNEL_ID, "name": "agents"},
        "response_url": "https://hooks.slack.invalid/actions/T0FAKE/1/abc",
        "actions": [
            {
                "action_id": action_id,
                "block_id": f"omnidesk_ticket_{number}",
                "text": {"type": "plain_text", "text": "Claim"},
                "value": str(number),
                "type": "button",
                "action_ts": action_ts,
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def message_event(event_id: str, thread_ts: str | None, text: str = "Hello, I'm on it", **extra: Any) -> str:
    event: dict[str, Any] = {
        "type": "message",
        "channel": CHANNEL_ID,
        "user": "U0ALICE",
        "text": text,
        "ts": "1700000100.000200",
        "event_ts": "1700000100.000200",
        "channel_type": "channel",
        **extra,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    envelope = {
        "token": "legacy-verification-token",
        "team_id": "T0FAKE",
        "api_app_id": "A0OMNI",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1700000100,
    }
    return json.dumps(envelope)


async def post_signed(
    http: httpx.AsyncClient, path: str, body: str, content_type: str, **headers: str
) -> httpx.Response:
    signed = {"Content-Type": content_type, **slack_signature_headers(SECRET, body), **headers}
    return await http.post(path, content=body, headers=signed)


async def send_event(http: httpx.AsyncClient, body: str, **headers: str) -> httpx.Response:
    return await post_signed(http, "/slack/events", body, "application/json", **headers)


FORM = "application/x-www-form-urlencoded"


async def click(
    http: httpx.AsyncClient, action_id: str, number: int, clicked_at: str = "1700000000.000100", **who: str
) -> httpx.Response:
    body = interactivity(action_id, number, action_ts=clicked_at, **who)
    return await post_signed(http, "/slack/interactivity", body, "application/x-www-form-urlencoded")


# -- announcing tickets ---------------------------------------------------------------------------------------------


async def test_new_ticket_is_one_root_message_with_fields_and_buttons_and_a_threaded_transcript(
    desk: SlackAgentDesk, store: Store, api: FakeSlackApi
) -> None:
    _, ts = await announce(desk, store, await open_ticket(store))

    roots = [p for p in api.calls_to("chat.postMessage") if "thread_ts" not in p]
    assert len(roots) == 1
    root = roots[0]
    assert root["channel"] == "#agents"
    assert "#1001" in root["text"] and "URGENT" in root["text"]
    rendered = json.dumps(root["blocks"])
    for shown in ("ExampleX ticket #1001", ":rotating_light: *URGENT*", "telegram", "English (en)", "security"):
        assert shown in rendered
    assert "security_incident" in rendered and "Funds stolen" in rendered and "Open, unclaimed" in rendered
    assert button_ids(root["blocks"]) == [CLAIM_ACTION, RESOLVE_ACTION]
    values = [e["value"] for b in root["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert values == ["1001", "1001"]

    root_ts = next(ts for (channel, ts), m in api.messages.items() if "thread_ts" not in m)
    assert ts == root_ts
    thread = [p for p in api.calls_to("chat.postMessage") if p.get("thread_ts") == root_ts]
    assert len(thread) == 1 and thread[0]["channel"] == CHANNEL_ID
    assert "my account was hacked" in thread[0]["text"] and "Please change your password now." in thread[0]["text"]
    # The user's text cannot ping the channel: Slack's markup characters are escaped.
    assert "&lt;!channel&gt;" in thread[0]["text"] and "<!channel>" not in thread[0]["text"]


async def test_a_long_transcript_is_split_into_several_thread_messages(
    desk: SlackAgentDesk, store: Store, api: FakeSlackApi
) -> None:
    for i in range(40):
        await store.record_message("telegram", "chat-9", "in", f"line {i:02d} " + "x" * 300, channel_user_id="u9")
    _, ts = await announce(desk, store, await open_ticket(store, Priority.NORMAL))

    thread = [p["text"] for p in api.calls_to("chat.postMessage") if p.get("thread_ts") == ts]
    assert len(thread) > 1 and all(len(text) <= 3500 for text in thread)
    joined = "\n".join(thread)
    assert all(f"line {i:02d} " in joined for i in range(40))


async def test_a_follow_up_goes_into_the_tickets_thread(desk: SlackAgentDesk, store: Store, api: FakeSlackApi) -> None:
    ticket, ts = await announce(desk, store, await open_ticket(store))

    await desk.user_message(ticket, "any news? <@U0BOB>", notice=AgentNotice(ticket.number, "relay", "any news?", 5))

    last = api.calls_to("chat.postMessage")[-1]
    assert last["thread_ts"] == ts and last["channel"] == CHANNEL_ID
    assert "any news? &lt;@U0BOB&gt;" in last["text"]


async def test_a_notice_slack_may_have_already_is_looked_up_by_its_metadata_not_posted_again(
    desk: SlackAgentDesk, store: Store, api: FakeSlackApi
) -> None:
    """The outbox delivers at least once: a relay Slack accepted just before a crash is delivered again, marked as
    maybe delivered. Found in the thread by its outbox id, it is not posted twice; a first delivery never looks."""
    ticket, ts = await announce(desk, store, await open_ticket(store))
    first = AgentNotice(ticket.number, "relay", "any news?", item_id=41)
    await desk.user_message(ticket, "any news?", notice=first)
    assert api.calls_to("conversations.replies") == []  # the normal path: no lookup
    posted = api.calls_to("chat.postMessage")[-1]
    assert posted["metadata"] == {"event_type": "omnidesk_notice", "event_payload": {"outbox_id": "41", "part": 0}}
    posts_before = len(api.calls_to("chat.postMessage"))

    again = dataclasses.replace(first, maybe_delivered=True, queued_at=datetime.now(UTC))
    await desk.user_message(ticket, "any news?", notice=again)
    assert len(api.calls_to("chat.postMessage")) == posts_before
    [lookup] = api.calls_to("conversations.replies")
    assert lookup["ts"] == ts and lookup["channel"] == CHANNEL_ID

    another = AgentNotice(ticket.number, "relay", "and now?", item_id=42, maybe_delivered=True)
    await desk.user_message(ticket, "and now?", notice=another)  # looked for, not found: posted
    assert len(api.calls_to("chat.postMessage")) == posts_before + 1


async def test_an_announcement_slack_has_but_the_store_lost_is_found_in_the_channels_history(
    api: FakeSlackApi, tmp_path: Path
) -> None:
    """A crash between Slack accepting a ticket's announcement and the store recording its ts: the next process
    finds the post by its metadata (conversations.history), records it, and does not announce the ticket twice."""
    config = SlackConfig(bot_token=TOKEN, signing_secret=SECRET, channel=CHANNEL_ID, api_base_url=api.base_url)
    notice = AgentNotice(1001, "announce", item_id=7)
    async with await Store.open(tmp_path / "before.db") as before:
        ticket = await open_ticket(before)
        first = SlackAgentDesk(config, before, RecordingActions(before))
        await first.ticket_opened(ticket, await before.transcript(ticket.conversation_key), notice=notice)
    posts = api.calls_to("chat.postMessage")
    async with await Store.open(tmp_path / "after.db") as after:  # the ts never reached this store
        ticket = await open_ticket(after)
        second = SlackAgentDesk(config, after, RecordingActions(after))
        again = dataclasses.replace(notice, maybe_delivered=True)
        await second.ticket_opened(ticket, await after.transcript(ticket.conversation_key), notice=again)
        assert api.calls_to("chat.postMessage") == posts  # neither the ticket nor its transcript again
        ts = await second.message_ts(ticket.number)
        assert ts is not None and api.messages[(CHANNEL_ID, ts)]["metadata"]["event_payload"]["outbox_id"] == "7"
    assert len(api.calls_to("conversations.history")) == 1


async def test_remind_unclaimed_pings_here(desk: SlackAgentDesk, store: Store, api: FakeSlackApi) -> None:
    ticket, ts = await announce(desk, store, await open_ticket(store))

    await desk.remind_unclaimed(ticket, notice=AgentNotice(ticket.number, "remind", item_id=6))

    last = api.calls_to("chat.postMessage")[-1]
    assert last["text"].startswith("<!here> Ticket #1001 is still unclaimed")
    assert last["thread_ts"] == ts and last["reply_broadcast"] is True


# -- buttons --------------------------------------------------------------------------------------------------------


async def test_claim_button_claims_and_redraws_the_message_without_claim(
    desk: SlackAgentDesk, store: Store, api: FakeSlackApi, actions: RecordingActions, http: httpx.AsyncClient
) -> None:
    ticket, ts = await announce(desk, store, await open_ticket(store))

    response = await click(http, CLAIM_ACTION, ticket.number)
    await desk.drain()

    assert response.status_code == 200
    assert actions.calls == [("claim", 1001, "alice")]
    assert (await store.get_ticket(1001)).assignee == "alice"
    (update,) = api.calls_to("chat.update")
    assert update["channel"] == CHANNEL_ID and update["ts"] == ts
    assert button_ids(update["blocks"]) == [RESOLVE_ACTION]
    assert "alice" in json.dumps(update["blocks"]) and "Claimed" in json.dumps(update["blocks"])


async def test_resolve_removes_the_buttons_and_a_second_resolve_is_refused_to_the_agent_only(
    desk: SlackAgentDesk, store: Store, api: FakeSlackApi, actions: RecordingActions, http: httpx.AsyncClient
) -> None:
    ticket, _ = await announce(desk, store, await open_ticket(store))

    first = await click(http, RESOLVE_ACTION, ticket.number)
    await desk.drain()
    second = await click(http, RESOLVE_ACTION, ticket.number, clicked_at="1700000005.000100")  # a second click
    await desk.drain()

    assert first.status_code == second.status_code == 200
    assert [call[0] for call in actions.calls] == ["resolve", "resolve"]
    assert (await store.get_ticket(1001)).status is TicketStatus.RESOLVED
    (update,) = api.calls_to("chat.update")
    assert button_ids(update["blocks"]) == []
    (note,) = api.calls_to("chat.postEphemeral")
    assert note["user"] == "U0ALICE" and note["channel"] == CHANNEL_ID
    assert "Could not resolve ticket #1001" in note["text"] and "resolved" in note["text"]


async def test_a_replayed_or_stale_claim_never_reassigns_and_each_click_is_recorded_once(
    desk: SlackAgentDesk, store: Store, api: FakeSlackApi, actions: RecordingActions, http: httpx.AsyncClient
) -> None:
    ticket, _ = await announce(desk, store, await open_ticket(store))
    captured = interactivity(CLAIM_ACTION, ticket.number)  # alice's click, as someone on the path saw it

    assert (await post_signed(http, "/slack/interactivity", captured, FORM)).status_code == 200
    await desk.drain()
    # Replayed within the 5-minute window (freshly timestamped and signed, as an attacker with the body could not,
    # but as Slack's own retry does): the same click, acted on once.
    for _ in range(3):
        assert (await post_signed(http, "/slack/interactivity", captured, FORM)).status_code == 200
    await desk.drain()
    assert actions.calls == [("claim", 1001, "alice")]
    # Bob's Claim button, clicked on a message not yet redrawn: refused to him, the ticket stays alice's.
    await click(http, CLAIM_ACTION, ticket.number, clicked_at="1700000009.000100", user_id="U0BOB", username="bob")
    await desk.drain()
    assert actions.calls == [("claim", 1001, "alice")]
    assert (await store.get_ticket(1001)).assignee == "alice"
    (note,) = api.calls_to("chat.postEphemeral")
    assert note["user"] == "U0BOB" and "already claimed by alice" in note["text"]
    claims = [e for e in await store.ticket_events(1001) if e.kind == "claimed"]
    assert [(e.kind, e.actor) for e in claims] == [("claimed", "alice")]


async def test_a_replayed_resolve_is_acted_on_once_and_recorded_once(
    desk: SlackAgentDesk, store: Store, api: FakeSlackApi, actions: RecordingActions, http: httpx.AsyncClient
) -> None:
    ticket, _ = await announce(desk, store, await open_ticket(store))
    captured = interactivity(RESOLVE_ACTION, ticket.number)
    for _ in range(4):  # the click, then the same click replayed (or retried by Slack) within the window
        assert (await post_signed(http, "/slack/interactivity", captured, FORM)).status_code == 200
        await desk.drain()
    assert actions.calls == [("resolve", 1001, "alice")]
    assert [e.actor for e in await store.ticket_events(1001) if e.kind == "resolved"] == ["alice"]
    assert api.calls_to("chat.postEphemeral") == []  # a replay is dropped, not refused to the agent again
    assert len(api.calls_to("chat.update")) == 1


# -- agents' thread replies -----------------------------------------------------------------------------------------


async def test_a_thread_reply_is_relayed_once_even_when_slack_retries_it(
    desk: SlackAgentDesk, store: Store, api: FakeSlackApi, actions: RecordingActions, http: httpx.AsyncClient
) -> None:
    _, ts = await announce(desk, store, await open_ticket(store))
    body = message_event("Ev0001", ts, "Hi &lt;there&gt;, see <https://example.com/reset|the guide>")

    first = await send_event(http, body)
    await desk.drain()
    retry = await send_event(http, body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    await desk.drain()

    assert first.status_code == retry.status_code == 200
    assert actions.calls == [("reply", 1001, "alice", "Hi <there>, see the guide (https://example.com/reset)")]
    assert api.calls_to("users.info") == [{"user": "U0ALICE"}]


async def test_two_deliveries_at_once_are_still_relayed_once(
    desk: SlackAgentDesk, store: Store, actions: RecordingActions, http: httpx.AsyncClient
) -> None:
    _, ts = await announce(desk, store, await open_ticket(store))
    body = message_event("Ev0002", ts)

    await send_event(http, body)
    await send_event(http, body, **{"X-Slack-Retry-Num": "1"})
    await desk.drain()

    assert actions.calls == [("reply", 1001, "alice", "Hello, I'm on it")]


@pytest.mark.parametrize(
    "extra",
    [
        {"bot_id": "B0OTHER"},
        {"subtype": "bot_message", "bot_id": "B0OTHER"},
        {"subtype": "message_changed"},
        {"subtype": "channel_join"},
    ],
)
async def test_bot_and_non_human_messages_are_ignored(
    extra: dict[str, str],
    desk: SlackAgentDesk,
    store: Store,
    actions: RecordingActions,
    http: httpx.AsyncClient,
) -> None:
    _, ts = await announce(desk, store, await open_ticket(store))

    response = await send_event(http, message_event("Ev0003", ts, **extra))
    await desk.drain()

    assert response.status_code == 200
    assert actions.calls == []


async def test_messages_outside_ticket_threads_are_ignored(
    desk: SlackAgentDesk, store: Store, actions: RecordingActions, http: httpx.AsyncClient
) -> None:
    _, ts = await announce(desk, store, await open_ticket(store))
    assert ts is not None

    await send_event(http, message_event("Ev0004", None))  # top level in the channel
    await send_event(http, message_event("Ev0005", "1600000000.000001"))  # another thread
    await send_event(http, message_event("Ev0006", ts, ts=ts))  # the root itself
    await desk.drain()

    assert actions.calls == []


async def test_a_reply_on_a_resolved_ticket_is_refused_to_the_agent_in_the_thread(
    desk: SlackAgentDesk, store: Store, api: FakeSlackApi, actions: RecordingActions, http: httpx.AsyncClient
) -> None:
    ticket, ts = await announce(desk, store, await open_ticket(store))
    await store.resolve(ticket.number, "bob")

    response = await send_event(http, message_event("Ev0007", ts))
    await desk.drain()

    assert response.status_code == 200
    assert actions.calls == [("reply", 1001, "alice", "Hello, I'm on it")]
    (note,) = api.calls_to("chat.postEphemeral")
    assert note["thread_ts"] == ts and note["user"] == "U0ALICE"
    assert "resolved" in note["text"]


# -- request verification -------------------------------------------------------------------------------------------


def stale_headers(body: str) -> dict[str, str]:
    return slack_signature_headers(SECRET, body, timestamp=int(time.time()) - 6 * 60)


def wrong_secret_headers(body: str) -> dict[str, str]:
    return slack_signature_headers("not-the-secret", body)


def no_headers(body: str) -> dict[str, str]:
    return {}


def tampered_headers(body: str) -> dict[str, str]:
    return slack_signature_headers(SECRET, body + " ")  # signed, but not this body


@pytest.mark.parametrize("headers_for", [stale_headers, wrong_secret_headers, no_headers, tampered_headers])
@pytest.mark.parametrize("path", ["/slack/events", "/slack/interactivity"])
async def test_unverified_requests_get_401_and_do_nothing(
    headers_for: Any,
    path: str,
    desk: SlackAgentDesk,
    store: Store,
    api: FakeSlackApi,
    actions: RecordingActions,
    http: httpx.AsyncClient,
) -> None:
    ticket, ts = await announce(desk, store, await open_ticket(store))
    calls_before = len(api.calls)
    if path == "/slack/events":
        body, content_type = message_event("Ev0008", ts), "application/json"
    else:
        body, content_type = interactivity(CLAIM_ACTION, ticket.number), "application/x-www-form-urlencoded"

    response = await http.post(path, content=body, headers={"Content-Type": content_type, **headers_for(body)})
    await desk.drain()

    assert response.status_code == 401
    assert actions.calls == []
    assert len(api.calls) == calls_before
    assert (await store.get_ticket(ticket.number)).status is TicketStatus.OPEN


async def test_url_verification_challenge_is_answered(http: httpx.AsyncClient, api: FakeSlackApi) -> None:
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    body = json.dumps({"token": "legacy", "challenge": challenge, "type": "url_verification"})

    response = await send_event(http, body)

    assert response.status_code == 200
    assert response.json() == {"challenge": challenge}
    assert api.calls == []


def test_http_routes_need_a_signing_secret(store: Store, actions: RecordingActions) -> None:
    desk = SlackAgentDesk(SlackConfig(bot_token=TOKEN, channel="C1"), store, actions)
    with pytest.raises(ValueError, match="signing_secret"):
        desk.asgi_routes()


# -- conversions and the fake itself --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("a &amp; b &lt;c&gt;", "a & b <c>"),
        ("<https://example.com>", "https://example.com"),
        ("<https://example.com|example.com>", "https://example.com"),
        ("<mailto:help@example.com|help@example.com>", "help@example.com"),
        ("ask <@U0BOB> in <#C0AGENTS|agents>", "ask @U0BOB in #agents"),
        ("<!here> now", "@here now"),
    ],
)
def test_plain_text_drops_slack_markup(slack: str, plain: str) -> None:
    assert plain_text(slack) == plain


async def test_the_fake_checks_the_token_and_knows_only_some_methods(api: FakeSlackApi) -> None:
    intruder = AsyncWebClient(token="xoxb-wrong", base_url=api.base_url)
    with pytest.raises(SlackApiError) as refused:
        await intruder.chat_postMessage(channel=CHANNEL_ID, text="hi")
    assert refused.value.response["error"] == "invalid_auth"

    client = AsyncWebClient(token=TOKEN, base_url=api.base_url)
    with pytest.raises(SlackApiError) as unknown:
        await client.api_call("conversations.kick", params={"channel": CHANNEL_ID})
    assert unknown.value.response["error"] == "unknown_method"
    assert (await client.auth_test())["bot_id"] == "B0BOT"
    assert [call.method for call in api.calls] == ["chat.postMessage", "conversations.kick", "auth.test"]
