"""The ranker the router uses: FaqMatcher (lexical) and, when configured, a sentence encoder (semantic), fused.

Fusion is a logistic model over each candidate entry's evidence from both rankers and the classifier (its score,
its lead over the best other entry, and whether both rankers put it first), fitted on the tuning data
(`python -m benchmarks.fit_ranker`), so that its softmax is the probability that the candidate is the right entry:
the ranking and the confidence come from one number. Agreement and margins matter most: where the two rankers agree
on the top entry they are right far more often than either alone. A second logistic recalibrating the top
candidate was shipped until session 7; cross-validated it answered fewer questions right at 2% wrong than the
softmax (`benchmarks.fusion_cv`), so the softmax is the confidence.

Cascade: the lexical stage runs first; when its own confidence in an FAQ entry is at least `skip_semantic` the
encoder is not called (the lexical answer is already about as right as the fused one would be).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bot.core.messages import Lang
from bot.knowledge.examples import Example
from bot.knowledge.features import FeatureExtractor
from bot.knowledge.intents import Intent, intent_kind
from bot.knowledge.knowledge_base import LANGS, KnowledgeBase
from bot.knowledge.matcher import FaqMatcher, Phrasing
from bot.knowledge.semantic import EmbeddingCache, Matrix, SemanticRanker, SentenceEncoder
from bot.knowledge.textnorm import normalize

_POOL = 8  # candidates taken from each ranker
_EXACT_CONFIDENCE = 0.99
LEXICAL_FEATURES = ("bias", "lex", "lex_lead")
FUSED_FEATURES = ("bias", "lex", "lex_lead", "sem", "sem_lead", "agree", "head", "head_lead", "head_log")
_HEAD_POOL = 5  # candidates taken from the classifier


@dataclass(frozen=True, slots=True)
class Ranked:
    """A candidate entry (or escalation intent): the calibrated probability it is right, and the evidence."""

    entry_id: str
    confidence: float
    lexical: float  # FaqMatcher's score, 0 when outside its best few
    semantic: float  # the closest phrasing's cosine, 0 without an encoder
    phrasing: str  # the closest phrasing (lexical when it has one)


@dataclass(frozen=True, slots=True)
class Ranking:
    """Candidates best first; `semantic_used` says whether the encoder ran for this question."""

    candidates: tuple[Ranked, ...]
    semantic_used: bool
    also: tuple[str, ...] = ()  # the best entry of a second question in the same message, to offer

    @property
    def top(self) -> Ranked | None:
        """The best candidate, if any."""
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True, slots=True)
class FusionWeights:
    """Logistic weights per language, in the order of LEXICAL_FEATURES / FUSED_FEATURES; the confidence is their
    softmax_with_none."""

    lexical: Mapping[str, tuple[float, ...]]
    fused: Mapping[str, tuple[float, ...]]
    encoder: str = ""  # the encoder the fused weights were fitted for
    skip_semantic: Mapping[str, float] = field(default_factory=dict)  # cascade: lexical confidence to skip at


# Until fitted (an index too small or a fresh encoder): a lead in either ranker counts, agreement counts most.
DEFAULT_WEIGHTS = FusionWeights(
    lexical={lang: (-5.0, 7.0, 8.0) for lang in LANGS},
    fused={lang: (-20.0, 3.0, 4.0, 18.0, 30.0, 1.5, 3.0, 3.0, 1.0) for lang in LANGS},
)


def softmax_with_none(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """exp(score) / (1 + sum of exp(scores)): the 1 is "none of these candidates is right" (off-topic, uncovered)."""
    top = max(0.0, float(scores.max())) if len(scores) else 0.0
    exp = np.exp(scores - top)
    result: npt.NDArray[np.float64] = exp / (np.exp(-top) + exp.sum())
    return result


def fit_softmax(questions: Sequence[tuple[npt.NDArray[np.float64], int]]) -> tuple[float, ...]:
    """Weights maximising the likelihood of the right candidate (row index, -1 for none) under softmax_with_none,
    with a little L2 (not on the bias), by L-BFGS."""
    from scipy.optimize import minimize

    width = questions[0][0].shape[1]
    ridge = np.full(width, 0.01)
    ridge[0] = 0.0

    def loss(theta: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        total = float(ridge @ (theta * theta))
        gradient = 2 * ridge * theta
        for matrix, right in questions:
            scores = matrix @ theta
            p = softmax_with_none(scores)
            total -= math.log(max(1e-12, float(p[right]) if right >= 0 else 1.0 - float(p.sum())))
            gradient += matrix.T @ p - (matrix[right] if right >= 0 else 0.0)
        return total, gradient

    result = minimize(loss, np.zeros(width), jac=True, method="L-BFGS-B")
    return tuple(float(t) for t in result.x)


def leads(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each score minus the best of the others (positive only for the top one): a margin feature."""
    if len(scores) < 2:
        return scores.copy()
    order = np.argsort(-scores)
    best, second = scores[order[0]], scores[order[1]]
    rival = np.where(np.arange(len(scores)) == order[0], second, best)
    result: npt.NDArray[np.float64] = scores - rival
    return result


