"""Builds the replies several steps share: FAQ answers, choices, categories and the hand-off to a person."""

from __future__ import annotations

from collections.abc import Sequence

from bot.app.config import BrandConfig
from bot.core.messages import HUMAN_PAYLOAD, Lang, Reply, Suggestion
from bot.knowledge.knowledge_base import FaqEntry, KnowledgeBase, render_answer
from bot.knowledge.texts import ReplyTexts


def faq_payload(entry_id: str) -> str:
    """The command a choice of this entry sends back."""
    return f"/faq {entry_id}"


def category_payload(slug: str) -> str:
    """The command a choice of this category sends back."""
    return f"/category {slug}"


class ReplyBuilder:
    """Turns entries and decisions into Replies in the user's language."""

    def __init__(self, kb: KnowledgeBase, brand: BrandConfig, texts: ReplyTexts) -> None:
        self._kb = kb
        self._brand = brand
        self.texts = texts

    def human_choice(self, lang: Lang) -> Suggestion:
        """The "Talk to a human" choice."""
        return Suggestion(self.texts.render("human_button", lang), HUMAN_PAYLOAD)

    def entry_label(self, entry: FaqEntry, lang: Lang) -> str:
        """A short label for an entry (choice buttons, chips): its title."""
        return entry.title.get(lang) or entry.questions[lang][0]

    def article(self, entry_id: str, lang: Lang) -> tuple[str, str] | None:
        """An entry as a help-center article: its title and answer; None when it is gone or not an answer."""
        entry = self._kb.entry(entry_id)
        if entry is None or entry.kind != "answer":
            return None
        return self.entry_label(entry, lang), render_answer(entry, lang, self._brand)

    def answer(self, entry: FaqEntry, lang: Lang) -> Reply:
        """The entry's answer, with a way to reach a person."""
        return Reply(render_answer(entry, lang, self._brand), offer_human=entry.kind == "answer")

    def choices(self, intro: str, entry_ids: Sequence[str], lang: Lang) -> Reply:
        """A question with the entries as choices and a human choice."""
        entries = [e for e in (self._kb.entry(i) for i in entry_ids) if e is not None]
        suggestions = tuple(Suggestion(self.entry_label(e, lang), faq_payload(e.id)) for e in entries)
        return Reply(intro, (*suggestions, self.human_choice(lang)), offer_human=True)

    def categories(self, intro: str, lang: Lang) -> Reply:
        """A text with every browsable category as a choice, and a human choice."""
        suggestions = tuple(Suggestion(c.title[lang], category_payload(c.slug)) for c in self._kb.browsable_categories)
        return Reply(intro, (*suggestions, self.human_choice(lang)), offer_human=True)

    def handoff(self, lang: Lang, security: bool) -> Reply:
        """The message that hands a conversation to a person, with the standing warning."""
        key = "handoff_security" if security else "handoff"
        return Reply(self.texts.join((key, "standing_warning"), lang))
