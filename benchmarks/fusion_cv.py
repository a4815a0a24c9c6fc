"""What the classifier and the calibration add, cross-validated on the development set's tuning half (never `test`).

Run: python -m benchmarks.fusion_cv   (the e5 encoder; about a minute with the embeddings cached)

The tuning questions are split in two folds (seeded); fusion weights (and the calibration) are fitted on one fold and
measured on the other, both ways. Printed per language:
- top-1 of FaqMatcher alone, of the fusion without the classifier's three features, and of the shipped fusion, for
  FAQ questions and escalation intents;
- the share of FAQ questions answered right when the answer threshold is set so that at most 2% are answered wrong,
  with the softmax's confidence (shipped) and with a logistic recalibration of the top candidate (shipped until
  session 7, when it answered fewer right).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import numpy.typing as npt

from benchmarks.devset import load_tuning
from benchmarks.fit_ranker import ESCALATION_KINDS, build, evidence_for, listwise, targets
from bot.knowledge.knowledge_base import LANGS
from bot.knowledge.ranker import FUSED_FEATURES, fit_softmax, leads, softmax_with_none

SEED = 20261203
WITHOUT_CLASSIFIER = [FUSED_FEATURES.index(name) for name in ("bias", "lex", "lex_lead", "sem", "sem_lead", "agree")]
MAX_WRONG = 0.02


def best_right_at(confidence: npt.NDArray[np.float64], right: npt.NDArray[np.bool_]) -> float:
    """Share answered right at the lowest threshold that keeps the share answered wrong at MAX_WRONG or below."""
    best = 0.0
    for threshold in np.unique(confidence):
        answered = confidence >= threshold
        if (answered & ~right).mean() <= MAX_WRONG:
            best = max(best, float((answered & right).mean()))
    return best


def calibration_features(scores: npt.NDArray[np.float64], evidence: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per candidate (rows of FUSED_FEATURES): bias, its softmax probability, its score's lead, its lexical score,
    the classifier's probability, whether both rankers put it first, and its cosine (the calibration shipped until
    session 7, kept here to show why it no longer is)."""
    columns = [np.ones(len(scores)), softmax_with_none(scores), leads(scores)]
    columns += [evidence[:, FUSED_FEATURES.index(name)] for name in ("lex", "head", "agree", "sem")]
    return np.column_stack(columns)


def main() -> None:
    """Print the cross-validated figures."""
    kb, ranker = build("e5")
    questions = [q for q in load_tuning() if "multi" not in q.file and targets(q, kb) is not None]
    evidences = evidence_for(ranker, questions)
    fold = np.random.default_rng(SEED).integers(0, 2, len(questions))
    for lang in LANGS:
        mine = [i for i, q in enumerate(questions) if q.lang == lang and evidences[i].fused is not None]
        top1: Counter[str] = Counter()
        faq_conf: dict[str, list[float]] = {"softmax": [], "calibrated": []}
        faq_right: list[bool] = []
        for held in (0, 1):
            train = [i for i in mine if fold[i] != held]
            test = [i for i in mine if fold[i] == held]
            rows = listwise([questions[i] for i in train], [evidences[i] for i in train], kb, fused=True)
            full = np.array(fit_softmax(rows))
            reduced = np.array(fit_softmax([(m[:, WITHOUT_CLASSIFIER], r) for m, r in rows]))
            calib_x, calib_y = [], []
            for i in train:
                ev = evidences[i]
                assert ev.fused is not None
                scores = ev.fused @ full
                top = int(np.argmax(scores))
                calib_x.append(calibration_features(scores, ev.fused)[top])
                calib_y.append(ev.entry_ids[top] in (targets(questions[i], kb) or ()))
            # a logistic on the top candidate is fit_softmax over that one candidate: sigmoid(s) = e^s / (1 + e^s)
            calibration = np.array(fit_softmax([(row[None, :], 0 if right else -1) for row, right in zip(calib_x, calib_y, strict=True)]))
            for i in test:
                q, ev = questions[i], evidences[i]
                assert ev.fused is not None
                wanted = targets(q, kb) or frozenset()
                kind = "escalation" if q.label in ESCALATION_KINDS else "faq" if q.label != "off_topic" else "offtopic"
                top1[f"{kind}:n"] += 1
                top1[f"{kind}:lexical"] += ev.entry_ids[int(np.argmax(ev.lexical_raw))] in wanted
                top1[f"{kind}:without"] += ev.entry_ids[int(np.argmax(ev.fused[:, WITHOUT_CLASSIFIER] @ reduced))] in wanted
                scores = ev.fused @ full
                top = int(np.argmax(scores))
                top1[f"{kind}:shipped"] += ev.entry_ids[top] in wanted
                if kind == "faq":
                    faq_right.append(ev.entry_ids[top] in wanted)
                    faq_conf["softmax"].append(float(softmax_with_none(scores)[top]))
                    calibrated = 1 / (1 + np.exp(-(calibration_features(scores, ev.fused)[top] @ calibration)))
                    faq_conf["calibrated"].append(float(calibrated))
        for kind in ("faq", "escalation"):
            n = max(1, top1[f"{kind}:n"])
            print(
                f"{lang} {kind:10s} top-1 (n={top1[f'{kind}:n']}): FaqMatcher {top1[f'{kind}:lexical'] / n:.1%}, "
                f"fusion without the classifier {top1[f'{kind}:without'] / n:.1%}, shipped fusion {top1[f'{kind}:shipped'] / n:.1%}"
            )
        right = np.array(faq_right)
        cells = [f"{name} {best_right_at(np.array(conf), right):.1%}" for name, conf in faq_conf.items()]
        print(f"{lang} FAQ answered right with at most {MAX_WRONG:.0%} answered wrong: " + ", ".join(cells))


if __name__ == "__main__":
    main()
