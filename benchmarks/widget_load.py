"""The web widget under load: the real `omnidesk run` in a subprocess, a WebSocket load client in another.

Run: python -m benchmarks.widget_load [--sessions 1000] [--questions 10] [--think 10] [--quick] [--profile]

1. Starts `omnidesk run` (the venv's console script, cwd = the repo so ./config.yaml applies) on a free loopback
   port with OMNIDESK_DB in a temporary folder and no channel credentials; times it until /healthz answers 200 and
   reads its idle RSS (/proc/PID/status VmRSS).
2. A load client in a second process opens `--sessions` visitor sessions (POST /api/webchat/session for a token,
   then WS /ws/webchat with the token in its first frame, at most 100 handshakes at a time) and keeps them all open; the server's RSS is read
   again: (RSS with every session open - idle RSS) / sessions = memory per open session.
3. Every session then sends `--questions` questions, one at a time: frame {"type": "message", "id", "text"}, and the
   next only after this one's reply and ack frames arrived. Latency = send -> first "reply" frame (and -> "ack").
   Pacing: before each question a session thinks for a random 0..2x`--think` seconds (default mean 10 s, a person
   reading a reply and typing the next question: about 1,000 / 10 = 100 questions/s offered in all); `--think 3`
   offers about 330/s, `--think 0` floods (every session sends back to back, a closed loop of 1,000 in flight).
   Rate limit: the widget allows 10 messages per session in any 10 s; 10 questions per session never exceed it, so
   no pacing is needed for it, and a `rate_limited` error frame would be counted as an error like any other.
4. Errors: failed session POSTs or handshakes, error frames, sockets closed early, no reply within 30 s.
5. The client closes its sockets, the server is stopped with SIGTERM (killed if it has not exited in 20 s).
With --profile, py-spy (if installed) samples the server while it holds the GIL during step 3.
Server frames arrive as typing, reply(ies), then ack (the ack is pushed once the desk has handled the message).
Bounded: the client gives up after `--deadline` seconds (default 300); the whole run stops by itself. Loopback only.

Questions (load, not tuning): crypto FAQ paraphrases from tests/data (en + zh) and CLINC150 / Banking77 test
questions, half and half.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TESTS_DATA = ROOT / "tests" / "data"
REPLY_TIMEOUT_SECONDS = 30.0
TARGET_P99_MS = 100.0
_CREDENTIAL_VARS = (
    "TELEGRAM_BOT_TOKEN",
    "X_CONSUMER_KEY",
    "X_CONSUMER_SECRET",
    "X_ACCESS_TOKEN",
    "X_ACCESS_TOKEN_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
)


# -- the load client (second process) ----------------------------------------------------------------------------


def _questions() -> list[str]:
    from benchmarks import public_data

    faq: list[str] = []
    for name in ("heldout_en.jsonl", "heldout_zh.jsonl"):
        path = TESTS_DATA / name
        if path.exists():
            with path.open(encoding="utf-8") as handle:
                faq += [json.loads(line)["text"] for line in handle if line.strip()]
    public: list[str] = []
    for loader in (public_data.clinc150, public_data.banking77):
        data = loader()
        if data is not None:
            public += list(data.test.texts)
    rng = random.Random(0)
    if faq and public:
        public = rng.sample(public, min(len(public), len(faq)))
    return faq + public or ["how do i reset my 2fa", "how long does a withdrawal take", "what are your fees"]


class Session:
    """One visitor: a token, a socket, and the frames it has seen."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.token = ""
        self.socket: Any = None
        self.latencies_ms: list[float] = []
        self.ack_ms: list[float] = []
        self.errors: list[str] = []


