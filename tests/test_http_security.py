"""Every HTTP entry point of `omnidesk run`'s app: authentication, scoping, and bad input.

The app is the one `omnidesk run` serves (`bot.app.server.running` -> `build_web_app`), with Telegram and X in webhook
mode, the Slack agent desk over HTTP and the widget, served by uvicorn on a free loopback port (the same settings as
`bot.app.server.serve`), against the fake Telegram, X and Slack APIs. Then bounded hypothesis fuzzing of each webhook's
parser and conversion functions, the widget's token check, the secret scanner and the matcher.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes, urlencode

import httpx
import mnemonic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route, WebSocketRoute
from telegram import Update
from websockets.exceptions import ConnectionClosed

from adapters.slack_desk import escape, plain_text, thread_reply, ticket_message_ts
from adapters.telegram import SECRET_HEADER, BotIdentity, addressed_text, convert_update
from adapters.twitter import (
    SIGNATURE_HEADER,
    crc_response,
    message_from_dm_event,
    message_from_webhook_event,
    signature_valid,
)
from adapters.webchat import SessionTokens
from bot.app.config import Config
from bot.app.server import running
from bot.app.wiring import Core, Runtime
from bot.core.messages import InboundMessage
from bot.security.secret_scanner import SecretScanner
from tests.fakes.loopback import serving
from tests.fakes.slack_api import FakeSlackApi, slack_signature_headers
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.widget_socket import widget_socket
from tests.fakes.wiring import config_for_fakes
from tests.fakes.x_api import FakeXApi

TG_SECRET = "tg-webhook-Secret_123"
SLACK_SECRET = "slack-signing-secret-for-tests"
ME = BotIdentity(123456, "OmniDeskBot")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Every route the app serves, and the test(s) below that cover it: a new endpoint (an admin page, say) makes
# test_every_route_is_known fail until its authentication is tested here.
KNOWN_ROUTES = {
    "/": "static (public)",
    "/widget.js": "static (public)",
    "/widget.css": "static (public)",
    "/api/webchat/session": "widget tokens",
    "/api/webchat/history": "widget scoping",
    "/api/webchat/messages": "widget scoping, bad input",
    "/api/webchat/poll": "widget scoping",
    "/api/webchat/attachments": "widget scoping, bad input",
    "/ws/webchat": "widget websocket",
    "/telegram/webhook": "telegram secret, bad input",
    "/twitter/webhook": "x signature and crc, bad input",
    "/slack/events": "slack signature, replay, bad input",
    "/slack/interactivity": "slack signature, bad input",
    "/healthz": "public health check (no data; details behind server.admin_token: test_http_limits)",
    "/metrics": "metrics (counts only, no user data; behind server.admin_token when set: test_http_limits)",
    "/favicon.ico": "static (public)",
    "/api/webchat/tickets": "widget scoping (test_my_tickets: another session's tickets are unknown)",
    "/api/webchat/tickets/{number:int}": "widget scoping (test_my_tickets)",
    "/api/webchat/ticket-form": "widget tokens (test_my_tickets; the form's choices, no user data)",
    "/help/help.css": "static (public)",
    # The help center: public pages of the knowledge base; votes refuse other sites' forms (test_helpcenter).
    **{
        f"{prefix}/help{path}": "help center (public; escaping and bad input in test_helpcenter)"
        for prefix in ("", "/en", "/zh")
        for path in ("", "/", "/search", "/{entry_id}", "/{entry_id}/vote")
    },
    # The ticket form and ticket pages: the widget's session in an HttpOnly cookie, forms with an anti-forgery token
    # refused from other sites; another session's ticket is unknown (test_ticket_form).
    **{
        f"{prefix}/help{path}": "visitor cookie and form token (test_ticket_form)"
        for prefix in ("", "/en", "/zh")
        for path in ("/ticket", "/tickets", "/tickets/{number:int}", "/tickets/{number:int}/reply")
    },
}


# -- the running app -------------------------------------------------------------------------------------------


@dataclass
class App:
    url: str
    runtime: Runtime
    routes: list[str]
    telegram: FakeTelegramApi
    x: FakeXApi
    slack: FakeSlackApi
    http: httpx.AsyncClient
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws/webchat"

    async def inbound_count(self) -> int:
        """Messages the desk stored (processed), on any channel."""
        counts = await self.runtime.store.message_counts(EPOCH)
        return sum(n for (_, direction), n in counts.items() if direction == "in")


def app_config(config: Config, db: Path, telegram: FakeTelegramApi, x: FakeXApi, slack: FakeSlackApi) -> Config:
    return config_for_fakes(
        config,
        db,
        telegram,
        x,
        slack,
        slack_signing_secret=SLACK_SECRET,
        telegram_settings={"mode": "webhook", "webhook_secret": TG_SECRET},
        twitter_settings={"mode": "webhook"},
    )


@asynccontextmanager
async def serve(config: Config, tmp_path: Path) -> AsyncIterator[App]:
    async with (
        FakeTelegramApi(bot_id=ME.id, bot_username=ME.username) as telegram,
        FakeXApi() as x,
        FakeSlackApi() as slack,
    ):
        cfg = app_config(config, tmp_path / "omnidesk.db", telegram, x, slack)
        async with running(cfg) as (runtime, app, _):
            paths = [r.path for r in app.routes if isinstance(r, Route | WebSocketRoute)]
            # As bot.app.server.serve configures uvicorn (its port 0 here).
            async with (
                serving(app, ws_max_size=64 * 1024) as url,
                httpx.AsyncClient(base_url=url, trust_env=False, timeout=30) as http,
            ):
                yield App(url, runtime, paths, telegram, x, slack, http)


@pytest.fixture
async def app(config: Config, tmp_path: Path) -> AsyncIterator[App]:
    async with asyncio.timeout(100), serve(config, tmp_path) as running_app:
        yield running_app


# -- request builders ------------------------------------------------------------------------------------------


def tg_update(update_id: int, text: str | None = "where is my UID?", user: int = 501, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": user, "type": "private", "first_name": "Ann"},
        "from": {"id": user, "is_bot": False, "first_name": "Ann", "language_code": "en"},
        **extra,
    }
    if text is not None:
        message["text"] = text
    return {"update_id": update_id, "message": message}


def x_event_payload(event_id: str, text: str = "where is my UID?", sender: str = "2244994945") -> dict[str, Any]:
    return {
        "for_user_id": "1700000000000000001",
        "direct_message_events": [
            {
                "type": "message_create",
                "id": event_id,
                "created_timestamp": str(int(time.time() * 1000)),
                "message_create": {
                    "target": {"recipient_id": "1700000000000000001"},
                    "sender_id": sender,
                    "message_data": {"text": text},
                },
            }
        ],
    }


def x_signature(body: bytes, secret: str = "cs-test") -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def slack_event(event_id: str, text: str = "on it", thread_ts: str = "1.000001", **event: Any) -> dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": "T0FAKE",
        "api_app_id": "A0OMNI",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": {
            "type": "message",
            "channel": "C0AGENTS",
            "user": "U0ALICE",
            "text": text,
            "ts": f"{time.time():.6f}",
            "thread_ts": thread_ts,
            **event,
        },
    }


def slack_headers(
    body: bytes | str, content_type: str = "application/json", timestamp: int | None = None
) -> dict[str, str]:
    return {"Content-Type": content_type, **slack_signature_headers(SLACK_SECRET, body, timestamp)}


async def widget_session(app: App) -> tuple[str, str]:
    response = await app.http.post("/api/webchat/session", json={})
    assert response.status_code == 200
    return response.json()["session"], response.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- routes ----------------------------------------------------------------------------------------------------


async def test_every_route_is_known_and_admin_paths_do_not_exist(app: App) -> None:
    assert set(app.routes) == set(KNOWN_ROUTES), "a new HTTP entry point needs its authentication tested here"
    for path in ("/admin", "/tickets", "/api/tickets", "/api/admin", "/cli", "/debug", "/api/webchat/sessions"):
        for method in ("GET", "POST"):
            assert (await app.http.request(method, path)).status_code in (404, 405), (method, path)
    # The public health and metrics endpoints carry no conversation data.
    await app.http.post(
        "/api/webchat/messages",
        json={"id": "m1", "text": "my password is Hunter2-xyz"},
        headers=bearer((await widget_session(app))[1]),
    )
    metrics = (await app.http.get("/metrics")).text
    assert "Hunter2" not in metrics and "U0ALICE" not in metrics
    assert (await app.http.get("/healthz")).json() == {"status": "ok", "store": "ok"}


# -- Telegram --------------------------------------------------------------------------------------------------


async def test_telegram_webhook_refuses_a_wrong_or_missing_secret_and_processes_nothing(app: App) -> None:
    body = tg_update(9001)
    refused = {
        "missing": {},
        "empty": {SECRET_HEADER: ""},
        "wrong": {SECRET_HEADER: TG_SECRET + "x"},
        "prefix": {SECRET_HEADER: TG_SECRET[:-1]},
        "case": {SECRET_HEADER: TG_SECRET.upper()},
        "non-ascii": {SECRET_HEADER: "sécret".encode()},  # type: ignore[dict-item]
    }
    for name, headers in refused.items():
        response = await app.http.post("/telegram/webhook", json=body, headers=headers)
        assert response.status_code == 403, name
    as_query = await app.http.post(f"/telegram/webhook?secret_token={TG_SECRET}", json=body)
    assert as_query.status_code == 403
    assert await app.inbound_count() == 0 and app.telegram.sent == []
    accepted = await app.http.post("/telegram/webhook", json=body, headers={SECRET_HEADER: TG_SECRET})
    assert accepted.status_code == 200 and await app.inbound_count() == 1 and len(app.telegram.sent) == 1
    # Telegram resending the same update (no 200 seen) is answered 200 and not processed again.
    again = await app.http.post("/telegram/webhook", json=body, headers={SECRET_HEADER: TG_SECRET})
    assert again.status_code == 200 and await app.inbound_count() == 1 and len(app.telegram.sent) == 1


# -- X ---------------------------------------------------------------------------------------------------------


async def test_x_crc_challenge_is_answered_with_the_consumer_secret(app: App) -> None:
    token = "challenge-token-123"
    response = await app.http.get("/twitter/webhook", params={"crc_token": token})
    assert response.status_code == 200
    assert response.json() == {"response_token": crc_response(app.x.consumer_secret, token)}
    expected = "sha256=" + base64.b64encode(hmac.new(b"cs-test", token.encode(), hashlib.sha256).digest()).decode()
    assert response.json()["response_token"] == expected
    assert (await app.http.get("/twitter/webhook")).status_code == 400
    assert (await app.http.get("/twitter/webhook", params={"crc_token": ""})).status_code == 400


async def test_x_webhook_refuses_bad_or_missing_signatures_and_processes_a_replay_once(app: App) -> None:
    app.x.users.setdefault("2244994945", "someone")  # X lets the bot DM this user back
    body = json.dumps(x_event_payload("1790000000000000777")).encode()
    other = json.dumps(x_event_payload("1790000000000000778")).encode()
    refused = {
        "missing": {},
        "empty": {SIGNATURE_HEADER: ""},
        "wrong secret": {SIGNATURE_HEADER: x_signature(body, "not-the-secret")},
        "another body's": {SIGNATURE_HEADER: x_signature(other)},
        "no prefix": {SIGNATURE_HEADER: x_signature(body).removeprefix("sha256=")},
        "sha1": {
            SIGNATURE_HEADER: "sha1=" + base64.b64encode(hmac.new(b"cs-test", body, hashlib.sha1).digest()).decode()
        },
        "garbage": {SIGNATURE_HEADER: "sha256=!!!"},
    }
    for name, headers in refused.items():
        response = await app.http.post("/twitter/webhook", content=body, headers=headers)
        assert response.status_code == 403, name
    assert await app.inbound_count() == 0 and app.x.sent == []
    signed = {SIGNATURE_HEADER: x_signature(body)}
    assert (await app.http.post("/twitter/webhook", content=body, headers=signed)).status_code == 200
    # A replay of a genuinely signed delivery (X signs no timestamp): the event id makes it a duplicate.
    assert (await app.http.post("/twitter/webhook", content=body, headers=signed)).status_code == 200
    assert await app.inbound_count() == 1 and len(app.x.sent) == 1


# -- Slack -----------------------------------------------------------------------------------------------------


async def _ticket_in_slack(app: App, user: str = "901") -> str:
    """Open an urgent ticket from Telegram and return its Slack thread ts."""
    update = tg_update(int(user) * 10, "my account was hacked, someone withdrew all my USDT", user=int(user))
    assert (
        await app.http.post("/telegram/webhook", json=update, headers={SECRET_HEADER: TG_SECRET})
    ).status_code == 200
    ticket = await app.runtime.store.open_ticket_for("telegram", user)
    assert ticket is not None
    await app.runtime.outbox.drain()  # agents are told in the background
    ts = await ticket_message_ts(app.runtime.store, ticket.number)
    assert ts is not None
    return ts


async def _relayed(app: App, chat: int = 901) -> list[str]:
    return [t for t in app.telegram.texts(chat) if "(ExampleX support)" in t]


@pytest.mark.parametrize("path", ["/slack/events", "/slack/interactivity"])
async def test_slack_refuses_bad_missing_and_stale_signatures(app: App, path: str) -> None:
    thread = await _ticket_in_slack(app)
    ticket = await app.runtime.store.open_ticket_for("telegram", "901")
    assert ticket is not None
    if path == "/slack/events":
        body, content_type = json.dumps(slack_event("EvBAD1", "refund is on its way", thread)), "application/json"
    else:
        payload = {
            "type": "block_actions",
            "user": {"id": "U0ALICE", "username": "alice", "team_id": "T0FAKE"},
            "team": {"id": "T0FAKE"},
            "channel": {"id": "C0AGENTS"},
            "actions": [{"action_id": "omnidesk_claim", "value": str(ticket.number), "type": "button"}],
        }
        body, content_type = urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    now = int(time.time())
    good = slack_headers(body, content_type)
    cases = {
        "missing headers": {"Content-Type": content_type},
        "missing signature": {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(now)},
        "missing timestamp": {"Content-Type": content_type, "X-Slack-Signature": good["X-Slack-Signature"]},
        "wrong secret": {"Content-Type": content_type, **slack_signature_headers("not-the-secret", body)},
        "tampered body": {**good},  # sent with another body below
        "stale (10 min old), correctly signed": slack_headers(body, content_type, now - 600),
        "future (10 min ahead), correctly signed": slack_headers(body, content_type, now + 600),
        "non-numeric timestamp": {**good, "X-Slack-Request-Timestamp": "yesterday"},
    }
    for name, headers in cases.items():
        sent = body + (" " if name == "tampered body" else "")
        response = await app.http.post(path, content=sent, headers=headers)
        assert response.status_code == 401, (name, response.status_code, response.text)
    await asyncio.sleep(0.2)  # anything accepted would be working in the desk's background task by now
    claimed = await app.runtime.store.get_ticket(ticket.number)
    assert claimed.assignee is None and await _relayed(app) == []


async def test_a_captured_slack_request_replayed_later_is_refused_and_a_retry_is_relayed_once(app: App) -> None:
    thread = await _ticket_in_slack(app)
    body = json.dumps(slack_event("EvREPLAY1", "We are looking into it", thread))
    captured = slack_headers(body, timestamp=int(time.time()) - 400)  # signed 6 min 40 s ago
    assert (await app.http.post("/slack/events", content=body, headers=captured)).status_code == 401
    fresh = slack_headers(body)
    assert (await app.http.post("/slack/events", content=body, headers=fresh)).status_code == 200
    # Slack's own retry (or a replay inside the 5-minute window) carries the same event id: relayed once.
    retry = {**fresh, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert (await app.http.post("/slack/events", content=body, headers=retry)).status_code == 200
    deadline = time.monotonic() + 5
    while not await _relayed(app) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    assert len(await _relayed(app)) == 1


async def test_two_quick_agent_replies_in_a_thread_both_reach_the_user(app: App) -> None:
    """Slack delivers events concurrently; an agent's second quick reply must not be refused."""
    thread = await _ticket_in_slack(app)
    first = json.dumps(slack_event("EvQUICK1", "Hello, I'm on it.", thread))
    second = json.dumps(slack_event("EvQUICK2", "Checking your withdrawal now.", thread))
    responses = await asyncio.gather(
        app.http.post("/slack/events", content=first, headers=slack_headers(first)),
        app.http.post("/slack/events", content=second, headers=slack_headers(second)),
    )
    assert [r.status_code for r in responses] == [200, 200]
    deadline = time.monotonic() + 5
    while len(await _relayed(app)) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    refusals = [c["text"] for c in app.slack.calls_to("chat.postEphemeral")]
    assert len(await _relayed(app)) == 2, f"delivered: {await _relayed(app)}; told to the agent: {refusals}"


