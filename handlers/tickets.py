"""Conversations with a ticket in progress: the /ticket, /cancel and form commands, the rating and follow-up
pass-throughs (middleware), and the intake questions (a deciding step)."""

from __future__ import annotations

import dataclasses
import re

from bot.core.conversation import ConversationState, Intake
from bot.core.effects import CancelTicket, Effect, FollowUp, RateTicket
from bot.core.messages import Action, Decision, Priority, Reply
from bot.desk.domain import USER_STATUS, TicketStatus
from bot.knowledge.texts import ReplyTexts
from handlers.base import Handler, NextStep, Outcome, Turn
from handlers.commands import Command, CommandAction
from handlers.escalation import DEFAULT_INTAKE_QUESTIONS, INTAKE_QUESTIONS, Escalator, detect_escalation

_SKIP = re.compile(r"^\W*(skip|no|none|n/?a|don'?t know|dont know|idk|跳过|没有|不知道|无)\W*$", re.IGNORECASE)
_RATING = re.compile(r"^\s*([1-5])\s*(?:/\s*5)?\s*$|^\s*(⭐{1,5})\s*$")


def _done(
    turn: Turn, decision: Decision, reply: Reply, state: ConversationState | None = None, effect: Effect | None = None
) -> Outcome:
    """End the turn with one reply (and an effect); choices offered earlier no longer apply."""
    new_state = dataclasses.replace(state or turn.state, last_suggestions=())
    return Outcome(decision, (*turn.notices, reply), new_state, () if effect is None else (effect,))


class TicketCommands:
    """/ticket shows the status of the user's ticket; /cancel closes it (or stops the intake questions)."""

    def __init__(self, texts: ReplyTexts) -> None:
        self._texts = texts

    def by_name(self) -> dict[str, CommandAction]:
        """The commands to register, by name."""
        return {"ticket": self.run, "cancel": self.run}

    async def run(self, turn: Turn, match: Command) -> Outcome:
        """Answer with the status, or cancel."""
        lang, state = turn.lang, turn.state
        if match.name == "cancel" and state.intake is not None:
            decision = Decision(Action.DECLINE, lang, reason="intake_cancelled")
            return _done(
                turn,
                decision,
                Reply(self._texts.render("intake_cancelled", lang)),
                dataclasses.replace(turn.state, intake=None),
            )
        ticket = turn.ticket
        if state.ticket is None or ticket is None:
            return _done(
                turn,
                Decision(Action.ANSWER, lang, reason="no_ticket"),
                Reply(self._texts.render("ticket_none", lang)),
                dataclasses.replace(turn.state, ticket=None),
            )
        number = str(ticket.number)
        if match.name == "cancel":
            reply = Reply(self._texts.render("ticket_cancelled", lang, number=number))
            return _done(
                turn,
                Decision(Action.ANSWER, lang, reason="ticket_cancelled"),
                reply,
                dataclasses.replace(turn.state, ticket=None),
                CancelTicket(ticket.number) if ticket.is_open else None,
            )
        status = self._texts.render(f"status_{ticket.status}", lang)
        reply = Reply(self._texts.render("ticket_status", lang, number=number, status=status))
        return _done(turn, Decision(Action.ANSWER, lang, reason="ticket_status"), reply)


class RatingPassThrough:
    """Middleware: after a ticket is resolved, a reply of 1-5 is its rating; anything else stops the wait for one
    and is handled as usual."""

    def __init__(self, texts: ReplyTexts) -> None:
        self._texts = texts

    async def __call__(self, *, turn: Turn, next: NextStep) -> Outcome:
        """Store the rating and thank the user, or pass the message on."""
        number = turn.state.rating_for
        if number is None:
            return await next(turn)
        found = _RATING.match(turn.message.text)
        if found is None:
            return await next(dataclasses.replace(turn, state=dataclasses.replace(turn.state, rating_for=None)))
        rating = int(found.group(1)) if found.group(1) else len(found.group(2))
        decision = Decision(Action.ANSWER, turn.lang, reason="rating")
        return _done(
            turn,
            decision,
            Reply(self._texts.render("rating_thanks", turn.lang)),
            dataclasses.replace(turn.state, rating_for=None),
            RateTicket(number, rating),  # rated already: the desk keeps the first, the user is thanked anyway
        )


