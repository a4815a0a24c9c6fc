"""A logging filter that redacts secrets from every record, including library loggers' raw payloads."""

from __future__ import annotations

import logging

from bot.secret_scanner import SecretScanner


class RedactingLogFilter(logging.Filter):
    """Renders each record's message, redacts it, and stores the redacted text back in the record."""

    def __init__(self, scanner: SecretScanner) -> None:
        super().__init__()
        self._scanner = scanner

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record, with secrets replaced."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not lose the record or leak its raw args
            message = f"{record.msg!r} (unformattable arguments)"
        record.msg = self._scanner.scan(message).redacted_text
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._scanner.scan(record.exc_text).redacted_text
        return True


def install_log_redaction(scanner: SecretScanner, logger: logging.Logger | None = None) -> RedactingLogFilter:
    """Attach a redacting filter to every handler of `logger` (default: root).

    A filter on a logger does not see records of its child loggers; a filter on the handler sees them all.
    """
    target = logger or logging.getLogger()
    redacting = RedactingLogFilter(scanner)
    for handler in target.handlers:
        if not any(isinstance(f, RedactingLogFilter) for f in handler.filters):
            handler.addFilter(redacting)
    return redacting
