"""The matcher under test and its two baselines behind one small interface, for the quality and speed benchmarks.

- `ours`: bot.knowledge.matcher.FaqMatcher (no synonyms: the public sets are not about our knowledge base); its score is the
  calibrated confidence, the figure the router's answer/clarify thresholds are set on.
- `wratio`: `rapidfuzz.process.extractOne(query, phrasings, scorer=fuzz.WRatio)` over every phrasing, with
  rapidfuzz's `default_process` (lower-case, punctuation out) applied to the phrasings once and to each query.
- `tfidf`: scikit-learn TF-IDF, word 1-2 grams + char_wb 3-5 grams (sublinear tf, each block L2-normalised, the
  concatenation normalised again), nearest phrasing by cosine.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process, utils

from bot.core.messages import Lang
from bot.knowledge.features import FeatureExtractor
from bot.knowledge.matcher import FaqMatcher, Phrasing


class Index(Protocol):
    """A built index: the best entry for a question and its score (higher = surer)."""

    def top1(self, text: str, lang: Lang) -> tuple[str | None, float]: ...

    def top1_many(self, texts: Sequence[str], lang: Lang) -> tuple[list[str | None], npt.NDArray[np.float64]]: ...


class Method(Protocol):
    """Builds an index over phrasings and scores sentence pairs."""

    name: str

    def build(self, texts: Sequence[str], labels: Sequence[str], langs: Sequence[Lang]) -> Index: ...

    def pair_scores(self, first: Sequence[str], second: Sequence[str], lang: Lang) -> npt.NDArray[np.float64]: ...


def _loop(index: Index, texts: Sequence[str], lang: Lang) -> tuple[list[str | None], npt.NDArray[np.float64]]:
    labels: list[str | None] = []
    scores = np.zeros(len(texts))
    for i, text in enumerate(texts):
        label, scores[i] = index.top1(text, lang)
        labels.append(label)
    return labels, scores


# -- ours --------------------------------------------------------------------------------------------------------


class OursIndex:
    """FaqMatcher over the phrasings, one entry per label."""

    def __init__(self, texts: Sequence[str], labels: Sequence[str], langs: Sequence[Lang]) -> None:
        phrasings = [Phrasing(label, text, lang) for text, label, lang in zip(texts, labels, langs, strict=True)]
        self.matcher = FaqMatcher(phrasings, FeatureExtractor({}))

    def top1(self, text: str, lang: Lang) -> tuple[str | None, float]:
        candidates = self.matcher.match(text, lang, 1)
        return (candidates[0].entry_id, candidates[0].confidence) if candidates else (None, 0.0)

    def top1_many(self, texts: Sequence[str], lang: Lang) -> tuple[list[str | None], npt.NDArray[np.float64]]:
        return _loop(self, texts, lang)


class Ours:
    """bot.knowledge.matcher.FaqMatcher."""

    name = "FaqMatcher (ours)"

    def build(self, texts: Sequence[str], labels: Sequence[str], langs: Sequence[Lang]) -> Index:
        return OursIndex(texts, labels, langs)

    def pair_scores(self, first: Sequence[str], second: Sequence[str], lang: Lang) -> npt.NDArray[np.float64]:
        """A FaqMatcher holding only the second sentence is asked the first: its raw score, 0 when nothing matches.

        Exactly what the product computes for a question against an FAQ with that one phrasing (TF-IDF cosine over
        our features, with every feature equally rare in a one-phrasing index, plus the rapidfuzz word-order term).
        """
        extractor = FeatureExtractor({})
        scores = np.zeros(len(first))
        for i, (a, b) in enumerate(zip(first, second, strict=True)):
            try:
                matcher = FaqMatcher([Phrasing("b", b, lang)], extractor, calibrate=False)
            except ValueError:
                continue
            candidates = matcher.match(a, lang, 1)
            scores[i] = candidates[0].score if candidates else 0.0
        return scores


# -- rapidfuzz WRatio --------------------------------------------------------------------------------------------


_WRATIO_CHOICES: list[str] = []  # the phrasings the forked workers of WRatioIndex.top1_many search


def _wratio_best(text: str) -> tuple[int, float]:
    best = process.extractOne(utils.default_process(text), _WRATIO_CHOICES, scorer=fuzz.WRatio)
    return (best[2], best[1] / 100.0) if best is not None else (-1, 0.0)


class WRatioIndex:
    """extractOne over every phrasing."""

    def __init__(self, texts: Sequence[str], labels: Sequence[str], workers: int = 1) -> None:
        self._choices = [utils.default_process(t) for t in texts]
        self._labels = list(labels)
        self._workers = workers

    def top1(self, text: str, lang: Lang) -> tuple[str | None, float]:
        best = process.extractOne(utils.default_process(text), self._choices, scorer=fuzz.WRatio)
        return (self._labels[best[2]], best[1] / 100.0) if best is not None else (None, 0.0)

    def top1_many(self, texts: Sequence[str], lang: Lang) -> tuple[list[str | None], npt.NDArray[np.float64]]:
        """With workers > 1, forked processes share the queries (the same results, only sooner)."""
        if self._workers <= 1 or len(texts) < 50:
            return _loop(self, texts, lang)
        global _WRATIO_CHOICES
        _WRATIO_CHOICES = self._choices
        with multiprocessing.get_context("fork").Pool(self._workers) as pool:
            found = pool.map(_wratio_best, texts, chunksize=32)
        labels = [self._labels[i] if i >= 0 else None for i, _ in found]
        return labels, np.array([score for _, score in found])


class WRatio:
    """rapidfuzz WRatio nearest phrasing; `workers` processes share a batch of queries (quality runs only)."""

    name = "rapidfuzz WRatio"

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    def build(self, texts: Sequence[str], labels: Sequence[str], langs: Sequence[Lang]) -> Index:
        return WRatioIndex(texts, labels, self.workers)

    def pair_scores(self, first: Sequence[str], second: Sequence[str], lang: Lang) -> npt.NDArray[np.float64]:
        return np.array(
            [
                fuzz.WRatio(utils.default_process(a), utils.default_process(b)) / 100.0
                for a, b in zip(first, second, strict=True)
            ]
        )


# -- scikit-learn TF-IDF -----------------------------------------------------------------------------------------


class _Vectorizer:
    """Word 1-2 grams + char_wb 3-5 grams, sublinear TF-IDF, rows L2-normalised."""

    def __init__(self, texts: Sequence[str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._word = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)
        self._char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        self._word.fit(texts)
        self._char.fit(texts)

    def transform(self, texts: Sequence[str]) -> Any:
        from scipy import sparse
        from sklearn.preprocessing import normalize

        stacked = sparse.hstack([self._word.transform(texts), self._char.transform(texts)]).tocsr()
        return normalize(stacked)


class TfidfIndex:
    """Nearest phrasing by cosine."""

    def __init__(self, texts: Sequence[str], labels: Sequence[str]) -> None:
        self._vectorizer = _Vectorizer(texts)
        self._matrix_t = self._vectorizer.transform(texts).T.tocsr()
        self._labels = list(labels)

    def top1(self, text: str, lang: Lang) -> tuple[str | None, float]:
        labels, scores = self.top1_many([text], lang)
        return labels[0], float(scores[0])

    def top1_many(self, texts: Sequence[str], lang: Lang) -> tuple[list[str | None], npt.NDArray[np.float64]]:
        labels: list[str | None] = []
        scores: list[float] = []
        for start in range(0, len(texts), 256):
            sims = (self._vectorizer.transform(texts[start : start + 256]) @ self._matrix_t).toarray()
            best = sims.argmax(axis=1)
            for row, col in enumerate(best):
                score = float(sims[row, col])
                labels.append(self._labels[col] if score > 0 else None)
                scores.append(score)
        return labels, np.array(scores)


class Tfidf:
    """scikit-learn TF-IDF nearest phrasing."""

    name = "TF-IDF w1-2+c3-5"

    def build(self, texts: Sequence[str], labels: Sequence[str], langs: Sequence[Lang]) -> Index:
        return TfidfIndex(texts, labels)

    def pair_scores(self, first: Sequence[str], second: Sequence[str], lang: Lang) -> npt.NDArray[np.float64]:
        """Cosine of the two sentences, the IDF fitted on every sentence of the pairs asked (no labels used)."""
        vectorizer = _Vectorizer([*first, *second])
        a = vectorizer.transform(first)
        b = vectorizer.transform(second)
        return np.asarray(a.multiply(b).sum(axis=1)).ravel()


def have_sklearn() -> bool:
    """True when scikit-learn (the TF-IDF baseline) is installed."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


def methods(wratio_workers: int = 1) -> list[Method]:
    """Ours and the baselines that can run here."""
    found: list[Method] = [Ours(), WRatio(wratio_workers)]
    if have_sklearn():
        found.append(Tfidf())
    return found
