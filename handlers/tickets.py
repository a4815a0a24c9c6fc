"""Steps for conversations with a ticket in progress: /ticket and /cancel, the intake questions, follow-ups, rating."""

from __future__ import annotations

import contextlib
import dataclasses
import re

from bot.core.conversation import ConversationState, Intake
from bot.core.messages import Action, Decision, Priority, Reply
from bot.core.ports import StoreError
from bot.desk.domain import USER_STATUS, TicketStatus
from bot.desk.tickets import MY_TICKETS_SHOWN, TicketDesk
from bot.knowledge.texts import ReplyTexts
from handlers.base import Handler, Outcome, Turn
from handlers.commands import Command, parse_command
from handlers.escalation import DEFAULT_INTAKE_QUESTIONS, INTAKE_QUESTIONS, Escalator, detect_escalation

_SKIP = re.compile(r"^\W*(skip|no|none|n/?a|don'?t know|dont know|idk|跳过|没有|不知道|无)\W*$", re.IGNORECASE)
_RATING = re.compile(r"^\s*([1-5])\s*(?:/\s*5)?\s*$|^\s*(⭐{1,5})\s*$")


def _done(turn: Turn, decision: Decision, reply: Reply, state: ConversationState | None = None) -> Outcome:
    """End the turn with one reply; choices offered earlier no longer apply."""
    new_state = dataclasses.replace(state or turn.state, last_suggestions=())
    return Outcome(decision, (*turn.notices, reply), new_state)


class TicketCommandsHandler(Handler[Command]):
    """/ticket shows the status of the user's ticket, /tickets lists all of them; /cancel closes the open one (or
    stops the intake questions)."""

    def __init__(self, tickets: TicketDesk, texts: ReplyTexts) -> None:
        self._tickets = tickets
        self._texts = texts

    def check(self, turn: Turn) -> Command | None:
        """The /ticket or /cancel command."""
        command = parse_command(turn.message.text)
        return command if command is not None and command.name in ("ticket", "tickets", "cancel") else None

    async def handle(self, turn: Turn, match: Command) -> Outcome:
        """Answer with the status, or cancel."""
        lang, state = turn.lang, turn.state
        if match.name == "tickets":
            return _done(turn, Decision(Action.ANSWER, lang, reason="ticket_list"), await self._list(turn))
        if match.name == "cancel" and state.intake is not None:
            decision = Decision(Action.DECLINE, lang, reason="intake_cancelled")
            return _done(
                turn,
                decision,
                Reply(self._texts.render("intake_cancelled", lang)),
                dataclasses.replace(turn.state, intake=None),
            )
        if state.ticket is None:
            return _done(
                turn, Decision(Action.ANSWER, lang, reason="no_ticket"), Reply(self._texts.render("ticket_none", lang))
            )
        number = str(state.ticket)
        if match.name == "cancel":
            await self._tickets.cancel_by_user(state.ticket)
            reply = Reply(self._texts.render("ticket_cancelled", lang, number=number))
            return _done(
                turn,
                Decision(Action.ANSWER, lang, reason="ticket_cancelled"),
                reply,
                dataclasses.replace(turn.state, ticket=None),
            )
        ticket = await self._tickets.get(state.ticket)
        status = self._texts.render(f"status_{ticket.status.value}", lang)
        reply = Reply(self._texts.render("ticket_status", lang, number=number, status=status))
        return _done(turn, Decision(Action.ANSWER, lang, reason="ticket_status"), reply)

    async def _list(self, turn: Turn) -> Reply:
        """The newest tickets of this conversation, one line each, with their status in the user's words."""
        lang, message = turn.lang, turn.message
        tickets = await self._tickets.of_conversation(message.channel, message.conversation_id, MY_TICKETS_SHOWN)
        if not tickets:
            return Reply(self._texts.render("tickets_none", lang))
        lines = [self._texts.render("tickets_header", lang)]
        for item in tickets:
            status = self._texts.render(f"user_status_{USER_STATUS[item.ticket.status]}", lang)
            updated = f"{item.updated_at:%Y-%m-%d %H:%M} UTC"
            lines.append(
                self._texts.render("tickets_line", lang, number=str(item.ticket.number), status=status, updated=updated)
            )
        if any(item.ticket.is_open for item in tickets):
            lines.append(self._texts.render("tickets_footer", lang))
        return Reply("\n".join(lines))