# -- the widget ------------------------------------------------------------------------------------------------


async def test_a_widget_token_reads_and_writes_only_its_own_session(app: App) -> None:
    session_a, token_a = await widget_session(app)
    session_b, token_b = await widget_session(app)
    assert session_a != session_b
    said = await app.http.post(
        "/api/webchat/messages", json={"id": "a1", "text": "where is my UID?"}, headers=bearer(token_a)
    )
    assert said.status_code == 200
    # Naming session B anywhere in A's requests changes nothing: the token alone names the session.
    tries = [
        app.http.get(f"/api/webchat/history?session={session_b}", headers=bearer(token_a)),
        app.http.get(f"/api/webchat/poll?after=0&session={session_b}", headers=bearer(token_a)),
        app.http.post(
            "/api/webchat/messages",
            json={"id": "a2", "text": "hello from A", "session": session_b, "conversation_id": session_b},
            headers=bearer(token_a),
        ),
        app.http.post("/api/webchat/session", json={"token": token_b}, headers=bearer(token_a)),
    ]
    history, poll, write, resumed = await asyncio.gather(*tries)
    assert history.json()["session"] == session_a and poll.json()["session"] == session_a
    assert write.status_code == 200 and resumed.json()["session"] == session_a
    b_history = await app.http.get("/api/webchat/history", headers=bearer(token_b))
    assert b_history.status_code == 200 and b_history.json()["messages"] == []
    a_texts = [m["text"] for m in history.json()["messages"]]
    assert "where is my UID?" in a_texts


