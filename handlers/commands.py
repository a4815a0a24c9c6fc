"""Slash commands and the choices users tap (or, on X, type the number of)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from bot.core.messages import Action, Decision, Lang, Priority, Reply
from bot.knowledge.knowledge_base import KnowledgeBase
from handlers.base import Handler, Outcome, Turn
from handlers.escalation import EscalationMatch, Escalator
from handlers.replies import ReplyBuilder

# "/lang@OmniDeskBot zh" in Telegram groups carries the bot's name.
_COMMAND = re.compile(r"^\s*/([a-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.IGNORECASE | re.DOTALL)
_CHOICE_NUMBER = re.compile(r"^\s*([1-9])\s*[.)]?\s*$")


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command: its name and the rest of the line."""

    name: str
    argument: str


def parse_command(text: str) -> Command | None:
    """The command in a message, or None when it is not one."""
    match = _COMMAND.match(text)
    if match is None:
        return None
    return Command(match.group(1).lower(), (match.group(2) or "").strip())


class CommandHandler(Handler[Command]):
    """Handles /start, /help, /human, /lang, and the /faq and /category choices."""

    def __init__(self, kb: KnowledgeBase, replies: ReplyBuilder, escalator: Escalator) -> None:
        self._kb = kb
        self._replies = replies
        self._escalator = escalator

    def check(self, turn: Turn) -> Command | None:
        """A command, or a number picking one of the choices offered last."""
        choice = _CHOICE_NUMBER.match(turn.message.text)
        offered = turn.state.last_suggestions
        if choice and offered:
            index = int(choice.group(1)) - 1
            return parse_command(offered[index].payload) if index < len(offered) else None
        return parse_command(turn.message.text)

    async def handle(self, turn: Turn, match: Command) -> Outcome:
        """Run the command."""
        lang = turn.lang
        texts = self._replies.texts
        if match.name in ("start", "help"):
            intro = (
                texts.join(("greeting", "standing_warning"), lang)
                if match.name == "start"
                else texts.render("help", lang)
            )
            return self._done(
                turn, Decision(Action.ANSWER, lang, reason=match.name), self._replies.categories(intro, lang)
            )
        if match.name == "human":
            return await self._escalator.escalate(turn, EscalationMatch("human_request", Priority.NORMAL))
        if match.name == "lang":
            return self._set_language(turn, match.argument.lower())
        if match.name == "faq":
            entry = self._kb.entry(match.argument)
            if entry is not None:
                decision = Decision(Action.ANSWER, lang, faq_id=entry.id, confidence=1.0, reason="chosen")
                return self._done(turn, decision, self._replies.answer(entry, lang), misses=0)
            return self._done(
                turn, Decision(Action.DECLINE, lang, reason="unknown_entry"), Reply(texts.render("unknown_entry", lang))
            )
        if match.name == "category":
            category = self._kb.category(match.argument)
            if category is not None:
                reply = self._replies.choices(
                    texts.render("category", lang, title=category.title[lang]), category.entry_ids, lang
                )
                decision = Decision(Action.CLARIFY, lang, suggestions=category.entry_ids, reason="browse")
                return self._done(turn, decision, reply)
        reply = Reply(texts.render("unknown_command", lang))
        return self._done(turn, Decision(Action.DECLINE, lang, reason="unknown_command"), reply)

    def _set_language(self, turn: Turn, argument: str) -> Outcome:
        if argument not in ("en", "zh"):
            reply = Reply(self._replies.texts.render("lang_usage", turn.lang))
            return self._done(turn, Decision(Action.DECLINE, turn.lang, reason="lang_usage"), reply)
        lang: Lang = "en" if argument == "en" else "zh"
        state = dataclasses.replace(turn.state, lang_choice=lang, last_lang=lang)
        reply = Reply(self._replies.texts.render("lang_set", lang))
        return Outcome(Decision(Action.ANSWER, lang, reason="lang"), (*turn.notices, reply), state)

    def _done(self, turn: Turn, decision: Decision, reply: Reply, misses: int | None = None) -> Outcome:
        state = dataclasses.replace(
            turn.state,
            last_suggestions=reply.suggestions,
            misses=turn.state.misses if misses is None else misses,
        )
        return Outcome(decision, (*turn.notices, reply), state)
