"""Email channel: a support mailbox read over IMAP (IDLE where offered), replies sent over SMTP in the user's thread.

An email is a formal request: every new thread is handed to the router as a `formal` message, which opens a ticket
of its own; a reply in the thread (matched by In-Reply-To/References, or by the `[#N]` in the subject from the same
sender, never by the From address alone) is a follow-up on it. The mailbox position (UIDVALIDITY and the last UID
handled) is a cursor in the store, saved only after the desk has handled the mail, like Telegram's offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aioimaplib
import aiosmtplib

from adapters.email_mime import (
    MailError,
    ParsedMail,
    build_reply,
    check_file,
    message_id_of,
    parse_mail,
    thread_references,
)
from bot.app.config import EmailConfig
from bot.core.messages import Attachment, InboundMessage, Lang, Reply
from bot.core.ports import Channel, DeliveryError, InboundSink, KeyValueStore
from bot.core.rate_limit import RateLimiter
from bot.knowledge.textnorm import has_han
from bot.security.secret_scanner import SecretScanner

log = logging.getLogger(__name__)

CHANNEL_NAME = "email"
UID_CURSOR = "email_uid"  # "<UIDVALIDITY>:<last UID handled>"
THREAD_CURSOR_PREFIX = "email_thread:"  # + conversation id: the thread's address, subject, ids and ticket
MESSAGE_CURSOR_PREFIX = "email_msg:"  # + hash of (user's address, Message-ID): the conversation it belongs to
TICKET_CURSOR_PREFIX = "email_ticket:"  # + ticket number: the conversation whose ticket it is
FETCH_BATCH = 50  # mails handled per search; the rest come with the next one
SMTP_TIMEOUT_SECONDS = 30.0
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_MB = 1024 * 1024


class ImapError(Exception):
    """The IMAP server refused a command (login, select, search, fetch)."""


@dataclass(frozen=True, slots=True)
class Thread:
    """One email conversation as the channel needs it to reply: to whom, about what, after which messages."""

    address: str
    subject: str  # redacted: it is stored
    references: tuple[str, ...] = ()  # Message-IDs in the thread, oldest first (bounded)
    last_inbound: str | None = None  # the user's latest Message-ID: what our next reply answers
    ticket: int | None = None

    def to_json(self) -> str:
        """As stored in the cursor table."""
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False)

    @staticmethod
    def from_json(value: str) -> Thread:
        """Back from the cursor table."""
        data = json.loads(value)
        ticket = data.get("ticket")
        last = data.get("last_inbound")
        return Thread(
            address=str(data["address"]),
            subject=str(data.get("subject", "")),
            references=tuple(str(ref) for ref in data.get("references", ())),
            last_inbound=str(last) if last else None,
            ticket=ticket if isinstance(ticket, int) else None,
        )


def _digest(value: str, length: int = 32) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:length]


def _message_cursor(address: str, message_id: str) -> str:
    """The index entry of a Message-ID in one user's threads: keyed by the address too, so a mail that copies
    someone else's Message-ID (ids are chosen by senders) cannot take over or hide their thread."""
    return MESSAGE_CURSOR_PREFIX + _digest(f"{address} {message_id}")


