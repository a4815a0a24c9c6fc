"""Which language a message is written in: English or Chinese."""

from __future__ import annotations

import re

from bot.core.messages import Lang
from bot.knowledge.textnorm import count_han

_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def detect_language(text: str) -> Lang | None:
    """`zh` when the text has Chinese characters and is not mostly English, `en` for Latin words, else None."""
    han = count_han(text)
    latin_words = len(_LATIN_WORD.findall(text))
    if han:
        # A stray Chinese name inside a long English message stays English:
        # one Chinese character carries roughly the meaning of half an English word.
        return "en" if latin_words > 2 * han else "zh"
    return "en" if latin_words else None
