"""Crash recovery: the real `omnidesk run` process killed with SIGKILL mid-traffic, restarted, and audited.

The fakes (Telegram, X, Slack) run in the test process; the widget is driven over HTTP as the widget does it
(a message whose POST failed is sent again with the same client id, as widget.js does on reconnect).
Every message is the only message of its conversation, so "replies per conversation" is "replies per message".

A second, in-process test crashes the desk deterministically at every store call of a message's handling
(a BaseException raised before or after the call, so the open transaction is rolled back as a crash would)
and redelivers the message to a fresh runtime on the same database file.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import functools
import inspect
import os
import re
import shutil
import signal
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import mnemonic
import pytest

from adapters.base import InMemoryChannel
from adapters.twitter import format_reply
from bot.app.config import Config
from bot.app.wiring import Core, open_runtime
from bot.core.messages import InboundMessage
from bot.core.ports import AgentNotice
from bot.store import Store, StoredMessage, Ticket
from tests.fakes.loopback import free_port
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.wiring import with_store
from tests.fakes.x_api import FakeXApi
from tests.scale_out import fake_platforms_env

ROOT = Path(__file__).resolve().parent.parent
TOTAL_MESSAGES = 500
KILL_AT = (0.35, 0.7)  # kill -9 when this share of the messages has been answered (one crash per entry)
WIDGET_WORKERS = 4
TEST_BUDGET_SECONDS = 90
STALL_SECONDS = 8  # no reply at all for this long before a planned kill: kill anyway
SETTLE_SECONDS = 2.5  # after everything is answered: more than two outbox flush periods, to catch late duplicates
SLACK_SIGNING_SECRET = "crash-test-signing-secret"
# The at-least-once window: a send the platform accepted just before a kill, whose outbox row was not yet marked
# sent, is made again after the restart. Conversations are served side by side (a Telegram poll batch holds up to
# 100 updates; agent notices go out in the background), so the first copy of a repeat must be among the last this
# many sends of its platform before a kill: anything older is no crash artefact.
IN_FLIGHT_SENDS = 100

EN_SEED = mnemonic.Mnemonic("english").to_mnemonic(bytes(range(16)))
ZH_SEED = mnemonic.Mnemonic("chinese_simplified").to_mnemonic(bytes(range(16, 32)))

# (kind, text): every text is a whole conversation on its own.
TEMPLATES: tuple[tuple[str, str], ...] = (
    ("question", "how do I reset my 2FA?"),
    ("question", "提币一直没到账怎么办"),
    ("question", "what are the withdrawal fees?"),
    ("question", "where is my UID?"),
    ("escalation", "my account was hacked, someone withdrew all my USDT"),
    ("escalation", "我的账户被盗了，资金不见了"),
    ("escalation", "someone logged into my account and stole my BTC"),
    ("secret", "my password is Hunter2-Secret!"),
    ("secret", f"my seed phrase is {EN_SEED}"),
    ("secret", f"我的助记词是 {ZH_SEED}"),
    ("secret", "my 2fa code is 482913"),
)
CHANNELS = ("telegram", "twitter", "webchat")


@dataclass
class Planned:
    """One message to drive: its channel, its conversation, and what it should produce."""

    index: int
    channel: str
    kind: str
    text: str
    conversation: str = ""  # chat id, X user id, or widget session id (known once the session exists)
    client_id: str = ""
    token: str = ""
    accepted: bool = False
    attempts: int = 0


@dataclass
class Figures:
    driven: int = 0
    crashes: int = 0
    lost: int = 0
    duplicated: int = 0
    duplicated_by_reprocessing: int = 0
    duplicated_without_crash: int = 0
    widget_retries: int = 0
    tickets: int = 0
    slack_announcements: Counter[int] = field(default_factory=Counter)


def plan_messages() -> list[Planned]:
    plan = []
    for i in range(TOTAL_MESSAGES):
        kind, text = TEMPLATES[i % len(TEMPLATES)]
        plan.append(Planned(i, CHANNELS[i % len(CHANNELS)], kind, text))
    return plan


_TICKET_NUMBER = re.compile(r"#\d+")


def normal(text: str) -> str:
    """A reply as compared: ticket numbers differ from run to run."""
    return _TICKET_NUMBER.sub("#N", text)


async def expected_replies(config: Config, core: Core, tmp_path: Path) -> dict[tuple[str, str], list[str]]:
    """(channel, text) -> the replies, as that channel's platform receives them, that the text gets as the only
    message of a fresh conversation (a reference run in process)."""
    db = with_store(config, tmp_path / "reference.db")
    runtime = await open_runtime(db, core_parts=core)
    expected: dict[tuple[str, str], list[str]] = {}
    try:
        # Per platform: a secret warning there says "delete your message too" where the platform keeps it.
        for platform in ("telegram", "webchat", "twitter"):
            channel = InMemoryChannel(name=platform)
            runtime.channels[platform] = channel
            for n, (_, text) in enumerate(TEMPLATES):
                ref = f"ref-{platform}-{n}"
                await runtime.desk.handle(InboundMessage(platform, ref, ref, ref, text))
                replies = [reply for conversation, reply in channel.sent if conversation == ref]
                assert replies, f"every template must get a reply: {text}"
                shown = [format_reply(r) if platform == "twitter" else r.text for r in replies]
                expected[(platform, text)] = [normal(t) for t in shown]
    finally:
        await runtime.close()
    return expected


class OmniDeskProcess:
    """`omnidesk run` as a child process, its output in a file."""

    def __init__(self, env: dict[str, str], log_path: Path, args: tuple[str, ...] = ()) -> None:
        self._env = env
        self._log_path = log_path
        self._args = args
        self._script = shutil.which("omnidesk", path=str(Path(sys.executable).parent)) or "omnidesk"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, base_url: str) -> None:
        with self._log_path.open("ab") as log:
            log.write(f"\n===== start at {time.strftime('%X')} =====\n".encode())
            log.flush()
            self.process = await asyncio.create_subprocess_exec(
                self._script, "run", *self._args, cwd=ROOT, env=self._env, stdout=log, stderr=asyncio.subprocess.STDOUT
            )
        async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=2) as http:
            deadline = time.monotonic() + 40
            while True:
                assert self.process.returncode is None, f"omnidesk run exited early:\n{self.output_tail()}"
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/healthz")).status_code == 200:
                        return
                assert time.monotonic() < deadline, f"omnidesk run did not come up:\n{self.output_tail()}"
                await asyncio.sleep(0.05)

    async def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return int(self.process.returncode or 0)

    def output_tail(self, lines: int = 60) -> str:
        return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])


class Widget:
    """Widget visitors over HTTP: a session per message, resent with the same client id until acknowledged."""

    def __init__(self, base_url: str, messages: list[Planned], figures: Figures) -> None:
        self._base_url = base_url
        self._queue: asyncio.Queue[Planned] = asyncio.Queue()
        for message in messages:
            message.client_id = f"m{message.index}"
            self._queue.put_nowait(message)
        self._figures = figures
        self.messages = messages
        self.acked = 0

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=self._base_url, trust_env=False, timeout=10) as http:
            await asyncio.gather(*(self._worker(http, stop) for _ in range(WIDGET_WORKERS)))

    async def _worker(self, http: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                message = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                if all(m.accepted for m in self.messages):
                    return
                await asyncio.sleep(0.02)
                continue
            if not await self._send(http, message):
                self._figures.widget_retries += 1
                await asyncio.sleep(0.1)  # the server is down (killed): try again shortly, like the widget
                self._queue.put_nowait(message)

    async def _send(self, http: httpx.AsyncClient, message: Planned) -> bool:
        message.attempts += 1
        try:
            if not message.token:
                session = await http.post("/api/webchat/session", json={})
                if session.status_code != 200:
                    return False
                message.conversation, message.token = session.json()["session"], session.json()["token"]
            response = await http.post(
                "/api/webchat/messages",
                json={"id": message.client_id, "text": message.text},
                headers={"Authorization": f"Bearer {message.token}"},
            )
        except httpx.HTTPError:
            return False
        if response.status_code != 200 or response.json().get("type") != "ack":
            return False
        message.accepted = True
        self.acked += 1
        return True

    async def replies(self, message: Planned) -> list[str]:
        async with httpx.AsyncClient(base_url=self._base_url, trust_env=False, timeout=10) as http:
            history = await http.get("/api/webchat/history", headers={"Authorization": f"Bearer {message.token}"})
        assert history.status_code == 200, history.text
        return [m["text"] for m in history.json()["messages"] if m["direction"] == "out"]


@contextlib.asynccontextmanager
async def fakes() -> AsyncIterator[tuple[FakeTelegramApi, FakeXApi, FakeSlackApi]]:
    async with (
        FakeTelegramApi(max_long_poll=0.5) as telegram,
        FakeXApi(page_size=100) as x,
        FakeSlackApi() as slack,
    ):
        yield telegram, x, slack


def notices_in_slack_twice(slack: FakeSlackApi) -> dict[tuple[str, object], int]:
    """Agent notices (announcements, transcripts, relays, reminders) in the Slack channel more than once, counted
    by the outbox item and part their metadata names: (outbox id, part) -> how many messages."""
    posted = Counter(
        (str(payload.get("outbox_id")), payload.get("part"))
        for message in slack.messages.values()
        for payload in [message.get("metadata", {}).get("event_payload", {})]
        if payload
    )
    return {key: count for key, count in posted.items() if count > 1}


def process_env(telegram: FakeTelegramApi, x: FakeXApi, slack: FakeSlackApi, port: int, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "X_", "OMNIDESK_"))}
    return env | {
        "OMNIDESK_ENCODER": os.environ.get("OMNIDESK_ENCODER", "none"),
        "OMNIDESK_PORT": str(port),
        "OMNIDESK_DB": str(db),
        **fake_platforms_env(telegram, x, slack, SLACK_SIGNING_SECRET),
        "PYTHONUNBUFFERED": "1",
    }


def platform_replies(message: Planned, telegram: FakeTelegramApi, x: FakeXApi) -> list[str]:
    if message.channel == "telegram":
        return telegram.texts(int(message.conversation))
    return x.texts_to(message.conversation)


async def test_kill_9_mid_traffic_loses_nothing_and_opens_each_ticket_once(
    config: Config, core: Core, tmp_path: Path
) -> None:
    expected = await expected_replies(config, core, tmp_path)
    plan = plan_messages()
    figures = Figures(driven=len(plan))
    db = tmp_path / "omnidesk.db"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    async with fakes() as (telegram, x, slack), asyncio.timeout(TEST_BUDGET_SECONDS + 20):
        # Telegram and X hold their messages until OmniDesk acknowledges them (offset / cursor), so all are
        # queued up front; X is polled at start-up (poll_interval_seconds is 60 in config.yaml), which is
        # when each run picks up what the previous one had not acknowledged.
        for message in plan:
            if message.channel == "telegram":
                user = 700_000 + message.index
                message.conversation = str(user)
                lang = "zh" if any("\u4e00" <= c <= "\u9fff" for c in message.text) else "en"
                chat, sender = telegram.private_chat(user), telegram.user(user, language_code=lang)
                telegram.push_update(telegram.message_update(telegram.message(chat, sender, message.text)))
            elif message.channel == "twitter":
                message.conversation = str(3_000_000_000 + message.index)
                x.add_dm(message.conversation, message.text)
        widget = Widget(base_url, [m for m in plan if m.channel == "webchat"], figures)
        omnidesk = OmniDeskProcess(process_env(telegram, x, slack, port, db), tmp_path / "omnidesk.log")
        stop_widget = asyncio.Event()
        widget_task: asyncio.Task[None] | None = None

        def answered() -> int:
            return len(telegram.sent) + len(x.sent) + widget.acked

        # How many sends each fake had recorded when each process died: a send's "life" is the run that made it.
        kill_marks: dict[str, list[int]] = {"telegram": [], "twitter": [], "slack": []}

        started = time.monotonic()
        try:
            await omnidesk.start(base_url)
            widget_task = asyncio.create_task(widget.run(stop_widget))
            for share in KILL_AT:
                # Kill once this share is answered, or when nothing moved for STALL_SECONDS (something is stuck:
                # the audit below will say what).
                last, moved_at = answered(), time.monotonic()
                while answered() < share * TOTAL_MESSAGES and time.monotonic() - moved_at < STALL_SECONDS:
                    assert omnidesk.process is not None and omnidesk.process.returncode is None, omnidesk.output_tail()
                    if answered() != last:
                        last, moved_at = answered(), time.monotonic()
                    await asyncio.sleep(0.005)
                await omnidesk.kill9()
                figures.crashes += 1
                kill_marks["telegram"].append(len(telegram.sent))
                kill_marks["twitter"].append(len(x.sent))
                kill_marks["slack"].append(len(slack.calls))
                await omnidesk.start(base_url)

            # Wait until every message has its replies (or the budget runs out: those are the lost ones).
            def outstanding() -> list[Planned]:
                late = []
                for m in plan:
                    if m.channel == "webchat":
                        if not m.accepted:
                            late.append(m)
                    elif len(platform_replies(m, telegram, x)) < len(expected[(m.channel, m.text)]):
                        late.append(m)
                return late

            deadline = min(time.monotonic() + 40, started + TEST_BUDGET_SECONDS - 15)
            while outstanding() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(SETTLE_SECONDS)
            stop_widget.set()
            await widget_task
            widget_replies = {m.index: await widget.replies(m) for m in plan if m.channel == "webchat" and m.token}
        finally:
            stop_widget.set()
            if widget_task is not None and not widget_task.done():
                widget_task.cancel()
                with contextlib.suppress(BaseException):
                    await widget_task
            exit_code = await omnidesk.terminate() if omnidesk.process is not None else 0

        # -- the audit --------------------------------------------------------------------------------------------
        replies_of = {
            m.index: widget_replies.get(m.index, []) if m.channel == "webchat" else platform_replies(m, telegram, x)
            for m in plan
        }
        with contextlib.closing(sqlite3.connect(db)) as con:
            outbox_rows = Counter(
                (channel, conversation)
                for channel, conversation in con.execute("SELECT channel, conversation_id FROM outbox")
            )
            outbox_status = Counter(status for (status,) in con.execute("SELECT status FROM outbox"))
            unhandled = con.execute(
                "SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL AND channel != 'slack'"
            ).fetchone()[0]
            ticket_numbers = {number for (number,) in con.execute("SELECT number FROM tickets")}
            tickets = Counter(
                (channel, conversation)
                for channel, conversation in con.execute(
                    "SELECT t.channel, c.conversation_id FROM tickets t JOIN conversations c ON c.id = t.conversation"
                )
            )
        figures.tickets = sum(tickets.values())
        first_announcement: dict[int, int] = {}  # ticket -> index of its first root post among the Slack calls
        for index, call in enumerate(slack.calls):
            params = call.params
            if call.method != "chat.postMessage" or "thread_ts" in params:
                continue
            if str(params.get("text", "")).startswith(("Ticket #", ":rotating_light:")):
                number = int(str(params["text"]).split("Ticket #", 1)[1].split()[0])
                figures.slack_announcements[number] += 1
                first_announcement.setdefault(number, index)

        def just_before_a_kill(channel: str, index: int) -> bool:
            """Whether send `index` of `channel` was among the last IN_FLIGHT_SENDS before some kill."""
            return any(0 <= mark - index <= IN_FLIGHT_SENDS for mark in kill_marks[channel])

        def first_send(m: Planned) -> int:
            if m.channel == "telegram":
                return next(i for i, sent in enumerate(telegram.sent) if sent.chat_id == int(m.conversation))
            return next(i for i, dm in enumerate(x.sent) if dm.participant_id == m.conversation)

        def lives(m: Planned) -> list[int]:
            """The run (0 = first process, 1 = after the first kill, ...) that made each send to m's conversation."""
            if m.channel == "telegram":
                sends = [i for i, sent in enumerate(telegram.sent) if sent.chat_id == int(m.conversation)]
            else:
                sends = [i for i, dm in enumerate(x.sent) if dm.participant_id == m.conversation]
            return [bisect.bisect_right(kill_marks[m.channel], i) for i in sends]

        lost, duplicated, reprocessed, wrong_tickets, same_life, outside_window = [], [], [], [], [], []
        for m in plan:
            got = Counter(normal(text) for text in replies_of[m.index])
            want = Counter(expected[(m.channel, m.text)])
            rows = outbox_rows[(m.channel, m.conversation)]
            if want - got or (m.channel == "webchat" and not m.accepted):
                # Its reply never came (or another one came instead, e.g. "slow down" after failed redeliveries).
                lost.append((m.index, m.channel, m.text[:30], [t[:40] for t in replies_of[m.index]]))
            elif got != want:
                duplicated.append((m.index, m.channel, m.text[:30], sum(got.values()), sum(want.values()), rows))
                if m.channel != "webchat" and max(Counter(lives(m)).values()) > sum(want.values()):
                    same_life.append((m.index, m.channel, m.text[:30], lives(m)))
                if m.channel != "webchat" and not just_before_a_kill(m.channel, first_send(m)):
                    outside_window.append((m.index, m.channel, m.text[:30], first_send(m), kill_marks[m.channel]))
            if rows > sum(want.values()):
                reprocessed.append((m.index, m.channel, m.text[:30], rows, sum(want.values())))
            opened = tickets[(m.channel, m.conversation)]
            if opened != (1 if m.kind == "escalation" else 0):
                wrong_tickets.append((m.index, m.channel, m.text[:30], opened))
        figures.lost, figures.duplicated = len(lost), len(duplicated)
        figures.duplicated_by_reprocessing, figures.duplicated_without_crash = len(reprocessed), len(same_life)
        announced_twice = {n: c for n, c in figures.slack_announcements.items() if c > 1}
        in_slack_twice = notices_in_slack_twice(slack)
        lookups = len(slack.calls_to("conversations.history")) + len(slack.calls_to("conversations.replies"))
        print(
            f"\nCRASH TEST: messages driven={figures.driven} (telegram/x/widget "
            f"{Counter(m.channel for m in plan)['telegram']}/{Counter(m.channel for m in plan)['twitter']}/"
            f"{Counter(m.channel for m in plan)['webchat']}), crashes injected={figures.crashes} (kill -9), "
            f"lost={figures.lost}, duplicated={figures.duplicated} "
            f"(re-processed={figures.duplicated_by_reprocessing}, sent twice by one process="
            f"{figures.duplicated_without_crash}), tickets={figures.tickets} "
            f"for {sum(m.kind == 'escalation' for m in plan)} escalations, widget resends={figures.widget_retries}, "
            f"slack announcements={sum(figures.slack_announcements.values())} (twice: {len(announced_twice)}), "
            f"slack notices in the channel twice={len(in_slack_twice)}, lookups before a repeat post={lookups}, "
            f"outbox={dict(outbox_status)}"
        )
        context = f"\n--- omnidesk output ---\n{omnidesk.output_tail()}"
        assert exit_code == 0, f"the last run did not stop cleanly on SIGTERM{context}"
        assert lost == [], f"messages without their reply: {lost[:10]}{context}"
        assert wrong_tickets == [], (
            f"escalations without exactly one ticket (or tickets for others): {wrong_tickets[:10]}"
        )
        unannounced = sorted(ticket_numbers - set(figures.slack_announcements))
        # Slack accepting an announcement just before a kill, its outbox row not yet marked sent: the next process
        # delivers the row again, finds the post by its metadata and does not post it twice.
        assert unannounced == [] and announced_twice == {}, (
            f"tickets the agents never heard of: {unannounced}; announced twice: {announced_twice} "
            f"(first announcements at Slack call {[first_announcement[n] for n in announced_twice]}; "
            f"kills at {kill_marks['slack']})"
        )
        assert in_slack_twice == {}, f"agent notices posted twice (outbox id, part): {in_slack_twice}"
        assert reprocessed == [], f"messages routed and answered twice: {reprocessed[:10]}"
        # Two sends of one reply by the same process are no crash artefact (e.g. the flush loop and the inline
        # delivery both sending one outbox row).
        assert same_life == [], f"replies sent twice by one process (run numbers of each send): {same_life}"
        assert unhandled == 0 and set(outbox_status) <= {"sent"}, (unhandled, outbox_status)
        # At-least-once delivery: a reply the platform accepted right before the kill, whose outbox row was not
        # yet marked sent, is sent again after the restart (asserted above: nothing was routed twice, and no process
        # sent anything twice). Exactly-once would need the platform to de-duplicate (neither sendMessage nor the DM
        # endpoint takes an idempotency key), so the bound is the window: the first copy was sent just before a kill.
        assert outside_window == [], f"repeats whose first copy was not sent just before a kill: {outside_window}"


