"""Matcher quality on public data, side by side with two baselines in the same run.

Run: python -m benchmarks.matcher_quality [--quick] [--only clinc150,banking77_oos,banking77,afqmc]
(skips each data set cleanly when ../shared/datasets lacks it; the TF-IDF baseline needs scikit-learn).

Intent sets: each intent's training utterances are one FAQ entry's phrasings; every test utterance is matched and the
best entry's label compared with the gold one.
- top-1: in-scope test accuracy with no threshold.
- Out-of-scope (CLINC150, BANKING77-OOS): one threshold on each method's score, chosen on the validation split only
  (in-scope val + out-of-scope val) to maximise the mean of in-scope accuracy (right entry AND score >= threshold)
  and out-of-scope recall (score < threshold); then applied unchanged to test. `balanced` is that mean on test.
AFQMC (ATEC 2018 pairs, Chinese): pairs with id % 5 == 0 are the validation split, the rest the test split.
- ROC AUC of the pair score on test; accuracy at the best threshold on test (an oracle, the usual "best-threshold"
  figure) and at the threshold chosen on validation. 78.3% of test pairs are "different": that is the floor.
- Our pair score: a FaqMatcher holding the second sentence alone, asked the first (see methods.Ours.pair_scores).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

from benchmarks import public_data
from benchmarks.methods import Method, have_sklearn, methods
from benchmarks.public_data import IntentSet, Pairs

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class Row:
    """One method's figures on one data set (None = not applicable)."""

    dataset: str
    method: str
    top1: float | None = None
    in_scope_at_threshold: float | None = None
    oos_recall: dict[str, float] = field(default_factory=dict)
    balanced: float | None = None
    threshold: float | None = None
    auc: float | None = None
    best_accuracy: float | None = None
    val_threshold_accuracy: float | None = None
    build_seconds: float = 0.0
    ms_per_query: float = 0.0


def choose_oos_threshold(correct: BoolArray, in_scores: FloatArray, oos_scores: FloatArray) -> float:
    """The threshold maximising (in-scope accuracy + out-of-scope recall) / 2 on the given (validation) scores."""
    candidates = np.unique(np.concatenate([in_scores, oos_scores, [np.inf]]))
    right_sorted = np.sort(in_scores[correct])
    oos_sorted = np.sort(oos_scores)
    accepted_right = len(right_sorted) - np.searchsorted(right_sorted, candidates, side="left")
    rejected_oos = np.searchsorted(oos_sorted, candidates, side="left")
    objective = accepted_right / len(in_scores) + rejected_oos / max(1, len(oos_scores))
    best = int(np.argmax(objective))
    # Halfway to the next lower score, so a test score equal to a validation score is not on a knife edge.
    lower = candidates[best - 1] if best > 0 else candidates[best] - 1e-6
    return float(candidates[best]) if not np.isfinite(candidates[best]) else float((candidates[best] + lower) / 2)


def best_threshold_accuracy(scores: FloatArray, labels: npt.NDArray[np.int64]) -> tuple[float, float]:
    """(accuracy, threshold) of the threshold that classifies the pairs best (score >= threshold = same)."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    sorted_labels = labels[order]
    positives_above = np.cumsum(sorted_labels)
    negatives_above = np.cumsum(1 - sorted_labels)
    total_negatives = len(labels) - int(labels.sum())
    # Cut after position k (only where the score changes): k+1 pairs called "same".
    last_of_run = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    right = positives_above + (total_negatives - negatives_above)
    right = np.where(last_of_run, right, -1)
    k = int(np.argmax(right))
    if right[k] < total_negatives:  # calling nothing "same" is better
        return total_negatives / len(labels), float(np.inf)
    return float(right[k]) / len(labels), float(sorted_scores[k])


def roc_auc(scores: FloatArray, labels: npt.NDArray[np.int64]) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half)."""
    ranks = rankdata(scores)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _correct(predicted: Sequence[str | None], gold: Sequence[str]) -> BoolArray:
    return np.array([p == g for p, g in zip(predicted, gold, strict=True)], dtype=bool)


