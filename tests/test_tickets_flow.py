"""Escalation to a person end to end: a real SQLite file, the real router and desk, an in-memory channel."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.base import InMemoryChannel
from bot.app.config import Config
from bot.app.wiring import Core, Runtime, open_runtime
from bot.core.messages import Action, InboundMessage, Priority
from bot.core.ports import AgentNotice
from bot.store import StoredMessage, Ticket, TicketStatus

ROOT = Path(__file__).resolve().parent.parent
_ids = itertools.count(1)


class RecordingNotifier:
    """Stands in for the agents' screen (Slack has its own tests against a fake Slack API)."""

    def __init__(self) -> None:
        self.opened: list[tuple[Ticket, list[StoredMessage]]] = []
        self.follow_ups: list[tuple[int, str]] = []
        self.updates: list[tuple[int, TicketStatus]] = []
        self.reminded: list[int] = []

    async def ticket_opened(self, ticket: Ticket, transcript: list[StoredMessage], *, notice: AgentNotice) -> None:
        self.opened.append((ticket, transcript))

    async def user_message(self, ticket: Ticket, text: str, *, notice: AgentNotice) -> None:
        self.follow_ups.append((ticket.number, text))

    async def ticket_updated(self, ticket: Ticket, *, notice: AgentNotice) -> None:
        self.updates.append((ticket.number, ticket.status))

    async def remind_unclaimed(self, ticket: Ticket, *, notice: AgentNotice) -> None:
        self.reminded.append(ticket.number)


@pytest.fixture
async def runtime(db_config: Config, core: Core) -> AsyncIterator[tuple[Runtime, InMemoryChannel, RecordingNotifier]]:
    channel = InMemoryChannel(name="telegram")
    notifier = RecordingNotifier()
    rt = await open_runtime(db_config, {"telegram": channel}, [notifier], core_parts=core)
    yield rt, channel, notifier
    await rt.close()


async def say(rt: Runtime, text: str, conversation: str = "chat-1", message_id: str | None = None) -> Action | None:
    message = InboundMessage("telegram", "user-1", conversation, message_id or str(next(_ids)), text)
    result = await rt.desk.handle(message)
    await rt.outbox.drain()  # agents are told in the background
    return None if result is None else result.decision.action


async def test_deposit_escalation_asks_two_skippable_questions_then_opens_a_ticket(runtime) -> None:  # type: ignore[no-untyped-def]
    rt, channel, notifier = runtime
    assert await say(rt, "my USDT deposit never arrived, I want to talk to a real person") is Action.ESCALATE
    assert "coin and network" in channel.texts()[-1]
    assert await rt.store.open_ticket_for("telegram", "chat-1") is None  # not before the questions
    await say(rt, "USDT on TRC20")
    assert "TxID" in channel.texts()[-1]
    await say(rt, "skip")
    ticket = await rt.store.open_ticket_for("telegram", "chat-1")
    assert ticket is not None and ticket.status is TicketStatus.OPEN
    assert ticket.category == "deposits-withdrawals" and ticket.priority is Priority.NORMAL
    assert "USDT on TRC20" in ticket.summary
    assert f"#{ticket.number}" in channel.texts()[-1] and "within 24 hours" in channel.texts()[-1]
    assert "never ask for your password" in channel.texts()[-1]
    assert notifier.opened and notifier.opened[0][0].number == ticket.number
    assert ticket.number >= 1001


async def test_a_security_incident_opens_an_urgent_ticket_at_once(runtime) -> None:  # type: ignore[no-untyped-def]
    rt, channel, _ = runtime
    await say(rt, "我的账户被盗了，资产被转走了")
    ticket = await rt.store.open_ticket_for("telegram", "chat-1")
    assert ticket is not None and ticket.priority is Priority.URGENT and ticket.lang == "zh"
    assert f"#{ticket.number}" in channel.texts()[-1] and "冻结" in channel.texts()[-1]


async def test_an_incident_told_around_a_secret_opens_an_urgent_ticket_whose_summary_keeps_the_story(runtime) -> None:  # type: ignore[no-untyped-def]
    """The FAQ reads only what follows the secret in its clause; the agent gets the whole message, redacted."""
    rt, channel, _notifier = runtime
    assert await say(rt, "they got in and changed my password to Qw3rty!x9") is Action.ESCALATE
    ticket = await rt.store.open_ticket_for("telegram", "chat-1")
    assert ticket is not None and ticket.priority is Priority.URGENT
    assert "they got in and changed my password to [REDACTED" in ticket.summary and "Qw3rty" not in ticket.summary
    assert "Change that password" in channel.texts()[0] and not any("Qw3rty" in t for t in channel.texts())