# -- conversations of several messages through kill -9 ----------------------------------------------------------------

# Each script is one user's conversation, each message sent once the previous one is answered (as a user does):
# intake questions, follow-ups relayed to agents, /cancel.
SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("I want to talk to a human", "my UID is 12345678", "any news on this?", "/cancel"),
    ("my account was hacked, someone withdrew all my USDT", "they also changed my email", "please hurry"),
    ("how do I reset my 2FA?", "what are the withdrawal fees?", "where is my UID?"),
)
CONVERSATIONS_PER_CHANNEL = 12
KILLS_AT_STEPS = (0.4, 0.75)  # kill -9 when this share of all messages has been answered


@dataclass(frozen=True)
class ScriptResult:
    replies: tuple[tuple[str, ...], ...]  # the normalised replies to each message, in order, as texts
    x_replies: tuple[tuple[str, ...], ...]  # the same as X DMs (choices numbered in the text)
    tickets: int
    relays: int

    def on(self, channel: str) -> tuple[tuple[str, ...], ...]:
        """The replies to each message as `channel`'s platform shows them."""
        return self.x_replies if channel == "twitter" else self.replies


async def script_results(config: Config, core: Core, tmp_path: Path) -> list[ScriptResult]:
    """What each script gives, run in process without a crash (the reference)."""
    db = with_store(config, tmp_path / "scripts-reference.db")
    agents = RecordingAgents()
    channel = InMemoryChannel(name="telegram")
    runtime = await open_runtime(db, channels={"telegram": channel}, notifiers=[agents], core_parts=core)
    results = []
    try:
        for n, script in enumerate(SCRIPTS):
            replies, x_replies, relays_before = [], [], len(agents.relayed)
            for k, text in enumerate(script):
                before = len(channel.sent)
                await runtime.desk.handle(InboundMessage("telegram", f"s{n}", f"s{n}", f"s{n}-{k}", text))
                await runtime.outbox.drain()
                sent = [reply for _, reply in channel.sent[before:]]
                replies.append(tuple(normal(r.text) for r in sent))
                x_replies.append(tuple(normal(format_reply(r)) for r in sent))
            tickets = sum(t.conversation_id == f"s{n}" for t in await runtime.store.list_tickets())
            relays = len(agents.relayed) - relays_before
            results.append(ScriptResult(tuple(replies), tuple(x_replies), tickets, relays))
    finally:
        await runtime.close()
    return results


