"""Abuse: one user floods the desk; they are told once to slow down, and nobody else waits longer for it.

Written against `Desk.handle` (what every channel calls) on the real runtime over a SQLite file, with in-memory
channels recording what would be sent.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.base import InMemoryChannel
from bot.app.config import Config
from bot.app.wiring import Core, Runtime, open_runtime
from bot.core.messages import InboundMessage
from tests.fakes.wiring import with_store

FLOOD = 200
SLOW_DOWN = ("slow down", "请慢一点")
QUESTIONS = (
    "how do I reset my 2FA?",
    "where is my UID?",
    "what are the withdrawal fees?",
    "提币一直没到账怎么办",
    "how long does a deposit take?",
)


@pytest.fixture
async def runtime(config: Config, core: Core, tmp_path: Path) -> AsyncIterator[Runtime]:
    cfg = with_store(config, tmp_path / "omnidesk.db")
    rt = await open_runtime(cfg, core_parts=core)
    for name in ("telegram", "webchat", "twitter"):
        rt.channels[name] = InMemoryChannel(name=name)
    yield rt
    await rt.close()


def sent(rt: Runtime, channel: str, conversation: str) -> list[str]:
    memory = rt.channels[channel]
    assert isinstance(memory, InMemoryChannel)
    return memory.texts(conversation)


def is_slow_down(text: str) -> bool:
    return any(phrase in text.lower() for phrase in SLOW_DOWN)


async def flood(rt: Runtime, user: str, text: str, count: int = FLOOD, channel: str = "telegram") -> None:
    """`count` messages from one user, each sent as soon as the desk took the previous one."""
    for n in range(count):
        await rt.desk.handle(InboundMessage(channel, user, user, f"{user}-flood-{n}", f"{text} {n}"))


async def ask(rt: Runtime, users: str, rounds: int, until: asyncio.Task[None] | None = None) -> list[float]:
    """Normal users' questions, one after another (each from a user of its own, at a person's pace per user);
    the seconds each took to be answered. With `until`, only those answered while that task still ran."""
    latencies = []
    for n in range(rounds):
        if until is not None and until.done():
            break
        user = f"{users}-{n}"
        started = time.perf_counter()
        await rt.desk.handle(InboundMessage("telegram", user, user, f"{user}-q", QUESTIONS[n % len(QUESTIONS)]))
        took = time.perf_counter() - started
        assert sent(rt, "telegram", user), "a normal user was not answered"
        if until is None or not until.done():
            latencies.append(took)
    return latencies


async def test_a_flooder_is_told_once_to_slow_down_and_answered_nothing_else(runtime: Runtime) -> None:
    async with asyncio.timeout(60):
        await flood(runtime, "666", "how do I reset my 2FA?")
    replies = sent(runtime, "telegram", "666")
    warnings = [r for r in replies if is_slow_down(r)]
    answered = [r for r in replies if not is_slow_down(r)]
    print(f"\nFLOOD: {FLOOD} messages in a burst -> {len(answered)} answers, {len(warnings)} 'slow down'")
    assert len(warnings) == 1, replies[-3:]
    # Answered normally up to the limit, then the one warning, then silence.
    assert replies.index(warnings[0]) == len(answered) == len(replies) - 1
    assert 1 <= len(answered) < 50
    # Every message is still kept (redacted), none left unhandled for a redelivery to re-route.
    transcript = await runtime.desk.history("telegram", "666", limit=FLOOD + 50)
    assert sum(m.direction == "in" for m in transcript) == FLOOD


async def test_a_chinese_flooder_is_told_in_chinese_and_secrets_in_a_flood_are_still_redacted(runtime: Runtime) -> None:
    password = "Flood-Pa55word!"
    async with asyncio.timeout(60):
        await flood(runtime, "777", "我的提币还没到账", count=40)
        await flood(runtime, "778", f"my password is {password}", count=40)
    zh = [r for r in sent(runtime, "telegram", "777") if is_slow_down(r)]
    assert len(zh) == 1 and "请慢一点" in zh[0]
    transcript = await runtime.desk.history("telegram", "778", limit=200)
    assert len(transcript) >= 40 and all(password not in m.text for m in transcript)


async def test_the_limit_is_per_user_and_per_channel(runtime: Runtime) -> None:
    async with asyncio.timeout(60):
        await flood(runtime, "555", "where is my UID?", count=60)
        # The same id on another channel is another person.
        await runtime.desk.handle(InboundMessage("twitter", "555", "555", "x-1", "where is my UID?"))
        await runtime.desk.handle(InboundMessage("telegram", "556", "556", "t-1", "where is my UID?"))
    assert sent(runtime, "twitter", "555") and not is_slow_down(sent(runtime, "twitter", "555")[0])
    assert sent(runtime, "telegram", "556") and not is_slow_down(sent(runtime, "telegram", "556")[0])


async def test_another_users_reply_latency_is_unchanged_while_one_user_floods(runtime: Runtime) -> None:
    async with asyncio.timeout(90):
        await ask(runtime, "warmup", 10)  # caches, first-use costs
        baseline = await ask(runtime, "calm", 40)
        flooding = asyncio.create_task(flood(runtime, "666", "how do I reset my 2FA?", count=FLOOD))
        await asyncio.sleep(0)  # the flood is under way first
        during = await ask(runtime, "busy", 1000, until=flooding)
        await flooding
        after = await ask(runtime, "after", 10)
    p50_base, p50_flood = statistics.median(baseline), statistics.median(during)
    print(
        f"\nLATENCY: p50 without flood {p50_base * 1000:.1f} ms; while one user sent {FLOOD} messages as fast as "
        f"the desk took them: p50 {p50_flood * 1000:.1f} ms, max {max(during) * 1000:.1f} ms "
        f"({len(during)} questions answered during the flood)"
    )
    warnings = [r for r in sent(runtime, "telegram", "666") if is_slow_down(r)]
    assert len(warnings) == 1
    assert len(during) >= 5, "the flood ended before the other users could ask: nothing was measured"
    assert after and not any(
        is_slow_down(r) for n in range(len(during)) for r in sent(runtime, "telegram", f"busy-{n}")
    )
    # Generous slack: the flood shares one event loop and one SQLite connection with everyone, so each of the
    # other users' messages may wait for a flood message's transaction or two, never for the whole flood.
    assert p50_flood <= max(3 * p50_base, p50_base + 0.05), (p50_base, p50_flood)