class TicketRelay:
    """Middleware: while a ticket is open, messages go to its agent instead of the steps after this one;
    attachments need a ticket."""

    def __init__(self, texts: ReplyTexts) -> None:
        self._texts = texts

    async def __call__(self, *, turn: Turn, next: NextStep) -> Outcome:
        """Relay to the agent and confirm, or explain that attachments need a ticket, or pass the message on."""
        lang = turn.lang
        number = turn.state.ticket
        if number is None:
            # A formal request's files go with the ticket it opens (the escalation step).
            if not turn.message.attachments or turn.message.kind == "formal":
                return await next(turn)
            reply = Reply(self._texts.render("attachment_needs_ticket", lang))
            return _done(turn, Decision(Action.DECLINE, lang, reason="attachment_without_ticket"), reply)
        ticket = turn.ticket
        if ticket is None or not ticket.is_open:
            return await next(dataclasses.replace(turn, state=dataclasses.replace(turn.state, ticket=None), ticket=None))
        # Captions are not repeated: the message text carries them, redacted.
        attachments = [f"[{a.kind} attached: omnidesk tickets files {number}]" for a in turn.message.attachments]
        # The agent gets the whole message, secrets replaced, not just the part the FAQ would read.
        text = "\n".join([turn.said, *attachments]).strip()
        key = "attachment_added" if attachments else "ticket_followup"
        reply = Reply(self._texts.render(key, lang, number=str(number)), ticket=number)
        decision = Decision(Action.ESCALATE, lang, priority=ticket.priority, reason="ticket_followup", confidence=1.0)
        effect = FollowUp(number, text, turn.message.attachments, turn.relay_hold) if text else None
        return _done(turn, decision, reply, effect=effect)


class IntakeHandler(Handler[str]):
    """Collects the answers to the intake questions, then opens the ticket."""

    def __init__(self, escalator: Escalator, texts: ReplyTexts) -> None:
        self._escalator = escalator
        self._texts = texts

    def check(self, turn: Turn) -> str | None:
        """The user's answer (empty when skipped) while questions are pending."""
        intake = turn.state.intake
        if intake is None or not intake.questions:
            return None
        return "" if _SKIP.match(turn.message.text) else turn.message.text.strip()

    async def handle(self, turn: Turn, match: str) -> Outcome:
        """Ask the next question or open the ticket."""
        intake = turn.state.intake
        assert intake is not None
        asked, remaining = intake.questions[0], intake.questions[1:]
        label = self._texts.render(asked, "en").split("?")[0]
        answered = dataclasses.replace(
            intake, questions=remaining, answers=(*intake.answers, f"{label}? {match}" if match else "")
        )
        if remaining:
            decision = Decision(
                Action.ESCALATE, turn.lang, priority=intake.priority, reason=intake.reason, confidence=1.0
            )
            return _done(
                turn,
                decision,
                Reply(self._texts.render(remaining[0], turn.lang)),
                dataclasses.replace(turn.state, intake=answered),
            )
        return await self._escalator.open_ticket(turn, answered)


TICKET_FORM_COMMAND = "newticket"


class TicketForm:
    """The web form's ticket, sent as `/newticket <category>` with the description (and the answers to the category's
    intake questions) on the lines below: the secret guard has already redacted it, like any message. With a ticket
    already open the text goes to that ticket instead of a second one."""

    def __init__(self, escalator: Escalator, texts: ReplyTexts, categories: frozenset[str]) -> None:
        self._escalator = escalator
        self._texts = texts
        self._categories = categories

    def by_name(self) -> dict[str, CommandAction]:
        """The command to register, by name."""
        return {TICKET_FORM_COMMAND: self.run}

    async def run(self, turn: Turn, match: Command) -> Outcome:
        """Open the ticket, or add to the open one."""
        lang = turn.lang
        first, _, body = turn.said.partition("\n")
        words = first.split()
        category = words[1] if len(words) > 1 and words[1] in self._categories else None
        description = body.strip()
        if not description:
            reply = Reply(self._texts.render("ticket_form_empty", lang))
            return _done(turn, Decision(Action.DECLINE, lang, reason="ticket_form_empty"), reply)
        ticket = turn.ticket
        if turn.state.ticket is not None and ticket is not None and ticket.is_open:
            status = self._texts.render(f"user_status_{USER_STATUS[TicketStatus(ticket.status)]}", lang)
            reply = Reply(self._texts.render("ticket_form_duplicate", lang, number=str(ticket.number), status=status))
            decision = Decision(
                Action.ESCALATE, lang, priority=ticket.priority, reason="ticket_followup", confidence=1.0
            )
            return _done(turn, decision, reply, effect=FollowUp(ticket.number, description))
        found = detect_escalation(description)
        priority = found.priority if found is not None else Priority.NORMAL
        reason = found.reason if found is not None and found.priority is Priority.URGENT else "web_form"
        return await self._escalator.open_ticket(turn, Intake(reason, priority, category, description, ()))


def form_questions(category: str | None) -> tuple[str, ...]:
    """The intake questions the form shows for a category: the ones the chat would ask."""
    return INTAKE_QUESTIONS.get(category or "", DEFAULT_INTAKE_QUESTIONS)
