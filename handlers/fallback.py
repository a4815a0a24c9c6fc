"""The last step: the bot did not understand. Offer topics and a person; the second miss in a row escalates."""

from __future__ import annotations

import dataclasses

from bot.core.messages import Action, Decision, Priority
from handlers.base import Handler, Outcome, Turn
from handlers.escalation import EscalationMatch, Escalator
from handlers.replies import ReplyBuilder

MISSES_BEFORE_ESCALATION = 2


class FallbackHandler(Handler[bool]):
    """Always applies; runs last."""

    def __init__(self, replies: ReplyBuilder, escalator: Escalator) -> None:
        self._replies = replies
        self._escalator = escalator

    def check(self, turn: Turn) -> bool:
        """Every turn that reaches this step is a miss."""
        return True

    async def handle(self, turn: Turn, match: bool) -> Outcome:
        """Say so and offer the topics, or hand over after repeated misses."""
        misses = turn.state.misses + 1
        if misses >= MISSES_BEFORE_ESCALATION:
            # The FAQ step found no entry above `clarify` for this text: matching it again for a category finds none.
            miss = EscalationMatch("not_understood", Priority.NORMAL)
            return await self._escalator.escalate(turn, miss, categorize=False)
        reply = self._replies.categories(self._replies.texts.render("not_understood", turn.lang), turn.lang)
        decision = Decision(Action.DECLINE, turn.lang, reason="not_understood")
        state = dataclasses.replace(turn.state, misses=misses, last_suggestions=reply.suggestions)
        return Outcome(decision, (*turn.notices, reply), state)