async def _open_session(session: Session, base: str, http: Any, gate: asyncio.Semaphore) -> None:
    from websockets.asyncio.client import connect

    async with gate:
        try:
            async with http.post(f"{base}/api/webchat/session", json={}) as response:
                if response.status != 200:
                    session.errors.append(f"session POST {response.status}")
                    return
                session.token = (await response.json())["token"]
            ws_url = base.replace("http://", "ws://") + "/ws/webchat"
            session.socket = await connect(ws_url, open_timeout=30, ping_interval=None, max_size=2**20)
            await session.socket.send(json.dumps({"type": "auth", "token": session.token}))
            hello = json.loads(await asyncio.wait_for(session.socket.recv(), 30))
            if hello.get("type") != "hello":
                session.errors.append(f"first frame {hello.get('type')}")
        except Exception as exc:  # any failure to open is an error of the run, not of the client
            session.errors.append(f"open: {type(exc).__name__}: {exc}")
            session.socket = None


async def _ask(session: Session, questions: Sequence[str], think: float, rng: random.Random) -> None:
    if session.socket is None:
        return
    for i, text in enumerate(questions):
        if think > 0:
            await asyncio.sleep(rng.uniform(0, 2 * think))
        client_id = f"q{i}"
        try:
            started = time.perf_counter()
            await session.socket.send(json.dumps({"type": "message", "id": client_id, "text": text}))
            replied = acked = False
            deadline = started + REPLY_TIMEOUT_SECONDS
            while not (replied and acked):
                raw = await asyncio.wait_for(session.socket.recv(), max(0.01, deadline - time.perf_counter()))
                frame = json.loads(raw)
                kind = frame.get("type")
                elapsed = (time.perf_counter() - started) * 1000
                if kind == "reply" and not replied:
                    replied = True
                    session.latencies_ms.append(elapsed)
                elif kind == "ack" and frame.get("id") == client_id:
                    acked = True
                    session.ack_ms.append(elapsed)
                elif kind == "error":
                    session.errors.append(f"error frame {frame.get('code')}")
                    break
        except TimeoutError:
            session.errors.append("no reply in time")
        except Exception as exc:  # a closed socket ends this session's run
            session.errors.append(f"{type(exc).__name__}: {exc}")
            return


async def client(port: int, sessions: int, questions_each: int, think: float, deadline: float) -> dict[str, Any]:
    """Open every session, say "opened" on stdout and wait for "go" on stdin; ask; report; close on "close"."""
    import aiohttp

    base = f"http://127.0.0.1:{port}"
    pool = _questions()
    rng = random.Random(1)
    all_sessions = [Session(n) for n in range(sessions)]
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as http:
        gate = asyncio.Semaphore(100)
        started = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(_open_session(s, base, http, gate) for s in all_sessions)), deadline)
        open_seconds = time.perf_counter() - started
    opened = sum(1 for s in all_sessions if s.socket is not None)
    print(json.dumps({"event": "opened", "sessions": opened, "seconds": open_seconds}), flush=True)
    await reader.readline()  # "go"
    started = time.perf_counter()
    asks = [
        _ask(s, [rng.choice(pool) for _ in range(questions_each)], think, random.Random(s.number)) for s in all_sessions
    ]
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.gather(*asks), deadline)
    except TimeoutError:
        timed_out = True
    ask_seconds = time.perf_counter() - started
    latencies = sorted(x for s in all_sessions for x in s.latencies_ms)
    acks = sorted(x for s in all_sessions for x in s.ack_ms)
    errors: dict[str, int] = {}
    for s in all_sessions:
        for e in s.errors:
            errors[e] = errors.get(e, 0) + 1
    print(json.dumps({"event": "asked"}), flush=True)
    await reader.readline()  # "close"
    await asyncio.gather(*(s.socket.close() for s in all_sessions if s.socket is not None), return_exceptions=True)
    return {
        "event": "result",
        "sessions_opened": opened,
        "open_seconds": open_seconds,
        "ask_seconds": ask_seconds,
        "timed_out": timed_out,
        "replies": len(latencies),
        "expected": sessions * questions_each,
        "p50": _pct(latencies, 50),
        "p90": _pct(latencies, 90),
        "p99": _pct(latencies, 99),
        "max": latencies[-1] if latencies else None,
        "ack_p50": _pct(acks, 50),
        "ack_p99": _pct(acks, 99),
        "errors": errors,
    }


def _pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    return values[max(0, min(len(values) - 1, round(q / 100 * len(values) + 0.5) - 1))]


