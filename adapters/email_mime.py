"""Email as data: parsing a raw mail into what the router needs, and building a threaded reply (pure functions)."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, make_msgid
from html.parser import HTMLParser
from typing import Literal

from mailparser_reply import EmailReplyParser
from PIL import Image, UnidentifiedImageError

MAX_REFERENCES = 20  # the References header keeps the thread's root and its latest messages
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,500})>")
_TICKET_TAG = re.compile(r"\[#(\d{1,9})\]")
_SUBJECT_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|sv|回复|答复|转发)\s*[:：]\s*|\[#\d{1,9}\]\s*)+", re.IGNORECASE)
_NO_REPLY_LOCAL = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]daemon|postmaster|bounces?)(?:[-+_.].*)?$", re.IGNORECASE
)
# Where a quoted earlier message starts, in the clients our users write from (English and Chinese).
_QUOTE_HEADER = re.compile(
    r"^\s*(?:On\s.{1,200}\swrote:|在.{1,200}写道[:：]|-{2,}\s*(?:Original Message|原始邮件|原始郵件)\s*-{2,}"
    r"|(?:From|发件人|寄件者)\s*[:：].{1,200})\s*$",
    re.IGNORECASE,
)
# Charsets mail clients label too narrowly: GB18030 decodes GB2312 and GBK text and what they miss.
_CHARSET_FALLBACK = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "big5": "big5hkscs"}
ImageFormat = Literal["PNG", "JPEG", "GIF", "WEBP"]
_IMAGE_TYPES: dict[str, str] = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


class MailError(ValueError):
    """A mail that cannot be handled at all (no sender, unreadable structure): skipped with a log line."""


@dataclass(frozen=True, slots=True)
class MailFile:
    """A file attached to a mail, as sent (checked later)."""

    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """What OmniDesk needs of one received mail."""

    message_id: str | None  # without the angle brackets
    sender: str  # the From address, lower-cased
    subject: str  # without Re:/Fwd: prefixes and [#N] tags
    ticket_tag: int | None  # the [#N] in the subject, if any
    text: str  # the new part of the body as plain text: quoted earlier messages removed
    thread_ids: tuple[str, ...]  # In-Reply-To first, then References newest first
    files: tuple[MailFile, ...]
    automated: str | None  # why the mail is machine-sent (auto-reply, bounce, list), None for a person's mail


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """An attachment that passed the content check: what it really is."""

    kind: Literal["photo", "document"]
    mime_type: str
    extension: str


def parse_mail(raw: bytes, own_address: str) -> ParsedMail:
    """Parse a raw RFC 5322 mail; MailError when it has no usable sender."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        sender = _sender(message)
        subject_raw = _header(message, "Subject")
    except MailError:
        raise
    except Exception as exc:  # the email package raises many kinds on broken headers
        raise MailError(f"unreadable headers: {type(exc).__name__}") from exc
    if sender is None:
        raise MailError("no sender address")
    tag = _TICKET_TAG.search(subject_raw)
    plain, html_text = _bodies(message)
    body = plain if plain.strip() else html_to_text(html_text)
    return ParsedMail(
        message_id=_first_id(_header(message, "Message-ID")),
        sender=sender,
        subject=clean_subject(subject_raw),
        ticket_tag=int(tag.group(1)) if tag else None,
        text=strip_quoted(body),
        thread_ids=(*_ids(_header(message, "In-Reply-To")), *reversed(_ids(_header(message, "References")))),
        files=tuple(_files(message)),
        automated=automated_reason(message, sender, own_address),
    )


def clean_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and ticket tags, on one line."""
    one_line = " ".join(subject.split())
    return _TICKET_TAG.sub("", _SUBJECT_PREFIX.sub("", one_line)).strip()


def automated_reason(message: Message, sender: str, own_address: str) -> str | None:
    """Why a mail was sent by a machine (RFC 3834 and common practice), or None: those are never answered."""
    auto = _header(message, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    if _header(message, "List-Id") or _header(message, "List-Unsubscribe"):
        return "mailing list"
    if _header(message, "Return-Path").strip() == "<>":
        return "bounce (empty Return-Path)"
    if any(_header(message, name) for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress")):
        return "auto-responder header"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    local, _, _ = sender.partition("@")
    if _NO_REPLY_LOCAL.match(local):
        return "no-reply sender"
    if sender == own_address.lower():
        return "our own address"
    return None


def strip_quoted(text: str) -> str:
    """The new part of a reply: the quoted earlier message and its "On ... wrote:" line removed."""
    text = text.replace("\r\n", "\n").strip()
    try:
        parsed = EmailReplyParser(languages=["en", "zh"]).parse_reply(text=text)
    except Exception:  # a parser bug must not cost the message: fall back to our own rules
        parsed = text
    kept: list[str] = []
    for line in (parsed or text).split("\n"):
        if _QUOTE_HEADER.match(line) and kept:
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    result = "\n".join(kept).strip()
    return result or text


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body: tags dropped, blocks on lines of their own, scripts and styles ignored."""
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # html.parser is lenient; anything it still cannot take is dropped, not fatal
        return ""
    return re.sub(r"\n{3,}", "\n\n", "".join(parser.parts)).strip()


