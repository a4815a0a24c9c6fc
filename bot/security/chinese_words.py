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
# Words of an exchange's users that the general dictionary lacks (exchanges, coins, trading): "火币欧易币安" is a list
# of exchanges, not half a phrase.
CRYPTO_WORDS = (
    frozenset({"火币", "币安", "欧易", "波场", "柴犬", "艾达", "波卡", "公链", "主网", "提币"})
    | frozenset({"充币", "跟单", "带单", "爆仓", "强平", "止盈", "做多", "做空", "链上", "矿池"})
    | frozenset({"冷钱包", "热钱包", "稳定币", "山寨币", "平台币", "通证", "抹茶", "莱特币", "狗币", "币圈"})
    | frozenset({"拉盘", "砸盘", "搬砖", "出金", "入金", "风控", "工单", "邀请码", "返佣", "滑点"})
    | frozenset({"吃单", "挂单", "盘口", "合约", "现货", "杠杆", "质押", "挖矿", "空投", "钱包"})
    | frozenset({"私钥", "助记词", "法币", "理财", "网格", "止损", "期权", "交割", "永续", "费率"})
)


@dataclass(frozen=True, slots=True)
class ChineseWords:
    """The dictionary's words made only of the given characters (simplified script), and the crypto words."""

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
        common = (word for word, frequency in entry.findall(text) if int(frequency) >= MIN_FREQUENCY)
        return cls(frozenset(common) | CRYPTO_WORDS)

    def has_word(self, chars: str) -> bool:
        """True when some 2..4 consecutive characters of `chars` are a word."""
        return any(chars[i : i + n] in self.words for i in range(len(chars) - 1) for n in range(2, _LONGEST + 1))