def _forgeries(session_a: str, token_a: str, session_b: str, token_b: str) -> dict[str, str]:
    sig_a, sig_b = token_a.rpartition(".")[2], token_b.rpartition(".")[2]
    issued_a = token_a.split(".")[1]
    other_secret = SessionTokens(b"another-server-secret-32-bytes!!")
    return {
        "B's id with A's signature": f"{session_b}.{issued_a}.{sig_a}",
        "A's id with a flipped signature char": f"{session_a}.{issued_a}.{('A' if sig_a[0] != 'A' else 'B')}{sig_a[1:]}",
        "A's id, no signature": f"{session_a}.{issued_a}.",
        "A's id alone": session_a,
        "A's token, issued later": f"{session_a}.{int(issued_a) + 86400}.{sig_a}",
        "A's token without its issue time": f"{session_a}.{sig_a}",
        "signature alone": f".{sig_b}",
        "signed by another secret": other_secret.issue(session_b)[1],
        "A's token with a suffix": token_a + "x",
        "two signatures": f"{token_a}.{sig_a}",
        "non-ascii": f"{session_a}.{issued_a}.é{sig_a}",
        "empty": "",
        "very long": "a" * 20_000 + "." + issued_a + "." + sig_a,
    }


async def test_forged_widget_tokens_get_401_everywhere(app: App) -> None:
    session_a, token_a = await widget_session(app)
    session_b, token_b = await widget_session(app)
    await app.http.post("/api/webchat/messages", json={"id": "b1", "text": "where is my UID?"}, headers=bearer(token_b))
    before = await app.inbound_count()
    for name, forged in _forgeries(session_a, token_a, session_b, token_b).items():
        for method, path, body in (
            ("GET", "/api/webchat/history", None),
            ("GET", "/api/webchat/poll?after=0", None),
            ("POST", "/api/webchat/messages", {"id": "f1", "text": "I am B now"}),
            ("POST", "/api/webchat/attachments", None),
        ):
            headers = {"Authorization": f"Bearer {forged}".strip().encode()}
            response = await app.http.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (name, path, response.status_code)
    assert (await app.http.get("/api/webchat/history")).status_code == 401  # no token at all
    assert (
        await app.http.get("/api/webchat/history", headers={"Authorization": f"Basic {token_a}"})
    ).status_code == 401
    assert await app.inbound_count() == before
    # A forged token at the session endpoint gets a new session, never B's.
    resumed = await app.http.post("/api/webchat/session", json={"token": f"{session_b}.{token_a.rpartition('.')[2]}"})
    assert resumed.json()["resumed"] is False and resumed.json()["session"] not in (session_a, session_b)