async def test_while_a_ticket_is_open_messages_go_to_the_agent_and_secrets_stay_redacted(runtime) -> None:  # type: ignore[no-untyped-def]
    rt, channel, notifier = runtime
    await say(rt, "my account was hacked!")
    ticket = await rt.store.open_ticket_for("telegram", "chat-1")
    assert ticket is not None
    assert await say(rt, "how do I reset my 2FA?") is Action.ESCALATE  # relayed, not answered from the FAQ
    assert notifier.follow_ups[-1] == (ticket.number, "how do I reset my 2FA?")
    await say(rt, "my password is Sup3rS3cret!")
    assert "Sup3rS3cret" not in notifier.follow_ups[-1][1]
    assert "Change that password" in "\n".join(channel.texts())
    await say(rt, "/ticket")
    assert f"#{ticket.number}: waiting for an agent" in channel.texts()[-1]
    for message in await rt.store.transcript(("telegram", "chat-1")):
        assert "Sup3rS3cret" not in message.text
    second = await say(rt, "I want a human")
    assert second is Action.ESCALATE
    assert [t.number for t in await rt.store.list_tickets()] == [ticket.number]  # appended, not a second ticket


async def test_the_bots_own_commands_run_while_a_ticket_is_open_instead_of_reaching_the_agent(runtime) -> None:  # type: ignore[no-untyped-def]
    rt, channel, notifier = runtime
    await say(rt, "my account was hacked!")
    relayed = len(notifier.follow_ups)
    assert await say(rt, "/lang zh") is Action.ANSWER
    assert await say(rt, "/faq reset-2fa") is Action.ANSWER
    assert "谷歌验证" in channel.texts()[-1]  # the chosen article, in the language chosen
    assert await say(rt, "/help") is Action.ANSWER
    assert len(notifier.follow_ups) == relayed  # none of them went to the agent
    assert await say(rt, "还在处理吗") is Action.ESCALATE  # what the user writes still does
    assert len(notifier.follow_ups) == relayed + 1


async def test_agent_reply_resolve_and_rating(runtime) -> None:  # type: ignore[no-untyped-def]
    rt, channel, notifier = runtime
    await say(rt, "someone withdrew my BTC, it wasn't me")
    ticket = await rt.store.open_ticket_for("telegram", "chat-1")
    assert ticket is not None
    await rt.tickets.claim(ticket.number, "alice")
    await rt.tickets.reply(ticket.number, "alice", "Can you send the TxID?")
    assert channel.texts()[-1].startswith("alice (ExampleX support): Can you send the TxID?")
    assert (await rt.store.get_ticket(ticket.number)).status is TicketStatus.WAITING_USER
    await say(rt, "it is 0xabc, thanks")
    assert (await rt.store.get_ticket(ticket.number)).status is TicketStatus.CLAIMED
    await rt.tickets.resolve(ticket.number, "alice")
    assert "rating from 1" in channel.texts()[-1]
    await say(rt, "5")
    assert await rt.store.rating(ticket.number) == 5
    assert "Thank you" in channel.texts()[-1]
    assert await say(rt, "how do I reset my 2FA?") is Action.ANSWER  # the FAQ answers again
    kinds = [e.kind for e in await rt.store.ticket_events(ticket.number)]
    assert {"opened", "claimed", "agent_reply", "resolved", "rated"} <= set(kinds)
    assert (ticket.number, TicketStatus.RESOLVED) in notifier.updates


async def test_cancel_closes_the_users_own_ticket(runtime) -> None:  # type: ignore[no-untyped-def]
    rt, channel, _ = runtime
    await say(rt, "I want a refund of the withdrawal fee")
    await say(rt, "skip")
    await say(rt, "skip")
    ticket = (await rt.store.list_tickets())[0]
    await say(rt, "/cancel")
    assert (await rt.store.get_ticket(ticket.number)).status is TicketStatus.CANCELLED
    assert "closed" in channel.texts()[-1]


async def test_the_same_platform_message_is_handled_once(runtime) -> None:  # type: ignore[no-untyped-def]
    rt, channel, _ = runtime
    assert await say(rt, "where is my UID", message_id="m-1") is Action.ANSWER
    assert await say(rt, "where is my UID", message_id="m-1") is None
    assert len(channel.sent) == 1


async def test_unclaimed_tickets_are_announced_again_once(runtime) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    rt, _, notifier = runtime
    await say(rt, "my account was hacked")
    later = datetime.now(UTC) + timedelta(hours=1)
    assert len(await rt.tickets.remind_unclaimed(later)) == 1
    assert len(await rt.tickets.remind_unclaimed(later)) == 0
    assert len(notifier.reminded) == 1