@dataclass
class Talk:
    """One conversation being driven: its channel, its script, and how far it got."""

    channel: str
    script: int
    conversation: str
    step: int = 0  # messages sent and answered
    token: str = ""
    sent_at_step: int = -1  # the step whose message was last sent (the widget resends until it is acknowledged)


async def test_kill_9_mid_conversations_keeps_one_ticket_one_relay_and_every_reply(
    config: Config, core: Core, tmp_path: Path
) -> None:
    results = await script_results(config, core, tmp_path)
    db = tmp_path / "omnidesk.db"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # X is polled every half second here (config.yaml says 60 s), so its users can hold a conversation.
    fast_x = tmp_path / "config.yaml"
    fast_x.write_text(
        (ROOT / "config.yaml").read_text().replace("poll_interval_seconds: 60", "poll_interval_seconds: 0.5")
    )
    total = sum(len(SCRIPTS[i % len(SCRIPTS)]) for i in range(CONVERSATIONS_PER_CHANNEL)) * len(CHANNELS)
    talks = [
        Talk(channel, i % len(SCRIPTS), str((5_000_000 if channel == "twitter" else 800_000) + 100 * c + i))
        for c, channel in enumerate(CHANNELS)
        for i in range(CONVERSATIONS_PER_CHANNEL)
    ]
    async with fakes() as (telegram, x, slack), asyncio.timeout(TEST_BUDGET_SECONDS + 30):
        env = process_env(telegram, x, slack, port, db)
        omnidesk = OmniDeskProcess(env, tmp_path / "omnidesk.log", ("--config", str(fast_x)))
        http = httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=5)

        def expected_count(talk: Talk, steps: int) -> int:
            return sum(len(r) for r in results[talk.script].on(talk.channel)[:steps])

        async def received(talk: Talk) -> list[str]:
            if talk.channel == "telegram":
                return telegram.texts(int(talk.conversation))
            if talk.channel == "twitter":
                return x.texts_to(talk.conversation)
            with contextlib.suppress(httpx.HTTPError):
                history = await http.get("/api/webchat/history", headers={"Authorization": f"Bearer {talk.token}"})
                if history.status_code == 200:
                    return [m["text"] for m in history.json()["messages"] if m["direction"] == "out"]
            return []

        async def advance(talk: Talk) -> None:
            """Send the talk's next message once its previous one is answered (the widget: until acknowledged)."""
            script = SCRIPTS[talk.script]
            if talk.step >= len(script):
                return
            if talk.channel == "webchat":
                with contextlib.suppress(httpx.HTTPError):
                    if not talk.token:
                        session = (await http.post("/api/webchat/session", json={})).json()
                        talk.conversation, talk.token = session["session"], session["token"]
                    response = await http.post(
                        "/api/webchat/messages",
                        json={"id": f"step{talk.step}", "text": script[talk.step]},
                        headers={"Authorization": f"Bearer {talk.token}"},
                    )
                    if response.status_code == 200 and response.json().get("type") == "ack":
                        talk.step += 1
                return
            if talk.sent_at_step < talk.step:
                talk.sent_at_step = talk.step
                text = script[talk.step]
                if talk.channel == "telegram":
                    user = int(talk.conversation)
                    chat, sender = telegram.private_chat(user), telegram.user(user)
                    telegram.push_update(telegram.message_update(telegram.message(chat, sender, text)))
                else:
                    x.add_dm(talk.conversation, text)
            if len(await received(talk)) >= expected_count(talk, talk.step + 1):
                talk.step += 1

        def answered() -> int:
            return sum(t.step for t in talks)

        crashes = 0
        slack_kills: list[int] = []  # how many Slack calls had been made at each kill
        try:
            await omnidesk.start(base_url)
            deadline = time.monotonic() + TEST_BUDGET_SECONDS
            while answered() < total and time.monotonic() < deadline:
                await asyncio.gather(*(advance(t) for t in talks))
                if crashes < len(KILLS_AT_STEPS) and answered() >= KILLS_AT_STEPS[crashes] * total:
                    await omnidesk.kill9()
                    crashes += 1
                    slack_kills.append(len(slack.calls))
                    await omnidesk.start(base_url)
                await asyncio.sleep(0.02)
            await asyncio.sleep(SETTLE_SECONDS)
            finals = {id(t): await received(t) for t in talks}
        finally:
            exit_code = await omnidesk.terminate() if omnidesk.process is not None else 0
            await http.aclose()

        with contextlib.closing(sqlite3.connect(db)) as con:
            tickets = Counter(
                conversation
                for (conversation,) in con.execute(
                    "SELECT c.conversation_id FROM tickets t JOIN conversations c ON c.id = t.conversation"
                )
            )
            ticket_of = {
                int(number): conversation
                for number, conversation in con.execute(
                    "SELECT t.number, c.conversation_id FROM tickets t JOIN conversations c ON c.id = t.conversation"
                )
            }
        root_ts = {
            ts: int(str(message.get("text", "")).split("Ticket #", 1)[1].split()[0])
            for (_, ts), message in slack.messages.items()
            if "thread_ts" not in message and "Ticket #" in str(message.get("text", ""))
        }
        relay_calls = [
            (index, ticket_of[root_ts[str(c.params["thread_ts"])]], str(c.params["text"]))
            for index, c in enumerate(slack.calls)
            if c.method == "chat.postMessage"
            and str(c.params.get("text", "")).startswith(":speech_balloon:")
            and str(c.params.get("thread_ts")) in root_ts
        ]
        # A relay Slack accepted just before a kill, not yet marked sent, is relayed again after the restart (the
        # at-least-once window): the first copy of every repeat must be one of the last Slack calls before a kill.
        first_relay: dict[tuple[str, str], int] = {}
        repeats_outside_window = []
        for index, conversation, text in relay_calls:
            if (conversation, text) in first_relay:
                first = first_relay[(conversation, text)]
                if not any(0 <= mark - first <= IN_FLIGHT_SENDS for mark in slack_kills):
                    repeats_outside_window.append((conversation, text[:40], first, index, slack_kills))
            first_relay.setdefault((conversation, text), index)
        relays = Counter(conversation for conversation, _ in first_relay)
        in_slack_twice = notices_in_slack_twice(slack)
        lookups = len(slack.calls_to("conversations.history")) + len(slack.calls_to("conversations.replies"))
        lost, duplicated, wrong_tickets, wrong_relays = [], [], [], []
        for talk in talks:
            want = Counter(r for step in results[talk.script].on(talk.channel) for r in step)
            got = Counter(normal(t) for t in finals[id(talk)])
            if want - got or talk.step < len(SCRIPTS[talk.script]):
                lost.append((talk.channel, talk.conversation, talk.step, sorted((want - got).elements())[:2]))
            elif got != want:
                duplicated.append((talk.channel, talk.conversation, sorted((got - want).elements())))
            if tickets[talk.conversation] != results[talk.script].tickets:
                wrong_tickets.append((talk.channel, talk.conversation, tickets[talk.conversation]))
            if relays[talk.conversation] != results[talk.script].relays:
                wrong_relays.append((talk.channel, talk.conversation, relays[talk.conversation]))
        print(
            f"\nCRASH TEST (conversations): {len(talks)} conversations, {total} messages, crashes={crashes} (kill -9), "
            f"lost={len(lost)}, tickets={sum(tickets.values())} (want {sum(results[t.script].tickets for t in talks)}), "
            f"relays={sum(relays.values())} (want {sum(results[t.script].relays for t in talks)}; "
            f"repeated across a kill: {len(relay_calls) - sum(relays.values())}), duplicated replies={len(duplicated)}, "
            f"slack notices in the channel twice={len(in_slack_twice)}, lookups before a repeat post={lookups}"
        )
        context = f"\n--- omnidesk output ---\n{omnidesk.output_tail()}"
        assert exit_code == 0, f"the last run did not stop cleanly on SIGTERM{context}"
        assert crashes == len(KILLS_AT_STEPS)
        assert lost == [], f"conversations that did not get all their replies: {lost[:10]}{context}"
        assert wrong_tickets == [], f"conversations without exactly their tickets: {wrong_tickets}"
        assert wrong_relays == [], f"follow-ups not relayed to their ticket's thread: {wrong_relays}"
        assert repeats_outside_window == [], f"relays repeated, not across a kill: {repeats_outside_window}"
        # Not even across a kill: a relay Slack may have accepted before the kill is looked up before it is posted.
        assert len(relay_calls) == sum(relays.values()), f"relays posted twice: {len(relay_calls) - sum(relays.values())}"
        assert in_slack_twice == {}, f"agent notices posted twice (outbox id, part): {in_slack_twice}"
        # Replies repeated only across a kill (the at-least-once window): at most one per conversation per kill.
        assert all(len(extra) <= crashes for _, _, extra in duplicated), duplicated


