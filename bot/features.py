"""Turn a question into weighted lexical features: stemmed words, synonyms, word pairs, character n-grams."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Mapping

import snowballstemmer

from bot.textnorm import normalize

# Only greetings and filler are dropped from the features: function words stay, since "who are you" and
# "what is your name" differ by them, and IDF already makes them cheap.
_STOPWORDS = frozenset(["hi", "hello", "hey", "please", "pls", "plz", "thanks", "thank", "thx", "ok", "okay"])
# For the word-order comparison, though, "how do i ... my" would make any two questions look alike.
_FUNCTION_WORDS = _STOPWORDS | frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "about",
        "into",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "it",
        "its",
        "they",
        "them",
        "their",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "which",
        "who",
        "how",
        "can",
        "could",
        "would",
        "should",
        "will",
        "just",
        "so",
        "not",
        "no",
        "im",
        "ive",
        "dont",
        "cant",
        "u",
        "ur",
    ]
)
_HAN_STOP = frozenset("的了吗呢啊吧呀我你他她它是在么怎这那就都也还和与及请问下个一")
_LATIN = re.compile(r"[0-9a-z]+")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

# How much each kind of feature counts in the similarity: whole words and synonyms carry the topic,
# character n-grams only rescue typos, Chinese character pairs stand in for Chinese words.
GROUP_WEIGHTS: Mapping[str, float] = {"w": 1.0, "s": 1.2, "b": 0.6, "c": 0.35, "h": 0.45, "hh": 1.0}


def _bounded(variant: str) -> str:
    """A regex for the variant that won't match inside a longer Latin word ("ga" inside "gas")."""
    before = r"(?<![0-9a-z])" if variant[0].isascii() else ""
    after = r"(?![0-9a-z])" if variant[-1].isascii() else ""
    return before + re.escape(variant) + after


class FeatureExtractor:
    """Extracts a sparse, weighted bag of features from text; synonyms map to one shared feature."""

    def __init__(self, synonyms: Mapping[str, tuple[str, ...]]) -> None:
        self._stem = snowballstemmer.stemmer("english").stemWord
        self._stem_cache: dict[str, str] = {}
        variants: dict[str, str] = {}
        for canonical, words in synonyms.items():
            for variant in (canonical, *words):
                key = normalize(variant)
                if key:
                    variants.setdefault(key, canonical)
        self._synonym_of = variants
        # Longest variants first so "google authenticator" wins over "authenticator".
        ordered = sorted(variants, key=len, reverse=True)
        self._synonym_pattern = re.compile("|".join(_bounded(v) for v in ordered)) if ordered else None

    def stem(self, word: str) -> str:
        """The English stem of a lower-case word."""
        cached = self._stem_cache.get(word)
        if cached is None:
            cached = self._stem(word) if len(word) > 3 else word
            if len(self._stem_cache) < 100_000:
                self._stem_cache[word] = cached
        return cached

    def words(self, normalized: str) -> list[str]:
        """Stemmed words of already-normalised text, less greetings and filler."""
        return [self.stem(w) for w in _LATIN.findall(normalized) if w not in _STOPWORDS]

    def content_words(self, normalized: str) -> list[str]:
        """Stemmed words without function words: what a word-order-insensitive comparison should look at."""
        return [self.stem(w) for w in _LATIN.findall(normalized) if w not in _FUNCTION_WORDS]

    def extract(self, text: str) -> dict[str, float]:
        """Feature -> weighted, sublinear term frequency (not yet IDF-weighted)."""
        return self.extract_normalized(normalize(text))

    def extract_normalized(self, normalized: str) -> dict[str, float]:
        """As `extract`, for text already passed through `normalize`."""
        counts: Counter[str] = Counter()
        if self._synonym_pattern is not None:
            for match in self._synonym_pattern.finditer(normalized):
                counts["s:" + self._synonym_of[match.group(0)]] += 1
        words = self.words(normalized)
        for word in words:
            counts["w:" + word] += 1
            if len(word) >= 4 and not word.isdigit():
                padded = f"#{word}#"
                for i in range(len(padded) - 2):
                    counts["c:" + padded[i : i + 3]] += 1
        for first, second in itertools.pairwise(words):
            counts[f"b:{first} {second}"] += 1
        for run in _HAN_RUN.findall(normalized):
            for i, char in enumerate(run):
                if char not in _HAN_STOP:
                    counts["h:" + char] += 1
                if i + 1 < len(run):
                    counts["hh:" + run[i : i + 2]] += 1
        return {
            feature: GROUP_WEIGHTS[feature.split(":", 1)[0]] * (1.0 + math.log(count))
            for feature, count in counts.items()
        }
