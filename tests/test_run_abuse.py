"""Issue 13 against the real `omnidesk run` process: memory under oversized unauthenticated and authenticated bodies
(read from /proc), access logs free of tokens, and SIGTERM ending in bounded time with sockets and long-polls open.

The figures are printed (`pytest -s`) for the README; the assertions are bounds, not speed goals.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from adapters.telegram import SECRET_HEADER
from tests.fakes.loopback import free_port
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.widget_socket import widget_socket
from tests.test_webchat import open_ticket

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
TG_SECRET = "tg-webhook-Secret_123"
SHUTDOWN_TIMEOUT = 4  # OMNIDESK_SHUTDOWN_TIMEOUT for these runs


@dataclass
class Running:
    process: asyncio.subprocess.Process
    url: str
    db: Path
    output: list[str] = field(default_factory=list)

    def rss_kb(self, field_name: str = "VmRSS") -> int:
        """The process's resident memory (VmRSS) or its peak so far (VmHWM), in kB, from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
        raise AssertionError(f"{field_name} not in /proc/{self.process.pid}/status")

    @property
    def log(self) -> str:
        return "".join(self.output)


@contextlib.asynccontextmanager
async def omnidesk_run(
    tmp_path: Path, telegram: FakeTelegramApi, extra_env: dict[str, str] | None = None
) -> AsyncIterator[Running]:
    port = free_port()
    script = shutil.which("omnidesk", path=str(Path(sys.executable).parent)) or "omnidesk"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "X_"))}
    env |= {
        "OMNIDESK_PORT": str(port),
        "OMNIDESK_DB": str(tmp_path / "omnidesk.db"),
        "OMNIDESK_SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT),
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_BASE_URL": telegram.base_url,
        "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
        "TELEGRAM_WEBHOOK_URL": "https://support.example.com/telegram/webhook",
        # Slack over HTTP: its API is never called unless a ticket is announced, so an unused port will do.
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "slack-signing-secret-for-tests",
        "SLACK_AGENTS_CHANNEL": "C0AGENTS",
        "SLACK_API_BASE_URL": f"http://127.0.0.1:{free_port()}/api/",
        **(extra_env or {}),
    }
    process = await asyncio.create_subprocess_exec(
        script, "run", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    running = Running(process, f"http://127.0.0.1:{port}", tmp_path / "omnidesk.db")
    started = asyncio.Event()

    async def read_output() -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            running.output.append(line.decode(errors="replace"))
            if b"OmniDesk is running" in line:
                started.set()

    reader = asyncio.create_task(read_output())
    try:
        await asyncio.wait_for(started.wait(), 90)
        async with httpx.AsyncClient(base_url=running.url, trust_env=False, timeout=10) as http:
            for _ in range(100):  # the line is printed just before uvicorn binds
                with contextlib.suppress(httpx.ConnectError):
                    await http.get("/healthz")
                    break
                await asyncio.sleep(0.1)
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await asyncio.wait_for(reader, 10)


async def flood(url: str, path: str, headers: dict[str, str], size: int, *, chunked: bool = False) -> None:
    """POST `size` bytes (declared, or chunked without a length), writing until the server answers or cuts the
    connection."""
    host, port = url.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", framing, *(f"{k}: {v}" for k, v in headers.items())]
    piece = b"{" + b"a" * (256 * 1024 - 1)
    if chunked:
        piece = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        sent = 0
        while sent < size:
            writer.write(piece)
            await writer.drain()
            sent += len(piece)
    except (ConnectionError, OSError):
        pass  # the server answered 413 and closed: what we want
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def test_oversized_bodies_leave_the_process_memory_flat(tmp_path: Path) -> None:
    async with FakeTelegramApi() as telegram, asyncio.timeout(240), omnidesk_run(tmp_path, telegram) as run:
        async with httpx.AsyncClient(base_url=run.url, trust_env=False, timeout=30) as http:
            token = (await http.post("/api/webchat/session", json={})).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            await http.post("/api/webchat/messages", json={"id": "w1", "text": "how do I reset my 2FA?"}, headers=auth)
            baseline = run.rss_kb()

            # 30 unsigned 20 MB bodies to /slack/events at once (each declared, then actually sent).
            slack = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": str(int(time.time()))}
            await asyncio.gather(*(flood(run.url, "/slack/events", slack, 20 * MB) for _ in range(30)))
            # 200 MB to the session endpoint, chunked (no length to refuse it by).
            await flood(run.url, "/api/webchat/session", {}, 200 * MB, chunked=True)
            # An authenticated 20 MB Telegram text, and a 4,097-character one (past Telegram's limit).
            await flood(run.url, "/telegram/webhook", {SECRET_HEADER: TG_SECRET}, 20 * MB)
            long_text = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": 7, "type": "private"},
                    "from": {"id": 7, "is_bot": False, "first_name": "A"},
                    "text": "a" * 4097,
                },
            }
            skipped = await http.post("/telegram/webhook", json=long_text, headers={SECRET_HEADER: TG_SECRET})
            assert skipped.status_code == 200 and telegram.sent == []
            # Screenshots: a PNG header and 5 MB of garbage from 10 sessions, without a ticket and with one.
            tokens = [(await http.post("/api/webchat/session", json={})).json()["token"] for _ in range(10)]
            garbage = b"\x89PNG\r\n\x1a\n" + os.urandom(5 * MB - 16)
            no_ticket = await asyncio.gather(
                *(
                    http.post("/api/webchat/attachments", content=garbage, headers={"Authorization": f"Bearer {t}"})
                    for t in tokens
                )
            )
            assert {r.status_code for r in no_ticket} == {409}
            await open_ticket(http, tokens[0])
            decoded = await http.post(
                "/api/webchat/attachments", content=garbage, headers={"Authorization": f"Bearer {tokens[0]}"}
            )
            assert decoded.status_code == 415
            attachments = run.db.parent / "attachments"
            on_disk = (
                sum(p.stat().st_size for p in attachments.rglob("*") if p.is_file()) if attachments.exists() else 0
            )
            assert on_disk == 0

            # Everyone else is still served.
            after = await http.post("/api/webchat/messages", json={"id": "w2", "text": "fees"}, headers=auth)
            assert after.status_code == 200
            peak, now = run.rss_kb("VmHWM"), run.rss_kb()
        growth_mb = (peak - baseline) / 1024
        print(
            f"\nRSS under abuse: baseline {baseline / 1024:.0f} MB, peak {peak / 1024:.0f} MB "
            f"(+{growth_mb:.0f} MB), after {now / 1024:.0f} MB; 30x20 MB Slack, 200 MB chunked session, "
            f"20 MB Telegram, 10x5 MB garbage screenshots; {on_disk} bytes written"
        )
        # Before: 891 MB for one 200 MB body, 1.9 GB for the Telegram text. The limits bound it to a few MB per
        # request in flight (the 1 MB webhook limit, 5 MB screenshots read one by one, plus decoding).
        assert growth_mb < 150, f"peak RSS grew by {growth_mb:.0f} MB"


