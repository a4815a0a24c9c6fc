"""Fit the ranker's fusion and cascade on the tuning data (never on the test half): the development set's tuning
half and the whole tuning sets (TUNING_WHOLE_SETS in benchmarks/devset.py).

Run: python -m benchmarks.fit_ranker [--encoder e5|use]   (writes bot/knowledge/fitted.py; prints top-1 figures)

Every tuning question gives one training row per candidate entry: 1 for its own entry (or escalation intent; for
an off-topic question, the decline entries), 0 for the others. A question whose entry the knowledge base does not
have yet (labelled with an entry another branch adds) is left out until that entry exists.
"""

from __future__ import annotations

import argparse
import math
import time
import zlib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from benchmarks.devset import TUNING_WHOLE_SETS, DevQuestion, load_tuning
from bot.knowledge import fitted
from bot.knowledge.examples import load_examples
from bot.knowledge.intents import INTENT_PREFIX, intent_kind, load_intents
from bot.knowledge.knowledge_base import LANGS, KnowledgeBase, load_knowledge_base
from bot.knowledge.ranker import (
    CandidateEvidence,
    FusionWeights,
    Ranker,
    fit_softmax,
    softmax_with_none,
)
from bot.knowledge.semantic import EmbeddingCache, EncoderName, SemanticRanker, clip_question, load_encoder
from handlers.escalation import detect_escalation

ROOT = Path(__file__).resolve().parent.parent
FITTED = ROOT / "bot" / "knowledge" / "fitted.py"
CACHE = Path.home() / ".cache" / "omnidesk" / "embeddings"
ESCALATION_KINDS = ("human", "security", "refund")
FOLDS = 5  # cross-fitting of the classifier over the examples
_CASCADE_COST = 0.01  # top entries the cascade may lose, per question it skips the encoder for
_CASCADE_COSTS_SHOWN = (0.02, 0.03, 0.05)  # printed beside it: what a looser cascade would skip


def targets(question: DevQuestion, kb: KnowledgeBase) -> frozenset[str] | None:
    """The candidate ids that count as right; None when the knowledge base lacks the question's entry."""
    label = question.label
    if label in ESCALATION_KINDS:
        return frozenset({INTENT_PREFIX + label})
    if label == "off_topic":
        return kb.declining_ids
    return frozenset({label}) if kb.entry(label) is not None else None


def build(encoder_name: EncoderName | Literal["none"]) -> tuple[KnowledgeBase, Ranker]:
    """The ranker over the shipped knowledge base and intents, with default weights."""
    kb = load_knowledge_base()
    encoder = None if encoder_name == "none" else load_encoder(encoder_name)
    return kb, Ranker.build(kb, load_intents(), encoder, EmbeddingCache(CACHE), examples=load_examples())


def fold_of(text: str) -> int:
    """The cross-fitting fold of a question, fixed by its text."""
    return zlib.crc32(text.encode("utf-8")) % FOLDS


def evidence_for(ranker: Ranker, questions: list[DevQuestion]) -> list[CandidateEvidence]:
    """Each question's candidates with the encoder forced on (question vectors cached on disk too).

    The shipped classifier also learnt from faq_data/examples.jsonl, which holds these very questions: each
    question's evidence comes from a classifier fitted without its fold's examples, so that the fusion
    learns how far the classifier is to be trusted on a question it has not seen."""
    if ranker.semantic is None:
        return [ranker.evidence(q.text, q.lang, use_semantic=False) for q in questions]
    encoder = ranker.semantic.encoder
    clipped = [clip_question(q.text) for q in questions]
    print(f"{sum(c != q.text for c, q in zip(clipped, questions, strict=True))} of {len(questions)} questions clipped for the encoder")
    vectors = EmbeddingCache(CACHE).embed(encoder, clipped)
    rankers = fold_rankers(ranker)
    return [
        rankers[fold_of(q.text)].evidence(q.text, q.lang, use_semantic=True, vector=vectors[i])
        for i, q in enumerate(questions)
    ]


