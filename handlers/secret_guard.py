"""The first middleware for every message: redact secrets and warn the user, then let the rest handle it."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from bot.core.messages import Action, Decision, Reply
from bot.knowledge.texts import ReplyTexts
from bot.security.secret_scanner import PLACEHOLDER, ScanResult, SecretKind, SecretScanner, without_placeholders
from handlers.base import Handler, NextStep, Outcome, Turn
from handlers.escalation import detect_escalation

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


@dataclass(frozen=True, slots=True)
class GuardMatch:
    """What the guard found: the message's scan, and earlier messages to store redacted (row id, new text)."""

    scan: ScanResult
    redact_earlier: tuple[tuple[int, str], ...] = ()
    may_start_seed: bool = False  # no secret, but maybe the first part of a seed phrase sent in parts


class SecretGuard:
    """Middleware: replaces detected secrets with placeholders before anything else sees the text."""

    def __init__(self, scanner: SecretScanner, texts: ReplyTexts, relay_hold_seconds: float = 0.0) -> None:
        self._scanner = scanner
        self._texts = texts
        self._relay_hold = relay_hold_seconds

    async def __call__(self, *, turn: Turn, next: NextStep) -> Outcome:
        """Pass the turn on, redacted and with the warning to send first when it holds a secret."""
        found = self._scan(turn)
        return await next(turn if found is None else self._redacted(turn, found))

    def _scan(self, turn: Turn) -> GuardMatch | None:
        """The scan result when the message holds a secret (alone, or as the rest of a phrase sent in parts), or
        may be the first part of a phrase."""
        redact: tuple[tuple[int, str], ...] = ()
        if not turn.earlier:
            result = self._scanner.scan(turn.message.text)
        else:
            result, changed = self._scanner.scan_continuing(turn.message.text, [text for _, text in turn.earlier])
            redact = tuple((row, new) for (row, _), new in zip(turn.earlier, changed, strict=True) if new is not None)
        if result.found or redact:
            return GuardMatch(result, redact)
        if self._relay_hold and self._scanner.may_start_seed(turn.message.text):
            return GuardMatch(result, may_start_seed=True)
        return None

    def _redacted(self, turn: Turn, found: GuardMatch) -> Turn:
        """The turn redacted, with the warning among its notices."""
        match = found.scan
        if not match.found:  # only an earlier message held (part of) a secret: it was warned about then
            hold = self._relay_hold if found.may_start_seed else 0.0
            return dataclasses.replace(turn, redact_earlier=found.redact_earlier, relay_hold=hold)
        kinds = match.kinds
        keys = ["secret_intro", *(f"secret_{kind.value}" for kind in _WARNING_ORDER if kind in kinds)]
        warning = Reply(self._texts.secret_warning(keys, turn.lang, turn.message.channel))
        # "my password is X, how do I reset 2FA?": what comes before the secret in its clause is about the secret,
        # not the question, so later steps read the other clauses and what follows the secret in its own clause
        # ("my 2fa code is X please help me withdraw" is still a withdrawal question).
        rest = "".join(PLACEHOLDER.split(c)[-1] for c in _CLAUSE.findall(match.redacted_text)).strip(" ,.;，。；\n")
        return dataclasses.replace(
            turn,
            message=dataclasses.replace(turn.message, text=rest),
            notices=(*turn.notices, warning),
            secret_kinds=frozenset(kind.value for kind in kinds),
            redacted_text=match.redacted_text,
            redact_earlier=found.redact_earlier,
        )


class SecretOnlyHandler(Handler[bool]):
    """The first decider: when nothing but the secret was said, the warning is the whole reply."""

    def check(self, turn: Turn) -> bool | None:
        """True when a secret was redacted and what is left asks nothing (a formal request still gets its ticket),
        unless the message tells of an incident ("they hacked me, my password was X and they took all my btc")."""
        if not turn.secret_kinds or turn.message.kind == "formal":
            return None
        rest = turn.message.text
        asks = _QUESTION_WORDS.search(rest) and len(rest.split()) + len(re.findall(r"[\u4e00-\u9fff]", rest)) >= 3
        return None if asks or detect_escalation(without_placeholders(turn.said)) is not None else True

    async def handle(self, turn: Turn, match: bool) -> Outcome:
        """Send the warning alone."""
        return Outcome(Decision(Action.DECLINE, turn.lang, reason="secret_redacted"), turn.notices, turn.state)
