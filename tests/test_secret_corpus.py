"""The secret corpus (issue 13) through the real `omnidesk classify`: every secret caught whole, every look-alike left.

`tests/data/secrets/` was written by a helper who had not read the scanner's patterns: 230 secrets (seed phrases,
private keys, passwords, 2FA codes, API secrets; English and Chinese, in the shapes users type) and 260 look-alikes
(transaction hashes with context, addresses, UIDs, order ids, amounts, questions about secrets). It is a test corpus
the scanner was fixed against, not a held-out set. Every sample goes through one `omnidesk classify` process.

A secret is caught when `secret_detected` is set, the secret is gone from `redacted_text` (for a seed phrase: every
one of its words, for a long key: any 12 characters of it), and the words around it are still there (only the secret
is redacted). A look-alike passes when nothing is detected and the text comes back unchanged.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.security.log_redaction import install_log_redaction
from bot.security.secret_scanner import SecretScanner
from tests.test_cli import omnidesk

CORPUS = Path(__file__).resolve().parent / "data" / "secrets"
# Samples excluded as mislabelled, with the reason: none so far.
EXCLUDED: dict[str, str] = {}
_WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z]+(?![A-Za-z0-9_])|[\u3400-\u9fff]")


@dataclass(frozen=True)
class Secret:
    """One secret sample: the message, the secret in it, its kind and language."""

    id: str
    text: str
    secret: str
    kind: str
    lang: str

    @property
    def words(self) -> list[str]:
        """A seed phrase's words (lower case; Chinese: characters)."""
        if self.kind != "seed_phrase":
            return []
        return [w.lower() for w in _WORD.findall(self.secret)]


@dataclass(frozen=True)
class LookAlike:
    """A message that holds no secret."""

    id: str
    text: str
    lang: str
    shape: str


def _lines(name: str) -> Iterator[dict[str, str]]:
    with (CORPUS / name).open(encoding="utf-8") as lines:
        yield from (json.loads(line) for line in lines if line.strip())


def load_secrets() -> list[Secret]:
    """Every secret sample, less the excluded ones."""
    return [
        Secret(row["id"], row["text"], row["secret"], row["kind"], row["lang"])
        for row in _lines("secrets.jsonl")
        if row["id"] not in EXCLUDED
    ]


def load_look_alikes() -> list[LookAlike]:
    """Every look-alike, less the excluded ones."""
    return [
        LookAlike(row["id"], row["text"], row["lang"], row["shape"])
        for row in _lines("lookalikes.jsonl")
        if row["id"] not in EXCLUDED
    ]


def load_split_seeds() -> list[tuple[str, list[str], list[str]]]:
    """Seed phrases sent in parts: (id, the messages, the phrase's words)."""
    return [(row["id"], row["parts"], row["secret_words"]) for row in _lines("split_seeds.jsonl")]


def _is_subsequence(needles: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(n == h for h in it) for n in needles)


def why_not_caught(sample: Secret, detected: bool, redacted: str) -> str | None:
    """None when the secret was caught whole and only the secret was redacted; else what went wrong."""
    if not detected:
        return "not detected"
    if sample.secret in redacted:
        return "secret left in the text"
    start = sample.text.find(sample.secret)
    outside = sample.text[:start] + " " + sample.text[start + len(sample.secret) :] if start >= 0 else ""
    outside_words = [w.lower() for w in _WORD.findall(outside)]
    redacted_words = [w.lower() for w in _WORD.findall(redacted)]
    if sample.words:
        left, around = Counter(redacted_words), Counter(outside_words)
        kept = [w for w in dict.fromkeys(sample.words) if left[w] > around[w]]
        if kept:
            return f"phrase words left: {kept}"
    elif len(sample.secret) >= 20 and any(
        sample.secret[i : i + 12] in redacted for i in range(len(sample.secret) - 11)
    ):
        return "part of the secret left"
    if not _is_subsequence(outside_words, redacted_words):
        return "words around the secret redacted too"
    return None


@pytest.fixture(scope="module")
def classified() -> dict[str, dict[str, object]]:
    """Every sample through ONE `omnidesk classify` process: id -> its output line."""
    samples = [(s.id, s.text, s.lang) for s in load_secrets()] + [(a.id, a.text, a.lang) for a in load_look_alikes()]
    stdin = "".join(json.dumps({"text": text, "lang": lang}, ensure_ascii=False) + "\n" for _, text, lang in samples)
    done = omnidesk("classify", stdin=stdin)
    assert done.returncode == 0, done.stderr[-2000:]
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(out) == len(samples)
    return {sample_id: record for (sample_id, _, _), record in zip(samples, out, strict=True)}


