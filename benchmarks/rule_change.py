"""What a change to the escalation rules did, the two checks the README reports for each session's rules.

Run: python -m benchmarks.rule_change --base REV
         the pattern decisions (`detect_escalation` in handlers/escalation.py, and the declines by pattern in
         handlers/pattern_decline.py) at git revision REV against the working tree's, over every stored text (tests/data/**, faq_data/examples.jsonl); the texts of test sets are counted,
         never printed; each printed text shows its stored label, and a last line counts those that agree with it;
         then the same for `decide_escalation` over a ranking sure of the security intent, where the rules' vetoes
         (a precaution, a late transfer, a loss the user caused) decide; then the other-products decision
         (bot/knowledge/intents.py with faq_data/intents/other_products.yaml)
     python -m benchmarks.rule_change --misses BEFORE AFTER
         the questions fixed and broken between two `benchmarks.understanding --misses` files (run them on tuning
         sets only: the texts are printed)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from benchmarks.devset import OFF_TOPIC_CLASS, load_held_out, stored_labels
from benchmarks.understanding import REASONS
from bot.knowledge.intents import INTENT_KINDS, INTENT_PREFIX, OtherProducts, load_other_products
from bot.knowledge.ranker import Ranked, Ranking
from bot.knowledge.textnorm import normalize
from handlers import escalation, pattern_decline

ROOT = Path(__file__).resolve().parent.parent


def file_at(revision: str, path: str) -> str:
    """The text of the repository's file `path` at `revision`."""
    return subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def module_at(revision: str, name: str, package: str = "handlers") -> ModuleType:
    """`package`/`name`.py as it was at `revision`, imported beside today's."""
    path = f"{package}/{name}.py"
    spec = importlib.util.spec_from_loader(f"{package.replace('/', '.')}._{name}_base", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    exec(compile(file_at(revision, path), f"{revision}:{path}", "exec"), module.__dict__)
    return module


def escalation_at(revision: str) -> ModuleType:
    """handlers/escalation.py as it was at `revision`."""
    return module_at(revision, "escalation")


def decline_rules_at(revision: str) -> ModuleType:
    """handlers/pattern_decline.py as it was at `revision`; before session 19 it was handlers/investment_advice.py."""
    try:
        return module_at(revision, "pattern_decline")
    except subprocess.CalledProcessError:
        return module_at(revision, "investment_advice")


def pattern_decision(escalation_rules: ModuleType, decline_rules: ModuleType, text: str) -> str | None:
    """The escalation the patterns ask for, else the decline by pattern ("decline: advice"), else None; in the
    router's order (a poem or a story asked for is declined before the escalation step)."""
    # (the creative-writing pattern came in session 25)
    asks_for_writing = getattr(decline_rules, "asks_for_creative_writing", None)
    if asks_for_writing is not None and asks_for_writing(text):
        return "decline: small talk"
    found = escalation_rules.detect_escalation(text)
    if found is not None:
        return str(found.reason)
    if decline_rules.asks_for_advice(text):
        return "decline: advice"
    # (the scam-material pattern came in session 19 with the rename: investment_advice.py has none)
    asks_for_scam = getattr(decline_rules, "asks_for_scam_material", None)
    if asks_for_scam is not None and asks_for_scam(text):
        return "decline: scam material"
    return None


# The ranking sure a message is an incident: what the escalation rules then decide is their vetoes' work alone (a
# precaution, a late transfer, a loss the user caused …), which the patterns alone never show.
_SURE_OF_AN_INCIDENT = Ranking((Ranked("intent:security", 0.9, 0.0, 0.0, ""),), True)


def decision_over_an_incident_ranking(escalation_rules: ModuleType, text: str) -> str | None:
    """The escalation `decide_escalation` makes when the ranking is sure of the security intent, else None."""
    found = escalation_rules.decide_escalation(text, _SURE_OF_AN_INCIDENT, escalate_at=0.5)
    return None if found is None else str(found.reason)


def other_products_at(revision: str) -> OtherProducts | None:
    """The other-products lists and rules as they were at `revision` (the code and the list)."""
    intents = module_at(revision, "intents", "bot/knowledge")
    with tempfile.TemporaryDirectory() as faq_dir:
        (Path(faq_dir) / "intents").mkdir()
        listed = file_at(revision, "faq_data/intents/other_products.yaml")
        (Path(faq_dir) / "intents" / "other_products.yaml").write_text(listed, encoding="utf-8")
        products: OtherProducts | None = intents.load_other_products(Path(faq_dir))
    return products


def other_product_decision(products: OtherProducts | None, text: str) -> str | None:
    """"decline: other product" when the text is about another company's product, else None."""
    return "decline: other product" if products is not None and products.asked_about(normalize(text)) else None


def agrees_with_label(decision: str | None, label: str | None) -> bool | None:
    """Whether a pattern decision is the one a stored label asks for (None for an unlabelled text): an escalation kind
    its reason; an FAQ entry or an off-topic text no escalation (off-topic may also be declined by pattern)."""
    if label is None:
        return None
    kind = label.removeprefix(INTENT_PREFIX)
    if kind in INTENT_KINDS:
        return decision == REASONS[kind]
    if decision is None:
        return True
    return decision.startswith("decline") and kind in ("off_topic", OFF_TOPIC_CLASS)


def compare_patterns(revision: str) -> None:
    """Print the texts whose pattern decision changed since `revision`, then those whose decision over a ranking sure
    of an incident changed, then those whose other-products decision changed, each with its stored label, and how many of those shown agree with it (test sets' texts
    only counted)."""
    base_escalation, base_decline = escalation_at(revision), decline_rules_at(revision)
    print("== the patterns")
    _compare(
        lambda text: pattern_decision(base_escalation, base_decline, text),
        lambda text: pattern_decision(escalation, pattern_decline, text),
    )
    print("== the rules over a ranking sure of an incident")
    _compare(
        lambda text: decision_over_an_incident_ranking(base_escalation, text),
        lambda text: decision_over_an_incident_ranking(escalation, text),
    )
    print("== other products")
    base_products, products = other_products_at(revision), load_other_products()
    _compare(
        lambda text: other_product_decision(base_products, text), lambda text: other_product_decision(products, text)
    )


def _compare(before: Callable[[str], str | None], after: Callable[[str], str | None]) -> None:
    held_out = {q.text for q in load_held_out()}
    labels = stored_labels()
    changed = hidden = 0
    verdicts: list[bool | None] = []
    for text in sorted(labels):
        was, now = before(text), after(text)
        if was == now:
            continue
        changed += 1
        if text in held_out:
            hidden += 1
            continue
        verdicts.append(agrees_with_label(now, labels[text]))
        print(f"{was} -> {now} | [{labels[text]}] {text[:120]}")
    print(f"{len(labels)} texts, {changed} changed ({hidden} of them in test sets, not shown)")
    print(
        f"of the {len(verdicts)} shown, {verdicts.count(True)} now agree with their label, "
        f"{verdicts.count(False)} do not, {verdicts.count(None)} have none"
    )


def compare_misses(before_file: Path, after_file: Path) -> None:
    """Print the questions that left the misses (fixed) and those that joined them (broken)."""

    def load(path: Path) -> dict[tuple[str, str], dict[str, object]]:
        rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        return {(row["set"], row["text"]): row for row in rows}

    before, after = load(before_file), load(after_file)
    fixed = [key for key in before if key not in after]
    broken = [key for key in after if key not in before]
    for key in fixed:
        print(f"+ {key[0]} [{before[key]['label']}] {key[1][:110]} (was {_decision(before[key])})")
    for key in broken:
        print(f"- {key[0]} [{after[key]['label']}] {key[1][:110]} -> {_decision(after[key])}")
    print(f"fixed {len(fixed)}, broken {len(broken)}")


def _decision(row: dict[str, object]) -> str:
    return f"{row['action']} {row['reason'] or row['faq_id']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--base", help="git revision whose escalation and decline patterns to compare with the working tree's")
    group.add_argument("--misses", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.base:
        compare_patterns(args.base)
    else:
        compare_misses(*args.misses)


if __name__ == "__main__":
    main()
