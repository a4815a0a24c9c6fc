"""Turn a question into weighted lexical features: stemmed words, synonyms, word pairs, character n-grams."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import snowballstemmer

from bot.knowledge.textnorm import normalize

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


def _longest_of(variants: Iterable[str]) -> str:
    """A regex matching, at each position, the longest variant that stands as a whole Latin word ("ga" not inside
    "gas"). Built as a trie, so each character is tried once, not once per variant."""
    trie: dict[str, Any] = {}
    for variant in variants:
        node = trie
        for char in variant:
            node = node.setdefault(char, {})
        node[""] = {}  # a variant ends here

    def below(node: dict[str, Any], last: str) -> str:
        parts = [re.escape(char) + below(child, char) for char, child in node.items() if char]
        if "" in node:  # ending here is tried after every longer variant
            parts.append(r"(?![0-9a-z])" if last.isascii() else "")
        return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"

    return "|".join(
        (r"(?<![0-9a-z])" if char.isascii() else "") + re.escape(char) + below(child, char)
        for char, child in trie.items()
    )


class FeatureExtractor:
    """Extracts a sparse, weighted bag of features from text; synonyms map to one shared feature."""

    def __init__(self, synonyms: Mapping[str, tuple[str, ...]]) -> None:
        self._stem = snowballstemmer.stemmer("english").stemWord
        self._stem_cache: dict[str, str] = {}
        self._word_feature_cache: dict[str, tuple[str, ...]] = {}
        variants: dict[str, str] = {}
        for canonical, words in synonyms.items():
            for variant in (canonical, *words):
                key = normalize(variant)
                if key:
                    variants.setdefault(key, canonical)
        self._synonym_of = variants
        # The longest variant wins: "google authenticator" over "authenticator".
        self._synonym_pattern = re.compile(_longest_of(variants)) if variants else None

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
        features: list[str] = []
        if self._synonym_pattern is not None:
            features += ["s:" + self._synonym_of[m.group(0)] for m in self._synonym_pattern.finditer(normalized)]
        words = self.words(normalized)
        for word in words:
            features += self._word_features(word)
        features += [f"b:{first} {second}" for first, second in itertools.pairwise(words)]
        for run in _HAN_RUN.findall(normalized):
            for i, char in enumerate(run):
                if char not in _HAN_STOP:
                    features.append("h:" + char)
                if i + 1 < len(run):
                    features.append("hh:" + run[i : i + 2])
        return {
            feature: GROUP_WEIGHTS[feature[: feature.index(":")]] * (1.0 + math.log(count))
            for feature, count in Counter(features).items()
        }

    def _word_features(self, word: str) -> tuple[str, ...]:
        """A stemmed word and its character 3-grams (for typos and inflections the stemmer misses)."""
        cached = self._word_feature_cache.get(word)
        if cached is None:
            grams: list[str] = ["w:" + word]
            if len(word) >= 4 and not word.isdigit():
                padded = f"#{word}#"
                grams += ["c:" + padded[i : i + 3] for i in range(len(padded) - 2)]
            cached = tuple(grams)
            if len(self._word_feature_cache) < 100_000:
                self._word_feature_cache[word] = cached
        return cached
