"""Three `omnidesk run` instances on one PostgreSQL database, clients spread over them directly and through a real
nginx with the shipped config: one answer per message whichever instance gets it, one conversation's state kept
across instances, an agent's reply (from the CLI) reaching a visitor connected to another instance live."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from bot.knowledge.textnorm import has_han
from tests.scale_out import instances, nginx, omnidesk_cli, omnidesk_env


async def new_session(http: httpx.AsyncClient, base: str) -> str:
    response = await http.post(f"{base}/api/webchat/session", json={})
    assert response.status_code < 300, response.text
    return str(response.json()["token"])


async def send(http: httpx.AsyncClient, base: str, token: str, client_id: str, text: str) -> dict[str, Any]:
    response = await http.post(
        f"{base}/api/webchat/messages",
        json={"id": client_id, "text": text},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code < 300, response.text
    return dict(response.json())


async def history(http: httpx.AsyncClient, base: str, token: str) -> list[dict[str, Any]]:
    response = await http.get(f"{base}/api/webchat/history", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


@pytest.fixture
def shared(pg_url: str, tmp_path: Path) -> dict[str, str]:
    attachments = tmp_path / "attachments"
    attachments.mkdir()
    return omnidesk_env(pg_url, attachments)


async def test_three_instances_behind_nginx_act_as_one_desk(shared: dict[str, str], tmp_path: Path) -> None:
    with (
        instances(3, shared, tmp_path) as (a, b, c),
        nginx([f"127.0.0.1:{i.port}" for i in (a, b, c)], tmp_path / "nginx") as front,
    ):
        async with httpx.AsyncClient(timeout=30) as http:
            # A session made on one instance is valid on every one (one signing secret in the database).
            token = await new_session(http, a.url)

            # The same message sent to two instances at once is answered once.
            await asyncio.gather(*(send(http, i.url, token, "m1", "how do I reset my 2FA?") for i in (a, b)))
            messages = await history(http, c.url, token)
            inbound = [m for m in messages if m["direction"] == "in"]
            outbound = [m["text"] for m in messages if m["direction"] == "out"]
            assert [m["text"] for m in inbound] == ["how do I reset my 2FA?"]
            assert outbound and len(outbound) == len(set(outbound)), outbound

            # One conversation alternating between instances keeps its state: /lang on A holds on B and C.
            await send(http, a.url, token, "m2", "/lang zh")
            await send(http, b.url, token, "m3", "how do I reset my 2FA?")
            await send(http, front, token, "m4", "what are the withdrawal fees?")
            later = [m for m in await history(http, front, token) if m["direction"] == "out"][len(outbound) + 1 :]
            assert later and all(has_han(m["text"]) for m in later), later

            # Many clients through nginx at once, each message exactly once.
            tokens = await asyncio.gather(*(new_session(http, front) for _ in range(12)))
            await asyncio.gather(
                *(send(http, front, t, f"q{n}", "how do I reset my 2FA?") for t in tokens for n in range(3))
            )
            for t in tokens:
                assert sum(m["direction"] == "in" for m in await history(http, b.url, t)) == 3

            # A ticket opened on A, claimed and answered with the CLI; the visitor connected to C (through nginx
            # and directly) sees the reply live.
            visitor = await new_session(http, a.url)
            await send(http, a.url, visitor, "t1", "my account was hacked, someone withdrew my BTC")
            listed = omnidesk_cli(shared, "tickets", "list", "--status", "open")
            assert listed.returncode == 0, listed.stderr
            [number] = re.findall(r"^#(\d+) ", listed.stdout, flags=re.M)
            ws_url = c.url.replace("http", "ws") + "/ws/webchat"
            ws_front = front.replace("http", "ws") + "/ws/webchat"
            async with connect(ws_url) as direct, connect(ws_front) as proxied:
                for socket in (direct, proxied):
                    await socket.send(json.dumps({"type": "auth", "token": visitor}))  # the first frame
                    assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "hello"
                assert omnidesk_cli(shared, "tickets", "claim", number, "--agent", "alice").returncode == 0
                replied = omnidesk_cli(shared, "tickets", "reply", number, "We froze your account.", "--agent", "alice")
                assert replied.returncode == 0, replied.stderr
                for socket in (direct, proxied):
                    frame = await _next_reply(socket)
                    assert "We froze your account." in frame["text"]


async def _next_reply(socket: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(15):
        while True:
            frame = json.loads(await socket.recv())
            if frame["type"] == "reply":
                return dict(frame)