async def test_the_widget_socket_refuses_forged_tokens_and_pushes_only_to_its_session(app: App) -> None:
    session_a, token_a = await widget_session(app)
    session_b, token_b = await widget_session(app)
    for name, forged in _forgeries(session_a, token_a, session_b, token_b).items():
        if not forged.isascii() or len(forged) > 4000:
            continue
        async with widget_socket(app.ws_url, forged) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401, name
    async with (
        widget_socket(app.ws_url, token_a) as ws_a,
        widget_socket(app.ws_url, token_b) as ws_b,
    ):
        assert json.loads(await ws_a.recv())["session"] == session_a
        assert json.loads(await ws_b.recv())["session"] == session_b
        await ws_b.send(json.dumps({"type": "message", "id": "b1", "text": "how do I reset my 2FA?"}))
        seen_b = [json.loads(await asyncio.wait_for(ws_b.recv(), 5)) for _ in range(3)]
        assert {f["type"] for f in seen_b} >= {"ack", "reply"}
        await ws_a.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws_a.recv(), 5)) == {"type": "pong"}  # nothing of B's came first


# -- bad input -------------------------------------------------------------------------------------------------

DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
MEGABYTE = 1024 * 1024


def _bad_json_bodies(valid: Callable[[int], dict[str, Any]], text_path: tuple[str, ...]) -> dict[str, bytes]:
    """Bodies for one endpoint: junk, and its valid shape (new message ids each) with a hostile text in it."""
    numbers = itertools.count(1)

    def with_text(text: str) -> bytes:
        body = valid(next(numbers))
        node = body
        for key in text_path[:-1]:
            node = node[key] if not isinstance(node, list) else node[int(key)]
        node[text_path[-1]] = text
        return json.dumps(body).encode()

    return {
        "malformed JSON": b'{"a": [1, 2',
        "empty body": b"",
        "whitespace": b"   \n",
        "JSON null": b"null",
        "JSON array": b"[1, 2, 3]",
        "JSON string": b'"hello"',
        "JSON number": b"123",
        "huge number": b'{"update_id": 1' + b"0" * 5000 + b"}",
        "raw NUL bytes": b'{"a": "\x00\x00"}\x00',
        "invalid UTF-8": b'{"a": "\xff\xfe\xc3\x28"}',
        "UTF-16 BOM": "\ufeff{}".encode("utf-16"),
        "deeply nested array": DEEP_ARRAY,
        "deeply nested object": DEEP_OBJECT,
        "1 MB of junk": b"x" * MEGABYTE,
        "1 MB message": with_text("a" * MEGABYTE),
        "NUL in text": with_text("where\u0000is my UID\u0000"),
        "emoji-only text": with_text("😀🔥🚀💸"),
        "empty text": with_text(""),
        "lone surrogate escape": with_text("SURROGATE").replace(b'"SURROGATE"', b'"\\ud800"'),
        "control characters": with_text("\u0007\u001b[31mred\u202e"),
    }


