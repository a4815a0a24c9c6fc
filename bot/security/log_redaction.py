"""Log redaction: a handler filter that redacts secrets from every record, library loggers' raw payloads included.

python-telegram-bot, slack-bolt and httpx log whole update payloads at DEBUG, so user text reaches the logs
through loggers OmniDesk does not own. A filter on a logger only sees records logged on that very logger;
a filter on a handler sees every record the handler emits, whichever child logger it came from.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TypeVar
from urllib.parse import unquote_plus

from bot.security.secret_scanner import SecretScanner

_HandlerT = TypeVar("_HandlerT", bound=logging.Handler)
# Set on a record once redacted, so a record emitted by several handlers is scanned once.
_REDACTED_ATTR = "omnidesk_redacted"
# tweepy and others log raw response bytes, where JSON has written non-ASCII text as \uXXXX escapes (doubled in a
# bytes repr): a secret between Chinese words is only recognisable once they are turned back into characters.
_UNICODE_ESCAPE = re.compile(r"\\{1,2}u([0-9a-fA-F]{4})")
_URL_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}|\w\+\w")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MIN_CREDENTIAL = 8  # shorter configured values would redact ordinary words


class RedactingLogFilter(logging.Filter):
    """Renders each record's message, redacts it, and stores it back (`msg`, no `args`); never drops a record."""

    def __init__(self, scanner: SecretScanner, credentials: Iterable[str] = ()) -> None:
        super().__init__()
        self._scanner = scanner
        self.credentials: set[str] = {c for c in credentials if len(c) >= _MIN_CREDENTIAL}

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the message, the exception text and the stack text in place."""
        if getattr(record, _REDACTED_ATTR, False):
            return True
        record.msg = self._redact(_render_message(record))
        record.args = ()
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the raw traceback is never rendered again.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        setattr(record, _REDACTED_ATTR, True)
        return True

    def attach(self, handler: _HandlerT) -> _HandlerT:
        """Add this filter to a handler (e.g. one created after `install_log_redaction`); returns the handler."""
        handler.addFilter(self)
        return handler

    def _redact(self, text: str) -> str:
        for credential in self.credentials:  # the bot's own tokens, e.g. in the URLs httpx logs
            text = text.replace(credential, "[REDACTED:CREDENTIAL]")
        result = self._scanner.scan(text)
        if _URL_ENCODED.search(text):
            # slack-bolt logs a refused request's form body URL-encoded (`payload=%7B%22...`), where a seed phrase's
            # words are joined by `+` or `%20`: decoded, the scanner can read it; the whole record is then logged
            # decoded and redacted.
            unquoted = unquote_plus(text)
            if unquoted != text:
                decoded = self._scanner.scan(unquoted)
                if decoded.found:
                    text, result = unquoted, decoded
        if "\\u" in text:
            unescaped = _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
            decoded = self._scanner.scan(unescaped)
            if decoded.found:
                return decoded.redacted_text
        return result.redacted_text


class AccessLogFilter(logging.Filter):
    """For uvicorn's access log: the path without its query string, at most `max_path` characters, with control
    characters escaped. A query string is where credentials travel when a client puts them in a URL, and the path
    is whatever any unauthenticated client chose to send: neither may write arbitrary content into the log."""

    def __init__(self, max_path: int = 200) -> None:
        super().__init__()
        self._max_path = max_path

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the path argument (uvicorn's access records are `client, method, path, version, status`)."""
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (*args[:2], self._clean(args[2]), *args[3:])
        return True

    def _clean(self, full_path: str) -> str:
        path, query, _ = full_path.partition("?")
        path = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", path)
        if len(path) > self._max_path:
            path = path[: self._max_path] + "…"
        return path + ("?[query omitted]" if query else "")


def _render_message(record: logging.LogRecord) -> str:
    """The record's message with its arguments; for a malformed call, the message without them."""
    try:
        return record.getMessage()
    except Exception:
        # Arguments that did not fit the format string have no label the scanner could read ("password: %s"),
        # so they are dropped rather than logged raw; the record itself is kept.
        try:
            return f"{record.msg} [log arguments dropped: they do not match the format]"
        except Exception:
            return "<unprintable log message>"


def install_log_redaction(
    scanner: SecretScanner, logger: logging.Logger | None = None, credentials: Iterable[str] = ()
) -> RedactingLogFilter:
    """Attach one redacting filter to every handler of `logger` (default: the root logger) and return it;
    `credentials` (the bot's own tokens) are masked too, also by a filter installed earlier.

    On the root logger it also covers `logging.lastResort`, which prints warnings when no handler is set up.
    Handlers added later need `filter.attach(handler)`.
    """
    target = logger if logger is not None else logging.getLogger()
    redacting = RedactingLogFilter(scanner, credentials)
    handlers = list(target.handlers)
    if target is logging.getLogger() and logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        installed = [f for f in handler.filters if isinstance(f, RedactingLogFilter)]
        if installed:
            for earlier in installed:
                earlier.credentials |= redacting.credentials
        else:
            redacting.attach(handler)
    return redacting
