"""Slash commands and the choices users tap (or, on X, type the number of)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bot.core.messages import Action, Decision, Lang, Priority, Reply
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.knowledge.texts import ReplyTexts
from handlers.base import Handler, NextStep, Outcome, Turn
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


# What runs a command: the turn and the parsed command in, the turn's Outcome out.
CommandAction = Callable[[Turn, Command], Awaitable[Outcome]]


class CommandHandler(Handler[Command]):
    """The deciding step for commands, registered by name (`commands`: name -> what runs it); an unknown name gets
    "unknown command". A number picks one of the choices offered last, as if its command had been typed."""

    def __init__(self, commands: Mapping[str, CommandAction], texts: ReplyTexts) -> None:
        self._commands = dict(commands)
        self._texts = texts

    def check(self, turn: Turn) -> Command | None:
        """A command, or a number picking one of the choices offered last."""
        choice = _CHOICE_NUMBER.match(turn.message.text)
        offered = turn.state.last_suggestions
        if choice and offered:
            index = int(choice.group(1)) - 1
            return parse_command(offered[index].payload) if index < len(offered) else None
        return parse_command(turn.message.text)

    async def handle(self, turn: Turn, match: Command) -> Outcome:
        """Run the command registered under its name."""
        action = self._commands.get(match.name)
        if action is not None:
            return await action(turn, match)
        return unknown_command(turn, self._texts)


class CommandsFirst:
    """Middleware: the commands registered here (name -> what runs it) run before the steps after this one, which
    would otherwise take their text (the ticket's own /ticket, /cancel and form before a follow-up relay)."""

    def __init__(self, commands: Mapping[str, CommandAction]) -> None:
        self._commands = dict(commands)

    async def __call__(self, *, turn: Turn, next: NextStep) -> Outcome:
        """The command's outcome when the message is one registered here; else the rest of the chain's."""
        command = parse_command(turn.message.text)
        action = self._commands.get(command.name) if command is not None else None
        if command is None or action is None:
            return await next(turn)
        return await action(turn, command)


def unknown_command(turn: Turn, texts: ReplyTexts) -> Outcome:
    """The answer to a command nobody registered."""
    reply = Reply(texts.render("unknown_command", turn.lang))
    return _done(turn, Decision(Action.DECLINE, turn.lang, reason="unknown_command"), reply)


class GeneralCommands:
    """/start, /help, /human, /lang, and the /faq and /category choices."""

    def __init__(self, kb: KnowledgeBase, replies: ReplyBuilder, escalator: Escalator) -> None:
        self._kb = kb
        self._replies = replies
        self._escalator = escalator

    def by_name(self) -> dict[str, CommandAction]:
        """The commands to register, by name."""
        return {
            "start": self.start,
            "help": self.help,
            "human": self.human,
            "lang": self.lang,
            "faq": self.faq,
            "category": self.category,
        }

    async def start(self, turn: Turn, command: Command) -> Outcome:
        """The greeting and the topics."""
        intro = self._replies.texts.join(("greeting", "standing_warning"), turn.lang)
        decision = Decision(Action.ANSWER, turn.lang, reason=command.name)
        return _done(turn, decision, self._replies.categories(intro, turn.lang))

    async def help(self, turn: Turn, command: Command) -> Outcome:
        """What the bot does, and the topics."""
        intro = self._replies.texts.render("help", turn.lang)
        decision = Decision(Action.ANSWER, turn.lang, reason=command.name)
        return _done(turn, decision, self._replies.categories(intro, turn.lang))

    async def human(self, turn: Turn, command: Command) -> Outcome:
        """Hand over to a person."""
        return await self._escalator.escalate(turn, EscalationMatch("human_request", Priority.NORMAL))

    async def lang(self, turn: Turn, command: Command) -> Outcome:
        """Reply in the language asked for from now on."""
        argument = command.argument.lower()
        if argument not in ("en", "zh"):
            reply = Reply(self._replies.texts.render("lang_usage", turn.lang))
            return _done(turn, Decision(Action.DECLINE, turn.lang, reason="lang_usage"), reply)
        lang: Lang = "en" if argument == "en" else "zh"
        state = dataclasses.replace(turn.state, lang_choice=lang, last_lang=lang)
        reply = Reply(self._replies.texts.render("lang_set", lang))
        return Outcome(Decision(Action.ANSWER, lang, reason="lang"), (*turn.notices, reply), state)

    async def faq(self, turn: Turn, command: Command) -> Outcome:
        """The chosen entry's answer."""
        lang = turn.lang
        entry = self._kb.entry(command.argument)
        if entry is None:
            reply = Reply(self._replies.texts.render("unknown_entry", lang))
            return _done(turn, Decision(Action.DECLINE, lang, reason="unknown_entry"), reply)
        decision = Decision(Action.ANSWER, lang, faq_id=entry.id, confidence=1.0, reason="chosen")
        return _done(turn, decision, self._replies.answer(entry, lang), misses=0)

    async def category(self, turn: Turn, command: Command) -> Outcome:
        """The chosen category's entries."""
        lang = turn.lang
        category = self._kb.category(command.argument)
        if category is None:
            return unknown_command(turn, self._replies.texts)
        texts = self._replies.texts
        reply = self._replies.choices(texts.render("category", lang, title=category.title[lang]), category.entry_ids, lang)
        decision = Decision(Action.CLARIFY, lang, suggestions=category.entry_ids, reason="browse")
        return _done(turn, decision, reply)


def _done(turn: Turn, decision: Decision, reply: Reply, misses: int | None = None) -> Outcome:
    """End the turn with one reply; its choices are the ones a number picks next."""
    state = dataclasses.replace(
        turn.state,
        last_suggestions=reply.suggestions,
        misses=turn.state.misses if misses is None else misses,
    )
    return Outcome(decision, (*turn.notices, reply), state)