# -- deterministic crash points, in process -----------------------------------------------------------------------


class SimulatedCrash(BaseException):
    """The process dying: a BaseException, so no `except Exception` in the code under test swallows it."""


class CrashSwitch:
    """Counts Store calls; raises SimulatedCrash before (or after) the n-th one, also in a background delivery."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.crash_at: int | None = None
        self.after = False
        self.fired: str | None = None  # the crash point, once the crash happened

    def arm(self, at: int | None, after: bool = False) -> None:
        self.calls, self.crash_at, self.after, self.fired = [], at, after, None

    def wrap(self, name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(method)
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            if self.fired is not None:  # the process is dead: nothing after the crash reaches the store
                raise SimulatedCrash(f"after the crash ({self.fired})")
            self.calls.append(name)
            number = len(self.calls)
            if number == self.crash_at and not self.after:
                self.fired = f"before {name}"
                raise SimulatedCrash(self.fired)
            result = await method(*args, **kwargs)
            if number == self.crash_at and self.after:
                self.fired = f"after {name}"
                raise SimulatedCrash(self.fired)
            return result

        return wrapped


class RecordingAgents:
    """An AgentNotifier that only counts what agents would be told."""

    def __init__(self) -> None:
        self.opened: list[int] = []
        self.relayed: list[str] = []
        self.redrawn: list[tuple[int, str]] = []

    async def ticket_opened(self, ticket: Ticket, transcript: list[StoredMessage], *, notice: AgentNotice) -> None:
        self.opened.append(ticket.number)

    async def user_message(self, ticket: Ticket, text: str, *, notice: AgentNotice) -> None:
        self.relayed.append(text)

    async def ticket_updated(self, ticket: Ticket, *, notice: AgentNotice) -> None:
        self.redrawn.append((ticket.number, ticket.status.value))

    async def remind_unclaimed(self, ticket: Ticket, *, notice: AgentNotice) -> None:
        pass


@pytest.fixture
def crash_switch(monkeypatch: pytest.MonkeyPatch) -> CrashSwitch:
    switch = CrashSwitch()
    for name, method in inspect.getmembers(Store, inspect.iscoroutinefunction):
        if not name.startswith("_") and name not in ("open", "close"):
            monkeypatch.setattr(Store, name, switch.wrap(name, method))
    return switch


URGENT = "my account was hacked, someone withdrew all my USDT"
# (setup messages, the message that is crashed on)
SCENARIOS = {
    "question": ((), "how do I reset my 2FA?"),
    "secret": ((), "my password is Hunter2-Secret!"),
    "urgent escalation": ((), URGENT),
    "intake answer": (("I want to talk to a human",), "skip"),
    "mid-intake": (("my USDT deposit never arrived, I want to talk to a real person",), "USDT on TRC20"),
    "follow-up": ((URGENT,), "any news? I also cannot log in to my email"),
    "/cancel": ((URGENT,), "/cancel"),
}


@dataclass(frozen=True)
class Outcome:
    """What a run left: the user's replies to the message, the tickets, and what agents were told."""

    replies: list[str]
    tickets: list[str]  # their statuses
    announced: int
    relayed: int
    redrawn: int


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_a_crash_at_any_store_call_neither_loses_nor_repeats(
    scenario: str, config: Config, core: Core, tmp_path: Path, crash_switch: CrashSwitch
) -> None:
    setup, text = SCENARIOS[scenario]

    async def run(db: Path, crash_at: int | None, after: bool) -> tuple[Outcome, str | None, str]:
        """Set up, handle `text` with a crash armed (also in the deliveries that follow it), restart and redeliver.

        Returns what the message left, the crash point, and the redelivery's error."""
        cfg = with_store(config, db)
        channel, agents, error = InMemoryChannel(name="telegram"), RecordingAgents(), ""
        runtime = await open_runtime(cfg, channels={"telegram": channel}, notifiers=[agents], core_parts=core)
        message = InboundMessage("telegram", "42", "42", "msg-under-test", text)
        try:
            for n, earlier in enumerate(setup):
                await runtime.desk.handle(InboundMessage("telegram", "42", "42", f"setup-{n}", earlier))
            await runtime.outbox.drain()
            before, seen = len(channel.sent), (len(agents.opened), len(agents.relayed), len(agents.redrawn))
            crash_switch.arm(crash_at, after)
            with contextlib.suppress(SimulatedCrash):
                await runtime.desk.handle(message)
            await runtime.outbox.drain()  # a crash in a background delivery ends that task (and the process)
            crashed = crash_switch.fired
            crash_switch.arm(None)
        finally:
            await runtime.close()
        if crashed is not None:  # the platform did not get its acknowledgement: it delivers the message again
            runtime = await open_runtime(cfg, channels={"telegram": channel}, notifiers=[agents], core_parts=core)
            try:
                try:
                    await runtime.desk.handle(message)
                except Exception as exc:  # the platform would redeliver again, and get the same error
                    error = f"{type(exc).__name__}: {exc}"
                await runtime.outbox.drain()
                await runtime.outbox.flush()  # what the restarted process's flush loop does
            finally:
                await runtime.close()
        async with await Store.open(db) as store:
            tickets = [t.status.value for t in await store.list_tickets()]
        told = (len(agents.opened) - seen[0], len(agents.relayed) - seen[1], len(agents.redrawn) - seen[2])
        return Outcome(channel.texts()[before:], tickets, *told), crashed, error

    reference, _, _ = await run(tmp_path / "reference.db", None, False)
    assert reference.replies
    failures = []
    points = 0
    for at in range(1, 100):
        crashed_any = False
        for after in (False, True):
            got, crashed, error = await run(tmp_path / f"crash-{at}-{after}.db", at, after)
            if crashed is None:
                continue
            crashed_any = True
            points += 1
            # A crash between the platform (or the agents' tool) accepting a delivery and its outbox row being
            # marked sent repeats that one delivery: the at-least-once window (see the subprocess test). Anything
            # else must be exact: one ticket, one announcement, one relay, the same replies.
            window = crashed == "before outbox_mark_sent"
            replies_ok = got.replies == reference.replies or (
                window
                and any(got.replies[:i] + got.replies[i + 1 :] == reference.replies for i in range(len(got.replies)))
            )
            agents_ok = all(
                0 <= extra <= window
                for extra in (
                    got.announced - reference.announced,
                    got.relayed - reference.relayed,
                    got.redrawn - reference.redrawn,
                )
            )
            if error or not replies_ok or got.tickets != reference.tickets or not agents_ok:
                failures.append((crashed, got, error[:90]))
        if not crashed_any:
            break  # past the last store call of the message and its deliveries
    print(f"\nCRASH POINTS ({scenario}): {points} crash points tried, {len(failures)} failed")
    assert points >= 4
    assert failures == [], f"expected {reference}; (crash point, outcome, error on redelivery): {failures}"


