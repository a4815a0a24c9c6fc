"""Answers from the knowledge base when the ranking is confident, and offers choices when it is unsure."""

from __future__ import annotations

import dataclasses

from bot.app.config import MatcherConfig
from bot.core.messages import Action, Decision, Reply, Suggestion
from bot.knowledge.intents import OtherProducts, intent_kind
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.knowledge.ranker import Ranked, Ranker, Ranking
from bot.knowledge.textnorm import normalize
from handlers.base import Handler, Outcome, Turn
from handlers.pattern_decline import SMALL_TALK_ENTRY_ID
from handlers.replies import ReplyBuilder, faq_payload

_POOL = 8  # candidates fetched, so that declined entries and intents can be skipped and still leave enough choices
OTHER_PRODUCT_ENTRY_ID = SMALL_TALK_ENTRY_ID  # its answer says what the assistant can help with


class FaqAnswerHandler(Handler[Ranking]):
    """Answers at or above the `answer` threshold, clarifies above `clarify`, passes below it."""

    def __init__(
        self,
        kb: KnowledgeBase,
        ranker: Ranker,
        thresholds: MatcherConfig,
        replies: ReplyBuilder,
        other_products: OtherProducts | None = None,
    ) -> None:
        self._kb = kb
        self._ranker = ranker
        self._thresholds = thresholds
        self._replies = replies
        self._other_products = other_products

    def _faq_candidates(self, ranking: Ranking) -> list[Ranked]:
        """The knowledge base's entries among the candidates; when an escalation intent ranked first and was not
        escalated (a precaution, a loss the user caused, a login that took nothing), they share what the intents
        leave: the chance of each entry given that the message is none of them."""
        faq = [c for c in ranking.candidates if intent_kind(c.entry_id) is None and self._kb.entry(c.entry_id)]
        top = ranking.top
        if top is None or intent_kind(top.entry_id) is None:
            return faq
        left = 1.0 - sum(c.confidence for c in ranking.candidates if intent_kind(c.entry_id) is not None)
        if left <= 0.0:
            return faq
        return [dataclasses.replace(c, confidence=min(1.0, c.confidence / left)) for c in faq]

    def check(self, turn: Turn) -> Ranking | None:
        """The ranking when its best FAQ entry clears the `clarify` threshold, or an incident was set aside."""
        ranking = turn.ranking
        if ranking is None:  # no ranking step before this one: lexical only, inline
            ranking = self._ranker.rank(turn.message.text, turn.text_lang, limit=_POOL, use_semantic=False)
        candidates = self._faq_candidates(ranking)
        if not candidates:
            return None
        if candidates[0].confidence < self._thresholds.clarify and not self._incident_set_aside(ranking):
            return None
        return ranking

    def _incident_set_aside(self, ranking: Ranking) -> bool:
        """An incident the ranking was sure of, set aside by the escalation step (a fee, a login that took nothing):
        the message is about the account, so its best entries are offered, not "not understood"."""
        top = ranking.top
        return top is not None and intent_kind(top.entry_id) == "security" and top.confidence >= self._thresholds.escalate

    async def handle(self, turn: Turn, match: Ranking) -> Outcome:
        """Answer, decline (off-topic or another company's product), or offer the best few entries."""
        lang = turn.lang
        candidates = self._faq_candidates(match)
        top = candidates[0]
        entry = self._kb.entry(top.entry_id)
        assert entry is not None, "only this knowledge base's entries are candidates"
        normalized = normalize(turn.message.text)
        other_product = self._other_products is not None and self._other_products.asked_about(normalized)
        answerable = [c for c in candidates if (e := self._kb.entry(c.entry_id)) and e.kind == "answer"]
        # An unsure decline must not turn away a support question ranked close behind it ("been waiting since
        # yesterday for my eth to leave" near small talk), nor one that names something of ours (a coin, 合约): the
        # user is offered the entries instead.
        unsure_decline = (
            entry.kind == "decline"
            and top.confidence < self._thresholds.answer
            and bool(answerable)
            and (
                answerable[0].confidence >= self._thresholds.clarify
                or (self._other_products is not None and self._other_products.mentions_us(normalized))
            )
        )
        if (entry.kind == "decline" and not unsure_decline) or other_product:
            declined = self._kb.entry(OTHER_PRODUCT_ENTRY_ID) if other_product and entry.kind == "answer" else entry
            assert declined is not None, f"the knowledge base needs a '{OTHER_PRODUCT_ENTRY_ID}' entry"
            reason = "other_product" if declined is not entry else entry.id
            decision = Decision(Action.DECLINE, lang, confidence=top.confidence, reason=reason)
            return self._outcome(turn, decision, self._replies.answer(declined, lang))
        if top.confidence >= self._thresholds.answer:
            offered = [e for e in (self._kb.entry(i) for i in match.also) if e is not None and e.id != entry.id]
            suggestions = (entry.id, *(e.id for e in offered))
            decision = Decision(
                Action.ANSWER, lang, faq_id=entry.id, suggestions=suggestions, confidence=top.confidence
            )
            reply = self._replies.answer(entry, lang)
            if offered:  # a second question in the same message: offered as a choice under the first one's answer
                extra = tuple(Suggestion(self._replies.entry_label(e, lang), faq_payload(e.id)) for e in offered)
                reply = dataclasses.replace(reply, suggestions=(*extra, *reply.suggestions))
            return self._outcome(turn, decision, reply)
        choices = tuple(c.entry_id for c in answerable[: self._thresholds.max_suggestions])
        decision = Decision(Action.CLARIFY, lang, faq_id=choices[0], suggestions=choices, confidence=top.confidence)
        reply = self._replies.choices(self._replies.texts.render("clarify", lang), choices, lang)
        return self._outcome(turn, decision, reply)

    def _outcome(self, turn: Turn, decision: Decision, reply: Reply) -> Outcome:
        state = dataclasses.replace(turn.state, misses=0, last_suggestions=reply.suggestions)
        return Outcome(decision, (*turn.notices, reply), state)
