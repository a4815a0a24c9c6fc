"""Choose the answer and escalation thresholds on the tuning half (never the test half): the ranking alone, per
threshold, per language: FAQ questions answered right / wrong, off-topic answered, escalation intents recalled.

Run: python -m benchmarks.thresholds [--encoder e5|use|none]   (default e5; the fitted weights)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.devset import load_tuning
from benchmarks.fit_ranker import ESCALATION_KINDS, FOLDS, fold_of, fold_rankers, targets
from bot.app.config import load_config
from bot.app.wiring import build_ranker
from bot.knowledge.intents import intent_kind
from bot.knowledge.knowledge_base import load_knowledge_base

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Print the sweep."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", default="e5", choices=["e5", "use", "none"])
    config = load_config(ROOT / "config.yaml", env={"OMNIDESK_ENCODER": parser.parse_args().encoder})
    kb = load_knowledge_base()
    ranker = build_ranker(config, kb)
    questions = [q for q in load_tuning() if "multi" not in q.file]
    # the shipped classifier learnt these questions (faq_data/examples.jsonl): rank each with its fold's instead
    rankers = fold_rankers(ranker) if ranker.semantic is not None else [ranker] * FOLDS
    ranked = [(q, rankers[fold_of(q.text)].rank(q.text, q.lang)) for q in questions]
    for lang in ("en", "zh"):
        print(lang)
        mine = [(q, r) for q, r in ranked if q.lang == lang]
        faq = [(q, r) for q, r in mine if q.label not in (*ESCALATION_KINDS, "off_topic") and targets(q, kb)]
        off = [(q, r) for q, r in mine if q.label == "off_topic"]
        for threshold in (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9):
            right = wrong = 0
            for q, r in faq:
                top = r.top
                if top and intent_kind(top.entry_id) is None and top.confidence >= threshold:
                    right += top.entry_id == q.label
                    wrong += top.entry_id != q.label
            answered_off = sum(
                1
                for _, r in off
                if r.top and (e := kb.entry(r.top.entry_id)) and e.kind == "answer" and r.top.confidence >= threshold
            )
            print(
                f"  answer >= {threshold:.2f}: right {right / len(faq):6.1%}  wrong {wrong / len(faq):6.1%}  "
                f"off-topic answered {answered_off}/{len(off)}"
            )
        for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
            cells = []
            for kind in ESCALATION_KINDS:
                group = [r for q, r in mine if q.label == kind]
                hit = sum(1 for r in group if r.top and intent_kind(r.top.entry_id) == kind and r.top.confidence >= threshold)
                cells.append(f"{kind} {hit / max(1, len(group)):6.1%}")
            escalated = sum(1 for _, r in faq if r.top and intent_kind(r.top.entry_id) and r.top.confidence >= threshold)
            print(f"  escalate >= {threshold:.2f}: " + "  ".join(cells) + f"  FAQ escalated {escalated / len(faq):6.1%}")


if __name__ == "__main__":
    main()
