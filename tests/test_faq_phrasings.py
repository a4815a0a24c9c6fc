"""Every phrasing in the knowledge base is answered with its own entry, by the ranker and through the router."""

from __future__ import annotations

import asyncio

from bot.app.wiring import Core
from bot.core.conversation import InMemoryConversationStates
from bot.core.messages import Action, InboundMessage


def test_every_phrasing_matches_its_own_entry_with_answer_confidence(core: Core) -> None:
    wrong = []
    for entry in core.kb.entries:
        for lang in ("en", "zh"):
            for question in entry.questions[lang]:
                top = core.ranker.rank(question, lang, limit=1).top
                if not top or top.entry_id != entry.id or top.confidence < core.config.matcher.answer:
                    wrong.append((entry.id, question, top))
    assert not wrong, wrong


def test_every_answerable_phrasing_is_answered_through_the_router(core: Core) -> None:
    async def run() -> list[tuple[str, str, str, str | None]]:
        wrong = []
        for number, (entry, question) in enumerate(
            (e, q) for e in core.kb.entries if e.kind == "answer" for lang in ("en", "zh") for q in e.questions[lang]
        ):
            router = core.router.with_states(InMemoryConversationStates())
            result = await router.route(InboundMessage("test", "u", str(number), str(number), question))
            if result.decision.action is not Action.ANSWER or result.decision.faq_id != entry.id:
                wrong.append((entry.id, question, result.decision.action.value, result.decision.reason))
        return wrong

    assert not asyncio.run(run())
