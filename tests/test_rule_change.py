"""benchmarks/rule_change.py: the before/after checks the README reports for a session's escalation rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.rule_change import compare_misses, escalation_at


def test_the_rules_at_a_revision_are_imported_beside_todays() -> None:
    base = escalation_at("HEAD")
    found = base.detect_escalation("my account got hacked and all my usdt is gone")
    assert found is not None and found.reason == "security_incident"
    assert base.detect_escalation("how do i enable 2fa") is None


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