def evaluate_intents(data: IntentSet, method: Method, step: int) -> Row:
    """Every figure of one method on one intent set; `step` > 1 asks only every step-th question."""
    started = time.perf_counter()
    index = method.build(data.train.texts, data.train.labels, [data.lang] * len(data.train))
    row = Row(data.name, method.name, build_seconds=time.perf_counter() - started)
    test = data.test.every(step)
    asked = 0
    started = time.perf_counter()
    predicted, scores = index.top1_many(test.texts, data.lang)
    asked += len(test)
    correct = _correct(predicted, test.labels)
    row.top1 = float(correct.mean())
    if data.val is not None and data.oos_val is not None and data.oos_test is not None:
        val = data.val.every(step)
        val_predicted, val_scores = index.top1_many(val.texts, data.lang)
        _, oos_val_scores = index.top1_many(data.oos_val.texts, data.lang)
        asked += len(val) + len(data.oos_val)
        threshold = choose_oos_threshold(_correct(val_predicted, val.labels), val_scores, oos_val_scores)
        row.threshold = threshold
        row.in_scope_at_threshold = float((correct & (scores >= threshold)).mean())
        rejected: list[BoolArray] = []
        for kind, oos in data.oos_test.items():
            _, oos_scores = index.top1_many(oos.every(step).texts, data.lang)
            asked += len(oos_scores)
            rejected.append(oos_scores < threshold)
            row.oos_recall[kind] = float(rejected[-1].mean())
        pooled = float(np.concatenate(rejected).mean())
        if len(rejected) > 1:
            row.oos_recall["all"] = pooled
        row.balanced = (row.in_scope_at_threshold + pooled) / 2
    row.ms_per_query = (time.perf_counter() - started) / asked * 1000
    return row


def evaluate_pairs(name: str, val: Pairs, test: Pairs, method: Method) -> Row:
    """AUC and accuracies of one method's pair score."""
    started = time.perf_counter()
    val_scores = method.pair_scores(val.first, val.second, "zh")
    test_scores = method.pair_scores(test.first, test.second, "zh")
    elapsed = time.perf_counter() - started
    val_labels = np.array(val.labels, dtype=np.int64)
    test_labels = np.array(test.labels, dtype=np.int64)
    _, val_threshold = best_threshold_accuracy(val_scores, val_labels)
    best, _ = best_threshold_accuracy(test_scores, test_labels)
    at_val = float(((test_scores >= val_threshold).astype(np.int64) == test_labels).mean())
    return Row(
        name,
        method.name,
        auc=roc_auc(test_scores, test_labels),
        best_accuracy=best,
        val_threshold_accuracy=at_val,
        threshold=val_threshold,
        ms_per_query=elapsed / (len(val) + len(test)) * 1000,
    )


def _pct(value: float | None) -> str:
    return f"{100 * value:5.1f}%" if value is not None else "     -"