def _unknown_shapes() -> dict[str, dict[str, bytes]]:
    return {
        "/telegram/webhook": {
            "unknown update type": json.dumps({"update_id": 71, "some_future_update": {"x": 1}}).encode(),
            "channel post": json.dumps(
                {
                    "update_id": 72,
                    "channel_post": {"message_id": 1, "date": 1, "chat": {"id": -5, "type": "channel"}, "text": "hi"},
                }
            ).encode(),
            "update_id as string": json.dumps({"update_id": "73", "message": {}}).encode(),
            "message of wrong type": json.dumps({"update_id": 74, "message": "hello"}).encode(),
            "message missing fields": json.dumps({"update_id": 75, "message": {"text": "hi"}}).encode(),
        },
        "/twitter/webhook": {
            "unknown event kind": json.dumps(
                {"for_user_id": "1700000000000000001", "tweet_create_events": [{"id": 1}]}
            ).encode(),
            "events not a list": json.dumps({"direct_message_events": "nope"}).encode(),
            "event of wrong type": json.dumps({"direct_message_events": [1, "x", None]}).encode(),
            "message_create missing": json.dumps(
                {"direct_message_events": [{"type": "message_create", "id": "9"}]}
            ).encode(),
        },
        "/slack/events": {
            "unknown event type": json.dumps({**slack_event("EvU1"), "event": {"type": "emoji_changed"}}).encode(),
            "unknown envelope type": json.dumps({"type": "app_rate_limited", "team_id": "T0FAKE"}).encode(),
            "url verification": json.dumps({"type": "url_verification", "challenge": "abc123", "token": "x"}).encode(),
            "event not an object": json.dumps({"type": "event_callback", "event": [1, 2], "event_id": "EvU2"}).encode(),
        },
    }


@dataclass
class Endpoint:
    path: str
    valid: Callable[[int], dict[str, Any]]  # a valid body whose message ids are made from the number given
    text_path: tuple[str, ...]
    headers: Any  # (body bytes) -> headers
    content_type: str = "application/json"
    ok_with_200: frozenset[str] = frozenset()  # inputs the platform wants acknowledged (a logged skip)


