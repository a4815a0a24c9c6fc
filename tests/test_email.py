"""The email channel against real servers on loopback: Dovecot for the support mailbox, aiosmtpd for outgoing mail.

Mail is delivered into the mailbox with IMAP APPEND; OmniDesk reads it with its own IMAP client (`poll_once`, or
the IDLE loop `start` runs) and answers through the outbox and SMTP, as `omnidesk run` does.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import re
import shutil
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Literal

import mnemonic
import pytest
from PIL import Image

from adapters.email import UID_CURSOR, EmailChannel
from adapters.email_mime import clean_subject, html_to_text, parse_mail, strip_quoted
from bot.app.config import Config
from bot.app.server import email_channel, running
from bot.app.wiring import Core, Runtime, open_runtime
from bot.core.messages import InboundMessage
from bot.core.router import RouterResult
from bot.desk.report import build_report, format_report
from bot.store import Store
from tests.fakes.loopback import eventually
from tests.fakes.slack_api import FakeSlackApi
from tests.mail_servers import (
    MAIL_PASSWORD,
    MAIL_USER,
    Dovecot,
    SmtpInbox,
    dovecot,
    dovecot_available,
    self_signed_cert,
    smtp_server,
)
from tests.test_tickets_flow import omnidesk

pytestmark = pytest.mark.skipif(
    not dovecot_available(), reason="Dovecot is not installed (apt-get install dovecot-imapd; .ci/run installs it)"
)
USER = "alice@users.example.org"
TlsMode = Literal["implicit", "starttls", "none"]
SEED = mnemonic.Mnemonic("english").generate(128)


@dataclass
class Mail:
    """The mail world of one test: the servers, the config pointing at them, and the router built once."""

    imap: Dovecot
    smtp: SmtpInbox
    config: Config
    core: Core

    def append(self, message: EmailMessage | bytes) -> int:
        return self.imap.append(message if isinstance(message, bytes) else bytes(message))


def mail_config(db_config: Config, imap_port: int, smtp_port: int, tls: TlsMode = "none") -> Config:
    """The shipped config with the email channel pointing at the loopback servers."""
    email = db_config.channels.email.model_copy(
        update={
            "address": MAIL_USER,
            "imap_host": "127.0.0.1",
            "imap_port": imap_port,
            "imap_user": MAIL_USER,
            "imap_password": MAIL_PASSWORD,
            "imap_tls": tls,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_tls": tls,
            "poll_interval_seconds": 5.0,
        }
    )
    return db_config.model_copy(update={"channels": db_config.channels.model_copy(update={"email": email})})


@pytest.fixture
def mail(db_config: Config, core: Core) -> Iterator[Mail]:
    with dovecot() as imap, smtp_server() as (smtp, smtp_port):
        yield Mail(imap, smtp, mail_config(db_config, imap.port, smtp_port), core)


@asynccontextmanager
async def desk(mail: Mail) -> AsyncIterator[tuple[Runtime, EmailChannel]]:
    runtime = await open_runtime(mail.config, core_parts=mail.core)
    channel = email_channel(mail.config, runtime)
    assert isinstance(channel, EmailChannel)
    runtime.channels[channel.name] = channel
    try:
        yield runtime, channel
    finally:
        await runtime.close()


def user_mail(
    body: str,
    subject: str = "Withdrawal not received",
    *,
    sender: str = USER,
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Alice <{sender}>"
    message["To"] = MAIL_USER
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="users.example.org")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message


def plain_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


async def email_tickets(store: Store) -> list[int]:
    return [t.number for t in await store.list_tickets() if t.channel == "email"]


# -- the behaviour ----------------------------------------------------------------------------------------------


async def test_new_mail_opens_a_ticket_and_is_acknowledged_in_its_thread(mail: Mail) -> None:
    sent = user_mail("I withdrew 500 USDT on TRC20 two days ago and it has not arrived. TxID abc123.")
    mail.append(sent)
    async with desk(mail) as (runtime, channel):
        assert await channel.poll_once(runtime.desk.handle) == 1
        tickets = await email_tickets(runtime.store)
        assert len(tickets) == 1
        ticket = await runtime.store.get_ticket(tickets[0])
        assert ticket.channel_user_id == USER
        assert ticket.category == "deposits-withdrawals"
    (ack,) = mail.smtp.to(USER)
    number = tickets[0]
    assert str(ack["Subject"]) == f"[#{number}] Withdrawal not received"
    assert ack["In-Reply-To"] == sent["Message-ID"]
    assert sent["Message-ID"] in str(ack["References"])
    assert ack["Auto-Submitted"] == "auto-replied"
    text = plain_body(ack)
    assert f"#{number}" in text and "within 2 business days" in text
    assert "help-center articles" in text  # a withdrawal question has entries that may answer it
    assert "never ask for your password" in text.split("\n-- \n")[1]  # the standing warning in the footer
    html = ack.get_body(preferencelist=("html",))
    assert html is not None and f"#{number}" in str(html.get_content())


async def test_an_incident_mail_is_urgent(mail: Mail) -> None:
    mail.append(user_mail("My account was hacked and someone withdrew all my BTC last night.", "Hacked"))
    async with desk(mail) as (runtime, channel):
        await channel.poll_once(runtime.desk.handle)
        (number,) = await email_tickets(runtime.store)
        assert (await runtime.store.get_ticket(number)).priority.value == "urgent"


async def test_a_reply_in_the_thread_is_a_follow_up_on_the_same_ticket(mail: Mail) -> None:
    mail.append(user_mail("My deposit of 0.1 BTC is missing."))
    async with desk(mail) as (runtime, channel):
        await channel.poll_once(runtime.desk.handle)
        (ack,) = mail.smtp.to(USER)
        quoted = "\n".join("> " + line for line in plain_body(ack).splitlines())
        follow = user_mail(
            f"Here is the TxID: 9f8e7d.\n\nOn Mon, 1 Dec 2026 at 10:00, Support <{MAIL_USER}> wrote:\n{quoted}",
            "Re: " + str(ack["Subject"]),
            in_reply_to=ack["Message-ID"],
        )
        mail.append(follow)
        await channel.poll_once(runtime.desk.handle)
        tickets = await email_tickets(runtime.store)
        assert len(tickets) == 1
        ticket = await runtime.store.get_ticket(tickets[0])
        transcript = await runtime.store.transcript(ticket.conversation_key)
        user_texts = [m.text for m in transcript if m.direction == "in"]
        assert "TxID: 9f8e7d" in user_texts[-1]
        assert "wrote:" not in user_texts[-1] and "help-center" not in user_texts[-1]  # the quote was stripped
        # The follow-up is confirmed in the same thread.
        confirm = mail.smtp.to(USER)[-1]
        assert str(confirm["Subject"]).startswith(f"[#{ticket.number}]")
        assert confirm["In-Reply-To"] == follow["Message-ID"]


async def test_the_ticket_number_in_the_subject_finds_the_ticket_only_for_its_sender(mail: Mail) -> None:
    mail.append(user_mail("My deposit of 0.1 BTC is missing."))
    async with desk(mail) as (runtime, channel):
        await channel.poll_once(runtime.desk.handle)
        (number,) = await email_tickets(runtime.store)
        # A new mail (no thread headers) quoting the number, from the same sender: the same ticket.
        mail.append(user_mail("Any news?", f"[#{number}] Withdrawal not received"))
        # Someone else quoting the same number: a ticket of their own, never a seat in Alice's.
        mail.append(user_mail("Please tell me about this ticket", f"[#{number}] hello", sender="mallory@evil.example"))
        await channel.poll_once(runtime.desk.handle)
        tickets = await email_tickets(runtime.store)
        assert len(tickets) == 2
        other = await runtime.store.get_ticket(max(tickets))
        assert other.channel_user_id == "mallory@evil.example"
        mine = await runtime.store.get_ticket(number)
        texts = [m.text for m in await runtime.store.transcript(mine.conversation_key) if m.direction == "in"]
        assert any("Any news?" in t for t in texts)
        assert not any("Please tell me" in t for t in texts)


async def test_an_agents_reply_arrives_threaded_and_resolving_asks_for_a_rating(mail: Mail) -> None:
    first = user_mail("I need a statement of my account for my tax office.", "Account statement")
    mail.append(first)
    async with desk(mail) as (runtime, channel):
        await channel.poll_once(runtime.desk.handle)
        (number,) = await email_tickets(runtime.store)
        await runtime.tickets.reply(number, "alice.agent", "Your statement is attached to your account page.")
        reply = mail.smtp.to(USER)[-1]
        assert str(reply["Subject"]) == f"[#{number}] Account statement"
        assert reply["In-Reply-To"] == first["Message-ID"]
        assert first["Message-ID"] in str(reply["References"])
        assert "Your statement is attached" in plain_body(reply)
        await runtime.tickets.resolve(number, "alice.agent")
        resolved = mail.smtp.to(USER)[-1]
        assert str(resolved["Subject"]).startswith(f"[#{number}]")
        # The user's answer to the agent's mail lands on the ticket's conversation: here, the rating.
        mail.append(user_mail("5", "Re: " + str(resolved["Subject"]), in_reply_to=resolved["Message-ID"]))
        await channel.poll_once(runtime.desk.handle)
        assert await runtime.store.rating(number) == 5


async def test_auto_replies_bounces_lists_and_noreply_senders_are_never_answered(mail: Mail) -> None:
    automated = [
        user_mail("I am out of office.", "Out of office", headers={"Auto-Submitted": "auto-replied"}),
        user_mail("Vacation", "Away", headers={"Precedence": "bulk"}),
        user_mail("Newsletter", "News", headers={"List-Id": "<news.example.org>"}),
        user_mail("Delivery failed", "Undeliverable", headers={"Return-Path": "<>"}),
        user_mail("Your order shipped", "Order", sender="no-reply@shop.example"),
        user_mail("Loop?", "From ourselves", sender=MAIL_USER),
    ]
    for message in automated:
        mail.append(message)
    async with desk(mail) as (runtime, channel):
        assert await channel.poll_once(runtime.desk.handle) == len(automated)
        assert await email_tickets(runtime.store) == []
        assert await runtime.store.cursor_get(UID_CURSOR) is not None
    assert mail.smtp.messages == []


async def test_a_bot_without_auto_reply_headers_gets_a_bounded_number_of_replies(mail: Mail) -> None:
    limit = mail.config.channels.email.replies_per_sender_per_hour
    for index in range(limit + 5):
        mail.append(user_mail(f"Automatic notice number {index}", f"Notice {index}", sender="bot@robots.example"))
    async with desk(mail) as (runtime, channel):
        await channel.poll_once(runtime.desk.handle)
        assert len(mail.smtp.to("bot@robots.example")) == limit
        # The extra replies are recorded as permanent failures, not left to be retried.
        assert await runtime.store.outbox_pending(1000) == []


async def test_a_crash_before_the_uid_is_saved_handles_the_mail_once(mail: Mail) -> None:
    mail.append(user_mail("My deposit of 0.1 BTC is missing."))

    async with desk(mail) as (runtime, channel):

        async def crash_after_handling(message: InboundMessage) -> RouterResult | None:
            await runtime.desk.handle(message)
            raise RuntimeError("killed before the UID was saved")

        with pytest.raises(RuntimeError, match="killed"):
            await channel.poll_once(crash_after_handling)
        assert await runtime.store.cursor_get(UID_CURSOR) is None
    async with desk(mail) as (runtime, channel):  # restarted
        assert await channel.poll_once(runtime.desk.handle) == 1
        assert len(await email_tickets(runtime.store)) == 1
        assert await runtime.store.cursor_get(UID_CURSOR) is not None
        assert await channel.poll_once(runtime.desk.handle) == 0
    assert len(mail.smtp.to(USER)) == 1


async def test_a_seed_phrase_in_a_mail_never_reaches_the_store_the_log_slack_or_a_mail(
    mail: Mail, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeSlackApi() as slack:
        slack_config = mail.config.agents.slack.model_copy(
            update={
                "bot_token": slack.token,
                "signing_secret": "s",
                "channel": "agents",
                "api_base_url": slack.base_url,
            }
        )
        config = mail.config.model_copy(
            update={"agents": mail.config.agents.model_copy(update={"slack": slack_config})}
        )
        config = config.model_copy(
            update={
                "channels": config.channels.model_copy(
                    update={"webchat": config.channels.webchat.model_copy(update={"enabled": False})}
                )
            }
        )
        body = f"Someone stole my funds. My recovery words are {SEED} please help"
        html = f"<html><body><p>Hacked!</p><p>seed: {SEED}</p></body></html>"
        message = user_mail(body, f"Hacked, seed {SEED}")
        message.add_alternative(html, subtype="html")
        message.add_attachment(b"not an image", maintype="application", subtype="octet-stream", filename=f"{SEED}.txt")
        mail.append(message)
        async with running(config) as (runtime, _app, started):
            channel = runtime.channels["email"]
            assert isinstance(channel, EmailChannel) and channel in started
            await eventually(lambda: email_tickets(runtime.store), 20, "the ticket")
            await eventually(lambda: len(slack.calls_to("chat.postMessage")) >= 1, 20, "the Slack announcement")
            await eventually(lambda: len(mail.smtp.to(USER)) >= 2, 20, "the acknowledgement and the refusal")
            db_bytes = b"".join(p.read_bytes() for p in Path(config.store.path).parent.glob("omnidesk.db*"))
    words = SEED.split()
    leaks = {
        "store": db_bytes.decode("utf-8", "replace"),
        "log": caplog.text,
        "slack": json.dumps([c.params for c in slack.calls], ensure_ascii=False),
        "mail": "\n".join(raw.decode("utf-8", "replace") for raw in mail.smtp.raw),
    }
    for where, text in leaks.items():
        assert SEED not in text, f"the seed phrase reached the {where}"
        assert " ".join(words[:6]) not in text, f"part of the seed phrase reached the {where}"
    refusal = plain_body(mail.smtp.to(USER)[-1])
    assert "could not accept" in refusal and "[REDACTED" in refusal


async def test_attachments_images_and_pdfs_are_kept_others_refused(mail: Mail, tmp_path: Path) -> None:
    png = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(png, format="PNG")
    message = user_mail("Screenshot of the failed withdrawal attached.", "Withdrawal failed")
    message.add_attachment(png.getvalue(), maintype="image", subtype="png", filename="screen.png")
    message.add_attachment(b"%PDF-1.4\n%fake but headed\n", maintype="application", subtype="pdf", filename="tx.pdf")
    message.add_attachment(b"MZ\x90\x00", maintype="application", subtype="octet-stream", filename="tool.exe")
    message.add_attachment(b"\x89PNG\r\n\x1a\nnot really", maintype="image", subtype="png", filename="fake.png")
    mail.append(message)
    async with desk(mail) as (runtime, channel):
        await channel.poll_once(runtime.desk.handle)
        (number,) = await email_tickets(runtime.store)
        kept = await runtime.store.attachments(number)
        assert sorted(a.mime_type or "" for a in kept) == ["application/pdf", "image/png"]
        assert all(Path(a.ref).is_file() for a in kept)
    refusal = plain_body(mail.smtp.to(USER)[-1])
    assert "tool.exe" in refusal and "fake.png" in refusal and "screen.png" not in refusal
    # Agents get them with the CLI (or see them listed in Slack's follow-up).
    saved = tmp_path / "saved"
    listed = omnidesk(Path(mail.config.store.path), "tickets", "files", str(number), "--save", str(saved))
    assert listed.returncode == 0, listed.stderr
    assert sorted(p.suffix for p in saved.iterdir()) == [".pdf", ".png"]


async def test_odd_charsets_malformed_and_huge_mails_are_decoded_or_skipped(
    mail: Mail, caplog: pytest.LogCaptureFixture
) -> None:
    gb = (
        (
            "From: =?gb2312?b?"
            + base64.b64encode("张三".encode("gb2312")).decode()
            + "?= <zhang@users.example.org>\r\n"
            "To: support@example.com\r\nSubject: =?gb2312?b?"
            + base64.b64encode("提现没有到账".encode("gb2312")).decode()
            + "?=\r\nMessage-ID: <gb@users.example.org>\r\nContent-Type: text/plain; charset=gb2312\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
        ).encode()
        + "我的提现三天了还没有到账，请帮忙查一下。".encode("gb2312")
        + b"\r\n"
    )
    big5 = (
        b"From: lee@users.example.org\r\nTo: support@example.com\r\nSubject: deposit\r\nMessage-ID: <b5@x.org>\r\n"
        b"Content-Type: text/plain; charset=big5\r\n\r\n" + "我的充值沒有到帳".encode("big5") + b"\r\n"
    )
    jis = (
        b"From: sato@users.example.org\r\nTo: support@example.com\r\nSubject: help\r\nMessage-ID: <jp@x.org>\r\n"
        b"Content-Type: text/plain; charset=iso-2022-jp\r\n\r\n" + "出金が届きません".encode("iso-2022-jp") + b"\r\n"
    )
    unknown = (
        b"From: x@users.example.org\r\nTo: support@example.com\r\nSubject: hi\r\nMessage-ID: <u@x.org>\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nmy withdrawal is stuck\r\n"
    )
    malformed = b"this is not a mail at all\r\n\r\n\x00\xff\xfe"
    broken_mime = (
        b"From: y@users.example.org\r\nTo: support@example.com\r\nSubject: broken\r\nMessage-ID: <m@x.org>\r\n"
        b'Content-Type: multipart/mixed; boundary="nope"\r\n\r\n--wrong\r\nContent-Type: text/plain\r\n\r\nhello'
    )
    huge = user_mail("x" * 200_000, "huge", sender="big@users.example.org")
    for raw in (gb, big5, jis, unknown, malformed, broken_mime, bytes(huge)):
        mail.append(raw)
    small = mail.config.channels.email.model_copy(update={"max_message_bytes": 100_000})
    mail.config = mail.config.model_copy(update={"channels": mail.config.channels.model_copy(update={"email": small})})
    async with desk(mail) as (runtime, channel):
        assert await channel.poll_once(runtime.desk.handle) == 7
        users = {t.channel_user_id for t in await runtime.store.list_tickets()}
        assert {"zhang@users.example.org", "lee@users.example.org", "sato@users.example.org"} <= users
        assert "x@users.example.org" in users and "y@users.example.org" in users
        assert "big@users.example.org" not in users
        zhang = next(t for t in await runtime.store.list_tickets() if t.channel_user_id == "zhang@users.example.org")
        texts = [m.text for m in await runtime.store.transcript(zhang.conversation_key) if m.direction == "in"]
        assert "提现没有到账" in texts[0] and "请帮忙查一下" in texts[0]
        assert zhang.lang == "zh"
    assert "above max_message_bytes" in caplog.text
    assert "skipped: no sender address" in caplog.text


async def test_idle_wakes_the_channel_when_mail_arrives(mail: Mail) -> None:
    async with desk(mail) as (runtime, channel):
        await channel.start(runtime.desk.handle)
        try:
            await asyncio.to_thread(mail.append, user_mail("My deposit of 0.1 BTC is missing."))
            await eventually(lambda: email_tickets(runtime.store), 20, "the mail to be handled")
            await eventually(lambda: len(mail.smtp.to(USER)) == 1, 20, "the acknowledgement")
        finally:
            await channel.stop()


async def test_the_report_counts_email_like_the_other_channels(mail: Mail) -> None:
    mail.append(user_mail("My deposit of 0.1 BTC is missing."))
    async with desk(mail) as (runtime, channel):
        since = datetime.now(UTC) - timedelta(minutes=5)
        await channel.poll_once(runtime.desk.handle)
        report = await build_report(runtime.store, since)
    assert report.messages[("email", "in")] == 1 and report.messages[("email", "out")] == 1
    assert report.decisions.get("escalate") == 1 and report.tickets.opened == 1
    assert re.search(r"^  email\s+1 /\s+1$", format_report(report), re.MULTILINE)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed (it makes the test certificate)")
@pytest.mark.parametrize("tls", ["implicit", "starttls"])
async def test_tls_to_both_servers(
    db_config: Config, core: Core, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tls: TlsMode
) -> None:
    cert, key = self_signed_cert(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the default trust store OmniDesk's clients verify against
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    with dovecot(tls=(cert, key)) as imap, smtp_server(server_tls, implicit=tls == "implicit") as (smtp, port):
        config = mail_config(db_config, imap.tls_port if tls == "implicit" else imap.port, port, tls)
        mail = Mail(imap, smtp, config, core)
        mail.append(user_mail("My deposit of 0.1 BTC is missing."))
        async with desk(mail) as (runtime, channel):
            assert await channel.poll_once(runtime.desk.handle) == 1
            assert len(await email_tickets(runtime.store)) == 1
        assert len(smtp.to(USER)) == 1
        # Dovecot marks encrypted sessions in its login lines (the test's own APPEND logged in without TLS).
        logins = [line for line in imap.log().splitlines() if "Login: user=" in line]
        assert any(", TLS," in line for line in logins), logins


async def test_an_untrusted_certificate_is_refused(
    db_config: Config, core: Core, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (it makes the test certificate)")
    cert, key = self_signed_cert(tmp_path)  # not in the trust store this time
    with dovecot(tls=(cert, key)) as imap, smtp_server() as (smtp, port):
        mail = Mail(imap, smtp, mail_config(db_config, imap.tls_port, port, "implicit"), core)
        async with desk(mail) as (runtime, channel):
            with pytest.raises(ssl.SSLCertVerificationError):
                await channel.poll_once(runtime.desk.handle)


def test_email_channel_starts_with_omnidesk_run_only_when_configured(config: Config, tmp_path: Path) -> None:
    assert not config.channels.email.enabled  # no credentials in the environment: no email channel
    from bot.app.config import ConfigError, parse_config

    with pytest.raises(ConfigError, match=r"channels\.email"):
        parse_config({"channels": {"email": {"imap_password": "x"}}}, {})


# -- parsing (pure) ---------------------------------------------------------------------------------------------


def test_quoted_earlier_messages_are_stripped() -> None:
    english = (
        "Still not there.\n\nOn Mon, 1 Dec 2026 at 10:00, Support <s@example.com> wrote:\n> Your ticket #4 is open"
    )
    assert strip_quoted(english) == "Still not there."
    chinese = "还是没到账。\n\n在 2026年12月1日 10:00，Support <s@example.com> 写道：\n> 已为你创建工单 #4"
    assert strip_quoted(chinese) == "还是没到账。"
    outlook = "See below.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nold text"
    assert strip_quoted(outlook) == "See below."
    assert strip_quoted("> only a quote") == "> only a quote"  # nothing new: keep it rather than lose it


def test_html_bodies_become_text_without_scripts_or_quotes() -> None:
    html = (
        "<html><head><style>p{}</style></head><body><p>Hello&nbsp;there</p><script>x()</script>"
        "<div>line two</div><blockquote>old mail</blockquote></body></html>"
    )
    text = html_to_text(html)
    assert "Hello\xa0there" in text and "line two" in text
    assert "x()" not in text and "old mail" not in text and "p{}" not in text


def test_subjects_lose_prefixes_and_tags() -> None:
    assert clean_subject("Re: RE: [#12] Fwd: 回复：Withdrawal") == "Withdrawal"
    mail = parse_mail(b"From: a@b.org\r\nSubject: Re: [#42] x\r\n\r\nbody", "support@example.com")
    assert mail.ticket_tag == 42 and mail.subject == "x"


def test_automated_senders_are_recognised() -> None:
    def reason(headers: str, sender: str = "a@b.org") -> str | None:
        parsed = parse_mail(f"From: {sender}\r\n{headers}\r\n\r\nbody".encode(), "support@example.com")
        return parsed.automated

    assert reason("Auto-Submitted: auto-generated") is not None
    assert reason("Auto-Submitted: no") is None
    assert reason("Precedence: junk") is not None
    assert reason("List-Unsubscribe: <mailto:x@y>") is not None
    assert reason("X-Autoreply: yes") is not None
    assert reason("", sender="MAILER-DAEMON@b.org") is not None
    assert reason("", sender="donotreply@b.org") is not None
    assert reason("", sender="replyguy@b.org") is None