def fold_rankers(ranker: Ranker) -> list[Ranker]:
    """Per fold, the ranker with a classifier that learnt every example but that fold's (same lexical stage and
    weights): how the shipped ranker fares on a tuning question it has not learnt."""
    assert ranker.semantic is not None
    phrasings = ranker.matcher.phrasings
    examples = load_examples()
    return [
        Ranker(
            ranker.matcher,
            SemanticRanker(
                ranker.semantic.encoder,
                [p.text for p in phrasings],
                [p.entry_id for p in phrasings],
                EmbeddingCache(CACHE),
                examples=[e for e in examples if fold_of(e.text) != fold],
            ),
            ranker.weights,
        )
        for fold in range(FOLDS)
    ]


def listwise(
    questions: list[DevQuestion], evidences: list[CandidateEvidence], kb: KnowledgeBase, fused: bool
) -> list[tuple[npt.NDArray[np.float64], int]]:
    """Per question, its candidates' features and the row of the right one (-1: none of them, e.g. off-topic
    questions whose candidates hold no decline entry)."""
    out = []
    for q, ev in zip(questions, evidences, strict=True):
        right = targets(q, kb)
        matrix = ev.fused if fused else ev.lexical
        if right is None or matrix is None or not len(ev.entry_ids):
            continue
        hits = [i for i, entry_id in enumerate(ev.entry_ids) if entry_id in right]
        out.append((matrix, hits[0] if hits else -1))
    return out


def top1(
    questions: list[DevQuestion], evidences: list[CandidateEvidence], kb: KnowledgeBase, theta: tuple[float, ...], fused: bool
) -> Counter[str]:
    """Per language and file kind, questions whose top candidate is right."""
    out: Counter[str] = Counter()
    vector = np.array(theta)
    for q, ev in zip(questions, evidences, strict=True):
        right = targets(q, kb)
        matrix = ev.fused if fused else ev.lexical
        key = f"{q.lang}:{q.file.split('_')[1].split('.')[0]}"
        if right is None or matrix is None:
            out[key + ":n/a"] += 1
            continue
        out[key + ":n"] += 1
        if len(ev.entry_ids) and ev.entry_ids[int(np.argmax(matrix @ vector))] in right:
            out[key + ":right"] += 1
    return out


def cascade_thresholds(
    kb: KnowledgeBase,
    questions: list[DevQuestion],
    evidences: list[CandidateEvidence],
    lexical_evidences: list[CandidateEvidence],
    weights: FusionWeights,
) -> dict[str, float]:
    """Per language, the lexical confidence from which questions skip the encoder: `_skip_threshold` at
    `_CASCADE_COST` over the tuning data, leaving out the questions the escalation patterns decide."""
    out: dict[str, float] = {}
    for lang in LANGS:
        rows = []
        for q, ev, lexical_ev in zip(questions, evidences, lexical_evidences, strict=True):
            wanted = targets(q, kb)
            if q.lang != lang or wanted is None or ev.fused is None or not len(lexical_ev.entry_ids):
                continue
            if detect_escalation(q.text) is not None:  # the patterns escalate it whatever the ranking
                continue
            lex_scores = lexical_ev.lexical @ np.array(weights.lexical[lang])
            top = int(np.argmax(lex_scores))
            if intent_kind(lexical_ev.entry_ids[top]) is not None:  # the ranker never skips the encoder for these
                continue
            confidence = float(softmax_with_none(lex_scores)[top])
            fused_top = ev.entry_ids[int(np.argmax(ev.fused @ np.array(weights.fused[lang])))]
            rows.append((confidence, lexical_ev.entry_ids[top] in wanted, fused_top in wanted))
        out[lang] = _skip_threshold(rows, _CASCADE_COST)
        looser = ", ".join(
            f"{cost:.0%}: {t} ({sum(conf >= t for conf, _, _ in rows)})"
            for cost in _CASCADE_COSTS_SHOWN
            for t in [_skip_threshold(rows, cost)]
        )
        skipped = sum(conf >= out[lang] for conf, _, _ in rows)
        print(
            f"  {lang} cascade: the encoder is skipped from lexical confidence {out[lang]} ({skipped} of {len(rows)} tuning"
            f" questions; allowing {looser})"
        )
    return out


def _skip_threshold(rows: list[tuple[float, bool, bool]], cost_share: float) -> float:
    """The lowest lexical confidence, stepping down from 0.99, before the lexical stage alone first loses more than
    `cost_share` of the questions above it (at least one) to the fusion; rows are (confidence, lexical right, fused right)."""
    threshold_found = math.inf
    for threshold in np.arange(0.99, 0.5, -0.01):
        above = [(lex_right, fused_right) for conf, lex_right, fused_right in rows if conf >= threshold]
        cost = sum(fused_right and not lex_right for lex_right, fused_right in above)
        cost -= sum(lex_right and not fused_right for lex_right, fused_right in above)
        if cost > max(1.0, cost_share * len(above)):
            break
        threshold_found = round(float(threshold), 2)
    return threshold_found


