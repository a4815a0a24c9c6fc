"""Log redaction: records of any logger, library child loggers included, reach the handlers with secrets redacted."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import mnemonic
import pytest

from bot.security.log_redaction import RedactingLogFilter, install_log_redaction
from bot.security.secret_scanner import SecretScanner

SEED = mnemonic.Mnemonic("english").to_mnemonic(bytes(range(16)))
ZH_SEED = mnemonic.Mnemonic("chinese_simplified").to_mnemonic(bytes(range(16)))
KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


class ListHandler(logging.Handler):
    """Keeps the records it is handed, after its filters ran."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _remove_redacting_filters(handlers: list[logging.Handler]) -> None:
    for handler in handlers:
        for f in [f for f in handler.filters if isinstance(f, RedactingLogFilter)]:
            handler.removeFilter(f)


@pytest.fixture
def own_logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    """A logger of the test's own that does not propagate, emptied afterwards."""
    logger = logging.getLogger(f"omnidesk.test.{request.node.name}")
    logger.propagate = False
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True


@pytest.fixture
def root_output() -> Iterator[io.StringIO]:
    """A stream handler on the root logger at DEBUG, removed (with every redacting filter) afterwards."""
    root = logging.getLogger()
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield sink
    root.removeHandler(handler)
    root.setLevel(level)
    _remove_redacting_filters([*root.handlers, *([logging.lastResort] if logging.lastResort else [])])


def test_a_library_child_logger_is_redacted_at_debug(scanner: SecretScanner, root_output: io.StringIO) -> None:
    install_log_redaction(scanner)
    # python-telegram-bot and slack-bolt log whole payloads from their own loggers, with %-style arguments.
    payload = {"message": {"text": f"my seed is {SEED}, and my password is Hunter2!xyz"}}
    logging.getLogger("telegram.ext.ExtBot").debug("Received data: %s", payload)
    logging.getLogger("slack_bolt.App").debug("payload=%r", {"event": {"text": f"私钥 {KEY}"}})
    out = root_output.getvalue()
    assert "DEBUG telegram.ext.ExtBot: Received data:" in out
    assert "abandon amount liar" not in out and "Hunter2!xyz" not in out and KEY not in out
    assert out.count("[REDACTED:") == 3


def test_a_filter_on_a_logger_would_miss_child_records(scanner: SecretScanner, root_output: io.StringIO) -> None:
    """Why the filter goes on the handlers: this is the mistake install_log_redaction avoids."""
    root = logging.getLogger()
    on_logger = RedactingLogFilter(scanner)
    root.addFilter(on_logger)
    try:
        logging.getLogger("httpx").debug("body: %s", f"my password is {KEY[:12]}")
    finally:
        root.removeFilter(on_logger)
    assert KEY[:12] in root_output.getvalue()


def test_the_record_keeps_the_redacted_text_and_no_arguments(
    scanner: SecretScanner, own_logger: logging.Logger
) -> None:
    logger = own_logger
    sink = ListHandler()
    logger.addHandler(sink)
    install_log_redaction(scanner, logger)
    logger.warning("user %s said %r", "u42", f"验证码是739201，助记词 {ZH_SEED}")
    record = sink.records[0]
    assert record.args == ()
    assert record.msg == "user u42 said '验证码是[REDACTED:OTP]，助记词 [REDACTED:SEED_PHRASE]'"
    assert record.getMessage() == record.msg


def test_exception_text_is_redacted(scanner: SecretScanner, root_output: io.StringIO) -> None:
    install_log_redaction(scanner)
    try:
        raise ValueError(f"cannot import wallet from seed {SEED}")
    except ValueError:
        logging.getLogger("omnidesk.wallet").exception("import failed for key %s", KEY)
    out = root_output.getvalue()
    assert "Traceback" in out and "ValueError: cannot import wallet from seed [REDACTED:SEED_PHRASE]" in out
    assert "abandon" not in out and KEY not in out


def test_a_malformed_log_call_is_still_redacted_and_kept(scanner: SecretScanner, root_output: io.StringIO) -> None:
    install_log_redaction(scanner)
    logging.getLogger("omnidesk.bad").error("password: %s %s", "hunter2hunter2")  # one argument short
    out = root_output.getvalue()
    assert "password: %s %s [log arguments dropped" in out and "hunter2hunter2" not in out


def test_a_handler_added_later_can_be_attached(scanner: SecretScanner, own_logger: logging.Logger) -> None:
    logger = own_logger
    redacting = install_log_redaction(scanner, logger)  # no handlers yet
    sink = redacting.attach(ListHandler())
    logger.addHandler(sink)
    logger.error("api secret: %s", "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffee")
    assert sink.records[0].getMessage() == "api secret: [REDACTED:API_SECRET]"


def test_installing_twice_adds_one_filter_per_handler(scanner: SecretScanner, root_output: io.StringIO) -> None:
    install_log_redaction(scanner)
    install_log_redaction(scanner)
    # The root's handlers, and the last-resort handler that prints warnings when there is none.
    handlers = [*logging.getLogger().handlers, *([logging.lastResort] if logging.lastResort else [])]
    assert all(sum(isinstance(f, RedactingLogFilter) for f in h.filters) == 1 for h in handlers)


def test_a_record_seen_by_two_handlers_is_redacted_once(scanner: SecretScanner, own_logger: logging.Logger) -> None:
    logger = own_logger
    first, second = ListHandler(), ListHandler()
    logger.addHandler(first)
    logger.addHandler(second)
    install_log_redaction(scanner, logger)
    logger.error("my password is %s", "Zx8#kLm2")
    assert first.records[0] is second.records[0]
    assert first.records[0].getMessage() == "my password is [REDACTED:PASSWORD]"


def test_messages_without_secrets_pass_unchanged(scanner: SecretScanner, root_output: io.StringIO) -> None:
    install_log_redaction(scanner)
    logging.getLogger("omnidesk.router").info("routed channel=%s action=%s uid=%d", "telegram", "answer", 38291746)
    assert root_output.getvalue() == "INFO omnidesk.router: routed channel=telegram action=answer uid=38291746\n"
