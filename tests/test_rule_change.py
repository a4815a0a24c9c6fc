"""benchmarks/rule_change.py and `benchmarks.devset import`: how a session's new set comes in and what its rules did."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from benchmarks.devset import ROOT, import_set
from benchmarks.rule_change import (
    agrees_with_label,
    compare_misses,
    decision_over_an_incident_ranking,
    decline_rules_at,
    escalation_at,
    module_at,
    other_product_decision,
    other_products_at,
    pattern_decision,
)
from handlers import escalation


def test_the_rules_at_a_revision_are_imported_beside_todays() -> None:
    base = escalation_at("HEAD")
    found = base.detect_escalation("my account got hacked and all my usdt is gone")
    assert found is not None and found.reason == "security_incident"
    assert base.detect_escalation("how do i enable 2fa") is None


def test_a_pattern_decision_is_the_escalation_else_the_decline_by_pattern() -> None:
    escalation, decline = escalation_at("HEAD"), module_at("HEAD", "pattern_decline")
    assert pattern_decision(escalation, decline, "my account got hacked and all my usdt is gone") == "security_incident"
    assert pattern_decision(escalation, decline, "should i buy bitcoin now") == "decline: advice"
    assert pattern_decision(escalation, decline, "can you write a phishing email for me") == "decline: scam material"
    assert pattern_decision(escalation, decline, "how do i enable 2fa") is None


def test_the_rules_over_a_ranking_sure_of_an_incident_show_their_vetoes() -> None:
    assert decision_over_an_incident_ranking(escalation, "someone took 2 btc from my account") == "security_incident"
    assert decision_over_an_incident_ranking(escalation, "withdrew sol to my ledger 3h ago and still no txid") is None
    assert decision_over_an_incident_ranking(escalation, "i need a real person") == "human_request"


def test_the_other_products_at_a_revision_are_its_code_and_its_list() -> None:
    # (HEAD: a clean checkout may hold no older revision)
    at_head = other_products_at("HEAD")
    for text in ("MySQL keeps saying too many connections", "the transfer bounced twice. it went through zelle"):
        assert other_product_decision(at_head, text) == "decline: other product"
    assert other_product_decision(at_head, "my usdt withdrawal to binance is stuck") is None


def test_a_changed_decision_is_judged_against_the_label_it_was_stored_under() -> None:
    assert agrees_with_label("security_incident", "security") and agrees_with_label("refund_request", "intent:refund")
    assert not agrees_with_label(None, "human") and not agrees_with_label("human_request", "refund")
    assert agrees_with_label(None, "reset-2fa") and not agrees_with_label("security_incident", "liquidation")
    assert agrees_with_label("decline: advice", "off_topic") and agrees_with_label(None, "small-talk")
    assert not agrees_with_label("decline: advice", "spot-order")
    assert agrees_with_label("security_incident", None) is None


def test_the_decline_rules_before_their_rename_are_still_read() -> None:
    # e4ea873 (session 19's start) kept them in handlers/investment_advice.py, with no scam-material pattern
    if subprocess.run(["git", "cat-file", "-e", "e4ea873^{commit}"], cwd=ROOT, capture_output=True).returncode != 0:
        pytest.skip("a shallow clone: e4ea873 is not in this checkout's history")
    escalation, decline = escalation_at("e4ea873"), decline_rules_at("e4ea873")
    assert pattern_decision(escalation, decline, "should i buy bitcoin now") == "decline: advice"
    assert pattern_decision(escalation, decline, "can you write a phishing email for me") is None


def test_misses_that_left_are_fixed_and_those_that_joined_are_broken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def write(name: str, texts: list[str]) -> Path:
        path = tmp_path / name
        rows = ({"set": "dev2", "text": t, "label": "security", "action": "answer", "reason": None, "faq_id": "x"} for t in texts)
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        return path

    compare_misses(write("before", ["kept", "mended"]), write("after", ["kept", "new miss"]))
    out = capsys.readouterr().out
    assert "+ dev2 [security] mended" in out and "- dev2 [security] new miss" in out and "kept" not in out
    assert out.rstrip().endswith("fixed 1, broken 1")


def test_a_new_set_is_imported_without_the_texts_it_repeats(tmp_path: Path) -> None:
    source, target = tmp_path / "written", tmp_path / "imported"
    source.mkdir()
    example = json.loads((ROOT / "faq_data" / "examples.jsonl").read_text(encoding="utf-8").splitlines()[0])["text"]
    texts = [
        "my withdrawal of 3 sol went nowhere for a whole week now",
        f"  {example.upper()} ",  # a stored example, once normalised
        "Where can I buy a fake passport?",  # a knowledge-base phrasing
        "my withdrawal of 3 SOL went nowhere for a whole week now",  # a repeat within the set
    ]
    (source / "en_faq.jsonl").write_text(
        "".join(json.dumps({"text": t, "lang": "en", "label": "withdrawal-pending"}) + "\n" for t in texts), encoding="utf-8"
    )
    assert import_set(source, target) == {"": 3, "en_faq.jsonl": 1}
    assert [json.loads(line)["text"] for line in (target / "en_faq.jsonl").read_text(encoding="utf-8").splitlines()] == texts[:1]
    with pytest.raises(SystemExit, match="imported once"):
        import_set(source, target)
