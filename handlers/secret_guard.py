"""The first step for every message: redact secrets and warn the user, then let the rest be handled."""

from __future__ import annotations

import dataclasses
import re

from bot.core.messages import Action, Decision, Reply
from bot.knowledge.texts import ReplyTexts
from bot.security.secret_scanner import ScanResult, SecretKind, SecretScanner
from handlers.base import Handler, Outcome, Turn

_PLACEHOLDER = re.compile(r"\[REDACTED(?::[A-Z_]+)?\]")
_CLAUSE = re.compile(r"[^,.;!?，。；！？\n]*(?:[,.;!?，。；！？\n]+|$)")
# What is left of "my password is [REDACTED]" asks nothing: the warning alone answers it.
_QUESTION_WORDS = re.compile(
    r"\?|？|\b(how|what|why|where|when|can|could|help|is|are|do|does|should|reset|change|lost|forgot)\b"
    r"|怎么|如何|为什么|吗|呢|请|帮|能否|可以|哪里",
    re.IGNORECASE,
)
_WARNING_ORDER = (
    SecretKind.SEED_PHRASE,
    SecretKind.PRIVATE_KEY,
    SecretKind.PASSWORD,
    SecretKind.OTP,
    SecretKind.API_SECRET,
)


class SecretGuard(Handler[ScanResult]):
    """Replaces detected secrets with placeholders before anything else sees the text."""

    def __init__(self, scanner: SecretScanner, texts: ReplyTexts) -> None:
        self._scanner = scanner
        self._texts = texts

    def check(self, turn: Turn) -> ScanResult | None:
        """The scan result when the message holds a secret."""
        result = self._scanner.scan(turn.message.text)
        return result if result.found else None

    async def handle(self, turn: Turn, match: ScanResult) -> Turn:
        """Redact, warn, and pass the rest of the message on."""
        kinds = match.kinds
        keys = ["secret_intro", *(f"secret_{kind.value}" for kind in _WARNING_ORDER if kind in kinds)]
        warning = Reply(self._texts.secret_warning(keys, turn.lang, turn.message.channel))
        # "my password is X, how do I reset 2FA?": the clause that carried the secret is about the secret,
        # not the question, so later steps only read the other clauses.
        rest = "".join(c for c in _CLAUSE.findall(match.redacted_text) if not _PLACEHOLDER.search(c)).strip()
        redacted = dataclasses.replace(
            turn,
            message=dataclasses.replace(turn.message, text=rest),
            notices=(*turn.notices, warning),
            secret_kinds=frozenset(kind.value for kind in kinds),
            redacted_text=match.redacted_text,
        )
        return redacted


class SecretOnlyHandler(Handler[bool]):
    """Right after the guard: when nothing but the secret was said, the warning is the whole reply."""

    def check(self, turn: Turn) -> bool | None:
        """True when a secret was redacted and what is left asks nothing (a formal request still gets its ticket)."""
        if not turn.secret_kinds or turn.message.kind == "formal":
            return None
        rest = turn.message.text
        asks = _QUESTION_WORDS.search(rest) and len(rest.split()) + len(re.findall(r"[\u4e00-\u9fff]", rest)) >= 3
        return None if asks else True

    async def handle(self, turn: Turn, match: bool) -> Outcome:
        """Send the warning alone."""
        return Outcome(Decision(Action.DECLINE, turn.lang, reason="secret_redacted"), turn.notices, turn.state)
