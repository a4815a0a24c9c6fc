"""Escalation intents (a person, a security incident, money back) as phrasings, ranked like FAQ entries.

They live in `faq_data/intents/*.yaml`, outside the knowledge base's own files: they have no answer, and the
router escalates when one ranks first with enough confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from bot.core.messages import Lang
from bot.knowledge.knowledge_base import LANGS, default_faq_dir

IntentKind = Literal["human", "security", "refund"]
INTENT_KINDS: tuple[IntentKind, ...] = ("human", "security", "refund")
INTENT_PREFIX = "intent:"


@dataclass(frozen=True, slots=True)
class Intent:
    """An escalation intent: its ranking id (`intent:<kind>`) and how users say it, per language."""

    kind: IntentKind
    questions: dict[Lang, tuple[str, ...]]

    @property
    def id(self) -> str:
        """The id it is ranked under, never an FAQ entry's id."""
        return INTENT_PREFIX + self.kind


def intent_kind(entry_id: str) -> IntentKind | None:
    """The intent an id ranks, or None for an FAQ entry."""
    if not entry_id.startswith(INTENT_PREFIX):
        return None
    kind = entry_id[len(INTENT_PREFIX) :]
    return next((k for k in INTENT_KINDS if k == kind), None)


def load_intents(faq_dir: Path | None = None) -> tuple[Intent, ...]:
    """Every `intents/*.yaml` under the knowledge base's directory (none when it has no such folder)."""
    folder = (faq_dir or default_faq_dir()) / "intents"
    intents: list[Intent] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in doc.get("intents", []):
            kind = intent_kind(INTENT_PREFIX + str(item["kind"]))
            if kind is None:
                raise ValueError(f"{path}: unknown intent kind {item['kind']!r} (expected one of {INTENT_KINDS})")
            questions = {lang: tuple(str(q) for q in item.get("questions", {}).get(lang, [])) for lang in LANGS}
            intents.append(Intent(kind, questions))
    return tuple(intents)


# Words that put a message on this exchange ("withdraw my usdt", "your support", 提币, 你们): a question that names
# another company's product and one of these is ours ("p2p merchant wants to talk on whatsapp").
_OUR_CONTEXT = re.compile(
    r"\b(btc|bitcoin|eth|ether|usdt|usdc|crypto|coins?|tokens?|p2p|futures|spot|staking|withdraw\w*|deposit\w*|uid|"
    r"kyc|airdrop|exchange|(your|ur)\s+(app|team|support|site|website|exchange|platform|staff|admins?|company)|"
    r"(you|u)\s+guys)\b|币|提现|充值|合约|现货|你们|贵平台|交易所",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class OtherProducts:
    """Other companies' products, from `intents/other_products.yaml`."""

    names: re.Pattern[str]

    def asked_about(self, text: str) -> bool:
        """True when the (normalised) text names another company's product and nothing of this exchange's."""
        return self.names.search(text) is not None and _OUR_CONTEXT.search(text) is None


def load_other_products(faq_dir: Path | None = None) -> OtherProducts | None:
    """Every name in `intents/other_products.yaml` (whole words, case-insensitive; traditional Chinese is folded to
    simplified first by the caller's text normalisation), or None when there is no list."""
    path = (faq_dir or default_faq_dir()) / "intents" / "other_products.yaml"
    if not path.exists():
        return None
    doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    names = sorted({str(n).lower() for n in doc.get("other_products", [])}, key=len, reverse=True)
    if not names:
        return None
    # ASCII names need word boundaries ("insta" is not "instant"); Chinese names are matched as they are.
    alternatives = [rf"\b{re.escape(n)}\b" if n.isascii() else re.escape(n) for n in names]
    return OtherProducts(re.compile("|".join(alternatives), re.IGNORECASE))
