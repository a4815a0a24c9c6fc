"""`/tickets`: the user's latest tickets, with their status in the words "My tickets" uses and their last update."""

from __future__ import annotations

import dataclasses

from bot.core.conversation import TicketView
from bot.core.messages import Action, Decision, Lang, Reply
from bot.desk.domain import USER_STATUS, TicketStatus
from bot.knowledge.texts import ReplyTexts
from handlers.base import Outcome, Turn
from handlers.commands import Command, CommandAction


class TicketList:
    """Answers `/tickets` from the tickets loaded with the conversation (most recently updated first); registered
    with the ticket commands, so it answers while a ticket is open instead of being relayed to agents."""

    def __init__(self, texts: ReplyTexts) -> None:
        self._texts = texts

    def by_name(self) -> dict[str, CommandAction]:
        """The command to register, by name."""
        return {"tickets": self.run}

    async def run(self, turn: Turn, match: Command) -> Outcome:
        """One line per ticket, then how to see the open one; or how to open one when there is none."""
        lang = turn.lang
        if not turn.tickets:
            text = self._texts.render("tickets_none", lang)
        else:
            lines = [self._texts.render("tickets_header", lang), *(self._line(t, lang) for t in turn.tickets)]
            if any(t.is_open for t in turn.tickets):
                lines.append(self._texts.render("tickets_footer", lang))
            text = "\n".join(lines)
        state = dataclasses.replace(turn.state, last_suggestions=())  # choices offered earlier no longer apply
        return Outcome(Decision(Action.ANSWER, lang, reason="ticket_list"), (*turn.notices, Reply(text)), state)

    def _line(self, ticket: TicketView, lang: Lang) -> str:
        status = self._texts.render(f"user_status_{USER_STATUS[TicketStatus(ticket.status)]}", lang)
        # Minutes in UTC: the same on every channel, and what an agent sees in `omnidesk tickets`.
        updated = f"{ticket.updated_at:%Y-%m-%d %H:%M} UTC" if ticket.updated_at else "-"
        return self._texts.render("tickets_line", lang, number=str(ticket.number), status=status, updated=updated)