class RatingHandler(Handler[int]):
    """After a ticket is resolved, a reply of 1-5 is its rating; anything else is handled as usual."""

    def __init__(self, tickets: TicketDesk, texts: ReplyTexts) -> None:
        self._tickets = tickets
        self._texts = texts

    def check(self, turn: Turn) -> int | None:
        """The rating given (0 when the awaited rating was not given)."""
        if turn.state.rating_for is None:
            return None
        found = _RATING.match(turn.message.text)
        if found is None:
            return 0
        return int(found.group(1)) if found.group(1) else len(found.group(2))

    async def handle(self, turn: Turn, match: int) -> Turn | Outcome:
        """Store the rating and thank the user, or stop waiting for one."""
        number = turn.state.rating_for
        assert number is not None
        if not match:
            return dataclasses.replace(turn, state=dataclasses.replace(turn.state, rating_for=None))
        with contextlib.suppress(StoreError):  # rated already: thank them anyway
            await self._tickets.rate(number, match)
        decision = Decision(Action.ANSWER, turn.lang, reason="rating")
        return _done(
            turn,
            decision,
            Reply(self._texts.render("rating_thanks", turn.lang)),
            dataclasses.replace(turn.state, rating_for=None),
        )


class TicketRelayHandler(Handler[int]):
    """While a ticket is open, messages go to its agent instead of the FAQ; attachments need a ticket."""

    def __init__(self, tickets: TicketDesk, texts: ReplyTexts) -> None:
        self._tickets = tickets
        self._texts = texts

    def check(self, turn: Turn) -> int | None:
        """The open ticket's number (0 for an attachment sent without a ticket)."""
        if turn.state.ticket is not None:
            return turn.state.ticket
        # A formal request's files go with the ticket it opens (the escalation step).
        return 0 if turn.message.attachments and turn.message.kind != "formal" else None

    async def handle(self, turn: Turn, match: int) -> Turn | Outcome:
        """Relay to the agent and confirm, or explain that attachments need a ticket."""
        lang = turn.lang
        if not match:
            reply = Reply(self._texts.render("attachment_needs_ticket", lang))
            return _done(turn, Decision(Action.DECLINE, lang, reason="attachment_without_ticket"), reply)
        ticket = await self._tickets.get(match)
        if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CANCELLED):
            return dataclasses.replace(turn, state=dataclasses.replace(turn.state, ticket=None))
        # Captions are not repeated: the message text carries them, redacted.
        attachments = [f"[{a.kind} attached: omnidesk tickets files {match}]" for a in turn.message.attachments]
        # The agent gets the whole message, secrets replaced, not just the part the FAQ would read.
        said = turn.redacted_text if turn.redacted_text is not None else turn.message.text
        text = "\n".join([said, *attachments]).strip()
        if text:
            ticket = await self._tickets.follow_up(ticket, text, turn.message.attachments)
        key = "attachment_added" if attachments else "ticket_followup"
        reply = Reply(self._texts.render(key, lang, number=str(match)), ticket=match)
        decision = Decision(Action.ESCALATE, lang, priority=ticket.priority, reason="ticket_followup", confidence=1.0)
        return _done(turn, decision, reply)


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


class TicketFormHandler(Handler[Command]):
    """The web form's ticket, sent as `/newticket <category>` with the description (and the answers to the category's
    intake questions) on the lines below: the secret guard has already redacted it, like any message. With a ticket
    already open the text goes to that ticket instead of a second one."""

    def __init__(
        self, escalator: Escalator, tickets: TicketDesk, texts: ReplyTexts, categories: frozenset[str]
    ) -> None:
        self._escalator = escalator
        self._tickets = tickets
        self._texts = texts
        self._categories = categories

    def check(self, turn: Turn) -> Command | None:
        """The form's command."""
        command = parse_command(turn.message.text)
        return command if command is not None and command.name == TICKET_FORM_COMMAND else None

    async def handle(self, turn: Turn, match: Command) -> Outcome:
        """Open the ticket, or add to the open one."""
        lang = turn.lang
        said = turn.redacted_text if turn.redacted_text is not None else turn.message.text
        first, _, body = said.partition("\n")
        category = first.split()[1] if len(first.split()) > 1 and first.split()[1] in self._categories else None
        description = body.strip()
        if not description:
            reply = Reply(self._texts.render("ticket_form_empty", lang))
            return _done(turn, Decision(Action.DECLINE, lang, reason="ticket_form_empty"), reply)
        if turn.state.ticket is not None:
            ticket = await self._tickets.get(turn.state.ticket)
            if ticket.is_open:
                ticket = await self._tickets.follow_up(ticket, description)
                status = self._texts.render(f"user_status_{USER_STATUS[ticket.status]}", lang)
                reply = Reply(
                    self._texts.render("ticket_form_duplicate", lang, number=str(ticket.number), status=status)
                )
                decision = Decision(
                    Action.ESCALATE, lang, priority=ticket.priority, reason="ticket_followup", confidence=1.0
                )
                return _done(turn, decision, reply)
        found = detect_escalation(description)
        priority = found.priority if found is not None else Priority.NORMAL
        reason = found.reason if found is not None and found.priority is Priority.URGENT else "web_form"
        intake = Intake(reason, priority, category or None, description, ())
        return await self._escalator.open_ticket(turn, intake)


def form_questions(category: str | None) -> tuple[str, ...]:
    """The intake questions the form shows for a category: the ones the chat would ask."""
    return INTAKE_QUESTIONS.get(category or "", DEFAULT_INTAKE_QUESTIONS)