class EmailChannel(Channel):
    """The support mailbox: IMAP in, SMTP out, one conversation (and ticket) per thread."""

    name = CHANNEL_NAME

    def __init__(
        self,
        config: EmailConfig,
        store: KeyValueStore,
        scanner: SecretScanner,
        attachments_dir: Path,
        *,
        footer: Callable[[Lang], str],
        refusal: Callable[[Lang, str, int], str],
        brand: str,
        error_backoff: float = 2.0,
        max_backoff: float = 300.0,
    ) -> None:
        """`footer(lang)` is the standing safety warning; `refusal(lang, names, max_mb)` explains refused files."""
        self._config = config
        self._store = store
        self._scanner = scanner
        self._attachments_dir = attachments_dir
        self._footer = footer
        self._refusal = refusal
        self._brand = brand
        self._error_backoff = error_backoff
        self._max_backoff = max_backoff
        self._replies = RateLimiter(config.replies_per_sender_per_hour, 3600.0)
        self._stopping = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self._threads_lock = asyncio.Lock()  # a thread's record is read, changed and written by one task at a time
        # aioimaplib logs every line it sends and receives at DEBUG: raw mails (secrets in base64 or
        # quoted-printable that no redaction filter can read) and the LOGIN password. Never below INFO.
        imap_log = logging.getLogger("aioimaplib")
        if imap_log.getEffectiveLevel() < logging.INFO:
            imap_log.setLevel(logging.INFO)

    # -- receiving ----------------------------------------------------------------------------------------------

    async def start(self, inbound: InboundSink) -> None:
        """Start the mailbox loop and return."""
        self._stopping.clear()
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._run(inbound), name="email-imap")

    async def stop(self) -> None:
        """Stop after the mail in hand is handled and its UID saved."""
        self._stopping.set()
        if self._poller is not None:
            poller, self._poller = self._poller, None
            await poller

    async def poll_once(self, inbound: InboundSink) -> int:
        """Connect, handle every new mail, log out; returns how many mails were handled or skipped."""
        imap, validity = await self._connect()
        try:
            return await self._drain(imap, validity, inbound)
        finally:
            await self._logout(imap)

    async def _run(self, inbound: InboundSink) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                imap, validity = await self._connect()
                try:
                    while not self._stopping.is_set():
                        await self._drain(imap, validity, inbound)
                        failures = 0
                        await self._wait_for_mail(imap)
                finally:
                    await self._logout(imap)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The UID of a mail that failed was not saved: it is fetched again, and the desk skips it if it
                # was already handled, so one bad mail cannot loop forever and none is lost.
                failures += 1
                if isinstance(exc, (ImapError, OSError, TimeoutError, aioimaplib.Abort)):
                    log.warning("email: mailbox unavailable (%s: %s); retrying", type(exc).__name__, exc)
                else:
                    log.exception("email: handling the mailbox failed; retrying from the saved UID")
                await self._pause(min(self._max_backoff, self._error_backoff * 2 ** (failures - 1)))

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _connect(self) -> tuple[aioimaplib.IMAP4, int]:
        """Log in and select the mailbox; returns the client and the mailbox's UIDVALIDITY."""
        config = self._config
        imap: aioimaplib.IMAP4
        if config.imap_tls == "implicit":
            imap = aioimaplib.IMAP4_SSL(config.imap_host, config.imap_port, ssl_context=ssl.create_default_context())
        else:
            imap = aioimaplib.IMAP4(config.imap_host, config.imap_port)
        await imap.wait_hello_from_server()
        if config.imap_tls == "starttls":
            await _starttls(imap, config.imap_host)
        response = await imap.login(config.imap_user, config.imap_password)
        if response.result != "OK":
            raise ImapError("login refused (check channels.email.imap_user and EMAIL_IMAP_PASSWORD)")
        response = await imap.select(config.imap_mailbox)
        if response.result != "OK":
            raise ImapError(f"cannot select mailbox {config.imap_mailbox!r}")
        for line in response.lines:
            found = _UIDVALIDITY.search(bytes(line)) if isinstance(line, (bytes, bytearray)) else None
            if found:
                return imap, int(found.group(1))
        raise ImapError("the server did not report UIDVALIDITY")

    async def _logout(self, imap: aioimaplib.IMAP4) -> None:
        with contextlib.suppress(Exception):
            await imap.logout()

    async def _wait_for_mail(self, imap: aioimaplib.IMAP4) -> None:
        """IDLE until the server announces a change (or the poll interval passes); without IDLE just wait."""
        interval = self._config.poll_interval_seconds
        if not imap.has_capability("IDLE"):
            await self._pause(interval)
            return
        idle = await imap.idle_start(timeout=interval)
        push = asyncio.ensure_future(imap.wait_server_push(timeout=interval + 5))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({push, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (push, stopping):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await task
            imap.idle_done()
            await asyncio.wait_for(idle, timeout=30)

    async def _drain(self, imap: aioimaplib.IMAP4, validity: int, inbound: InboundSink) -> int:
        """Handle the mails after the saved UID, oldest first, saving the UID after each."""
        last = await self._last_uid(validity)
        handled = 0
        while not self._stopping.is_set():
            uids = await self._new_uids(imap, last)
            if not uids:
                return handled
            for uid in uids:
                await self._handle_uid(imap, validity, uid, inbound)
                await self._store.cursor_set(UID_CURSOR, f"{validity}:{uid}")
                last = uid
                handled += 1
                if self._stopping.is_set():
                    break
        return handled

    async def _last_uid(self, validity: int) -> int:
        saved = await self._store.cursor_get(UID_CURSOR)
        if saved is None:
            return 0
        saved_validity, _, uid = saved.partition(":")
        if saved_validity != str(validity):
            # The server renumbered the mailbox: every UID is new. Mails already handled are recognised by their
            # Message-ID (the desk's inbox) and not answered twice.
            log.warning("email: UIDVALIDITY changed (%s -> %s); reading the mailbox again", saved_validity, validity)
            return 0
        return int(uid) if uid.isdigit() else 0

    async def _new_uids(self, imap: aioimaplib.IMAP4, last: int) -> list[int]:
        response = await imap.uid_search(f"UID {last + 1}:*", charset=None)
        if response.result != "OK":
            raise ImapError("UID SEARCH refused")
        uids: set[int] = set()
        for line in response.lines:
            if isinstance(line, (bytes, bytearray)) and not line.startswith(b"SEARCH") and b"completed" not in line:
                uids.update(int(part) for part in bytes(line).split() if part.isdigit())
        # "n:*" always includes the highest UID, even below n: keep only the new ones.
        return sorted(uid for uid in uids if uid > last)[:FETCH_BATCH]

    async def _handle_uid(self, imap: aioimaplib.IMAP4, validity: int, uid: int, inbound: InboundSink) -> None:
        size = await self._size(imap, uid)
        if size is not None and size > self._config.max_message_bytes:
            log.warning("email: mail UID %s skipped: %d bytes is above max_message_bytes", uid, size)
            return
        response = await imap.uid("fetch", str(uid), "(BODY.PEEK[])")
        if response.result != "OK":
            raise ImapError(f"UID FETCH {uid} refused")
        raw = next((bytes(line) for line in response.lines if isinstance(line, bytearray)), None)
        if raw is None:
            log.warning("email: mail UID %s has no body (expunged meanwhile?); skipped", uid)
            return
        await self.handle_raw(raw, f"{validity}:{uid}", inbound)

    async def _size(self, imap: aioimaplib.IMAP4, uid: int) -> int | None:
        response = await imap.uid("fetch", str(uid), "(RFC822.SIZE)")
        for line in response.lines:
            found = _SIZE.search(bytes(line)) if isinstance(line, (bytes, bytearray)) else None
            if found:
                return int(found.group(1))
        return None

    # -- one mail -----------------------------------------------------------------------------------------------

    async def handle_raw(self, raw: bytes, mailbox_id: str, inbound: InboundSink) -> None:
        """Hand one raw mail to the desk (or skip it with a log line); `mailbox_id` names it when it has no
        Message-ID."""
        if len(raw) > self._config.max_message_bytes:
            log.warning("email: mail %s skipped: %d bytes is above max_message_bytes", mailbox_id, len(raw))
            return
        try:
            # Parsing a large mail and checking its images takes a while: off the event loop.
            mail = await asyncio.to_thread(parse_mail, raw, self._config.address)
        except MailError as exc:
            log.warning("email: mail %s skipped: %s", mailbox_id, exc)
            return
        if mail.automated is not None:
            log.info("email: mail %s not answered: %s", mailbox_id, mail.automated)
            return
        message_key = mail.message_id or f"uid:{mailbox_id}"
        async with self._threads_lock:
            conversation_id, thread = await self._thread_for(mail, message_key)
        attachments, refused = await self._keep_files(mail, conversation_id)
        # A new thread's subject is part of the request; in a reply it only repeats it (and would hide a "5" rating).
        new_thread = thread.references[:1] == ((mail.message_id,) if mail.message_id else ())
        text = self._router_text(mail, refused, with_subject=new_thread)
        if not text and not attachments:
            log.info("email: mail %s skipped: nothing in it", mailbox_id)
            return
        message = InboundMessage(
            channel=CHANNEL_NAME,
            user_id=mail.sender,
            conversation_id=conversation_id,
            message_id=_digest(f"{mail.sender} {message_key}"),
            text=text,
            attachments=attachments,
            lang_hint="zh" if has_han(text) else None,
            kind="formal",
        )
        result = await inbound(message)
        if result is None:
            return  # handled before (a crash before the UID was saved): nothing more to do
        ticket = result.state.ticket
        if ticket is not None and ticket != thread.ticket:
            async with self._threads_lock:
                await self._remember_ticket(conversation_id, ticket)
        if refused:
            await self._send_refusal(conversation_id, refused, "zh" if has_han(text) else "en")

    async def _thread_for(self, mail: ParsedMail, message_key: str) -> tuple[str, Thread]:
        """The conversation this mail belongs to (a new one for a new thread), its record updated with the mail."""
        conversation_id: str | None = None
        thread: Thread | None = None
        for ref in mail.thread_ids:
            found = await self._store.cursor_get(_message_cursor(mail.sender, ref))
            if found is not None:
                thread = await self._thread(found)
                if thread is not None and thread.address == mail.sender:
                    conversation_id = found
                    break
        if conversation_id is None and mail.ticket_tag is not None:
            found = await self._store.cursor_get(f"{TICKET_CURSOR_PREFIX}{mail.ticket_tag}")
            thread = await self._thread(found) if found is not None else None
            # Someone else quoting a ticket number gets a thread of their own, not a seat in another's ticket.
            if found is not None and thread is not None and thread.address == mail.sender:
                conversation_id = found
        if conversation_id is None or thread is None:
            conversation_id = "mail-" + _digest(f"{mail.sender} {message_key}", 24)
            existing = await self._thread(conversation_id)  # the same mail again: keep what we had
            subject = self._scanner.scan(mail.subject).redacted_text
            thread = existing or Thread(address=mail.sender, subject=subject)
        refs = (*thread.references, mail.message_id) if mail.message_id else thread.references
        thread = dataclasses.replace(
            thread, references=tuple(thread_references(refs)), last_inbound=mail.message_id or thread.last_inbound
        )
        await self._store.cursor_set(THREAD_CURSOR_PREFIX + conversation_id, thread.to_json())
        if mail.message_id:
            await self._store.cursor_set(_message_cursor(mail.sender, mail.message_id), conversation_id)
        return conversation_id, thread

    async def _thread(self, conversation_id: str) -> Thread | None:
        saved = await self._store.cursor_get(THREAD_CURSOR_PREFIX + conversation_id)
        if saved is None:
            return None
        try:
            return Thread.from_json(saved)
        except (ValueError, KeyError, TypeError):
            log.warning("email: thread record %s is unreadable", conversation_id)
            return None

    async def _remember_ticket(self, conversation_id: str, ticket: int) -> None:
        thread = await self._thread(conversation_id)
        if thread is None or thread.ticket == ticket:
            return
        await self._store.cursor_set(
            THREAD_CURSOR_PREFIX + conversation_id, dataclasses.replace(thread, ticket=ticket).to_json()
        )
        await self._store.cursor_set(f"{TICKET_CURSOR_PREFIX}{ticket}", conversation_id)

    def _router_text(self, mail: ParsedMail, refused: list[str], *, with_subject: bool) -> str:
        """Subject (of a new thread) and new body as one text for the router (whose secret guard redacts it), with
        the names of the files sent, so the agent sees them."""
        subject = mail.subject if with_subject and mail.subject not in mail.text else ""
        parts = [subject, mail.text]
        names = [f.name for f in mail.files]
        if names:
            parts.append("Attachments: " + ", ".join(names))
        if refused:
            parts.append("Refused attachments: " + ", ".join(refused))
        return "\n\n".join(part.strip() for part in parts if part.strip())

    async def _keep_files(self, mail: ParsedMail, conversation_id: str) -> tuple[tuple[Attachment, ...], list[str]]:
        """Images and PDFs within the limits, written under the attachments folder; the names of the others
        (redacted: a file name can hold a secret too)."""
        kept: list[Attachment] = []
        refused: list[str] = []
        limit = self._config.max_attachment_bytes
        for file in mail.files:
            name = self._scanner.scan(file.name).redacted_text
            checked = check_file(file.data) if len(file.data) <= limit else None
            if checked is None or len(kept) >= self._config.max_attachments:
                refused.append(name)
                continue
            folder = self._attachments_dir / "email" / conversation_id
            path = folder / f"{hashlib.sha256(file.data).hexdigest()[:32]}{checked.extension}"
            await asyncio.to_thread(_write_file, path, file.data)
            kept.append(Attachment(checked.kind, str(path), checked.mime_type))
        if refused:
            log.info("email: %d attachment(s) refused in conversation %s", len(refused), conversation_id)
        return tuple(kept), refused

    async def _send_refusal(self, conversation_id: str, names: list[str], lang: Lang) -> None:
        text = self._refusal(lang, ", ".join(names), self._config.max_attachment_bytes // _MB)
        try:
            await self.send(conversation_id, Reply(text))
        except DeliveryError as exc:
            log.warning("email: could not explain refused attachments in %s: %s", conversation_id, exc)

    # -- sending ------------------------------------------------------------------------------------------------

    async def send(self, conversation_id: str, reply: Reply) -> None:
        """Send a reply as a mail in the user's thread, the ticket number in its subject."""
        async with self._threads_lock:
            thread = await self._thread(conversation_id)
            if thread is None:
                raise DeliveryError(f"email: no thread {conversation_id}", permanent=True)
            if self._replies.retry_after(thread.address):
                # A mail bot that slipped past the auto-reply checks would otherwise be answered forever.
                raise DeliveryError(
                    f"email: more than {self._config.replies_per_sender_per_hour} replies an hour to one address; "
                    "not sent",
                    permanent=True,
                )
            ticket = reply.ticket or thread.ticket
            lang: Lang = reply.lang or "en"  # the desk's: no guessing from the text
            subject = thread.subject or ("你的请求" if lang == "zh" else "Your request")
            message = build_reply(
                sender=self._config.address,
                sender_name=f"{self._brand} Support",
                to=thread.address,
                subject=f"[#{ticket}] {subject}" if ticket is not None else f"Re: {subject}",
                body=_reply_body(reply),
                footer=self._footer(lang),
                in_reply_to=thread.last_inbound,
                references=thread.references,
            )
            own_id = message_id_of(message)
            # Recorded before sending: the user's answer to this mail must find its thread even after a crash.
            await self._store.cursor_set(_message_cursor(thread.address, own_id), conversation_id)
            updated = dataclasses.replace(thread, references=tuple(thread_references((*thread.references, own_id))))
            await self._store.cursor_set(THREAD_CURSOR_PREFIX + conversation_id, updated.to_json())
            if ticket is not None and thread.ticket != ticket:
                await self._remember_ticket(conversation_id, ticket)
        await self._smtp_send(message)

    async def _smtp_send(self, message: object) -> None:
        config = self._config
        try:
            await aiosmtplib.send(
                message,  # type: ignore[arg-type]
                hostname=config.smtp_host,
                port=config.smtp_port,
                username=config.smtp_user or None,
                password=config.smtp_password or None,
                use_tls=config.smtp_tls == "implicit",
                start_tls=config.smtp_tls == "starttls",
                timeout=SMTP_TIMEOUT_SECONDS,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"email: recipient refused: {exc}", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            # 5xx: the server will refuse this mail again; 4xx: try later.
            raise DeliveryError(f"email: SMTP {exc.code}: {exc.message}", permanent=500 <= exc.code < 600) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"email: {type(exc).__name__}: {exc}") from exc


def _reply_body(reply: Reply) -> str:
    """The reply's text; choices cannot be tapped in a mail, so they are listed."""
    if not reply.suggestions:
        return reply.text
    lines = [f"{index}. {s.label}" for index, s in enumerate(reply.suggestions, 1)]
    return reply.text + "\n\n" + "\n".join(lines)


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():  # named by content: the same file sent twice is kept once
        path.write_bytes(data)


async def _starttls(imap: aioimaplib.IMAP4, host: str) -> None:
    """Upgrade the plain connection to TLS (aioimaplib has no STARTTLS of its own)."""
    protocol = imap.protocol
    command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
    response = await asyncio.wait_for(protocol.execute(command), imap.timeout)
    if response.result != "OK":
        raise ImapError("STARTTLS refused")
    loop = asyncio.get_running_loop()
    transport = await loop.start_tls(protocol.transport, protocol, ssl.create_default_context(), server_hostname=host)
    if transport is None:
        raise ImapError("STARTTLS failed")
    protocol.transport = transport
    await asyncio.wait_for(protocol.capability(), imap.timeout)  # capabilities may change once encrypted