def main() -> None:
    """Fit, print, write bot/knowledge/fitted.py."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", default="e5", choices=["e5", "use"])
    args = parser.parse_args()
    started = time.perf_counter()
    kb, ranker = build(args.encoder)
    print(f"built in {time.perf_counter() - started:.1f} s")
    questions = [q for q in load_tuning() if "multi" not in q.file]  # there is no option to fit on `test`
    evidences = evidence_for(ranker, questions)
    # The lexical weights are fitted on the lexical stage's own candidates, as it ranks alone (lexical-only mode and
    # the cascade's first stage): the fused evidence also holds the encoder's candidates, with no lexical score.
    lexical_evidences = [ranker.evidence(q.text, q.lang, use_semantic=False) for q in questions]
    print(f"evidence in {time.perf_counter() - started:.1f} s")
    lexical: dict[str, tuple[float, ...]] = {}
    fused: dict[str, tuple[float, ...]] = {}
    for lang in LANGS:
        qs = [q for q in questions if q.lang == lang]
        evs = [e for q, e in zip(questions, evidences, strict=True) if q.lang == lang]
        lexical_evs = [e for q, e in zip(questions, lexical_evidences, strict=True) if q.lang == lang]
        lexical[lang] = fit_softmax(listwise(qs, lexical_evs, kb, fused=False))
        fused[lang] = fit_softmax(listwise(qs, evs, kb, fused=True))
        for name, theta, is_fused in (("lexical", lexical[lang], False), ("fused", fused[lang], True)):
            counts = top1(qs, evs if is_fused else lexical_evs, kb, theta, is_fused)
            cells = [
                f"{kind} {counts[f'{lang}:{kind}:right'] / max(1, counts[f'{lang}:{kind}:n']):.1%} of {counts[f'{lang}:{kind}:n']}"
                for kind in ("faq", "escalation", "offtopic")
            ]
            print(f"  {lang} {name:8s} top-1: " + ", ".join(cells) + f"  weights {[round(t, 2) for t in theta]}")
    assert ranker.semantic is not None
    skip = cascade_thresholds(kb, questions, evidences, lexical_evidences, FusionWeights(lexical, fused))
    weights = FusionWeights(lexical, fused, ranker.semantic.encoder.name, skip)
    existing = dict(fitted._FITTED)
    existing[weights.encoder] = weights
    FITTED.write_text(render(existing), encoding="utf-8")
    print(f"wrote {FITTED.relative_to(ROOT)}")


def render(all_weights: dict[str, FusionWeights]) -> str:
    """The fitted weights, one per encoder, as a Python module."""

    def block(mapping: Mapping[str, tuple[float, ...]]) -> str:
        return "{" + ", ".join(f"{k!r}: ({', '.join(f'{v:.4f}' for v in vals)})" for k, vals in mapping.items()) + "}"

    def skip(mapping: Mapping[str, float]) -> str:
        return "{" + ", ".join(f"{k!r}: {v!r}" if math.isfinite(v) else f"{k!r}: float(\'inf\')" for k, v in mapping.items()) + "}"

    items = "".join(
        f"    {name!r}: FusionWeights(\n        lexical={block(w.lexical)},\n        fused={block(w.fused)},\n"
        f"        encoder={w.encoder!r},\n        skip_semantic={skip(w.skip_semantic)},\n    ),\n"
        for name, w in sorted(all_weights.items())
    )
    return (
        '"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data\n'
        f'(tests/data/dev/ tuning half, {", ".join(TUNING_WHOLE_SETS)}). Generated: do not edit by hand."""\n\n'
        "from __future__ import annotations\n\n"
        "from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights\n\n"
        f"_FITTED: dict[str, FusionWeights] = {{\n{items}}}\n\n\n"
        "def fitted_weights(encoder: str | None = None) -> FusionWeights:\n"
        '    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""\n'
        "    if encoder in _FITTED:\n        return _FITTED[encoder]\n"
        "    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)\n"
        "    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)\n"
    )


if __name__ == "__main__":
    main()