def print_intent_table(rows: list[Row]) -> None:
    """The intent-set figures as a Markdown table."""
    print(
        "| data set | method | top-1 | in-scope acc @thr | OOS recall @thr | balanced | thr | build s | wall ms/query |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        recall = ", ".join(f"{k} {_pct(v).strip()}" for k, v in r.oos_recall.items()) or "-"
        threshold = f"{r.threshold:.3f}" if r.threshold is not None else "-"
        print(
            f"| {r.dataset} | {r.method} | {_pct(r.top1)} | {_pct(r.in_scope_at_threshold)} | {recall} | "
            f"{_pct(r.balanced)} | {threshold} | {r.build_seconds:.2f} | {r.ms_per_query:.2f} |"
        )


def print_pair_table(rows: list[Row]) -> None:
    """The pair figures as a Markdown table."""
    print("| data set | method | ROC AUC | best-threshold acc | acc @ val threshold | ms/pair |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.dataset} | {r.method} | {r.auc:.3f} | {_pct(r.best_accuracy)} | {_pct(r.val_threshold_accuracy)} | "
            f"{r.ms_per_query:.3f} |"
        )


BASELINES = ("rapidfuzz WRatio", "TF-IDF")  # the lexical baselines FaqMatcher is compared with
# Issue 14's floors for the product's ranker (FaqMatcher + e5, fused): (data set, figure, floor).
FLOORS = (("CLINC150", "top1", 0.90), ("Banking77", "top1", 0.90), ("BANKING77-OOS", "balanced", 0.80))


def floors(rows: list[Row]) -> list[str]:
    """One line per floor: the fused ranker's figure and whether it meets it."""
    out = []
    for dataset, figure, floor in FLOORS:
        fused = next((r for r in rows if r.dataset == dataset and "fused" in r.method), None)
        value = getattr(fused, figure) if fused is not None else None
        if value is not None:
            out.append(f"{dataset} {figure} >= {floor:.0%}: {value:.1%} {'met' if value >= floor else 'NOT met'}")
    return out


def verdict(rows: list[Row]) -> list[str]:
    """Where ours (FaqMatcher) does not beat both lexical baselines on a headline figure (top-1, balanced, AUC,
    best-threshold acc)."""
    misses: list[str] = []
    for dataset in dict.fromkeys(r.dataset for r in rows):
        group = [r for r in rows if r.dataset == dataset]
        ours = next((r for r in group if "ours" in r.method), None)
        if ours is None:
            continue
        for figure in ("top1", "balanced", "auc", "best_accuracy"):
            mine = getattr(ours, figure)
            if mine is None:
                continue
            for other in group:
                theirs = getattr(other, figure)
                if other.method.startswith(BASELINES) and theirs is not None and theirs >= mine:
                    misses.append(f"{dataset}: {figure} {mine:.4f} does not beat {other.method} {theirs:.4f}")
    return misses


def main(argv: Sequence[str] | None = None) -> None:
    """Print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="ask every 4th question / pair only (about a minute)")
    parser.add_argument("--only", default="clinc150,banking77_oos,banking77,afqmc", help="comma-separated data sets")
    args = parser.parse_args(argv)
    step = 4 if args.quick else 1
    wanted = set(args.only.split(","))
    chosen = methods(wratio_workers=os.cpu_count() or 1)
    if not have_sklearn():
        print("TF-IDF baseline skipped: scikit-learn is not installed (pip install scikit-learn)")
    print(f"data: {public_data.DATASETS}; methods: {', '.join(m.name for m in chosen)}; every {step} question(s)")
    print(
        f"(WRatio's batches run on {os.cpu_count()} processes: its wall ms/query is not one core's; see matcher_speed)"
    )
    intent_rows: list[Row] = []
    loaders = {
        "clinc150": public_data.clinc150,
        "banking77_oos": public_data.banking77_oos,
        "banking77": public_data.banking77,
    }
    for key, loader in loaders.items():
        if key not in wanted:
            continue
        data = loader()
        if data is None:
            print(f"skipped: {key} not found under {public_data.DATASETS}")
            continue
        for method in chosen:
            intent_rows.append(evaluate_intents(data, method, step))
            print(f"  {data.name:14s} {method.name:20s} done", flush=True)
    pair_rows: list[Row] = []
    if "afqmc" in wanted:
        pairs = public_data.afqmc()
        if pairs is None:
            print(f"skipped: atec_afqmc_zh not found under {public_data.DATASETS}")
        else:
            val, test = public_data.afqmc_split(pairs)
            if step > 1:
                val, test = (p.select(list(range(0, len(p), step))) for p in (val, test))
            floor = 1 - sum(test.labels) / len(test)
            print(
                f"  AFQMC: {len(val):,} validation / {len(test):,} test pairs; {100 * floor:.1f}% of test pairs differ"
            )
            for method in chosen:
                pair_rows.append(evaluate_pairs("AFQMC", val, test, method))
                print(f"  AFQMC          {method.name:20s} done", flush=True)
    print()
    if intent_rows:
        print_intent_table(intent_rows)
        print()
    if pair_rows:
        print_pair_table(pair_rows)
        print()
    if not intent_rows and not pair_rows:
        return
    misses = verdict(intent_rows + pair_rows)
    print(
        "ours beats both baselines on every headline figure" if not misses else "NOT beaten:\n  " + "\n  ".join(misses)
    )
    for line in floors(intent_rows):
        print(f"issue 14 floor, the product's ranker: {line}")


if __name__ == "__main__":
    main()