@dataclass(frozen=True, slots=True)
class CandidateEvidence:
    """The feature matrix of one question's candidates (rows) and their ids: what the fitter and ranker share."""

    entry_ids: tuple[str, ...]
    lexical: npt.NDArray[np.float64]  # rows x LEXICAL_FEATURES
    fused: npt.NDArray[np.float64] | None  # rows x FUSED_FEATURES, None when the encoder did not run
    lexical_raw: npt.NDArray[np.float64]
    semantic_raw: npt.NDArray[np.float64]
    phrasings: tuple[str, ...]


class Ranker:
    """Ranks FAQ entries and escalation intents for a message."""

    def __init__(
        self,
        matcher: FaqMatcher,
        semantic: SemanticRanker | None = None,
        weights: FusionWeights = DEFAULT_WEIGHTS,
    ) -> None:
        self.matcher = matcher
        self.semantic = semantic
        self._weights = weights
        # A message that is exactly one of the indexed phrasings (normalised) is that entry, whatever the fusion says;
        # a phrasing shared by two entries is left to the ranking.
        owners: dict[str, set[str]] = {}
        for phrasing in matcher.phrasings:
            owners.setdefault(normalize(phrasing.text), set()).add(phrasing.entry_id)
        self._exact = {text: next(iter(ids)) for text, ids in owners.items() if len(ids) == 1}
        self._cascade = semantic is not None and weights.encoder == semantic.encoder.name

    @classmethod
    def build(
        cls,
        kb: KnowledgeBase,
        intents: Sequence[Intent] = (),
        encoder: SentenceEncoder | None = None,
        cache: EmbeddingCache | None = None,
        weights: FusionWeights = DEFAULT_WEIGHTS,
        examples: Sequence[Example] = (),
    ) -> Ranker:
        """Index the knowledge base and the intents in both rankers (`examples`: user-styled questions that train
        the semantic classifier only)."""
        phrasings = [
            Phrasing(entry.id, question, lang)
            for entry in kb.entries
            for lang in LANGS
            for question in entry.questions[lang]
        ]
        phrasings += [Phrasing(i.id, q, lang) for i in intents for lang in LANGS for q in i.questions[lang]]
        keywords = {entry.id: [*entry.keywords["en"], *entry.keywords["zh"]] for entry in kb.entries}
        matcher = FaqMatcher(phrasings, FeatureExtractor(kb.synonyms), keywords)
        semantic = None
        if encoder is not None:
            semantic = SemanticRanker(
                encoder, [p.text for p in phrasings], [p.entry_id for p in phrasings], cache, examples=examples
            )
        return cls(matcher, semantic, weights)

    def is_phrasing(self, text: str) -> bool:
        """Whether the text is, normalised, one entry's indexed phrasing (that entry, whatever the fusion says)."""
        return normalize(text) in self._exact

    @property
    def weights(self) -> FusionWeights:
        """The fusion weights in use."""
        return self._weights

    def evidence(
        self,
        text: str,
        lang: Lang,
        use_semantic: bool | None = None,
        vector: Matrix | None = None,
        exclude_row: int | None = None,
    ) -> CandidateEvidence:
        """The candidates' features; the encoder runs unless `use_semantic` is False or the cascade skips it
        (`vector`: the question's embedding when the caller has it already; `exclude_row`: an indexed phrasing
        asked as if it were not indexed, its embedding taken from the index)."""
        if exclude_row is not None:
            lexical = self.matcher.match_without(exclude_row, limit=_POOL)
            if self.semantic is not None:
                vector = self.semantic.vector_of(exclude_row)
        else:
            lexical = self.matcher.match(text, lang, limit=_POOL)
        lex_scores = {c.entry_id: c.score for c in lexical}
        phrasing_of = {c.entry_id: c.phrasing for c in lexical}
        run_semantic = self.semantic is not None and use_semantic is not False
        # An escalation intent is never decided by the lexical stage alone: it is far weaker there than fused.
        if run_semantic and use_semantic is None and self._cascade and lexical and intent_kind(lexical[0].entry_id) is None:
            skip_at = self._weights.skip_semantic.get(lang, math.inf)
            top = self._lexical_confidence(np.array([c.score for c in lexical]), lang)
            run_semantic = bool(top[0] < skip_at)
        sem_scores: dict[str, float] = {}
        head_log: dict[str, float] = {}
        if run_semantic and self.semantic is not None and text.strip():
            found = self.semantic.scores(
                vector if vector is not None else self.semantic.embed(text), exclude_row=exclude_row
            )
            pool = [*np.argsort(-found.scores)[:_POOL].tolist(), *np.argsort(-found.log_probabilities)[:_HEAD_POOL].tolist()]
            # the semantic evidence of every lexical candidate too, not only of the semantic top few
            position = {entry_id: i for i, entry_id in enumerate(found.entry_ids)}
            pool += [position[entry_id] for entry_id in lex_scores if entry_id in position]
            for i in pool:
                sem_scores[found.entry_ids[i]] = float(found.scores[i])
                head_log[found.entry_ids[i]] = float(found.log_probabilities[i])
        ids = tuple(dict.fromkeys([*lex_scores, *sem_scores]))
        lex = np.array([lex_scores.get(i, 0.0) for i in ids])
        lex_lead = leads(lex)
        lexical_features = np.column_stack([np.ones(len(ids)), lex, lex_lead]) if ids else np.zeros((0, 3))
        fused = None
        sem = np.array([sem_scores.get(i, 0.0) for i in ids])
        if run_semantic and ids:
            sem_lead = leads(sem)
            agree = ((lex_lead > 0) & (sem_lead > 0)).astype(np.float64)
            log_p = np.array([head_log.get(i, -30.0) for i in ids])
            head = np.exp(log_p)
            fused = np.column_stack(
                [np.ones(len(ids)), lex, lex_lead, sem, sem_lead, agree, head, leads(head), np.maximum(log_p, -10.0) / 10.0]
            )
        phrasings = tuple(phrasing_of.get(i, "") for i in ids)
        return CandidateEvidence(ids, lexical_features, fused, lex, sem, phrasings)

    def _lexical_confidence(self, scores: npt.NDArray[np.float64], lang: Lang) -> npt.NDArray[np.float64]:
        features = np.column_stack([np.ones(len(scores)), scores, leads(scores)])
        return softmax_with_none(features @ np.array(self._weights.lexical[lang]))

    def rank_without(self, row: int, limit: int = 3) -> Ranking:
        """Indexed phrasing `row` ranked as if it were not indexed (both rankers): how a similar question fares."""
        phrasing = self.matcher.phrasings[row]
        return self.rank(phrasing.text, phrasing.lang, limit, use_semantic=True, exclude_row=row)

    def rank(
        self,
        text: str,
        lang: Lang,
        limit: int = 8,
        use_semantic: bool | None = None,
        vector: Matrix | None = None,
        exclude_row: int | None = None,
    ) -> Ranking:
        """Candidates best first with calibrated confidences (the encoder may run: tens of ms, off the loop)."""
        evidence = self.evidence(text, lang, use_semantic, vector, exclude_row)
        exact = self._exact.get(normalize(text)) if exclude_row is None else None  # see is_phrasing
        if exact is not None and exact not in evidence.entry_ids:
            # a phrasing of words the lexical index skips ("hi", 嗨) finds no evidence: it is still its entry
            return Ranking((Ranked(exact, _EXACT_CONFIDENCE, 0.0, 0.0, text),), evidence.fused is not None)
        if not evidence.entry_ids:
            return Ranking((), False)
        fused = evidence.fused is not None
        matrix = evidence.fused if evidence.fused is not None else evidence.lexical
        scores = matrix @ np.array((self._weights.fused if fused else self._weights.lexical)[lang])
        confidence = softmax_with_none(scores)
        if exact is not None:
            i = evidence.entry_ids.index(exact)
            scores[i] = scores.max() + 1.0
            confidence[i] = max(float(confidence[i]), _EXACT_CONFIDENCE)
        order = np.argsort(-scores, kind="stable")[:limit]
        candidates = tuple(
            Ranked(
                evidence.entry_ids[i],
                float(confidence[i]),
                float(evidence.lexical_raw[i]),
                float(evidence.semantic_raw[i]),
                evidence.phrasings[i],
            )
            for i in order.tolist()
        )
        return Ranking(candidates, evidence.fused is not None)

