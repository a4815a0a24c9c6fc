"""FaqMatcher: ranks FAQ entries for a question with TF-IDF over lexical features, reranked by rapidfuzz.

Scoring a question is a sparse dot product against every indexed phrasing (an inverted index: only the
phrasings sharing a feature are touched), then rapidfuzz compares word order and typos on the best few.
The raw score becomes a confidence by a logistic fitted on the index itself (see `_fit_calibration`).
"""

from __future__ import annotations

import math
import random
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from scipy import sparse

from bot.core.messages import Lang
from bot.knowledge.features import FeatureExtractor
from bot.knowledge.knowledge_base import LANGS, KnowledgeBase
from bot.knowledge.textnorm import normalize

_RERANK_POOL = 40  # phrasings rescored with rapidfuzz per question
_COSINE_WEIGHT = 0.45  # the rest is rapidfuzz's word-order-insensitive similarity
_VOTE_WEIGHT = 0.2
_KEYWORD_BONUS = 0.06
_KEYWORD_BONUS_MAX = 0.12
_CALIBRATION_SAMPLE = 600
# Share of real questions the knowledge base cannot answer, assumed when weighting the calibration's
# "entry left out" samples; support traffic is mostly covered by a good FAQ.
_ASSUMED_UNCOVERED_SHARE = 0.2


@dataclass(frozen=True, slots=True)
class Phrasing:
    """One way of asking an entry, as indexed."""

    entry_id: str
    text: str
    lang: Lang


@dataclass(frozen=True, slots=True)
class Candidate:
    """A ranked entry: its raw score, the calibrated probability that it is right, and the closest phrasing."""

    entry_id: str
    score: float
    confidence: float
    phrasing: str


@dataclass(frozen=True, slots=True)
class Calibration:
    """Logistic map from (score, margin over the next entry) to the probability the entry is right."""

    bias: float
    score_weight: float
    margin_weight: float

    def confidence(self, score: float, margin: float) -> float:
        """Probability in 0..1."""
        z = self.bias + self.score_weight * score + self.margin_weight * margin
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


# Used when an index is too small to fit its own calibration.
DEFAULT_CALIBRATION = Calibration(bias=-6.0, score_weight=9.0, margin_weight=6.0)