def test_the_corpus_is_as_large_as_the_issue_asks() -> None:
    secrets, look_alikes = load_secrets(), load_look_alikes()
    assert len(secrets) >= 200 and len(look_alikes) >= 200
    assert {s.kind for s in secrets} == {"seed_phrase", "private_key", "password", "otp", "api_secret"}
    assert {s.lang for s in secrets} == {a.lang for a in look_alikes} == {"en", "zh"}
    assert len(load_split_seeds()) >= 10
    assert len(EXCLUDED) <= 5


def test_every_secret_is_caught_whole(classified: dict[str, dict[str, object]]) -> None:
    figures: Counter[tuple[str, str, bool]] = Counter()
    failures = []
    for sample in load_secrets():
        record = classified[sample.id]
        why = why_not_caught(sample, bool(record["secret_detected"]), str(record["redacted_text"]))
        figures[(sample.kind, sample.lang, why is None)] += 1
        if why is not None:
            failures.append(f"{sample.id} ({sample.kind}, {why}): {sample.text!r} -> {record['redacted_text']!r}")
    print("\nSECRET CORPUS (omnidesk classify): kind, lang, caught / samples")
    for kind, lang in sorted({(k, lang) for k, lang, _ in figures}):
        caught, total = figures[(kind, lang, True)], figures[(kind, lang, True)] + figures[(kind, lang, False)]
        print(f"  {kind:12} {lang}: {caught}/{total}")
    assert failures == [], f"{len(failures)} secrets not caught whole:\n" + "\n".join(failures)


def test_no_look_alike_is_redacted(classified: dict[str, dict[str, object]]) -> None:
    figures: Counter[tuple[str, bool]] = Counter()
    failures = []
    for sample in load_look_alikes():
        record = classified[sample.id]
        left = not record["secret_detected"] and record["redacted_text"] == sample.text
        figures[(sample.lang, left)] += 1
        if not left:
            failures.append(f"{sample.id} ({sample.shape}): {sample.text!r} -> {record['redacted_text']!r}")
    print(
        "\nLOOK-ALIKES (omnidesk classify): "
        + ", ".join(
            f"{lang} {figures[(lang, True)]}/{figures[(lang, True)] + figures[(lang, False)]} left alone"
            for lang in ("en", "zh")
        )
    )
    assert failures == [], f"{len(failures)} look-alikes redacted:\n" + "\n".join(failures)


def _unescape(logged: str) -> str:
    """A logged JSON body read back loosely (twice, for JSON inside JSON): \\uXXXX, \\n, \\" and \\\\ decoded."""
    for _ in range(2):
        logged = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), logged)
        logged = logged.replace("\\n", "\n").replace("\\t", "\t").replace('\\"', '"').replace("\\\\", "\\")
    return logged


def test_every_secret_is_redacted_in_a_logged_json_body(scanner: SecretScanner) -> None:
    """Libraries log the platform's update at DEBUG as JSON (escaped newlines and quotes, \\uXXXX for Chinese, or
    JSON inside JSON): through the log filter `omnidesk run` installs, no secret of the corpus survives there."""
    logger = logging.getLogger("omnidesk-corpus-log")
    logger.propagate, logger.level = False, logging.DEBUG
    sink = io.StringIO()
    logger.addHandler(logging.StreamHandler(sink))
    install_log_redaction(scanner, logger)
    failures = []
    for sample in load_secrets():
        update = {"u": 1, "m": {"c": 5, "caption": sample.text}}  # keys that are no wordlist words
        for body in (json.dumps(update), json.dumps(update, ensure_ascii=False), json.dumps(json.dumps(update))):
            sink.seek(0)
            sink.truncate()
            logger.debug("Received: %s", body)
            logged = _unescape(sink.getvalue())
            why = why_not_caught(sample, True, logged)
            if why is not None and why != "words around the secret redacted too":
                failures.append(f"{sample.id} ({why}): {logged[:200]!r}")
    assert failures == [], f"{len(failures)} secrets left in logged JSON:\n" + "\n".join(failures)