def check_file(data: bytes) -> CheckedFile | None:
    """What a file really is, by its content: an image Pillow can read (PNG, JPEG, GIF, WebP) or a PDF; else None."""
    if data.startswith(b"%PDF-"):
        return CheckedFile("document", "application/pdf", ".pdf")
    try:
        with Image.open(io.BytesIO(data)) as image:
            found = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    if found not in _IMAGE_TYPES:
        return None
    return CheckedFile("photo", _IMAGE_TYPES[found], "." + found.lower().replace("jpeg", "jpg"))


def build_reply(
    *,
    sender: str,
    sender_name: str,
    to: str,
    subject: str,
    body: str,
    footer: str,
    in_reply_to: str | None,
    references: Sequence[str],
) -> EmailMessage:
    """A reply in the user's thread: plain text plus a simple HTML part, the safety footer in both."""
    message = EmailMessage(policy=policy.SMTP)
    local, _, domain = sender.partition("@")
    message["From"] = Address(sender_name, local, domain)
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=domain or None)
    # RFC 3834: our mails are automatic, so well-behaved auto-responders do not answer them.
    message["Auto-Submitted"] = "auto-replied"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        message["References"] = " ".join(f"<{ref}>" for ref in thread_references(references))
    message.set_content(f"{body}\n\n-- \n{footer}\n")
    paragraphs = "".join(f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>" for part in body.split("\n\n"))
    message.add_alternative(
        f'<!DOCTYPE html><html><body style="font-family:sans-serif">{paragraphs}'
        f'<hr><p style="color:#555;font-size:small">{html.escape(footer)}</p></body></html>',
        subtype="html",
    )
    return message


def thread_references(ids: Sequence[str]) -> list[str]:
    """The ids a References header keeps: the thread's first and its latest, at most MAX_REFERENCES."""
    unique = list(dict.fromkeys(ids))
    if len(unique) <= MAX_REFERENCES:
        return unique
    return [unique[0], *unique[-(MAX_REFERENCES - 1) :]]


def message_id_of(message: EmailMessage) -> str:
    """A built message's own id, without angle brackets."""
    found = _first_id(str(message["Message-ID"]))
    assert found is not None, "build_reply always sets a Message-ID"
    return found


# -- helpers ----------------------------------------------------------------------------------------------------


def _header(message: Message, name: str) -> str:
    """A header's decoded value, "" when absent; undecodable parts are replaced, never raised."""
    try:
        value = message.get(name)
    except Exception:
        return ""
    if value is None:
        return ""
    try:
        return str(value)
    except Exception:
        return ""


def _sender(message: Message) -> str | None:
    pairs = getaddresses([_header(message, "From")])
    for _, address in pairs:
        address = address.strip().lower()
        if "@" in address and " " not in address and len(address) <= 254:
            return address
    return None


def _ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value)


def _first_id(value: str) -> str | None:
    found = _ids(value)
    return found[0] if found else None


def _bodies(message: EmailMessage | Message) -> tuple[str, str]:
    """The plain and HTML bodies (either may be empty), decoded whatever charset they claim."""
    plain = html_body = ""
    if not isinstance(message, EmailMessage):
        return _decoded(message), ""
    for part in (message.get_body(preferencelist=("plain",)), message.get_body(preferencelist=("html",))):
        if part is None:
            continue
        if part.get_content_type() == "text/plain" and not plain:
            plain = _decoded(part)
        elif part.get_content_type() == "text/html" and not html_body:
            html_body = _decoded(part)
    return plain, html_body


def _decoded(part: Message) -> str:
    """A text part's content: its declared charset (with the usual Chinese aliases widened), else UTF-8, replacing
    what does not decode."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    declared = (part.get_content_charset() or "utf-8").lower()
    for charset in (_CHARSET_FALLBACK.get(declared, declared), "utf-8"):
        try:
            return payload.decode(charset, errors="replace")
        except LookupError:  # a charset Python does not know: try UTF-8
            continue
    return payload.decode("utf-8", errors="replace")


def _files(message: EmailMessage | Message) -> list[MailFile]:
    if not isinstance(message, EmailMessage):
        return []
    found: list[MailFile] = []
    for part in message.iter_attachments():
        if part.is_multipart():
            continue  # a forwarded mail as a whole: not a file we keep
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        try:
            name = part.get_filename() or "attachment"
        except Exception:
            name = "attachment"
        found.append(MailFile(" ".join(name.split())[:200], part.get_content_type(), data))
    return found


class _TextExtractor(HTMLParser):
    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table"})
    # A blockquote in a mail is the earlier message being quoted: not the user's new words.
    _HIDDEN = frozenset({"script", "style", "head", "title", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)
