"""Knowledge-base lint: phrasings that match another entry better, near-duplicate entries, weak translations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from bot.knowledge.knowledge_base import LANGS, PLACEHOLDERS, KnowledgeBase
from bot.knowledge.ranker import Ranker

INTENTS_SOURCE = "faq_data/intents"  # where escalation intents' phrasings live
NEAR_DUPLICATE_SHARE = 0.3  # an entry whose phrasings go to another entry this often overlaps it


@dataclass(frozen=True, slots=True)
class LintFinding:
    """One problem: where, what kind, and a readable explanation."""

    where: str
    kind: str  # "misrouted", "near-duplicate", "translation"
    message: str
    entry_id: str  # the entry the finding is about, for the per-entry summary


def lint_knowledge_base(kb: KnowledgeBase, ranker: Ranker) -> Iterator[LintFinding]:
    """Every problem found, misrouted phrasings first; ranked by the same ranker as the router's (lexical and
    semantic, fused), each phrasing left out of both indexes. Escalation intents' phrasings are checked too."""
    sources = {entry.id: entry.source for entry in kb.entries}
    stolen: Counter[tuple[str, str]] = Counter()
    per_entry: Counter[str] = Counter()
    for row, phrasing in enumerate(ranker.matcher.phrasings):
        per_entry[phrasing.entry_id] += 1
        winner = ranker.rank_without(row, limit=1).top
        if winner is not None and winner.entry_id != phrasing.entry_id:
            stolen[(phrasing.entry_id, winner.entry_id)] += 1
            yield LintFinding(
                sources.get(phrasing.entry_id, INTENTS_SOURCE),
                "misrouted",
                f"{phrasing.lang} '{phrasing.text}' of '{phrasing.entry_id}' matches '{winner.entry_id}' better "
                f"(confidence {winner.confidence:.2f})",
                phrasing.entry_id,
            )
    for (own, other), count in sorted(stolen.items()):
        if count / per_entry[own] >= NEAR_DUPLICATE_SHARE:
            yield LintFinding(
                sources.get(own, INTENTS_SOURCE),
                "near-duplicate",
                f"'{own}' overlaps '{other}': {count} of its {per_entry[own]} phrasings match '{other}' better",
                own,
            )
    yield from _translation_findings(kb)


def _translation_findings(kb: KnowledgeBase) -> Iterator[LintFinding]:
    for entry in kb.entries:
        placeholders = {lang: {p for p in PLACEHOLDERS if "{" + p + "}" in entry.answer[lang]} for lang in LANGS}
        if placeholders["en"] != placeholders["zh"]:
            yield LintFinding(
                entry.source,
                "translation",
                f"'{entry.id}': answers use different placeholders (en {sorted(placeholders['en'])}, "
                f"zh {sorted(placeholders['zh'])})",
                entry.id,
            )
        if bool(entry.keywords["en"]) != bool(entry.keywords["zh"]):
            yield LintFinding(entry.source, "translation", f"'{entry.id}': keywords in one language only", entry.id)
        # Chinese packs about two English characters' meaning into one; far less is a partial translation.
        en_len, zh_len = len(entry.answer["en"]), len(entry.answer["zh"])
        if zh_len * 5 < en_len:
            yield LintFinding(
                entry.source, "translation", f"'{entry.id}': the Chinese answer looks incomplete", entry.id
            )
