"""Other visitors' latency while unauthenticated clients send oversized bodies (issue 13's measurement).

Run: python -m benchmarks.abuse_latency [--questions 200] [--floods 30] [--flood-mb 20]

1. Starts `omnidesk run` (the venv's console script, cwd = the repo so ./config.yaml applies) on a free loopback port
   with a temporary database, Slack over HTTP enabled (a signing secret; its API is never called) so that
   `/slack/events` exists, and no other channel credentials.
2. Baseline: one widget session asks `--questions` questions over HTTP one after another (POST /api/webchat/messages,
   answered once the desk has handled the message); latency = request -> response.
3. The same again while `--floods` clients (in a separate process) each send an unsigned `--flood-mb` MB body to
   `/slack/events` (declared Content-Length, the bytes actually written until the server answers or closes), over and
   over, back to back: once refused without being read, that is a connection flood as fast as the client can go.
4. Prints p50 / p99 / max of both runs and the server's peak RSS (VmHWM); the server is stopped with SIGTERM.
Before the body limits (issue 13): 30 such bodies took the widget's p99 from 18 ms to 19.6 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ("how do I reset my 2FA?", "what are the trading fees", "where is my deposit", "提现多久到账")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _flood_forever(url: str, size: int, stop: asyncio.Event) -> int:
    host, port = url.removeprefix("http://").split(":")
    piece = b"{" + b"a" * (256 * 1024 - 1)
    sent_bodies = 0
    while not stop.is_set():
        try:
            _, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            await asyncio.sleep(0.05)
            continue
        head = (
            f"POST /slack/events HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"X-Slack-Request-Timestamp: {int(time.time())}\r\nContent-Length: {size}\r\n\r\n"
        )
        try:
            writer.write(head.encode())
            written = 0
            while written < size and not stop.is_set():
                writer.write(piece)
                await writer.drain()
                written += len(piece)
        except OSError:
            pass  # answered 413 and closed
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        sent_bodies += 1
    return sent_bodies


async def _ask(http: httpx.AsyncClient, token: str, count: int, prefix: str) -> list[float]:
    latencies = []
    for i in range(count):
        started = time.perf_counter()
        response = await http.post(
            "/api/webchat/messages",
            json={"id": f"{prefix}{i}", "text": QUESTIONS[i % len(QUESTIONS)]},
            headers={"Authorization": f"Bearer {token}"},
        )
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code == 429:  # the widget's own rate limit: wait it out, do not count it
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
    return latencies


def _summary(name: str, latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name}: n={len(ordered)} p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms"
    )


async def _run(url: str, pid: int, questions: int, floods: int, flood_bytes: int) -> None:
    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=60) as http:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/healthz")).status_code == 200:
                    break
            await asyncio.sleep(0.1)
        tokens = [(await http.post("/api/webchat/session", json={})).json()["token"] for _ in range(2)]
        baseline = await _ask(http, tokens[0], questions, "b")
        # The attackers run in their own process, so their work does not delay this client's event loop.
        flooder = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.abuse_latency",
            "--flood",
            url,
            "--floods",
            str(floods),
            "--flood-mb",
            str(flood_bytes // 2**20),
            stdout=asyncio.subprocess.PIPE,
        )
        await asyncio.sleep(1.0)
        under = await _ask(http, tokens[1], questions, "f")
        flooder.send_signal(signal.SIGTERM)
        output, _ = await flooder.communicate()
        bodies = int(output.decode().strip() or 0)
    print(_summary("widget alone", baseline))
    print(_summary(f"widget with {floods} clients sending {flood_bytes // 2**20} MB bodies ({bodies} sent)", under))
    print(f"server peak RSS {_peak_rss_mb(pid):.0f} MB")


async def _flood(url: str, floods: int, flood_bytes: int) -> None:
    """The attackers' process: `floods` connections sending bodies back to back until SIGTERM; prints the count."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    counts = await asyncio.gather(*(_flood_forever(url, flood_bytes, stop) for _ in range(floods)))
    print(sum(counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--floods", type=int, default=30)
    parser.add_argument("--flood-mb", type=int, default=20)
    parser.add_argument("--flood", metavar="URL", help=argparse.SUPPRESS)  # internal: be the attackers' process
    args = parser.parse_args()
    if args.flood:
        asyncio.run(_flood(args.flood, args.floods, args.flood_mb * 2**20))
        return
    port = _free_port()
    script = shutil.which("omnidesk", path=str(Path(sys.executable).parent)) or "omnidesk"
    with tempfile.TemporaryDirectory() as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "X_"))}
        env |= {
            "OMNIDESK_PORT": str(port),
            "OMNIDESK_DB": str(Path(folder) / "omnidesk.db"),
            "SLACK_BOT_TOKEN": "xoxb-benchmark",
            "SLACK_SIGNING_SECRET": "benchmark-signing-secret",
            "SLACK_AGENTS_CHANNEL": "C0AGENTS",
            "SLACK_API_BASE_URL": f"http://127.0.0.1:{_free_port()}/api/",
        }
        server = subprocess.Popen(
            [script, "run"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            asyncio.run(
                _run(f"http://127.0.0.1:{port}", server.pid, args.questions, args.floods, args.flood_mb * 2**20)
            )
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
