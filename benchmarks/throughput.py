"""The whole path in one process: Desk (router + SQLite store + outbox), messages fed straight to `desk.handle`.

Run: python -m benchmarks.throughput [--messages 4000] [--repeats 2] [--concurrency 1,32] [--rates 500,1000]
     [--profile]

`open_runtime` on a temporary SQLite file (WAL, as shipped) with an in-memory channel named "webchat"; the process is
pinned to one CPU (the store's database thread shares it). Two latencies per message, from the moment it arrives:
to its reply committed in the outbox (with the message, the conversation state and the inbox row, in one
transaction), and to `desk.handle` returning (the reply also handed to the channel and marked sent).

Two kinds of load:
- closed loop, N in flight: N workers, each owning a share of the conversations (so one conversation's messages stay
  in order, as a channel delivers them), each sending its next message when the last is done. This measures
  capacity; its latency is mostly queueing (N / capacity).
- open loop, R per second: messages arrive at random (Poisson) times at R per second, whether or not earlier ones are
  done; the latency at that load.

The load (not tuning: nothing here feeds back into the matcher): 45% crypto FAQ paraphrases (tests/data heldout,
en + zh), 25% CLINC150 / Banking77 test questions (mostly out of our scope), 10% messages carrying a secret (a valid
BIP39 seed phrase, a private key, a password), 10% escalations (tests/data/escalation.jsonl), 10% chit-chat and
advice requests (tests/data/out_of_scope.jsonl), in conversations of 8 messages each, interleaved at random (below
the desk's per-user flood limit, so no message is dropped; the script counts any that are).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from adapters.base import InMemoryChannel
from benchmarks import public_data
from bot.app.config import load_config
from bot.app.wiring import Runtime, open_runtime
from bot.core.messages import InboundMessage

ROOT = Path(__file__).resolve().parents[1]
TESTS_DATA = ROOT / "tests" / "data"
CHANNEL = "webchat"
TARGET_PER_SECOND = 1_000
TARGET_P99_MS = 20.0
MESSAGES_PER_CONVERSATION = 8


def _jsonl(name: str) -> list[dict[str, Any]]:
    path = TESTS_DATA / name
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _secret_messages(rng: random.Random, count: int) -> list[str]:
    from mnemonic import Mnemonic

    english = Mnemonic("english")
    templates = [
        lambda: f"here is my seed phrase {english.generate(128)} please restore my wallet",
        lambda: f"my private key is {rng.getrandbits(256):064x} why is my balance zero",
        lambda: f"login fails, my password is Tr0ub4dor&{rng.randrange(10**6)} can you check",
        lambda: f"助记词是 {english.generate(128)} 帮我看看",
    ]
    return [rng.choice(templates)() for _ in range(count)]


def build_load(total: int, seed: int = 0) -> list[tuple[str, str]]:
    """(conversation id, text) in arrival order."""
    rng = random.Random(seed)
    faq = [r["text"] for r in _jsonl("heldout_en.jsonl") + _jsonl("heldout_zh.jsonl")]
    escalation = [r["text"] for r in _jsonl("escalation.jsonl")]
    off_topic = [r["text"] for r in _jsonl("out_of_scope.jsonl")]
    public: list[str] = []
    for loader in (public_data.clinc150, public_data.banking77):
        data = loader()
        if data is not None:
            public += list(data.test.texts)
    public = public or faq
    kinds = [
        (0.45, faq or public),
        (0.25, public),
        (0.10, None),
        (0.10, escalation or public),
        (0.10, off_topic or public),
    ]
    texts: list[str] = []
    secrets = iter(_secret_messages(rng, total))
    for _ in range(total):
        pick = rng.random()
        for share, pool in kinds:
            if pick < share:
                texts.append(next(secrets) if pool is None else rng.choice(pool))
                break
            pick -= share
        else:
            texts.append(rng.choice(public))
    # Each conversation gets MESSAGES_PER_CONVERSATION messages, interleaved at random: under the desk's per-user
    # flood limit, so every message is routed and answered (a dropped one would be counted and shown).
    owners = [f"c{n // MESSAGES_PER_CONVERSATION}" for n in range(total)]
    rng.shuffle(owners)
    return list(zip(owners, texts, strict=True))


async def _open(db: Path) -> tuple[Runtime, InMemoryChannel]:
    config = load_config(ROOT / "config.yaml", env={"OMNIDESK_DB": str(db)})
    channel = InMemoryChannel(name=CHANNEL)
    runtime = await open_runtime(config, channels={CHANNEL: channel})
    gc.collect()
    gc.freeze()  # as `omnidesk run` does once started (bot/server.py)
    return runtime, channel


def _percentiles(latencies: list[float]) -> tuple[float, float, float]:
    latencies = sorted(latencies)
    return latencies[len(latencies) // 2], latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], latencies[-1]


async def run_once(load: list[tuple[str, str]], mode: str, level: float, run: int, warmup: int) -> dict[str, float]:
    """Feed the load through a fresh runtime; figures for the messages after the warm-up.

    mode "closed": `level` workers, each sending its next message when the last one is done (capacity).
    mode "open": messages arrive at `level` per second (Poisson), whether or not earlier ones are done (latency at
    a given load); a conversation's messages are still handled in order, as a channel delivers them.
    """
    with tempfile.TemporaryDirectory(prefix="omnidesk-bench-") as folder:
        started = time.perf_counter()
        runtime, channel = await _open(Path(folder) / "bench.db")
        open_seconds = time.perf_counter() - started
        committed_at: dict[str, float] = {}
        complete_inbound = runtime.store.complete_inbound

        async def timed_complete(*args: Any, **kwargs: Any) -> Any:
            result = await complete_inbound(*args, **kwargs)
            committed_at[args[1]] = time.perf_counter()  # args[1]: the platform message id
            return result

        runtime.store.complete_inbound = timed_complete  # type: ignore[method-assign]
        try:
            to_commit: list[float] = []
            to_return: list[float] = []
            dropped = [0]

            async def handle(number: int, conversation: str, text: str, since: float) -> None:
                message_id = f"r{run}-m{number}"
                result = await runtime.desk.handle(
                    InboundMessage(CHANNEL, conversation, conversation, message_id, text)
                )
                if number >= warmup:
                    done = time.perf_counter()
                    to_return.append((done - since) * 1000)
                    to_commit.append((committed_at.get(message_id, done) - since) * 1000)
                    dropped[0] += result is None

            async def worker(items: list[tuple[int, str, str]]) -> None:
                for number, conversation, text in items:
                    await handle(number, conversation, text, time.perf_counter())

            # Warm-up (caches, first transactions) before the clock starts.
            await worker([(n, c, t) for n, (c, t) in enumerate(load[:warmup])])
            timed = [(n, c, t) for n, (c, t) in enumerate(load) if n >= warmup]
            started = time.perf_counter()
            if mode == "closed":
                queues: list[list[tuple[int, str, str]]] = [[] for _ in range(int(level))]
                for item in timed:
                    queues[int(item[1][1:]) % int(level)].append(item)
                await asyncio.gather(*(worker(q) for q in queues))
            else:
                await _open_loop(timed, level, started, handle)
            elapsed = time.perf_counter() - started
        finally:
            await runtime.close()
            gc.unfreeze()  # the next run starts from a fresh runtime
    p50, p99, worst = _percentiles(to_return)
    c50, c99, _ = _percentiles(to_commit)
    return {
        "messages": len(to_return),
        "per_second": len(to_return) / elapsed,
        "p50": p50,
        "p99": p99,
        "max": worst,
        "commit_p50": c50,
        "commit_p99": c99,
        "replies": len(channel.sent),
        "dropped": dropped[0],
        "open_seconds": open_seconds,
    }


async def _open_loop(
    items: list[tuple[int, str, str]],
    rate: float,
    started: float,
    handle: Callable[[int, str, str, float], Awaitable[None]],
) -> None:
    """Start each message at its Poisson arrival time; latency counts from that time, even when the loop is late
    to start it (no coordinated omission). A conversation's next message waits for its previous one."""
    rng = random.Random(1)
    last: dict[str, asyncio.Task[None]] = {}
    tasks: list[asyncio.Task[None]] = []

    async def in_order(item: tuple[int, str, str], arrival: float, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await before
        await handle(*item, arrival)

    arrival = started
    for item in items:
        arrival += rng.expovariate(rate)
        delay = arrival - time.perf_counter()
        if delay > 0.001:
            await asyncio.sleep(delay)
        task = asyncio.create_task(in_order(item, arrival, last.get(item[1])))
        last[item[1]] = task
        tasks.append(task)
    await asyncio.gather(*tasks)


async def _profile(load: list[tuple[str, str]]) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("profile skipped: pyinstrument is not installed (pip install pyinstrument)")
        return
    with tempfile.TemporaryDirectory(prefix="omnidesk-bench-") as folder:
        runtime, _ = await _open(Path(folder) / "bench.db")
        try:
            profiler = Profiler(interval=0.0005, async_mode="enabled")
            profiler.start()
            for number, (conversation, text) in enumerate(load):
                await runtime.desk.handle(InboundMessage(CHANNEL, conversation, conversation, f"p{number}", text))
            profiler.stop()
        finally:
            await runtime.close()
    print(profiler.output_text(unicode=True, color=False, show_all=False))


def main(argv: Sequence[str] | None = None) -> None:
    """Print messages/s and latency for each concurrency and each offered rate."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=4_000, help="timed messages per run (after 200 warm-up)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--concurrency", default="1,32", help="closed loop: comma-separated numbers of workers")
    parser.add_argument("--rates", default="500,1000", help="open loop: comma-separated offered messages per second")
    parser.add_argument("--cpu", type=int, default=None, help="the CPU to pin to (default: the last one allowed)")
    parser.add_argument(
        "--all-cpus", action="store_true", help="do not pin: the database thread may run beside the event loop"
    )
    parser.add_argument("--profile", action="store_true", help="profile one sequential run with pyinstrument instead")
    parser.add_argument("--quick", action="store_true", help="1,000 messages, one repeat")
    args = parser.parse_args(argv)
    cpu = args.cpu if args.cpu is not None else max(os.sched_getaffinity(0))
    if not args.all_cpus:
        os.sched_setaffinity(0, {cpu})  # before the store's thread starts: it inherits the mask
    import logging

    logging.basicConfig(level=logging.WARNING)
    messages, repeats = (1_000, 1) if args.quick else (args.messages, args.repeats)
    warmup = 200
    load = build_load(messages + warmup)
    if args.profile:
        asyncio.run(_profile(load[: min(len(load), 2_000)]))
        return
    where = f"on all {len(os.sched_getaffinity(0))} CPUs" if args.all_cpus else f"pinned to CPU {cpu} of {os.cpu_count()}"
    print(f"{where}; {messages} timed messages per run after {warmup} warm-up")
    print("latency in ms: to the reply committed in the outbox / to `desk.handle` returning (reply sent, marked sent)")
    print("| load | run | messages/s | p50 commit | p99 commit | p50 return | p99 return | max | replies | dropped |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    modes = [("closed", float(c), f"{c} in flight") for c in args.concurrency.split(",") if c]
    modes += [("open", float(r), f"{r}/s offered") for r in args.rates.split(",") if r]
    summary: dict[str, list[dict[str, float]]] = {}
    for mode, level, label in modes:
        for run in range(repeats):
            figures = asyncio.run(run_once(load, mode, level, run, warmup))
            summary.setdefault(label, []).append(figures)
            print(
                f"| {label} | {run + 1} | {figures['per_second']:,.0f} | {figures['commit_p50']:.2f} | "
                f"{figures['commit_p99']:.2f} | {figures['p50']:.2f} | {figures['p99']:.2f} | {figures['max']:.1f} | "
                f"{figures['replies']:,.0f} | {figures['dropped']:.0f} |",
                flush=True,
            )
    print()
    closed = [label for mode, _, label in modes if mode == "closed"]
    capacity = max((statistics.median(r["per_second"] for r in summary[label]) for label in closed), default=0.0)
    print(
        f"capacity (best closed-loop median): {capacity:,.0f} msg/s (target >= {TARGET_PER_SECOND:,}: "
        f"{'met' if capacity >= TARGET_PER_SECOND else 'MISSED'})"
    )
    for label, runs in summary.items():
        p99 = statistics.median(r["commit_p99"] for r in runs)
        print(
            f"{label}: median {statistics.median(r['per_second'] for r in runs):,.0f} msg/s, p99 to commit "
            f"{p99:.2f} ms (target < {TARGET_P99_MS:g}: {'met' if p99 < TARGET_P99_MS else 'MISSED'}), p99 to return "
            f"{statistics.median(r['p99'] for r in runs):.2f} ms"
        )


if __name__ == "__main__":
    main()
