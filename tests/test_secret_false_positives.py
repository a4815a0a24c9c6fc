"""How often the scanner redacts ordinary questions: the development and held-out questions of the project, and the
public question sets in ../shared/datasets (AFQMC in Chinese, CLINC150 and Banking77 in English; read in place,
skipped when absent). `pytest -s` prints the figures the README reports.

Also how often half of a Chinese phrase sent alone (unseparated characters, no context word) is caught on arrival:
the rest is caught only when the second half comes."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import mnemonic
import pytest

from benchmarks.public_data import afqmc, banking77, clinc150
from bot.security.secret_scanner import SecretKind, SecretScanner

DATA = Path(__file__).resolve().parent / "data"


# The project's own questions, by language: the development set and the held-out set.
DEV_AND_HELD_OUT = pytest.mark.parametrize(
    ("lang", "patterns"),
    [
        ("en", ("dev/en_*.jsonl", "dev2/en_*.jsonl", "heldout_en.jsonl")),
        ("zh", ("dev/zh_*.jsonl", "dev2/zh_*.jsonl", "heldout_zh.jsonl")),
    ],
)


def _texts(pattern: str) -> list[str]:
    return [json.loads(line)["text"] for path in sorted(DATA.glob(pattern)) for line in path.open(encoding="utf-8")]


@DEV_AND_HELD_OUT
def test_no_development_or_held_out_question_is_redacted(
    scanner: SecretScanner, lang: str, patterns: tuple[str, ...]
) -> None:
    texts = [text for pattern in patterns for text in _texts(pattern)]
    redacted = [(text, scanner.scan(text).redacted_text) for text in texts if scanner.scan(text).found]
    print(f"\nFALSE POSITIVES ({lang} development and held-out questions): {len(redacted)} of {len(texts)}")
    assert len(texts) > 800 and redacted == []


def _public_sets() -> dict[str, list[str]]:
    sets: dict[str, list[str]] = {}
    pairs = afqmc()
    if pairs is not None:
        sets["AFQMC (zh)"] = list(dict.fromkeys(pairs.first + pairs.second))
    english = [data for data in (clinc150(), banking77()) if data is not None]
    if english:
        sets["CLINC150 + Banking77 (en)"] = list(
            dict.fromkeys(t for d in english for split in (d.train, d.val, d.test) if split for t in split.texts)
        )
    return sets


def test_public_question_sets_are_not_taken_for_seed_phrases(scanner: SecretScanner) -> None:
    """No seed phrase in tens of thousands of real customer-service questions; other kinds at most 1 in 10,000
    (CLINC's "play one song forward": three wordlist words that are a whole message read as part of a phrase)."""
    sets = _public_sets()
    if not sets:
        pytest.skip("../shared/datasets holds none of AFQMC, CLINC150, Banking77")
    for name, texts in sets.items():
        kinds: Counter[SecretKind] = Counter()
        examples: list[str] = []
        for text in texts:
            result = scanner.scan(text)
            kinds.update(result.kinds)
            if result.found and len(examples) < 5:
                examples.append(f"{text} -> {result.redacted_text}")
        print(f"\nFALSE POSITIVES ({name}): {dict(kinds) or 0} of {len(texts)} questions; e.g. {examples}")
        if name.startswith("AFQMC"):
            assert kinds[SecretKind.SEED_PHRASE] == 0, examples
        assert sum(kinds.values()) * 10_000 <= len(texts), examples


@DEV_AND_HELD_OUT
def test_few_questions_would_have_their_relay_to_agents_held(
    scanner: SecretScanner, lang: str, patterns: tuple[str, ...]
) -> None:
    """A follow-up that may be the first part of a phrase reaches agents after `agents.relay_hold_seconds`: the
    development and held-out questions, taken as follow-ups, that would wait."""
    texts = [text for pattern in patterns for text in _texts(pattern)]
    held = [text for text in texts if not scanner.scan(text).found and scanner.may_start_seed(text)]
    print(f"\nRELAYS HELD ({lang} development and held-out questions as follow-ups): {len(held)} of {len(texts)}")
    assert len(held) * 10 <= len(texts), held


@pytest.mark.parametrize("wordlist", ["chinese_simplified", "chinese_traditional"])
def test_most_random_halves_of_a_chinese_phrase_are_caught_alone(scanner: SecretScanner, wordlist: str) -> None:
    """Six characters drawn like a phrase's: most form no word and hold no particle (the rest are caught with the
    second half, redacting the first as stored)."""
    words = mnemonic.Mnemonic(wordlist).wordlist
    draw = random.Random(13)
    halves = ["".join(draw.choice(words) for _ in range(6)) for _ in range(1000)]
    caught = sum(scanner.scan(half).kinds == {SecretKind.SEED_PHRASE} for half in halves)
    print(f"\nHALF PHRASES ({wordlist}, 6 unseparated characters, alone): {caught} of {len(halves)} caught")
    assert caught >= 800


@pytest.mark.parametrize(
    "text",
    [
        "locked out after fat-fingering my password like 6 times",
        "i reset my password after a follow-up email",
        "my two-factor code and my password both fail",
        "blockchain.com wallet password forgot, they say they cant reset it",
        "disney+ login code never arrives in my inbox",
        "attacker SIM swapped me (T-Mobile confirmed it) and already reset my password",
        "my Wi-Fi password works but your app says no connection",
    ],
)
def test_a_compound_word_or_site_name_beside_a_password_word_is_prose(scanner: SecretScanner, text: str) -> None:
    assert not scanner.scan(text).found


@pytest.mark.parametrize(
    "text",
    [
        "password reset email at 2:14am, then new withdrawal address added at 2:16am",
        "changed my password on 2024-08-12 and now i am locked out",
        "can't get past the 2-step screen after a password reset",
        "my saved password is gone after the update",
        "accessed from a device called Redmi-Note9 and now my password fails",
        "运营商确认补卡了（工单号 CM-0402-7731），随后登录密码被重置",
    ],
)
def test_a_time_date_count_ticket_number_or_device_name_beside_a_password_word_is_prose(
    scanner: SecretScanner, text: str
) -> None:
    assert not scanner.scan(text).found


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("blue-sky is my password", "blue-sky"),
        ("my password blue-sky stopped working", "blue-sky"),
        ("password: blue-sky", "blue-sky"),
        ("i use correct-horse-battery as my password", "correct-horse-battery"),
        ("Blue-Sky is my password", "Blue-Sky"),
        ("my password Blue-Sky stopped working", "Blue-Sky"),
    ],
)
def test_a_hyphenated_password_named_as_one_is_still_redacted(scanner: SecretScanner, text: str, secret: str) -> None:
    result = scanner.scan(text)
    assert result.found and secret not in result.redacted_text