def endpoints(token: str) -> list[Endpoint]:
    return [
        Endpoint(
            "/telegram/webhook",
            lambda n: tg_update(5000 + n, "where is my UID?", user=777),
            ("message", "text"),
            lambda body: {SECRET_HEADER: TG_SECRET},
        ),
        Endpoint(
            "/twitter/webhook",
            lambda n: x_event_payload(str(1790000000000005000 + n), "where is my UID?", "3333"),
            ("direct_message_events", "0", "message_create", "message_data", "text"),
            lambda body: {SIGNATURE_HEADER: x_signature(body)},
        ),
        Endpoint(
            "/slack/events",
            lambda n: slack_event(f"EvBAD{n}", "where is my UID?", "9.000009"),
            ("event", "text"),
            lambda body: slack_signature_headers(SLACK_SECRET, body),
        ),
        Endpoint(
            "/slack/interactivity",
            lambda n: {
                "type": "block_actions",
                "user": {"id": "U0ALICE"},
                "actions": [{"action_id": "omnidesk_claim", "value": "where"}],
            },
            ("actions", "0", "value"),
            lambda body: slack_signature_headers(SLACK_SECRET, body),
        ),
        Endpoint(
            "/api/webchat/messages",
            lambda n: {"id": f"bad{n}", "text": "where?"},
            ("text",),
            lambda body: bearer(token),
        ),
        Endpoint("/api/webchat/session", lambda n: {"token": "where"}, ("token",), lambda body: {}),
        Endpoint("/api/webchat/attachments", lambda n: {"x": "where"}, ("x",), lambda body: bearer(token)),
    ]


async def test_bad_input_on_every_endpoint_gets_a_clear_4xx_or_a_skip_never_a_5xx(app: App) -> None:
    _, token = await widget_session(app)
    results: dict[tuple[str, str], int] = {}
    unknown = _unknown_shapes()
    for endpoint in endpoints(token):
        bodies = _bad_json_bodies(endpoint.valid, endpoint.text_path)
        bodies |= unknown.get(endpoint.path, {})
        for name, body in bodies.items():
            sent = body
            headers = {"Content-Type": endpoint.content_type, **endpoint.headers(sent)}
            if endpoint.path in ("/api/webchat/messages", "/api/webchat/attachments"):
                # A fresh session per input: the widget's per-session rate limit (429) must not be what answers.
                _, token = await widget_session(app)
                headers = {"Content-Type": endpoint.content_type, **bearer(token)}
            if endpoint.path == "/slack/interactivity":
                sent = b"payload=" + quote_from_bytes(body).encode() if body else b""
                headers = {"Content-Type": "application/x-www-form-urlencoded", **endpoint.headers(sent)}
            try:
                response = await app.http.post(endpoint.path, content=sent, headers=headers)
            except httpx.HTTPError as exc:  # the server dropped the connection: as bad as a 5xx
                results[(endpoint.path, name)] = 599
                print(f"{endpoint.path} {name}: {exc!r}")
                continue
            results[(endpoint.path, name)] = response.status_code
    server_errors = {key: status for key, status in results.items() if status >= 500}
    print(
        f"\nBAD INPUT: {len(results)} bad inputs tried on {len({p for p, _ in results})} endpoints; "
        f"5xx: {len(server_errors)}; statuses: {dict(Counter(results.values()))}"
    )
    assert server_errors == {}, "\n".join(f"{p} <- {n}: {s}" for (p, n), s in sorted(server_errors.items()))
    # Junk must be refused, not silently accepted (the platforms' own unknown events excepted).
    junk = (
        "malformed JSON",
        "JSON array",
        "invalid UTF-8",
        "deeply nested array",
        "deeply nested object",
        "1 MB of junk",
    )
    accepted_junk = {
        key: status
        for key, status in results.items()
        if key[1] in junk and status < 400 and key[0] != "/api/webchat/session"
    }
    assert accepted_junk == {}, accepted_junk
    # Still serving, and still answering a normal message.
    assert (await app.http.get("/healthz")).status_code == 200
    fine = await app.http.post(
        "/telegram/webhook", json=tg_update(88_888, user=4242), headers={SECRET_HEADER: TG_SECRET}
    )
    assert fine.status_code == 200 and app.telegram.texts(4242)


async def test_bad_widget_socket_frames_get_error_frames_and_the_socket_lives_on(app: App) -> None:
    _, token = await widget_session(app)
    # (frame, its client id or None, whether it is a message the desk may accept)
    frames: list[tuple[str | bytes, str | None, bool]] = [
        ("{not json", None, False),
        ("null", None, False),
        ("[1,2]", None, False),
        ('{"type": "nope", "id": "n1"}', "n1", False),
        ('{"type": "message", "id": "n2"}', "n2", False),
        ('{"type": "message", "id": "n3", "text": ""}', "n3", False),
        ('{"type": "message", "id": "n4", "text": "   "}', "n4", False),
        ('{"type": "message", "id": "' + "i" * 500 + '", "text": "hi"}', None, False),
        (json.dumps({"type": "message", "id": "n5", "text": "a" * 5000}), "n5", False),
        ("[" * 5000 + "]" * 5000, None, False),
        (b"\xff\xfe binary", None, False),
        ('{"type": "message", "id": "n6", "text": "\\u0000\\u0000"}', "n6", True),
        ('{"type": "message", "id": "n7", "text": "😀🔥"}', "n7", True),
    ]
    async with widget_socket(app.ws_url, token) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        for frame, client_id, may_accept in frames:
            await ws.send(frame)
            while True:  # typing and reply frames may come before the ack
                answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if answer["type"] in ("ack", "error"):
                    break
            assert answer.get("id") == client_id, (frame[:40], answer)
            if may_accept:
                assert answer["type"] == "ack" or answer["code"] not in ("server_error",), (frame[:40], answer)
            else:
                assert answer["type"] == "error" and answer["code"] != "server_error", (frame[:40], answer)
        await ws.send(json.dumps({"type": "ping"}))
        while (pong := json.loads(await asyncio.wait_for(ws.recv(), 5)))["type"] != "pong":
            assert pong["type"] in ("reply", "typing"), pong
    # A frame over the 64 KB limit closes that socket (1009), and nothing else.
    async with widget_socket(app.ws_url, token, max_size=None) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "message", "id": "big", "text": "a" * MEGABYTE}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert (await app.http.get("/healthz")).status_code == 200


