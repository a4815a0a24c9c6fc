"""The whole path in one process: Desk (router + SQLite store + outbox), messages fed straight to `desk.handle`.

Run: python -m benchmarks.throughput [--messages 4000] [--repeats 2] [--concurrency 1,32] [--profile]

`open_runtime` on a temporary SQLite file (WAL, as shipped) with an in-memory channel named "webchat"; the process is
pinned to one CPU (the aiosqlite worker thread shares it). Latency is from calling `desk.handle` to its return, by
which the inbound message, the transcript, the conversation state and the reply's outbox row are committed and the
reply handed to the channel. Modes: concurrency 1 (one message at a time) and concurrency N (N workers, each owning
a share of the conversations, so one conversation's messages stay in order, as a channel delivers them).

The load (not tuning: nothing here feeds back into the matcher): 45% crypto FAQ paraphrases (tests/data heldout,
en + zh), 25% CLINC150 / Banking77 test questions (mostly out of our scope), 10% messages carrying a secret (a valid
BIP39 seed phrase, a private key, a password), 10% escalations (tests/data/escalation.jsonl), 10% chit-chat and
advice requests (tests/data/out_of_scope.jsonl), in conversations of 8 messages each, interleaved at random (below
the desk's per-user flood limit, so no message is dropped; the script counts any that are).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adapters.base import InMemoryChannel
from benchmarks import public_data
from bot.app import Runtime, open_runtime
from bot.config import load_config
from bot.messages import InboundMessage

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
    return runtime, channel


async def run_once(load: list[tuple[str, str]], concurrency: int, run: int, warmup: int) -> dict[str, float]:
    """Feed the load through a fresh runtime; figures for the messages after the warm-up."""
    with tempfile.TemporaryDirectory(prefix="omnidesk-bench-") as folder:
        started = time.perf_counter()
        runtime, channel = await _open(Path(folder) / "bench.db")
        open_seconds = time.perf_counter() - started
        try:
            latencies: list[float] = []
            dropped = [0]
            queues: list[list[tuple[int, str, str]]] = [[] for _ in range(concurrency)]
            for number, (conversation, text) in enumerate(load):
                queues[int(conversation[1:]) % concurrency].append((number, conversation, text))

            async def worker(items: list[tuple[int, str, str]]) -> None:
                for number, conversation, text in items:
                    message = InboundMessage(CHANNEL, conversation, conversation, f"r{run}-m{number}", text)
                    t0 = time.perf_counter()
                    result = await runtime.desk.handle(message)
                    if number >= warmup:
                        latencies.append((time.perf_counter() - t0) * 1000)
                        dropped[0] += result is None

            # Warm-up (caches, first transactions) before the clock starts.
            await worker([(n, c, t) for n, (c, t) in enumerate(load[:warmup])])
            started = time.perf_counter()
            await asyncio.gather(*(worker([i for i in q if i[0] >= warmup]) for q in queues))
            elapsed = time.perf_counter() - started
        finally:
            await runtime.close()
    latencies.sort()
    replies = len(channel.sent)
    return {
        "messages": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max": latencies[-1],
        "replies": replies,
        "dropped": dropped[0],
        "open_seconds": open_seconds,
    }


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
    """Print messages/s and latency for each concurrency."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=4_000, help="timed messages per run (after 200 warm-up)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--concurrency", default="1,32", help="comma-separated numbers of concurrent workers")
    parser.add_argument("--cpu", type=int, default=None, help="the CPU to pin to (default: the last one allowed)")
    parser.add_argument("--profile", action="store_true", help="profile one sequential run with pyinstrument instead")
    parser.add_argument("--quick", action="store_true", help="1,000 messages, one repeat")
    args = parser.parse_args(argv)
    cpu = args.cpu if args.cpu is not None else max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})  # before the store's thread starts: it inherits the mask
    import logging

    logging.basicConfig(level=logging.WARNING)
    messages, repeats = (1_000, 1) if args.quick else (args.messages, args.repeats)
    warmup = 200
    load = build_load(messages + warmup)
    if args.profile:
        asyncio.run(_profile(load[: min(len(load), 2_000)]))
        return
    print(f"pinned to CPU {cpu} of {os.cpu_count()}; {messages} timed messages per run after {warmup} warm-up")
    print("| concurrency | run | messages/s | p50 ms | p99 ms | max ms | replies sent | dropped |")
    print("|---|---|---|---|---|---|---|---|")
    summary: dict[int, list[dict[str, float]]] = {}
    for concurrency in (int(c) for c in args.concurrency.split(",")):
        for run in range(repeats):
            figures = asyncio.run(run_once(load, concurrency, run, warmup))
            summary.setdefault(concurrency, []).append(figures)
            print(
                f"| {concurrency} | {run + 1} | {figures['per_second']:,.0f} | {figures['p50']:.2f} | "
                f"{figures['p99']:.2f} | {figures['max']:.1f} | {figures['replies']:,.0f} | {figures['dropped']:.0f} |",
                flush=True,
            )
    print()
    for concurrency, runs in summary.items():
        rate = statistics.median(r["per_second"] for r in runs)
        p99 = statistics.median(r["p99"] for r in runs)
        print(
            f"concurrency {concurrency}: median {rate:,.0f} msg/s (target >= {TARGET_PER_SECOND:,}: "
            f"{'met' if rate >= TARGET_PER_SECOND else 'MISSED'}), p99 {p99:.2f} ms (target < {TARGET_P99_MS:g}: "
            f"{'met' if p99 < TARGET_P99_MS else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