# -- the driver (first process) ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _start_profiler(pid: int, output: Path) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the server while it holds the GIL (where its CPU goes), until `_print_profile`."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        print("profile skipped: py-spy is not installed (pip install py-spy)")
        return None
    command = [str(spy), "record", "--pid", str(pid), "--gil", "--rate", "200", "--format", "raw", "-o", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _print_profile(spy: subprocess.Popen[bytes], output: Path, top: int = 40) -> None:
    """Stop py-spy and print the share of GIL-holding samples that passed through each frame."""
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait(5)
    if not output.exists():
        print("profile: py-spy wrote nothing (does it have ptrace permission?)")
        return
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in output.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for frame in dict.fromkeys(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    print(f"profile (py-spy --gil, {total} samples while the server held the GIL): inclusive share per frame")
    for frame, count in sorted(inclusive.items(), key=lambda item: -item[1])[:top]:
        print(f"  {100 * count / max(1, total):5.1f}%  {frame[:140]}")
    print("self time:")
    for frame, count in sorted(own.items(), key=lambda item: -item[1])[:20]:
        print(f"  {100 * count / max(1, total):5.1f}%  {frame[:140]}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _read_event(process: subprocess.Popen[str], deadline: float) -> dict[str, Any]:
    """The client's next JSON line (its stdout), or an error once it exits or the deadline passes."""
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"load client exited ({process.poll()})")
        with contextlib.suppress(ValueError):
            event: dict[str, Any] = json.loads(line)
            return event
    raise RuntimeError("load client did not answer in time")


def _stop(server: subprocess.Popen[bytes]) -> float:
    started = time.perf_counter()
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
    return time.perf_counter() - started


def drive(sessions: int, questions: int, think: float, deadline: float, profile: bool = False) -> int:
    """Run the whole benchmark; returns the exit status."""
    console_script = Path(sys.executable).with_name("omnidesk")
    if not console_script.exists():
        print(f"skipped: {console_script} not found (pip install -e . in the venv)")
        return 0
    with tempfile.TemporaryDirectory(prefix="omnidesk-widget-load-") as folder:
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if k not in _CREDENTIAL_VARS}
        env |= {
            "OMNIDESK_PORT": str(port),
            "OMNIDESK_HOST": "127.0.0.1",
            "OMNIDESK_DB": str(Path(folder) / "omnidesk.db"),
        }
        log_path = Path(folder) / "server.log"
        with log_path.open("wb") as server_log:
            started = time.perf_counter()
            server = subprocess.Popen(
                [str(console_script), "run"], cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT
            )
            try:
                return _drive_running(server, port, started, sessions, questions, think, deadline, log_path, profile)
            finally:
                stop_seconds = _stop(server)
                print(f"server stopped by SIGTERM in {stop_seconds:.2f} s (exit status {server.returncode})")


def _drive_running(
    server: subprocess.Popen[bytes],
    port: int,
    started: float,
    sessions: int,
    questions: int,
    think: float,
    deadline: float,
    log_path: Path,
    profile: bool,
) -> int:
    while not _healthy(port):
        if server.poll() is not None or time.perf_counter() - started > 60:
            print("omnidesk run did not become healthy:\n" + log_path.read_text(errors="replace")[-3000:])
            return 1
        time.sleep(0.02)
    startup = time.perf_counter() - started
    time.sleep(1.0)
    idle = _rss_mb(server.pid)
    print(f"omnidesk run: healthy after {startup:.2f} s; idle RSS {idle:.1f} MB (pid {server.pid}, port {port})")
    command = [sys.executable, "-m", "benchmarks.widget_load", "--client", str(port), "--sessions", str(sessions)]
    command += ["--questions", str(questions), "--think", str(think), "--deadline", str(deadline)]
    ends = time.monotonic() + 3 * deadline + 60
    load = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert load.stdin is not None
        opened = _read_event(load, ends)
        time.sleep(0.5)
        with_sessions = _rss_mb(server.pid)
        per_session_kb = (with_sessions - idle) * 1024 / max(1, opened["sessions"])
        print(
            f"{opened['sessions']} of {sessions} sessions open in {opened['seconds']:.2f} s; server RSS "
            f"{with_sessions:.1f} MB -> {per_session_kb:.1f} KB per open session"
        )
        spy = _start_profiler(server.pid, Path(log_path).with_name("profile.txt")) if profile else None
        cpu_before = (_cpu_seconds(server.pid), _cpu_seconds(load.pid), time.perf_counter())
        load.stdin.write("go\n")
        load.stdin.flush()
        _read_event(load, ends)
        cpu_after = (_cpu_seconds(server.pid), _cpu_seconds(load.pid), time.perf_counter())
        if spy is not None:
            _print_profile(spy, Path(log_path).with_name("profile.txt"))
        after_questions = _rss_mb(server.pid)
        load.stdin.write("close\n")
        load.stdin.flush()
        result = _read_event(load, ends)
        load.wait(30)
        time.sleep(1.0)
        after_close = _rss_mb(server.pid)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait(5)
    print(
        f"server RSS after {result['replies']:,} questions with sessions open {after_questions:.1f} MB "
        f"({(after_questions - idle) * 1024 / max(1, opened['sessions']):.1f} KB per session); "
        f"after the sessions closed {after_close:.1f} MB"
    )
    server_cpu, client_cpu, wall = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
    print(
        f"CPU while asking: server {server_cpu:.1f} s ({100 * server_cpu / wall:.0f}% of one core, "
        f"{1000 * server_cpu / max(1, result['replies']):.2f} ms per question), load client {client_cpu:.1f} s "
        f"({100 * client_cpu / wall:.0f}%), over {wall:.1f} s"
    )
    print()
    print(
        "| sessions | questions each | think mean s | replies | wall s | replies/s | p50 ms | p90 ms | p99 ms | max ms "
        "| ack p99 ms | errors | unanswered |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    errors = sum(result["errors"].values())  # failed opens, error frames, early closes, timeouts
    unanswered = result["expected"] - result["replies"]
    rate = result["replies"] / result["ask_seconds"] if result["ask_seconds"] else 0.0

    def ms(value: float | None) -> str:
        return f"{value:.1f}" if value is not None else "-"

    print(
        f"| {sessions:,} | {questions} | {think:g} | {result['replies']:,} / {result['expected']:,} | "
        f"{result['ask_seconds']:.1f} | {rate:,.0f} | {ms(result['p50'])} | {ms(result['p90'])} | {ms(result['p99'])} | "
        f"{ms(result['max'])} | {ms(result['ack_p99'])} | {errors} | {unanswered} |"
    )
    if result["errors"]:
        print("errors: " + ", ".join(f"{k} x{v}" for k, v in sorted(result["errors"].items())))
    if result["timed_out"]:
        print(f"the client's deadline ({deadline:g} s) passed before every question was answered")
    p99 = result["p99"]
    met = p99 is not None and p99 < TARGET_P99_MS
    print(
        f"target p99 < {TARGET_P99_MS:g} ms: {ms(p99)} ms -> {'met' if met else 'MISSED'}; errors {errors}, unanswered {unanswered} -> {'met' if errors == 0 and unanswered == 0 else 'MISSED'}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    """Drive the benchmark, or (with --client PORT) be the load client."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=1_000)
    parser.add_argument("--questions", type=int, default=10, help="questions per session (10 = the rate limit)")
    parser.add_argument("--think", type=float, default=10.0, help="mean seconds a session waits before each question")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds the client may take per phase")
    parser.add_argument("--quick", action="store_true", help="200 sessions, think 2 s (about 30 s)")
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy while it is asked")
    parser.add_argument("--client", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        result = asyncio.run(client(args.client, args.sessions, args.questions, args.think, args.deadline))
        print(json.dumps(result), flush=True)
        return
    if args.quick:
        args.sessions, args.think = 200, 2.0
    sys.exit(drive(args.sessions, args.questions, args.think, args.deadline, args.profile))


if __name__ == "__main__":
    main()