# -- fuzzing ---------------------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
TEXTS = st.text(max_size=300)


def _telegram_update_strategy() -> st.SearchStrategy[dict[str, Any]]:
    user = st.fixed_dictionaries(
        {"id": st.integers(1, 2**40), "is_bot": st.booleans(), "first_name": st.text(min_size=1, max_size=10)},
        optional={
            "language_code": st.sampled_from(["en", "zh-hans", "ru", "", "zh"]),
            "username": st.text(max_size=10),
        },
    )
    chat = st.fixed_dictionaries(
        {
            "id": st.integers(-(2**52), 2**40),
            "type": st.sampled_from(["private", "group", "supergroup", "channel", "sender"]),
        }
    )
    entity = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["bot_command", "mention", "bold"]),
            "offset": st.integers(0, 50),
            "length": st.integers(0, 50),
        }
    )
    message = st.fixed_dictionaries(
        {"message_id": st.integers(1, 2**31), "date": st.integers(0, 2**32), "chat": chat},
        optional={
            "from": user,
            "text": TEXTS,
            "caption": TEXTS,
            "entities": st.lists(entity, max_size=3),
            "edit_date": st.integers(0, 2**32),
            "photo": st.just([{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]),
            "document": st.just({"file_id": "d", "file_unique_id": "du", "mime_type": "application/pdf"}),
            "reply_to_message": st.just(
                {
                    "message_id": 1,
                    "date": 1,
                    "chat": {"id": 1, "type": "private"},
                    "from": {"id": ME.id, "is_bot": True, "first_name": "Bot"},
                }
            ),
        },
    )
    callback = st.fixed_dictionaries(
        {"id": st.text(min_size=1, max_size=8), "from": user, "chat_instance": st.just("ci")},
        optional={"data": TEXTS, "message": message},
    )
    return st.fixed_dictionaries(
        {"update_id": st.integers(0, 2**31)},
        # (An arbitrary "poll" value made PTB refuse almost every update, so few reached the conversion.)
        optional={"message": message, "edited_message": message, "callback_query": callback},
    )


@FUZZ
@given(_telegram_update_strategy())
def test_fuzz_telegram_conversion_never_raises(raw: dict[str, Any]) -> None:
    try:
        update = Update.de_json(raw, None)
    except Exception:
        return  # the webhook answers 400 for what PTB cannot parse
    assert update is not None
    converted = convert_update(update, ME)
    if converted is not None:
        message = converted.message
        assert isinstance(message.text, str) and message.channel == "telegram" and message.message_id
        assert f"@{ME.username}".lower() not in message.text.lower() or not converted.is_group


@FUZZ
@given(TEXTS, st.booleans(), st.booleans())
def test_fuzz_telegram_addressed_text_never_raises(text: str, in_group: bool, reply_to_bot: bool) -> None:
    result = addressed_text(text, ME.username, in_group=in_group, reply_to_bot=reply_to_bot)
    assert result is None or isinstance(result, str)
    if not in_group:
        assert result is not None  # a private message is always for the bot


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["event_type", "id", "text", "sender_id", "created_at", "x"]),
        JSON_VALUES | st.sampled_from(["MessageCreate", "2024-01-01T00:00:00Z", "123"]),
    )
)
def test_fuzz_x_dm_event_conversion_never_raises(event: dict[str, Any]) -> None:
    message = message_from_dm_event(event)
    assert message is None or (isinstance(message, InboundMessage) and isinstance(message.text, str))


@FUZZ
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["message_create", "other"]) | JSON_VALUES,
            "id": JSON_VALUES | st.just("179"),
            "created_timestamp": JSON_VALUES | st.sampled_from(["1700000000000", "99999999999999999999999"]),
            "message_create": JSON_VALUES
            | st.fixed_dictionaries(
                {},
                optional={
                    "sender_id": JSON_VALUES | st.just("42"),
                    "message_data": JSON_VALUES | st.fixed_dictionaries({"text": TEXTS}),
                },
            ),
        },
    )
)
def test_fuzz_x_webhook_event_conversion_never_raises(event: dict[str, Any]) -> None:
    message = message_from_webhook_event(event)
    assert message is None or (isinstance(message, InboundMessage) and isinstance(message.text, str))


# The fuzz tests above mostly meet malformed events (None is the right answer for them); these meet well-formed ones
# with any text, which must convert and keep the text.
WORDS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200).filter(str.strip)
IDS = st.integers(1, 2**62).map(str)


@FUZZ
@given(IDS, IDS, WORDS)
def test_fuzz_a_well_formed_x_dm_event_converts(event_id: str, sender: str, text: str) -> None:
    event = {
        "event_type": "MessageCreate",
        "id": event_id,
        "text": text,
        "sender_id": sender,
        "created_at": "2024-01-01T00:00:00.000Z",
    }
    message = message_from_dm_event(event)
    assert message is not None and (message.text, message.user_id, message.message_id) == (text, sender, event_id)