# -- a message the desk fails on ------------------------------------------------------------------------------------

# A text the desk cannot store (a lone surrogate: SQLite refuses it as UTF-8). Any message that makes the desk
# raise every time would do; after a crash, "ticket already open" is another (see the crash-point test above).
POISON = "where is my UID? \ud800"


@pytest.mark.parametrize("channel_name", ["telegram", "twitter"])
async def test_a_message_the_desk_fails_on_does_not_hold_up_the_messages_behind_it(
    channel_name: str, config: Config, core: Core, tmp_path: Path
) -> None:
    from adapters.telegram import TelegramChannel
    from adapters.twitter import TwitterChannel
    from bot.app.config import TelegramConfig, TwitterConfig

    cfg = with_store(config, tmp_path / "o.db")
    async with fakes() as (telegram, x, _):
        runtime = await open_runtime(cfg, core_parts=core)
        channel: TelegramChannel | TwitterChannel
        if channel_name == "telegram":
            tg = TelegramConfig(token=telegram.token, base_url=telegram.base_url)
            channel = TelegramChannel(tg, runtime.store, poll_timeout=1, error_backoff=0.05, max_backoff=0.2)
            for user, text in ((801, POISON), (802, "how do I reset my 2FA?")):
                chat, sender = telegram.private_chat(user), telegram.user(user)
                telegram.push_update(telegram.message_update(telegram.message(chat, sender, text)))

            def answered() -> bool:
                return bool(telegram.texts(802))
        else:
            channel = TwitterChannel(
                TwitterConfig(
                    consumer_key=x.consumer_key,
                    consumer_secret=x.consumer_secret,
                    access_token=x.access_token,
                    access_token_secret=x.access_token_secret,
                    api_base_url=x.base_url,
                    poll_interval_seconds=0.05,
                ),
                runtime.store,
            )
            x.add_dm("801", POISON)
            x.add_dm("802", "how do I reset my 2FA?")

            def answered() -> bool:
                return bool(x.texts_to("802"))

        runtime.channels[channel.name] = channel
        try:
            await channel.start(runtime.desk.handle)
            deadline = time.monotonic() + 6
            while not answered() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            await channel.stop()
            await runtime.close()
        assert answered(), "the message after the one the desk fails on was never answered (the queue is stuck)"


