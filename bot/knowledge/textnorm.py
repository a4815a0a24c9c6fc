"""Text normalisation shared by the matcher and the knowledge-base checks."""

from __future__ import annotations

import re
import unicodedata

import zhconv

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Everything that is neither a letter, a digit nor a Han character separates words.
_NON_WORD = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def has_han(text: str) -> bool:
    """True when the text contains at least one Chinese character."""
    return _HAN.search(text) is not None


def count_han(text: str) -> int:
    """Number of Chinese characters in the text."""
    return len(_HAN.findall(text))


def fold_chinese(text: str) -> str:
    """Full-width forms to ASCII and traditional characters to simplified, punctuation and case kept: what
    patterns written in simplified Chinese read (帳號 is 帐号)."""
    folded = unicodedata.normalize("NFKC", text)
    return zhconv.convert(folded, "zh-cn") if has_han(folded) else folded


def normalize(text: str) -> str:
    """Fold width, case, traditional characters and punctuation so equal questions compare equal."""
    # NFKC turns full-width letters, digits and punctuation into their ASCII forms.
    folded = unicodedata.normalize("NFKC", text).casefold()
    if has_han(folded):
        folded = zhconv.convert(folded, "zh-cn")
    return _NON_WORD.sub(" ", folded).strip()
