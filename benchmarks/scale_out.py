"""The whole path on each engine in one run: SQLite (one process) and PostgreSQL with 1, 2 and 3 instances.

Run: python -m benchmarks.scale_out [--messages 3000] [--concurrency 16] [--instances 1,2,3] [--url postgresql://...]

Each instance is a process of its own with `open_runtime` (router + store + outbox, an in-memory channel named
"webchat"), as `omnidesk run` wires it; the conversations are spread over the instances (as a load balancer
spreads visitors), each instance handling its share with `--concurrency` messages in flight (closed loop: a
conversation's next message when its last is done). The load is `benchmarks.throughput`'s (FAQ paraphrases, public
data-set questions, secrets, escalations, small talk). Without `--url` a throw-away PostgreSQL cluster is started
(Debian's binaries, as the tests do), with durable commits (`synchronous_commit=on`, fsync on).

Printed per configuration: messages per second over all instances, p50/p99 of `desk.handle` (arrival to reply
committed, delivered and marked sent), store round trips per message (asyncpg calls; SQLite: hops to its database
thread), and CPU milliseconds per message split into routing (`Router.decide`), delivery (`Outbox.deliver`: the
channel call and marking it sent) and store (the rest of the instance's CPU, plus the PostgreSQL server's own CPU per
message), measured in a second pass with one message in flight so each timer sees one message's work alone.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.throughput import CHANNEL, ROOT, build_load

WARMUP = 100
CPU_PASS_MESSAGES = 300


@dataclass(frozen=True)
class Engine:
    """Where the instances keep their state."""

    name: str
    url: str  # "" for SQLite
    path: str
    instances: int


def _count_round_trips() -> list[int]:
    """Count the store's round trips in this process (benchmark instrumentation only)."""
    counter = [0]
    import asyncpg.connection

    from bot.store.sqlite_thread import SqliteThread

    for name in ("_execute", "_executemany"):
        original = getattr(asyncpg.connection.Connection, name)

        def counted(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            counter[0] += 1
            return _original(self, *args, **kwargs)

        setattr(asyncpg.connection.Connection, name, counted)
    plain_execute = asyncpg.connection.Connection.execute

    async def execute(self: Any, query: str, *args: Any, timeout: float | None = None) -> str:
        if not args:  # with arguments it goes through _execute, counted there
            counter[0] += 1
        return await plain_execute(self, query, *args, timeout=timeout)

    asyncpg.connection.Connection.execute = execute  # type: ignore[method-assign]
    submit = SqliteThread._submit

    async def counted_submit(self: Any, *args: Any, **kwargs: Any) -> Any:
        counter[0] += 1
        return await submit(self, *args, **kwargs)

    SqliteThread._submit = counted_submit  # type: ignore[method-assign]
    return counter


async def _instance(
    engine: Engine, share: list[tuple[int, str, str]], concurrency: int, start_at: float
) -> dict[str, Any]:
    from adapters.base import InMemoryChannel
    from bot.app.config import load_config
    from bot.app.wiring import open_runtime
    from bot.core.messages import InboundMessage

    round_trips = _count_round_trips()
    env = {"OMNIDESK_DB": engine.path, "OMNIDESK_DATABASE_URL": engine.url}
    config = load_config(ROOT / "config.yaml", env=env)
    channel = InMemoryChannel(name=CHANNEL)
    runtime = await open_runtime(config, channels={CHANNEL: channel})
    gc.collect()
    gc.freeze()
    latencies: list[float] = []

    async def handle(number: int, conversation: str, text: str, record: bool) -> None:
        since = time.perf_counter()
        await runtime.desk.handle(InboundMessage(CHANNEL, conversation, conversation, f"m{number}", text))
        if record:
            latencies.append((time.perf_counter() - since) * 1000)

    async def worker(items: list[tuple[int, str, str]], record: bool) -> None:
        for number, conversation, text in items:
            await handle(number, conversation, text, record)

    try:
        warm, timed = share[:WARMUP], share[WARMUP:]
        await worker(warm, False)
        cpu_pass, timed = timed[:CPU_PASS_MESSAGES], timed[CPU_PASS_MESSAGES:]
        # CPU split: one message in flight, so each timer below sees one message's work alone.
        split = {"routing": 0.0, "delivery": 0.0}
        decide, deliver = runtime.core.router.decide, runtime.outbox.deliver

        async def timed_decide(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return await decide(*args, **kwargs)
            finally:
                split["routing"] += time.thread_time() - started

        async def timed_deliver(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return await deliver(*args, **kwargs)
            finally:
                split["delivery"] += time.thread_time() - started

        runtime.core.router.decide = timed_decide  # type: ignore[method-assign]
        runtime.outbox.deliver = timed_deliver  # type: ignore[method-assign]
        cpu_started, trips_started = time.process_time(), round_trips[0]
        await worker(cpu_pass, False)
        cpu_total = time.process_time() - cpu_started
        trips = round_trips[0] - trips_started
        runtime.core.router.decide = decide  # type: ignore[method-assign]
        runtime.outbox.deliver = deliver  # type: ignore[method-assign]
        # Everybody starts the timed part together.
        await asyncio.sleep(max(0.0, start_at - time.time()))
        queues: list[list[tuple[int, str, str]]] = [[] for _ in range(concurrency)]
        for item in timed:
            queues[int(item[1][1:]) % concurrency].append(item)
        started = time.perf_counter()
        await asyncio.gather(*(worker(q, True) for q in queues))
        elapsed = time.perf_counter() - started
    finally:
        await runtime.close()
    return {
        "latencies": latencies,
        "elapsed": elapsed,
        "cpu_messages": len(cpu_pass),
        "cpu_total": cpu_total,
        "routing": split["routing"],
        "delivery": split["delivery"],
        "round_trips": trips,
    }


def _run_instance(
    engine: Engine, share: list[tuple[int, str, str]], concurrency: int, start_at: float, out: Any
) -> None:
    out.put(asyncio.run(_instance(engine, share, concurrency, start_at)))


def _postgres_cpu_seconds(data_dir: Path | None) -> float:
    """utime + stime of the PostgreSQL server's processes (the postmaster's children), from /proc."""
    if data_dir is None:
        return 0.0
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == postmaster or int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return total / ticks


def run_engine(
    engine: Engine, load: list[tuple[str, str]], concurrency: int, data_dir: Path | None
) -> dict[str, float]:
    shares: list[list[tuple[int, str, str]]] = [[] for _ in range(engine.instances)]
    for number, (conversation, text) in enumerate(load):
        shares[int(conversation[1:]) % engine.instances].append((number, conversation, text))
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    start_at = time.time() + 25 + 5 * engine.instances  # after every instance has built its router and warmed up
    processes = [
        context.Process(target=_run_instance, args=(engine, share, concurrency, start_at, out)) for share in shares
    ]
    for process in processes:
        process.start()
    server_before = _postgres_cpu_seconds(data_dir)
    results = [out.get(timeout=900) for _ in processes]
    server_cpu = _postgres_cpu_seconds(data_dir) - server_before
    for process in processes:
        process.join()
    latencies = sorted(latency for result in results for latency in result["latencies"])
    messages = len(latencies)
    elapsed = max(result["elapsed"] for result in results)
    cpu_messages = sum(result["cpu_messages"] for result in results)
    routing = sum(result["routing"] for result in results) / cpu_messages * 1000
    delivery = sum(result["delivery"] for result in results) / cpu_messages * 1000
    client = sum(result["cpu_total"] for result in results) / cpu_messages * 1000
    # The server's CPU over the whole run (warm-up, CPU pass and timed part), per message handled.
    server = server_cpu / (messages + cpu_messages + WARMUP * engine.instances) * 1000
    return {
        "per_second": messages / elapsed,
        "p50": latencies[messages // 2],
        "p99": latencies[min(messages - 1, int(messages * 0.99))],
        "round_trips": sum(result["round_trips"] for result in results) / cpu_messages,
        "routing_ms": routing,
        "delivery_ms": delivery,
        "store_ms": client - routing - delivery + server,
        "server_ms": server,
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Run every configuration and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3_000, help="timed messages per configuration")
    parser.add_argument("--concurrency", type=int, default=16, help="messages in flight per instance")
    parser.add_argument("--instances", default="1,2,3", help="PostgreSQL instance counts")
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a throw-away cluster)")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.instances.split(",")]
    total = args.messages + max(counts) * (WARMUP + CPU_PASS_MESSAGES)
    print(f"machine: {os.cpu_count()} cores; {args.messages} timed messages, {args.concurrency} in flight per instance")
    print(f"{'engine':18s} {'msg/s':>7s} {'p50 ms':>7s} {'p99 ms':>7s} {'trips':>6s} "
          f"{'CPU ms/msg: routing':>20s} {'store':>6s} {'(server)':>8s} {'delivery':>8s}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="omnidesk-scale-") as folder:
        engines = [Engine("SQLite, 1 process", "", str(Path(folder) / "bench.db"), 1)]
        cluster_context = None
        data_dir: Path | None = None
        url = args.url
        if url is None:
            from tests.pg_cluster import pg_cluster

            cluster_context = pg_cluster(durable=True)
            cluster = cluster_context.__enter__()
            url, data_dir = cluster.url(), cluster.data_dir
        try:
            for count in counts:
                engines.append(Engine(f"PostgreSQL, {count} inst", url, "", count))
            for number, engine in enumerate(engines):
                if engine.url:
                    engine = Engine(engine.name, _fresh_database(engine.url, number), "", engine.instances)
                load = build_load(total, seed=number)
                row = run_engine(engine, load, args.concurrency, data_dir if engine.url else None)
                print(
                    f"{engine.name:18s} {row['per_second']:7.0f} {row['p50']:7.1f} {row['p99']:7.1f} "
                    f"{row['round_trips']:6.1f} {row['routing_ms']:20.2f} {row['store_ms']:6.2f} "
                    f"{row['server_ms']:8.2f} {row['delivery_ms']:8.2f}",
                    flush=True,
                )
        finally:
            if cluster_context is not None:
                cluster_context.__exit__(None, None, None)


def _fresh_database(url: str, number: int) -> str:
    """A new database next to `url`'s, so each configuration starts empty."""
    import asyncpg

    async def create() -> None:
        admin = await asyncpg.connect(url)
        try:
            await admin.execute(f"CREATE DATABASE bench_{number}")
        finally:
            await admin.close()

    asyncio.run(create())
    base, _, _ = url.rpartition("/")
    return f"{base}/bench_{number}"


if __name__ == "__main__":
    main()
