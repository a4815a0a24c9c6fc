from pathlib import Path

import pytest

from bot.app.config import BrandConfig
from bot.knowledge.knowledge_base import KnowledgeBase, KnowledgeBaseError, load_knowledge_base, render_answer

REQUIRED_IDS = [
    "contact-support",
    "submit-ticket",
    "ticket-status",
    "find-uid",
    "official-channels-phishing",
    "reset-password",
    "reset-2fa",
    "enable-2fa",
    "anti-phishing-code",
    "verification-code-not-received",
    "change-email-phone",
    "account-locked",
    "account-compromised",
    "kyc-how",
    "kyc-rejected",
    "deposit-not-credited",
    "deposit-wrong-network",
    "deposit-missing-memo",
    "withdrawal-pending",
    "withdrawal-fees-limits",
    "withdrawal-address-whitelist",
    "buy-crypto-fiat",
    "p2p-trading",
    "internal-transfer",
    "spot-order",
    "order-not-filled",
    "tp-sl",
    "trading-fees",
    "leverage-margin",
    "liquidation",
    "funding-rate",
    "transaction-history",
    "api-keys",
    "api-errors",
    "bonus-rewards",
    "referral",
    "sub-accounts",
    "close-account",
    "feedback-complaint",
    "business-cooperation",
    "app-download",
]

CATEGORIES = {"account-security", "deposits-withdrawals", "trading", "fiat-p2p", "api", "rewards", "support-contact"}


def test_every_required_entry_is_there_in_both_languages(kb: KnowledgeBase) -> None:
    ids = {entry.id for entry in kb.entries}
    assert set(REQUIRED_IDS) <= ids
    for entry in kb.entries:
        if entry.kind != "answer":
            continue
        assert len(entry.questions["en"]) >= 6, entry.id
        assert len(entry.questions["zh"]) >= 4, entry.id
        assert entry.answer["en"].strip() and entry.answer["zh"].strip(), entry.id
        assert entry.keywords["en"] and entry.keywords["zh"], entry.id
    assert {category.slug for category in kb.categories} >= CATEGORIES


def test_answers_carry_the_brand_and_no_unfilled_placeholders(kb: KnowledgeBase) -> None:
    brand = BrandConfig(
        name="Acme", official_domains=("acme.test",), official_handles=("@acme",), support_email="help@acme.test"
    )
    for entry in kb.entries:
        for lang in ("en", "zh"):
            text = render_answer(entry, lang, brand)
            assert "{" not in text and "}" not in text, (entry.id, lang)
            assert "ExampleX" not in text
    assert "Acme" in render_answer(kb.entry("contact-support") or kb.entries[0], "en", brand)


def _write(directory: Path, body: str) -> None:
    (directory / "cat.yaml").write_text(body, encoding="utf-8")


_ENTRY = """  - id: {id}
    title: {{en: T, zh: 题}}
    questions:
      en: [{en}, b{n}, c{n}, d{n}, e{n}, f{n}]
      zh: [甲{n}, 乙{n}, 丙{n}, 丁{n}]
    keywords: {{en: [k], zh: [键]}}
    answer: {{en: yes, zh: 是}}
"""


def _kb_text(*entries: str) -> str:
    return "category: c\ntitle: {en: C, zh: 类}\nentries:\n" + "".join(entries)


def test_duplicate_ids_fail_with_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, _kb_text(_ENTRY.format(id="x", en="a1", n=1), _ENTRY.format(id="x", en="a2", n=2)))
    with pytest.raises(KnowledgeBaseError, match=r"cat\.yaml:11: duplicate id 'x'"):
        load_knowledge_base(tmp_path)


def test_a_question_under_two_entries_fails_with_its_line(tmp_path: Path) -> None:
    _write(tmp_path, _kb_text(_ENTRY.format(id="x", en="same", n=1), _ENTRY.format(id="y", en="SAME!", n=2)))
    with pytest.raises(KnowledgeBaseError, match=r"cat\.yaml:14: question 'SAME!' of 'y' is also listed under 'x'"):
        load_knowledge_base(tmp_path)


def test_a_missing_language_fails_with_file_and_line(tmp_path: Path) -> None:
    body = _kb_text(_ENTRY.format(id="x", en="a", n=1)).replace("answer: {en: yes, zh: 是}", "answer: {en: yes}")
    _write(tmp_path, body)
    with pytest.raises(KnowledgeBaseError, match=r"cat\.yaml:\d+: entry 'x': 'answer' is missing 'zh'"):
        load_knowledge_base(tmp_path)


def test_too_few_questions_and_unknown_placeholders_fail(tmp_path: Path) -> None:
    body = _kb_text(_ENTRY.format(id="x", en="a", n=1)).replace(", f1]", "]")
    _write(tmp_path, body)
    with pytest.raises(KnowledgeBaseError, match="needs at least 6 en questions, has 5"):
        load_knowledge_base(tmp_path)
    _write(tmp_path, _kb_text(_ENTRY.format(id="x", en="a", n=1)).replace("en: yes", "en: 'call {phone}'"))
    with pytest.raises(KnowledgeBaseError, match=r"unknown placeholder \{phone\}"):
        load_knowledge_base(tmp_path)


def test_an_entry_without_a_title_fails_with_its_line(tmp_path: Path) -> None:
    _write(tmp_path, _kb_text(_ENTRY.format(id="x", en="a", n=1)).replace("    title: {en: T, zh: 题}\n", ""))
    with pytest.raises(KnowledgeBaseError, match=r"cat\.yaml:4: entry 'x' needs a 'title'"):
        load_knowledge_base(tmp_path)
    _write(tmp_path, _kb_text(_ENTRY.format(id="x", en="a", n=1)).replace("{en: T, zh: 题}", "{en: T}"))
    with pytest.raises(KnowledgeBaseError, match=r"cat\.yaml:5: entry 'x': 'title' is missing 'zh'"):
        load_knowledge_base(tmp_path)


def test_invalid_yaml_fails_with_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "category: c\nentries: [\n  - id: x\n")
    with pytest.raises(KnowledgeBaseError, match=r"cat\.yaml:\d+: invalid YAML"):
        load_knowledge_base(tmp_path)
