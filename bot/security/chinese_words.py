"""Chinese words of two to four characters, from the dictionary the `jieba` segmenter ships (about 350,000 words with
their frequencies), to tell a few characters that form words (a sentence) from characters drawn at random (a phrase).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Rarer entries are mostly names and terms a random run of characters would form by chance.
MIN_FREQUENCY = 5
_LONGEST = 4


@dataclass(frozen=True, slots=True)
class ChineseWords:
    """The dictionary's words made only of the given characters (simplified script)."""

    words: frozenset[str]

    @classmethod
    def load(cls, alphabet: Iterable[str]) -> ChineseWords:
        """Read jieba's dict.txt (lines "word frequency tag") without importing jieba: its import loads models."""
        spec = importlib.util.find_spec("jieba")
        if spec is None or spec.origin is None:
            raise RuntimeError("the jieba package (its dictionary) is not installed")
        text = (Path(spec.origin).parent / "dict.txt").read_text(encoding="utf-8")
        chars = re.escape("".join(sorted(set(alphabet))))
        entry = re.compile(rf"^([{chars}]{{2,{_LONGEST}}}) (\d+)", re.MULTILINE)
        return cls(frozenset(word for word, frequency in entry.findall(text) if int(frequency) >= MIN_FREQUENCY))

    def has_word(self, chars: str) -> bool:
        """True when some 2..4 consecutive characters of `chars` are a word."""
        return any(chars[i : i + n] in self.words for i in range(len(chars) - 1) for n in range(2, _LONGEST + 1))
