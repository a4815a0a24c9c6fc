"""The web chat adapter over real HTTP and WebSockets: a uvicorn server on a free loopback port, a real Desk."""

from __future__ import annotations

import asyncio
import io
import json
import re
import struct
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mnemonic import Mnemonic
from PIL import Image
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from adapters.webchat import (
    RateLimiter,
    SessionTokens,
    WebchatChannel,
    WebchatLimits,
    load_session_secret,
    webchat_routes,
)
from bot.app.config import Config, StoreConfig, WebchatConfig
from bot.app.server import ticket_form
from bot.app.wiring import Core, Runtime, open_runtime
from bot.core.messages import Reply
from bot.knowledge.texts import ReplyTexts
from tests.fakes.loopback import serving
from tests.fakes.widget_socket import widget_socket
from tests.test_cli import omnidesk

ALLOWED_ORIGIN = "https://www.example.com"


@dataclass
class WebchatServer:
    """A running app: its base URL and the parts a test pokes at."""

    url: str
    runtime: Runtime
    channel: WebchatChannel
    tokens: SessionTokens
    attachments: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws/webchat"


@asynccontextmanager
async def serve_webchat(
    config: Config,
    core: Core,
    tmp_path: Path,
    limits: WebchatLimits | None = None,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[WebchatServer]:
    """Start the real app (real Desk over a tmp SQLite file) on 127.0.0.1 with a free port."""
    runtime = await open_runtime(
        config.model_copy(update={"store": StoreConfig(path=str(tmp_path / "omnidesk.db"))}), core_parts=core
    )
    channel = WebchatChannel()
    runtime.channels["webchat"] = channel  # the desk exists first; its outbox reads this same dict
    tokens = SessionTokens(await load_session_secret(runtime.store), clock=clock)
    attachments = tmp_path / "attachments"
    routes = webchat_routes(
        channel,
        runtime.desk,
        tokens,
        WebchatConfig(port=0, allowed_origins=(ALLOWED_ORIGIN,)),
        attachments_dir=attachments,
        limits=limits,
        store=runtime.store,
        tickets=runtime.tickets,
        ticket_form=ticket_form(core.kb, ReplyTexts(config.brand)),
    )
    try:
        async with serving(Starlette(routes=routes), timeout_graceful_shutdown=2, ws_max_size=256 * 1024) as url:
            yield WebchatServer(url, runtime, channel, tokens, attachments)
    finally:
        await runtime.close()


@pytest.fixture
async def app(config: Config, core: Core, tmp_path: Path) -> AsyncIterator[WebchatServer]:
    async with serve_webchat(config, core, tmp_path) as server:
        yield server


@pytest.fixture
async def http(app: WebchatServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app.url, trust_env=False, timeout=30) as client:
        yield client


async def new_session(http: httpx.AsyncClient) -> tuple[str, str]:
    response = await http.post("/api/webchat/session")
    assert response.status_code == 200
    body = response.json()
    assert body["resumed"] is False
    return body["session"], body["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def socket(app: WebchatServer, token: str, **kwargs: Any) -> AsyncIterator[ClientConnection]:
    async with widget_socket(app.ws_url, token, **kwargs) as ws:
        hello = await frame(ws)
        assert hello["type"] == "hello"
        yield ws


async def frame(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    data = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    assert isinstance(data, dict)
    return data


async def frames_until_ack(ws: ClientConnection, client_id: str) -> list[dict[str, Any]]:
    """Every frame up to and including the ack (or error) for `client_id`."""
    seen = []
    while True:
        data = await frame(ws)
        seen.append(data)
        if data["type"] in ("ack", "error") and data.get("id") == client_id:
            return seen


async def say(ws: ClientConnection, text: str, client_id: str) -> list[dict[str, Any]]:
    await ws.send(json.dumps({"type": "message", "id": client_id, "text": text, "lang": "en"}))
    return await frames_until_ack(ws, client_id)


def replies(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "reply"]


def png_bytes() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    """A real JPEG, made by Pillow."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


async def open_ticket(http: httpx.AsyncClient, token: str) -> None:
    """Ask for a person and skip the intake question: the session then has an open ticket."""
    for client_id, text in (("t1", "/human"), ("t2", "skip")):
        sent = await http.post("/api/webchat/messages", headers=bearer(token), json={"id": client_id, "text": text})
        assert sent.status_code == 200


# -- tokens ------------------------------------------------------------------------------------------------------


def test_a_token_names_its_session_and_nothing_else() -> None:
    tokens = SessionTokens(b"k" * 32)
    session, token = tokens.issue()
    assert tokens.verify(token) == session
    # hex: an id (so a token) never starts with "-", which `omnidesk sessions revoke` would take for an option
    assert re.fullmatch(r"[0-9a-f]{48}", session)
    other_session, other_token = tokens.issue()
    assert other_session != session
    assert tokens.verify(other_token) == other_session
    signature = token.rpartition(".")[2]
    assert tokens.verify(f"{other_session}.{signature}") is None  # a signature does not move to another session
    assert tokens.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert SessionTokens(b"z" * 32).verify(token) is None  # another server's secret
    for junk in ("", ".", "abc", f"{session}.", f"../../etc.{signature}", "a.b.c", f"{session}.签名", "é" * 40):
        assert tokens.verify(junk) is None
    with pytest.raises(ValueError):
        SessionTokens(b"short")


async def test_the_session_secret_is_kept_in_the_store(app: WebchatServer) -> None:
    first = await load_session_secret(app.runtime.store)
    assert await load_session_secret(app.runtime.store) == first
    assert len(first) == 32


def test_rate_limiter_is_a_sliding_window() -> None:
    now = [0.0]
    limiter = RateLimiter(3, 10.0, clock=lambda: now[0])
    assert [limiter.retry_after("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.retry_after("a") == pytest.approx(10.0)
    assert limiter.retry_after("b") == 0.0  # per session
    now[0] = 10.5
    assert limiter.retry_after("a") == 0.0


# -- sessions and history ----------------------------------------------------------------------------------------


async def test_session_is_created_then_resumed(http: httpx.AsyncClient) -> None:
    session, token = await new_session(http)
    again = (await http.post("/api/webchat/session", json={"token": token})).json()
    assert again == {"session": session, "token": token, "resumed": True}
    via_header = (await http.post("/api/webchat/session", headers=bearer(token))).json()
    assert via_header["session"] == session
    forged = (await http.post("/api/webchat/session", json={"token": session + ".forged"})).json()
    assert forged["resumed"] is False and forged["session"] != session


async def test_history_needs_the_sessions_own_token(app: WebchatServer, http: httpx.AsyncClient) -> None:
    assert (await http.get("/api/webchat/history")).status_code == 401
    bad = await http.get("/api/webchat/history", headers=bearer("nope.nope"))
    assert bad.status_code == 401
    assert bad.json()["code"] == "unauthorized"
    assert bad.headers["www-authenticate"] == "Bearer"

    _, alice = await new_session(http)
    _, bob = await new_session(http)
    sent = await http.post(
        "/api/webchat/messages", headers=bearer(alice), json={"id": "a1", "text": "how do I reset my 2FA?"}
    )
    assert sent.status_code == 200
    alice_history = (await http.get("/api/webchat/history", headers=bearer(alice))).json()["messages"]
    assert [m["direction"] for m in alice_history] == ["in", "out"]
    assert alice_history[0]["text"] == "how do I reset my 2FA?"
    assert alice_history[0]["client_id"] == "a1"
    assert "authenticator" in alice_history[1]["text"]
    assert (await http.get("/api/webchat/history", headers=bearer(bob))).json()["messages"] == []


# -- WebSocket ---------------------------------------------------------------------------------------------------


async def test_a_question_gets_typing_then_the_answer_then_the_ack(app: WebchatServer, http: httpx.AsyncClient) -> None:
    _, token = await new_session(http)
    async with socket(app, token) as ws:
        frames = await say(ws, "how do I reset my 2FA?", "q1")
        assert frames[0] == {"type": "typing"}
        (reply,) = replies(frames)
        assert "authenticator" in reply["text"]
        assert reply["offer_human"] is True
        assert reply["suggestions"] == []
        ack = frames[-1]
        assert ack["type"] == "ack" and ack["id"] == "q1" and ack["text"] == "how do I reset my 2FA?"

        history = (await http.get("/api/webchat/history", headers=bearer(token))).json()["messages"]
        # The pushed ids are the transcript ids, so the widget can merge live frames with history.
        assert [m["id"] for m in history] == [ack["message_id"], reply["id"]]


async def test_clarify_chips_carry_payloads_that_answer(app: WebchatServer, http: httpx.AsyncClient) -> None:
    _, token = await new_session(http)
    async with socket(app, token) as ws:
        (clarify,) = replies(await say(ws, "code", "c1"))
        chips = {s["label"]: s["payload"] for s in clarify["suggestions"]}
        # A chip shows the entry's title, not one of its raw phrasings.
        assert chips["Anti-phishing code"] == "/faq anti-phishing-code"
        assert chips["Talk to a human"] == "/human"
        (answer,) = replies(await say(ws, chips["Anti-phishing code"], "c2"))
        assert answer["text"].startswith("An anti-phishing code is a phrase you choose")


async def test_a_seed_phrase_is_warned_about_and_never_stored(app: WebchatServer, http: httpx.AsyncClient) -> None:
    seed = Mnemonic("english").generate(128)
    _, token = await new_session(http)
    async with socket(app, token) as ws:
        frames = await say(ws, f"my wallet words are {seed} please help", "s1")
        assert any("removed the sensitive information" in r["text"] for r in replies(frames))
        assert "[REDACTED" in frames[-1]["text"] and seed not in frames[-1]["text"]
    history = (await http.get("/api/webchat/history", headers=bearer(token))).json()["messages"]
    assert "[REDACTED" in history[0]["text"]
    assert seed not in json.dumps(history)
    # No word of the seed is left, but for words the sentence around it has too (BIP-39 has "wallet", "help").
    kept = set(history[0]["text"].split()) - {"my", "wallet", "words", "are", "please", "help"}
    assert not kept & set(seed.split()), kept


async def test_agent_reply_is_pushed_live_to_every_open_tab(app: WebchatServer, http: httpx.AsyncClient) -> None:
    _, token = await new_session(http)
    async with socket(app, token) as ws, socket(app, token) as other_tab:
        (handoff,) = replies(await say(ws, "/human", "h1"))
        assert "pass this to ExampleX support" in handoff["text"]
        (opened,) = replies(await say(ws, "skip", "h2"))
        assert "ticket #1001 is open" in opened["text"]
        seen_by_other = [await frame(other_tab) for _ in range(6)]  # typing, reply, ack for each of the two
        assert [f["type"] for f in seen_by_other] == ["typing", "reply", "ack"] * 2
        assert seen_by_other[2]["text"] == "/human"

        await app.runtime.tickets.reply(1001, "Alice", "Hi, I'm looking at your account now.")
        for tab in (ws, other_tab):
            pushed = await frame(tab)
            assert pushed["type"] == "reply"
            assert pushed["text"] == "Alice (ExampleX support): Hi, I'm looking at your account now."


async def test_a_reply_with_no_socket_open_waits_in_the_history(app: WebchatServer, http: httpx.AsyncClient) -> None:
    session, token = await new_session(http)
    await app.channel.send(session, Reply("nobody is listening"))  # no socket open: does not raise
    await http.post("/api/webchat/messages", headers=bearer(token), json={"id": "x1", "text": "/human"})
    await http.post("/api/webchat/messages", headers=bearer(token), json={"id": "x2", "text": "skip"})
    await app.runtime.tickets.reply(1001, "Bo", "Are you still there?")
    history = (await http.get("/api/webchat/history", headers=bearer(token))).json()["messages"]
    assert history[-1]["text"] == "Bo (ExampleX support): Are you still there?"


async def test_a_resent_frame_is_handled_once(app: WebchatServer, http: httpx.AsyncClient) -> None:
    _, token = await new_session(http)
    async with socket(app, token) as ws:
        first = await say(ws, "how do I reset my 2FA?", "same")
        again = await say(ws, "how do I reset my 2FA?", "same")
        assert replies(again) == []
        assert again[-1]["message_id"] == first[-1]["message_id"]


async def test_bad_tokens_close_the_socket_with_4401(app: WebchatServer, http: httpx.AsyncClient) -> None:
    _, token = await new_session(http)
    for forged in ("forged.token", "", token + "x", token.split(".")[0]):
        async with widget_socket(app.ws_url, forged) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401, forged
    # A genuine token in the URL is no longer a credential: the first frame must authenticate.
    async with connect(f"{app.ws_url}?token={token}", proxy=None) as ws:
        await ws.send(json.dumps({"type": "message", "id": "m1", "text": "hi"}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


class FakeClock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_tokens_expire_unless_in_use_where_they_are_renewed_silently(
    config: Config, core: Core, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with (
        serve_webchat(config, core, tmp_path, clock=clock) as server,
        httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=30) as http,
    ):
        session, first = await new_session(http)
        fresh = await http.get("/api/webchat/history", headers=bearer(first))
        assert fresh.status_code == 200 and "x-session-token" not in fresh.headers
        clock.now += 2 * 3600  # in use after the renewal age: the answer carries a new token for the same session
        used = await http.get("/api/webchat/history", headers=bearer(first))
        renewed = used.headers["x-session-token"]
        assert used.status_code == 200 and renewed != first and server.tokens.verify(renewed) == session
        async with widget_socket(server.ws_url, first) as ws:
            assert (await frame(ws))["type"] == "hello"
            assert await frame(ws) == {"type": "token", "token": renewed}
        resumed = (await http.post("/api/webchat/session", json={"token": first})).json()
        assert resumed == {"session": session, "token": renewed, "resumed": True}
        clock.now += 7 * 24 * 3600 - 3600  # the first token is now past its week; the renewed one is not
        assert (await http.get("/api/webchat/history", headers=bearer(first))).status_code == 401
        assert (await http.get("/api/webchat/history", headers=bearer(renewed))).status_code == 200
        async with widget_socket(server.ws_url, first) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        # An expired token does not resume its session: the visitor starts a new one.
        expired = (await http.post("/api/webchat/session", json={"token": first})).json()
        assert expired["resumed"] is False and expired["session"] != session


async def test_a_revoked_session_is_refused_everywhere_and_the_cli_revokes_by_id_or_token(
    app: WebchatServer, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    session, token = await new_session(http)
    _, other_token = await new_session(http)
    async with socket(app, token) as ws:
        await say(ws, "how do I reset my 2FA?", "before")
        revoked = await asyncio.to_thread(omnidesk, "sessions", "revoke", token, cwd=tmp_path)
        assert revoked.returncode == 0 and f"session {session} revoked" in revoked.stdout, revoked.stderr
        # The open socket is closed at its next frame.
        await ws.send(json.dumps({"type": "ping"}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert (await http.get("/api/webchat/history", headers=bearer(token))).status_code == 401
    again = (await http.post("/api/webchat/session", json={"token": token})).json()
    assert again["resumed"] is False and again["session"] != session
    async with widget_socket(app.ws_url, token) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    # Other sessions are untouched; revoking by id works the same, and twice is harmless.
    assert (await http.get("/api/webchat/history", headers=bearer(other_token))).status_code == 200
    twice = await asyncio.to_thread(omnidesk, "sessions", "revoke", session, cwd=tmp_path)
    assert twice.returncode == 0 and "already revoked" in twice.stdout
    listed = await asyncio.to_thread(omnidesk, "sessions", "list", cwd=tmp_path)
    lines = {line.split("\t")[0]: line for line in listed.stdout.splitlines()[1:]}
    assert lines[session].split("\t")[3] != "-"


async def test_malformed_frames_get_error_frames_and_the_socket_stays_open(
    app: WebchatServer, http: httpx.AsyncClient
) -> None:
    _, token = await new_session(http)
    async with socket(app, token) as ws:
        for bad in ("not json", "[1, 2]", '"text"', "{}", '{"type": "nonsense"}', '{"type": "message", "text": "hi"}'):
            await ws.send(bad)
            error = await frame(ws)
            assert error["type"] == "error" and error["code"] == "bad_frame", bad
        await ws.send(b"\x00\x01binary")
        assert (await frame(ws))["code"] == "bad_frame"
        await ws.send(json.dumps({"type": "message", "id": "e1", "text": 42}))
        assert await frame(ws) == {
            "type": "error",
            "code": "bad_frame",
            "message": "A message needs a text.",
            "id": "e1",
        }
        await ws.send(json.dumps({"type": "message", "id": "e2", "text": "   "}))
        assert (await frame(ws))["code"] == "empty"
        await ws.send(json.dumps({"type": "message", "id": "bad id with spaces", "text": "hi"}))
        assert "id" not in (await frame(ws))
        await ws.send(json.dumps({"type": "ping"}))
        assert await frame(ws) == {"type": "pong"}


async def test_too_long_and_too_fast_get_clear_error_frames(config: Config, core: Core, tmp_path: Path) -> None:
    limits = WebchatLimits(max_text_chars=50, messages_per_window=3, window_seconds=60)
    async with (
        serve_webchat(config, core, tmp_path, limits) as app,
        httpx.AsyncClient(base_url=app.url, trust_env=False) as http,
    ):
        _, token = await new_session(http)
        async with socket(app, token) as ws:
            (error,) = await say(ws, "x" * 51, "long")
            assert error["code"] == "too_long" and "50 characters" in error["message"]
            for n in range(3):
                assert (await say(ws, f"/lang en {n}", f"ok{n}"))[-1]["type"] == "ack"
            limited = (await say(ws, "one more", "fast"))[-1]
            assert limited["code"] == "rate_limited" and limited["id"] == "fast"
            assert 0 < limited["retry_after"] <= 60
        over_http = await http.post("/api/webchat/messages", headers=bearer(token), json={"id": "h", "text": "hi"})
        assert over_http.status_code == 429
        assert over_http.json()["code"] == "rate_limited"
        assert int(over_http.headers["retry-after"]) >= 1


# -- origins -----------------------------------------------------------------------------------------------------


async def test_foreign_origins_are_refused_and_listed_ones_get_cors(
    app: WebchatServer, http: httpx.AsyncClient
) -> None:
    _, token = await new_session(http)
    evil = await http.get("/api/webchat/history", headers={**bearer(token), "Origin": "https://evil.example"})
    assert evil.status_code == 403
    assert evil.json()["code"] == "forbidden_origin"
    assert "access-control-allow-origin" not in evil.headers

    allowed = await http.get("/api/webchat/history", headers={**bearer(token), "Origin": ALLOWED_ORIGIN})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN

    preflight = await http.options(
        "/api/webchat/messages",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    assert (await http.options("/api/webchat/messages", headers={"Origin": "https://evil.example"})).status_code == 403

    same_origin = await http.get("/api/webchat/history", headers={**bearer(token), "Origin": app.url})
    assert same_origin.status_code == 200


async def test_websocket_origin_check(app: WebchatServer, http: httpx.AsyncClient) -> None:
    _, token = await new_session(http)
    with pytest.raises(InvalidStatus) as refused:
        async with widget_socket(app.ws_url, token, origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    for origin in (ALLOWED_ORIGIN, app.url):
        async with socket(app, token, origin=origin) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            assert await frame(ws) == {"type": "pong"}


# -- the HTTP fallback -------------------------------------------------------------------------------------------


async def test_http_fallback_sends_and_long_polls(app: WebchatServer, http: httpx.AsyncClient) -> None:
    _, token = await new_session(http)
    ack = (await http.post("/api/webchat/messages", headers=bearer(token), json={"id": "p1", "text": "/human"})).json()
    assert ack["type"] == "ack" and ack["id"] == "p1"
    polled = (await http.get("/api/webchat/poll", params={"after": 0}, headers=bearer(token))).json()["messages"]
    assert [m["direction"] for m in polled] == ["in", "out"]
    assert polled[0]["id"] == ack["message_id"]
    await http.post("/api/webchat/messages", headers=bearer(token), json={"id": "p2", "text": "skip"})
    last = (await http.get("/api/webchat/history", headers=bearer(token))).json()["messages"][-1]["id"]

    nothing = await http.get("/api/webchat/poll", params={"after": last}, headers=bearer(token))
    assert nothing.json()["messages"] == []

    poll = asyncio.create_task(http.get("/api/webchat/poll", params={"after": last, "wait": 20}, headers=bearer(token)))
    await asyncio.sleep(0.3)
    assert not poll.done()  # held open
    started = asyncio.get_running_loop().time()
    await app.runtime.tickets.reply(1001, "Alice", "Found it.")
    woken = (await asyncio.wait_for(poll, 10)).json()["messages"]
    assert asyncio.get_running_loop().time() - started < 5
    assert [m["text"] for m in woken] == ["Alice (ExampleX support): Found it."]


async def test_bad_requests_get_json_errors(app: WebchatServer, http: httpx.AsyncClient) -> None:
    _, token = await new_session(http)
    for body in (b"not json", b"[]"):
        response = await http.post("/api/webchat/messages", headers=bearer(token), content=body)
        assert response.status_code == 400 and response.json()["code"] == "bad_request"
    too_long = await http.post("/api/webchat/messages", headers=bearer(token), json={"id": "l", "text": "x" * 2001})
    assert too_long.status_code == 413 and too_long.json()["code"] == "too_long"
    assert (await http.get("/api/webchat/poll", params={"after": "x"}, headers=bearer(token))).status_code == 400
    assert (await http.get("/api/webchat/messages", headers=bearer(token))).status_code == 405


# -- attachments -------------------------------------------------------------------------------------------------


async def test_screenshots_are_checked_stored_and_handed_to_the_desk(
    app: WebchatServer, http: httpx.AsyncClient
) -> None:
    session, token = await new_session(http)
    png = png_bytes()
    url = "/api/webchat/attachments"

    # No ticket: refused before anything is read or written.
    without_ticket = await http.post(url, headers={**bearer(token), "Content-Type": "image/png"}, content=png)
    assert without_ticket.status_code == 409 and without_ticket.json()["code"] == "no_ticket"
    assert "once a ticket is open" in without_ticket.json()["message"]
    zh = await http.post(f"{url}?lang=zh-CN", headers=bearer(token), content=png)
    assert zh.status_code == 409 and "创建工单" in zh.json()["message"]
    assert not (app.attachments / session).exists()

    await open_ticket(http, token)
    async with socket(app, token) as ws:
        files = {"file": ("shot.png", png, "image/png")}
        response = await http.post(url, headers=bearer(token), files=files)
        assert response.status_code == 201
        ack = response.json()
        assert ack["type"] == "ack" and ack["text"].startswith("[photo: ")
        # The visitor sees the file name, not the server's path.
        assert str(app.attachments) not in ack["text"]
        frames = [await frame(ws), await frame(ws)]
        assert frames[1]["text"] == "Screenshot added to ticket #1001."
    stored = sorted((app.attachments / session).iterdir())
    assert len(stored) == 1 and all(p.suffix == ".png" and p.read_bytes() == png for p in stored)
    events = await app.runtime.store.ticket_events(1001)
    assert any(e.kind == "user_message" and str(stored[0].parent) in (e.detail or "") for e in events)


async def test_attachments_are_judged_by_decoding_them_and_by_size(config: Config, core: Core, tmp_path: Path) -> None:
    async with (
        serve_webchat(config, core, tmp_path, WebchatLimits(max_attachment_bytes=1000, max_image_pixels=10_000)) as app,
        httpx.AsyncClient(base_url=app.url, trust_env=False) as http,
    ):
        session, token = await new_session(http)
        await open_ticket(http, token)
        url = "/api/webchat/attachments"
        lying = await http.post(
            url, headers={**bearer(token), "Content-Type": "image/png"}, content=b"<svg onload=alert(1)>"
        )
        assert lying.status_code == 415 and lying.json()["code"] == "unsupported_type"
        # Right magic bytes, no image behind them: sniffing would accept these, decoding does not.
        for fake in (b"\xff\xd8\xff" + b"0" * 50, b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, png_bytes()[:-20]):
            refused = await http.post(url, headers=bearer(token), content=fake)
            assert refused.status_code == 415, fake[:12]
        # A small file declaring a huge image (a decompression bomb) is refused without decoding it.
        huge = io.BytesIO()
        Image.new("1", (200, 200)).save(huge, "PNG")
        assert len(huge.getvalue()) < 1000
        assert (await http.post(url, headers=bearer(token), content=huge.getvalue())).status_code == 415
        jpeg = await http.post(
            url, headers={**bearer(token), "Content-Type": "application/octet-stream"}, content=jpeg_bytes()
        )
        assert jpeg.status_code == 201
        big = await http.post(url, headers=bearer(token), content=png_bytes() + b"0" * 2000)
        assert big.status_code == 413 and big.json()["code"] == "too_large"
        big_form = await http.post(url, headers=bearer(token), files={"file": ("a.png", png_bytes() + b"0" * 1100)})
        assert big_form.status_code == 413
        assert (await http.post(url, content=png_bytes())).status_code == 401
        assert [p.suffix for p in (app.attachments / session).iterdir()] == [".jpg"]


async def test_screenshots_stop_at_the_session_and_total_disk_quotas(config: Config, core: Core, tmp_path: Path) -> None:
    shot = jpeg_bytes((64, 64))
    limits = WebchatLimits(
        max_session_attachment_bytes=3 * len(shot) + 10,
        max_total_attachment_bytes=5 * len(shot) + 10,
        messages_per_window=1000,
    )
    async with (
        serve_webchat(config, core, tmp_path, limits) as app,
        httpx.AsyncClient(base_url=app.url, trust_env=False) as http,
    ):
        first, token = await new_session(http)
        await open_ticket(http, token)
        statuses = [(await http.post("/api/webchat/attachments", headers=bearer(token), content=shot)).status_code]
        statuses += [(await http.post("/api/webchat/attachments", headers=bearer(token), content=shot)).status_code]
        statuses += [(await http.post("/api/webchat/attachments", headers=bearer(token), content=shot)).status_code]
        over = await http.post("/api/webchat/attachments", headers=bearer(token), content=shot)
        assert statuses == [201, 201, 201] and over.status_code == 507 and over.json()["code"] == "quota"
        _, second = await new_session(http)
        await open_ticket(http, second)
        more = [(await http.post("/api/webchat/attachments", headers=bearer(second), content=shot)).status_code]
        more += [(await http.post("/api/webchat/attachments", headers=bearer(second), content=shot)).status_code]
        more += [(await http.post("/api/webchat/attachments", headers=bearer(second), content=shot)).status_code]
        assert more == [201, 201, 507]  # the total quota (five) is reached before the session's (three)
        files = sum(1 for p in app.attachments.rglob("*") if p.is_file())
        assert files == 5 and len(list((app.attachments / first).iterdir())) == 3


async def test_a_message_sent_over_http_reaches_the_visitors_open_tabs(
    app: WebchatServer, http: httpx.AsyncClient
) -> None:
    _, token = await new_session(http)
    async with socket(app, token) as tab:
        await http.post("/api/webchat/messages", headers=bearer(token), json={"id": "f1", "text": "fees"})
        seen = [await frame(tab) for _ in range(3)]
        assert [f["type"] for f in seen] == ["typing", "reply", "ack"]
        assert seen[2]["text"] == "fees" and seen[2]["id"] == "f1"


async def test_stopping_the_channel_closes_sockets_as_a_restart(app: WebchatServer, http: httpx.AsyncClient) -> None:
    _, token = await new_session(http)
    async with socket(app, token) as ws:
        await app.channel.stop()
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert app.channel.open_sockets(token.partition(".")[0]) == 0