@FUZZ
@given(IDS, IDS, WORDS)
def test_fuzz_a_well_formed_x_webhook_event_converts(event_id: str, sender: str, text: str) -> None:
    event = {
        "type": "message_create",
        "id": event_id,
        "created_timestamp": "1700000000000",
        "message_create": {"sender_id": sender, "message_data": {"text": text}},
    }
    message = message_from_webhook_event(event)
    assert message is not None and (message.text, message.user_id, message.message_id) == (text, sender, event_id)


@FUZZ
@given(st.text(st.characters(whitelist_categories=("L", "N", "Zs")), max_size=200).filter(str.strip))
def test_fuzz_a_well_formed_slack_thread_reply_converts(text: str) -> None:
    body = {
        "event_id": "Ev1",
        "event": {"type": "message", "channel": "C1", "user": "U1", "thread_ts": "1.1", "ts": "1.2", "text": text},
    }
    reply = thread_reply(body)
    assert reply is not None and reply.text == text.strip() and (reply.thread_ts, reply.ts) == ("1.1", "1.2")


@FUZZ
@given(st.binary(max_size=200), st.text(max_size=80) | st.none())
def test_fuzz_x_signature_check_only_accepts_the_real_signature(body: bytes, header: str | None) -> None:
    assert signature_valid("cs-test", body, header) is (header is not None and header.strip() == x_signature(body))
    assert signature_valid("cs-test", body, x_signature(body))


@FUZZ
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "event_id": JSON_VALUES | st.just("Ev1"),
            "event": JSON_VALUES
            | st.fixed_dictionaries(
                {},
                optional={
                    "type": st.sampled_from(["message", "other"]),
                    "subtype": st.sampled_from(["", "thread_broadcast", "message_changed"]) | JSON_VALUES,
                    "bot_id": JSON_VALUES,
                    "channel": st.just("C1") | JSON_VALUES,
                    "user": st.just("U1") | JSON_VALUES,
                    "thread_ts": st.just("1.1") | JSON_VALUES,
                    "ts": st.just("1.2") | JSON_VALUES,
                    "text": TEXTS | JSON_VALUES,
                },
            ),
        },
    )
)
def test_fuzz_slack_thread_reply_never_raises(body: dict[str, Any]) -> None:
    reply = thread_reply(body)
    assert reply is None or (reply.text.strip() == reply.text and reply.text and reply.thread_ts != reply.ts)


@FUZZ
@given(TEXTS)
def test_fuzz_slack_escape_then_plain_text_round_trips(text: str) -> None:
    assert plain_text(escape(text)) == text
    assert "<" not in escape(text) and ">" not in escape(text)
    assert isinstance(plain_text(text), str)


SHARED_TOKENS = SessionTokens(b"fuzzing-secret-of-32-bytes-long!")


@FUZZ
@given(st.text(max_size=200))
def test_fuzz_widget_token_check_accepts_only_issued_tokens(token: str) -> None:
    assert SHARED_TOKENS.verify(token) is None
    session, issued = SHARED_TOKENS.issue()
    assert SHARED_TOKENS.verify(issued) == session
    # Anything added before or after a genuine token makes it no token at all.
    assert SHARED_TOKENS.verify(issued + token) == (session if token == "" else None)
    assert SHARED_TOKENS.verify(token + issued) == (session if token == "" else None)


SCANNER = SecretScanner()
SECRET_SENTENCES = (
    (
        "my seed phrase is " + mnemonic.Mnemonic("english").to_mnemonic(bytes(range(16))),
        "abandon amount liar amount expire",
    ),
    ("我的助记词是 " + mnemonic.Mnemonic("chinese_simplified").to_mnemonic(bytes(range(16))), None),
    ("my private key is " + hashlib.sha256(b"fuzz").hexdigest(), hashlib.sha256(b"fuzz").hexdigest()),
    ("my password is Fuzz-Pa55word!", "Fuzz-Pa55word!"),
    ("my 2fa code is 583920", "583920"),
    ("api secret: 0a1b2c3d4e5f60718293a4b5c6d7e8f9", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
)


@FUZZ
@given(TEXTS, st.sampled_from(SECRET_SENTENCES), TEXTS)
def test_fuzz_a_secret_sentence_between_any_lines_is_redacted(
    before: str, sample: tuple[str, str | None], after: str
) -> None:
    sentence, secret = sample
    result = SCANNER.scan(f"{before}\n{sentence}\n{after}")
    assert result.found
    if secret is not None:
        assert secret not in result.redacted_text
    else:
        chinese = sentence.split(" ", 1)[1].split()
        assert "".join(chinese[:4]) not in result.redacted_text.replace(" ", "")


@FUZZ
@given(TEXTS)
def test_fuzz_the_scanner_never_raises_and_its_output_is_stable(text: str) -> None:
    result = SCANNER.scan(text)
    assert isinstance(result.redacted_text, str)
    again = SCANNER.scan(result.redacted_text)
    assert again.redacted_text == result.redacted_text  # redacting twice changes nothing more


@FUZZ
@given(TEXTS, st.sampled_from(["en", "zh", None]), st.integers(1, 5))
def test_fuzz_the_matcher_never_raises_and_ranks_within_bounds(core: Core, text: str, lang: Any, limit: int) -> None:
    candidates = core.matcher.match(text, lang, limit=limit)
    assert len(candidates) <= limit
    confidences = [c.confidence for c in candidates]
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert [c.score for c in candidates] == sorted((c.score for c in candidates), reverse=True)