async def test_access_logs_carry_no_tokens_and_sigterm_ends_in_bounded_time_with_sockets_open(
    tmp_path: Path,
) -> None:
    admin_port = free_port()
    admin_env = {"OMNIDESK_ADMIN_PORT": str(admin_port), "OMNIDESK_ADMIN_TOKEN": "admin-token-for-tests"}
    async with (
        FakeTelegramApi() as telegram,
        asyncio.timeout(240),
        omnidesk_run(tmp_path, telegram, admin_env) as run,
    ):
        # Metrics and health details live on the admin port only, behind the token.
        async with httpx.AsyncClient(trust_env=False, timeout=10) as admin:
            admin_url = f"http://127.0.0.1:{admin_port}"
            assert (await admin.get(f"{admin_url}/metrics")).status_code == 401
            metrics = await admin.get(f"{admin_url}/metrics", headers={"Authorization": "Bearer admin-token-for-tests"})
            assert metrics.status_code == 200 and "omnidesk_" in metrics.text
            assert (await admin.get(f"{admin_url}/healthz")).json() == {"status": "ok"}
            assert (await admin.get(f"{run.url}/metrics")).status_code == 404
        ws_url = run.url.replace("http://", "ws://") + "/ws/webchat"
        async with httpx.AsyncClient(base_url=run.url, trust_env=False, timeout=60) as http:
            token = (await http.post("/api/webchat/session", json={})).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            await http.get(f"/api/webchat/history?token={token}", headers=auth)  # a client that puts it in a URL
            async with widget_socket(ws_url + "?lang=en", token) as ws:
                assert json.loads(await ws.recv())["type"] == "hello"
                await ws.send(json.dumps({"type": "message", "id": "m1", "text": "how do I reset my 2FA?"}))
                while json.loads(await ws.recv())["type"] != "ack":
                    pass
            # Open at SIGTERM: an authenticated socket, one still authenticating, and a held long-poll.
            async with (
                widget_socket(ws_url, token) as open_socket,
                connect(ws_url, proxy=None) as unauthenticated,
            ):
                assert json.loads(await open_socket.recv())["type"] == "hello"
                poll = asyncio.create_task(http.get("/api/webchat/poll?after=999999&wait=25", headers=auth))
                await asyncio.sleep(0.5)
                started = time.monotonic()
                run.process.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(run.process.wait(), SHUTDOWN_TIMEOUT + 10)
                took = time.monotonic() - started
                with contextlib.suppress(Exception):
                    await poll
                for socket in (open_socket, unauthenticated):
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(socket.recv(), 1)
        print(f"\nSIGTERM with 2 sockets and a 25 s long-poll open: exited {code} after {took:.1f} s")
        assert code == 0
        assert took < SHUTDOWN_TIMEOUT + 5, f"shutdown took {took:.1f} s"
        log = run.log
        assert '"GET /api/webchat/history?[query omitted]' in log, log[-2000:]
        assert token not in log and token.split(".")[-1] not in log
        assert "/ws/webchat" in log


@pytest.fixture(autouse=True)
def _linux_only() -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("reads memory from /proc (Linux)")