# -- the outbox's two senders ---------------------------------------------------------------------------------------


class GatedChannel(InMemoryChannel):
    """Records what it sends, each send held until the test opens the gate (a slow platform call)."""

    def __init__(self) -> None:
        super().__init__(name="telegram")
        self.gate = asyncio.Event()
        self.calls = 0

    async def send(self, conversation_id: str, reply: Any) -> None:
        self.calls += 1
        await self.gate.wait()
        await super().send(conversation_id, reply)


async def test_the_flush_loop_does_not_send_a_reply_the_desk_is_already_sending(
    config: Config, core: Core, tmp_path: Path
) -> None:
    """`omnidesk run` flushes the outbox every second while the desk delivers each new reply inline: a reply
    whose platform call is slow must not be picked up and sent a second time by the flush (no crash involved)."""
    cfg = with_store(config, tmp_path / "o.db")
    channel = GatedChannel()
    runtime = await open_runtime(cfg, channels={"telegram": channel}, core_parts=core)
    try:
        handling = asyncio.create_task(
            runtime.desk.handle(InboundMessage("telegram", "42", "42", "m1", "where is my UID?"))
        )
        while channel.calls == 0:  # the desk is now inside the platform call
            await asyncio.sleep(0.005)
        flushing = asyncio.create_task(runtime.outbox.flush())  # the flush loop's tick comes meanwhile
        await asyncio.sleep(0.1)
        channel.gate.set()
        outcomes = await asyncio.gather(handling, flushing, return_exceptions=True)
    finally:
        await runtime.close()
    errors = [repr(o) for o in outcomes if isinstance(o, BaseException)]
    assert len(channel.sent) == 1 and errors == [], f"sent {len(channel.sent)} times; errors: {errors}"