def omnidesk(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = shutil.which("omnidesk", path=str(Path(sys.executable).parent)) or "omnidesk"
    env = {**os.environ, "OMNIDESK_DB": str(db)}
    return subprocess.run([script, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


async def test_the_agent_cli_works_a_ticket_and_its_reply_reaches_the_user(runtime, db_config: Config) -> None:  # type: ignore[no-untyped-def]
    rt, channel, _ = runtime
    db = Path(db_config.store.path)
    await say(rt, "my account was hacked")
    ticket = (await rt.store.list_tickets())[0]
    listed = omnidesk(db, "tickets", "list", "--status", "open")
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"^#{ticket.number}\s+open\b", listed.stdout, re.MULTILINE)
    assert omnidesk(db, "tickets", "claim", str(ticket.number), "--agent", "bob").returncode == 0
    done = omnidesk(db, "tickets", "reply", str(ticket.number), "We froze your account.", "--agent", "bob")
    assert done.returncode == 0, done.stderr
    assert await rt.outbox.flush() == 1  # the running OmniDesk delivers what the CLI queued
    assert channel.texts()[-1] == "bob (ExampleX support): We froze your account."
    assert omnidesk(db, "tickets", "resolve", str(ticket.number), "--agent", "bob").returncode == 0
    await rt.outbox.flush()
    assert "rating from 1" in channel.texts()[-1]
    shown = omnidesk(db, "tickets", "show", str(ticket.number))
    assert "resolved" in shown.stdout and "agent_reply by bob" in shown.stdout
    await say(rt, "4")
    assert await rt.store.rating(ticket.number) == 4
    missing = omnidesk(db, "tickets", "claim", "999999", "--agent", "bob")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


async def test_report_counts_decisions_and_groups_what_was_not_understood(runtime, db_config: Config) -> None:  # type: ignore[no-untyped-def]
    rt, _, _ = runtime
    await say(rt, "how do I reset my 2FA?", conversation="a")
    await say(rt, "qwzx vbnm plokij", conversation="b")
    await say(rt, "qwzx vbnm plokij again", conversation="c")
    await say(rt, "my account was hacked", conversation="d")
    out = omnidesk(Path(db_config.store.path), "report", "--since", "1d")
    assert out.returncode == 0, out.stderr
    assert "telegram" in out.stdout
    assert "answer" in out.stdout and "escalate" in out.stdout
    assert "2 x qwzx vbnm plokij" in out.stdout
    assert "Tickets opened: 1" in out.stdout


async def test_a_message_received_but_not_finished_before_a_crash_is_handled_on_redelivery(runtime) -> None:  # type: ignore[no-untyped-def]
    rt, channel, _ = runtime
    # The previous process recorded the message as received and died before answering: the platform redelivers.
    assert await rt.store.inbox_add("telegram", "m-crash", {"user": "user-1"})
    assert await say(rt, "where is my UID", message_id="m-crash") is Action.ANSWER
    assert await say(rt, "where is my UID", message_id="m-crash") is None
    assert len(channel.sent) == 1


async def test_a_flooding_user_is_told_once_to_slow_down_and_others_are_unaffected(runtime) -> None:  # type: ignore[no-untyped-def]
    rt, channel, _ = runtime
    results = [await say(rt, f"spam {i}", conversation="flood") for i in range(40)]
    assert results.count(None) == 40 - 12  # the limit is 12 messages in 20 s per user
    slow_downs = [t for t in channel.texts("flood") if "slow down" in t]
    assert len(slow_downs) == 1
    other = InboundMessage("telegram", "user-2", "calm", "calm-1", "where is my UID")
    result = await rt.desk.handle(other)
    assert result is not None and result.decision.action is Action.ANSWER
    stored = [m.text for m in await rt.store.transcript(("telegram", "flood"))]
    assert "spam 39" in stored  # a flood is kept (redacted), not lost


async def test_the_slow_down_warning_is_in_the_language_the_user_chose(runtime) -> None:  # type: ignore[no-untyped-def]
    rt, channel, _ = runtime
    await say(rt, "/lang zh", conversation="zh-flood")
    for n in range(15):
        await say(rt, f"spam {n}", conversation="zh-flood")  # English text, but the user chose Chinese
    assert "你发送消息太快了，请慢一点，几秒后我会继续回复。" in channel.texts("zh-flood")


async def test_a_screenshot_on_an_open_ticket_is_kept_and_agents_can_fetch_it(  # type: ignore[no-untyped-def]
    runtime, db_config: Config, tmp_path: Path
) -> None:
    from bot.core.messages import Attachment

    rt, channel, notifier = runtime
    await say(rt, "my account was hacked")
    ticket = (await rt.store.list_tickets())[0]
    png = tmp_path / "shot.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    shot = InboundMessage(
        "telegram", "user-1", "chat-1", "m-shot", "", attachments=(Attachment("photo", str(png), "image/png"),)
    )
    await rt.desk.handle(shot)
    await rt.outbox.drain()
    assert f"Screenshot added to ticket #{ticket.number}" in channel.texts()[-1]
    assert "omnidesk tickets files" in notifier.follow_ups[-1][1]
    stored = await rt.store.attachments(ticket.number)
    assert [(a.kind, a.ref) for a in stored] == [("photo", str(png))]
    # Without a ticket, an attachment is refused with a way forward.
    await rt.desk.handle(
        InboundMessage("telegram", "user-3", "chat-3", "m-3", "", attachments=(Attachment("photo", "x", None),))
    )
    assert "once a ticket is open" in channel.texts("chat-3")[-1]
    listed = omnidesk(Path(db_config.store.path), "tickets", "files", str(ticket.number))
    assert listed.returncode == 0 and str(png) in listed.stdout