class FaqMatcher:
    """Ranks entries for a question; answering and thresholds are the caller's business."""

    def __init__(
        self,
        phrasings: Sequence[Phrasing],
        extractor: FeatureExtractor,
        keywords: Mapping[str, Sequence[str]] | None = None,
        calibrate: bool = True,
    ) -> None:
        if not phrasings:
            raise ValueError("FaqMatcher needs at least one phrasing")
        self._extractor = extractor
        self._phrasings = tuple(phrasings)
        self._normalized = [normalize(p.text) for p in self._phrasings]
        self._sorted_tokens = [_sorted_content(extractor, n) for n in self._normalized]
        self._entry_ids = [p.entry_id for p in self._phrasings]
        self._entry_of = np.array(self._entry_ids, dtype=object)
        self._lang_mask = {lang: np.array([p.lang == lang for p in self._phrasings], dtype=bool) for lang in LANGS}
        self._keywords = {
            entry_id: _Keywords.of(k for k in (normalize(w) for w in words) if k)
            for entry_id, words in (keywords or {}).items()
        }
        self._vocabulary: dict[str, int] = {}
        self._idf: npt.NDArray[np.float64]
        self._unseen_idf = 1.0
        self._index = self._build_index(extractor.extract_normalized(n) for n in self._normalized)
        self.calibration = self._fit_calibration() if calibrate else DEFAULT_CALIBRATION

    @classmethod
    def from_knowledge_base(cls, kb: KnowledgeBase) -> FaqMatcher:
        """Index every question and keyword list of the knowledge base."""
        phrasings = [
            Phrasing(entry.id, question, lang)
            for entry in kb.entries
            for lang in LANGS
            for question in entry.questions[lang]
        ]
        keywords = {entry.id: [*entry.keywords["en"], *entry.keywords["zh"]] for entry in kb.entries}
        return cls(phrasings, FeatureExtractor(kb.synonyms), keywords)

    @property
    def size(self) -> int:
        """Number of indexed phrasings."""
        return len(self._phrasings)

    def _build_index(self, docs: Iterable[dict[str, float]]) -> sparse.csc_matrix:
        # One document's features at a time into compact typed arrays: a list of every document's feature dict
        # would cost about 120 bytes per (phrasing, feature), some 200 MB at 50,000 phrasings.
        rows = array("i")
        cols = array("i")
        values = array("d")
        vocabulary = self._vocabulary
        n_docs = 0
        for row, features in enumerate(docs):
            n_docs = row + 1
            for feature, weight in features.items():
                rows.append(row)
                cols.append(vocabulary.setdefault(feature, len(vocabulary)))
                values.append(weight)
        row_of = np.frombuffer(rows, dtype=np.int32) if rows else np.zeros(0, dtype=np.int32)
        col_of = np.frombuffer(cols, dtype=np.int32) if cols else np.zeros(0, dtype=np.int32)
        weights = np.frombuffer(values, dtype=np.float64) if values else np.zeros(0)
        df = np.bincount(col_of, minlength=len(vocabulary))
        self._idf = np.log((n_docs + 1) / (df + 1)) + 1.0
        self._unseen_idf = math.log(n_docs + 1) + 1.0
        weights = weights * self._idf[col_of]
        norms = np.sqrt(np.bincount(row_of, weights=weights * weights, minlength=n_docs))
        norms[norms == 0] = 1.0
        weights /= norms[row_of]
        # Rows were appended in order, so the arrays already are a CSR matrix; one conversion makes it
        # column-major, so that a question touches only the posting lists of its own features.
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.bincount(row_of, minlength=n_docs), out=indptr[1:])
        by_row = sparse.csr_matrix((weights, col_of, indptr), shape=(n_docs, len(vocabulary)))
        return sparse.csc_matrix(by_row)

    def _query_vector(self, normalized: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        features = self._extractor.extract_normalized(normalized)
        cols_list: list[int] = []
        weights_list: list[float] = []
        unknown_sq = 0.0
        for feature, weight in features.items():
            col = self._vocabulary.get(feature)
            if col is None:
                # Unknown words still count in the question's length: they make it less like the index.
                unknown_sq += (weight * self._unseen_idf) ** 2
            else:
                cols_list.append(col)
                weights_list.append(weight * float(self._idf[col]))
        cols = np.array(cols_list, dtype=np.int64)
        weights = np.array(weights_list, dtype=np.float64)
        total = math.sqrt(unknown_sq + float(weights @ weights))
        return cols, weights / (total or 1.0)

    def _cosine(self, normalized: str) -> npt.NDArray[np.float64]:
        cols, weights = self._query_vector(normalized)
        index = self._index
        # The posting lists of the question's features, gathered straight from the CSC arrays and summed per row:
        # scipy's own column slicing costs more than the whole product at knowledge-base sizes.
        starts = index.indptr[cols]
        lengths = index.indptr[cols + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(len(self._phrasings))
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        contributions = index.data[offsets] * np.repeat(weights, lengths)
        sums = np.bincount(index.indices[offsets], weights=contributions, minlength=len(self._phrasings))
        return sums.astype(np.float64, copy=False)

    def match(self, text: str, lang: Lang | None = None, limit: int = 3) -> tuple[Candidate, ...]:
        """The best `limit` entries for `text`, best first; phrasings in `lang` only when given."""
        normalized = normalize(text)
        if not normalized:
            return ()
        cosine = self._cosine(normalized)
        mask = self._lang_mask[lang] if lang is not None else None
        ranked = self._rank(normalized, cosine, mask, exclude_entry=None, exclude_row=None)
        return self._candidates(ranked, limit)

    @property
    def phrasings(self) -> tuple[Phrasing, ...]:
        """The indexed phrasings, in index order."""
        return self._phrasings

    def match_without(self, row: int, limit: int = 3) -> tuple[Candidate, ...]:
        """Match indexed phrasing `row` as if it were not indexed: how a new, similar question would fare."""
        normalized = self._normalized[row]
        mask = self._lang_mask[self._phrasings[row].lang]
        ranked = self._rank(normalized, self._cosine(normalized), mask, exclude_entry=None, exclude_row=row)
        return self._candidates(ranked, limit)

    def _rank(
        self,
        normalized: str,
        cosine: npt.NDArray[np.float64],
        mask: npt.NDArray[np.bool_] | None,
        exclude_entry: str | None,
        exclude_row: int | None,
    ) -> list[tuple[str, float, int]]:
        """(entry id, score, best phrasing row) for the entries of the best phrasings, best first."""
        scores = cosine.copy()
        if mask is not None and mask.any():
            scores[~mask] = -1.0
        if exclude_row is not None:
            scores[exclude_row] = -1.0
        if exclude_entry is not None:
            scores[self._entry_of == exclude_entry] = -1.0
        pool = min(_RERANK_POOL, len(scores))
        top_rows = np.argpartition(-scores, pool - 1)[:pool]
        query_tokens = _sorted_content(self._extractor, normalized)
        best: dict[str, tuple[float, int]] = {}
        runner_up: dict[str, float] = {}
        top_scores = scores[top_rows]
        positive = top_scores > 0
        rows: list[int] = top_rows[positive].tolist()
        similarities = process.cdist(
            [query_tokens], [self._sorted_tokens[row] for row in rows], scorer=fuzz.token_sort_ratio, dtype=np.float64
        )[0]
        for row, cosine_score, similarity in zip(
            rows, top_scores[positive].tolist(), similarities.tolist(), strict=True
        ):
            combined = _COSINE_WEIGHT * cosine_score + (1 - _COSINE_WEIGHT) * (similarity / 100.0)
            entry_id = self._entry_ids[row]
            if entry_id not in best or combined > best[entry_id][0]:
                if entry_id in best:
                    runner_up[entry_id] = best[entry_id][0]
                best[entry_id] = (combined, row)
            else:
                runner_up[entry_id] = max(runner_up.get(entry_id, 0.0), combined)
        padded = f" {normalized} "
        words = set(normalized.split(" "))
        ranked = []
        for entry_id, (score, row) in best.items():
            # A second close phrasing of the same entry is extra evidence (a nearest-neighbour vote).
            score += _VOTE_WEIGHT * runner_up.get(entry_id, 0.0)
            keywords = self._keywords.get(entry_id)
            hits = keywords.hits(padded, words) if keywords else 0
            ranked.append((entry_id, min(1.0, score + min(_KEYWORD_BONUS_MAX, hits * _KEYWORD_BONUS)), row))
        ranked.sort(key=lambda item: item[1], reverse=True)
        return ranked

    def _candidates(self, ranked: list[tuple[str, float, int]], limit: int) -> tuple[Candidate, ...]:
        out = []
        for i, (entry_id, score, row) in enumerate(ranked[:limit]):
            rival = ranked[1][1] if i == 0 and len(ranked) > 1 else (ranked[0][1] if i else 0.0)
            out.append(
                Candidate(entry_id, score, self.calibration.confidence(score, score - rival), self._phrasings[row].text)
            )
        return tuple(out)

    def _fit_calibration(self) -> Calibration:
        """Fit P(right entry) on the index itself.

        Each sampled phrasing is asked twice: with only itself left out (is the top entry its own?), and with its
        whole entry left out (the top entry is then always wrong, as for a question the knowledge base lacks).
        """
        entries = set(self._entry_of.tolist())
        if len(entries) < 3 or len(self._phrasings) < 20:
            return DEFAULT_CALIBRATION
        rows = list(range(len(self._phrasings)))
        random.Random(0).shuffle(rows)
        samples: list[tuple[float, float, float, float]] = []
        uncovered_weight = _ASSUMED_UNCOVERED_SHARE / (1 - _ASSUMED_UNCOVERED_SHARE)
        for row in rows[:_CALIBRATION_SAMPLE]:
            normalized = self._normalized[row]
            cosine = self._cosine(normalized)
            own = str(self._entry_of[row])
            mask = self._lang_mask[self._phrasings[row].lang]
            for exclude_entry in (None, own):
                ranked = self._rank(normalized, cosine, mask, exclude_entry=exclude_entry, exclude_row=row)
                if not ranked:
                    continue
                score = ranked[0][1]
                margin = score - (ranked[1][1] if len(ranked) > 1 else 0.0)
                weight = 1.0 if exclude_entry is None else uncovered_weight
                samples.append((score, margin, 1.0 if ranked[0][0] == own else 0.0, weight))
        return _fit_logistic(samples) or DEFAULT_CALIBRATION


def _sorted_content(extractor: FeatureExtractor, normalized: str) -> str:
    """Content words in sorted order (the text itself when it has none, e.g. Chinese), for rapidfuzz."""
    return " ".join(sorted(extractor.content_words(normalized) or normalized.split()))


@dataclass(frozen=True, slots=True)
class _Keywords:
    """An entry's keywords: single English words are looked up in the question's word set, the rest (phrases,
    Chinese, matched as substrings) searched for; a keyword listed twice (in both languages) counts twice."""

    words: Mapping[str, int]
    needles: tuple[str, ...]

    @classmethod
    def of(cls, keywords: Iterable[str]) -> _Keywords:
        words: Counter[str] = Counter()
        needles = []
        for keyword in keywords:
            if not keyword[0].isascii():
                needles.append(keyword)
            elif " " in keyword:
                needles.append(f" {keyword} ")  # a whole-word phrase
            else:
                words[keyword] += 1
        return cls(dict(words), tuple(needles))

    def hits(self, padded_text: str, words: set[str]) -> int:
        """How many keywords occur in the question (`padded_text` is its normalised text between two spaces)."""
        found = sum(count for word, count in self.words.items() if word in words) if self.words else 0
        return found + sum(needle in padded_text for needle in self.needles) if self.needles else found


def _fit_logistic(samples: list[tuple[float, float, float, float]]) -> Calibration | None:
    """Weighted logistic regression on (score, margin, label, weight) by Newton's method, with a little L2."""
    data = np.array(samples, dtype=np.float64)
    if len(data) < 10 or data[:, 2].min() == data[:, 2].max():
        return None
    x = np.column_stack([np.ones(len(data)), data[:, 0], data[:, 1]])
    y = data[:, 2]
    w = data[:, 3]
    theta = np.zeros(3)
    ridge = np.diag([0.0, 0.1, 0.1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ theta, -30, 30)))
        gradient = x.T @ (w * (p - y)) + ridge @ theta
        hessian = (x * (w * p * (1 - p))[:, None]).T @ x + ridge + 1e-9 * np.eye(3)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return Calibration(float(theta[0]), float(theta[1]), float(theta[2]))
