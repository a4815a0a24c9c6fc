"""Answers from the knowledge base when the matcher is confident, and offers choices when it is unsure."""

from __future__ import annotations

import dataclasses

from bot.app.config import MatcherConfig
from bot.core.messages import Action, Decision, Reply
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.knowledge.matcher import Candidate, FaqMatcher
from handlers.base import Handler, Outcome, Turn
from handlers.replies import ReplyBuilder

_POOL = 8  # candidates fetched, so that declined entries can be skipped and still leave enough choices


class FaqAnswerHandler(Handler[tuple[Candidate, ...]]):
    """Answers at or above the `answer` threshold, clarifies above `clarify`, passes below it."""

    def __init__(
        self, kb: KnowledgeBase, matcher: FaqMatcher, thresholds: MatcherConfig, replies: ReplyBuilder
    ) -> None:
        self._kb = kb
        self._matcher = matcher
        self._thresholds = thresholds
        self._replies = replies

    def check(self, turn: Turn) -> tuple[Candidate, ...] | None:
        """Ranked candidates when the best one clears the `clarify` threshold."""
        candidates = self._matcher.match(turn.message.text, turn.text_lang, limit=_POOL)
        if not candidates or candidates[0].confidence < self._thresholds.clarify:
            return None
        return candidates

    async def handle(self, turn: Turn, match: tuple[Candidate, ...]) -> Outcome:
        """Answer, decline (off-topic), or offer the best few entries."""
        lang = turn.lang
        top = match[0]
        entry = self._kb.entry(top.entry_id)
        assert entry is not None, "the matcher only knows entries of this knowledge base"
        if entry.kind == "decline":
            decision = Decision(Action.DECLINE, lang, confidence=top.confidence, reason=entry.id)
            return self._outcome(turn, decision, self._replies.answer(entry, lang))
        if top.confidence >= self._thresholds.answer:
            decision = Decision(
                Action.ANSWER, lang, faq_id=entry.id, suggestions=(entry.id,), confidence=top.confidence
            )
            return self._outcome(turn, decision, self._replies.answer(entry, lang))
        answerable = [c.entry_id for c in match if (e := self._kb.entry(c.entry_id)) and e.kind == "answer"]
        choices = tuple(answerable[: self._thresholds.max_suggestions])
        decision = Decision(Action.CLARIFY, lang, faq_id=choices[0], suggestions=choices, confidence=top.confidence)
        reply = self._replies.choices(self._replies.texts.render("clarify", lang), choices, lang)
        return self._outcome(turn, decision, reply)

    def _outcome(self, turn: Turn, decision: Decision, reply: Reply) -> Outcome:
        state = dataclasses.replace(turn.state, misses=0, last_suggestions=reply.suggestions)
        return Outcome(decision, (*turn.notices, reply), state)
