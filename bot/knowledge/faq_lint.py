"""Knowledge-base lint: phrasings that match another entry better, near-duplicate entries, weak translations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from bot.knowledge.knowledge_base import LANGS, PLACEHOLDERS, KnowledgeBase
from bot.knowledge.matcher import FaqMatcher

NEAR_DUPLICATE_SHARE = 0.3  # an entry whose phrasings go to another entry this often overlaps it


@dataclass(frozen=True, slots=True)
class LintFinding:
    """One problem: where, what kind, and a readable explanation."""

    where: str
    kind: str  # "misrouted", "near-duplicate", "translation"
    message: str
    entry_id: str  # the entry the finding is about, for the per-entry summary


def lint_knowledge_base(kb: KnowledgeBase, matcher: FaqMatcher) -> Iterator[LintFinding]:
    """Every problem found, misrouted phrasings first."""
    sources = {entry.id: entry.source for entry in kb.entries}
    stolen: Counter[tuple[str, str]] = Counter()
    per_entry: Counter[str] = Counter()
    for row, phrasing in enumerate(matcher.phrasings):
        per_entry[phrasing.entry_id] += 1
        candidates = matcher.match_without(row, limit=1)
        if candidates and candidates[0].entry_id != phrasing.entry_id:
            winner = candidates[0]
            stolen[(phrasing.entry_id, winner.entry_id)] += 1
            yield LintFinding(
                sources[phrasing.entry_id],
                "misrouted",
                f"{phrasing.lang} '{phrasing.text}' of '{phrasing.entry_id}' matches '{winner.entry_id}' better "
                f"(via '{winner.phrasing}', score {winner.score:.2f})",
                phrasing.entry_id,
            )
    for (own, other), count in sorted(stolen.items()):
        if count / per_entry[own] >= NEAR_DUPLICATE_SHARE:
            yield LintFinding(
                sources[own],
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
