"""TicketDesk: carries agents' actions (from Slack or the CLI) to tickets and users; users' own changes to tickets
are effects the message pipeline applies."""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import datetime

from bot.core.conversation import ConversationStates
from bot.core.messages import Reply, Suggestion
from bot.core.outbox import Outbox
from bot.desk.notifications import AgentRelay
from bot.knowledge.texts import ReplyTexts
from bot.security.secret_scanner import SecretScanner
from bot.store import StoreError, StorePort, Ticket, TicketStatus, UserTicket

# The rating as choices (widget chips, Telegram buttons, X's numbered list): each sends its digit, which is also its
# number in a numbered list, so typing "4" on X and tapping the fourth button give the same rating.
RATING_CHOICES = tuple(Suggestion("★" * n, str(n)) for n in range(1, 6))


class TicketDesk:
    """What agents can do (AgentActions): every change also queues its redraw for agents in the same transaction
    (see StoreQueries); the outbox delivers it, here or, from the CLI, in the running OmniDesk."""

    def __init__(
        self,
        store: StorePort,
        outbox: Outbox,
        texts: ReplyTexts,
        states: ConversationStates,
        scanner: SecretScanner,
        agents: AgentRelay,
    ) -> None:
        self._scanner = scanner
        self._store = store
        self._outbox = outbox
        self._texts = texts
        self._states = states
        self._agents = agents

    async def get(self, number: int) -> Ticket:
        """The ticket as stored."""
        return await self._store.get_ticket(number)

    async def of_conversation(self, channel: str, conversation_id: str, limit: int = 50) -> list[UserTicket]:
        """The conversation's tickets, newest first, with their last update ("My tickets")."""
        return await self._store.tickets_of(channel, conversation_id, limit)

    async def claim(self, number: int, agent: str) -> Ticket:
        """Take the ticket."""
        ticket = await self._store.claim(number, agent)
        await self._outbox.flush()  # the redraw (or reminder) it queued, among what else is due
        return ticket

    async def reply(self, number: int, agent: str, text: str) -> Ticket:
        """Deliver an agent's answer on the user's channel; a question to the user makes the ticket wait for them.
        An unclaimed ticket is claimed by its first reply."""
        ticket = await self._store.get_ticket(number)
        if ticket.status is TicketStatus.OPEN:
            # Two quick replies race to claim: the loser's reply must still go out.
            with contextlib.suppress(StoreError):
                ticket = await self._store.claim(number, agent)
        text = self._scanner.scan(text).redacted_text  # agents paste things too; the same rule holds
        ticket = await self._store.add_agent_reply(number, agent, text)
        message = self._texts.render("agent_reply", ticket.lang, agent=agent, text=text)
        await self._outbox.send(
            ticket.channel, ticket.conversation_id, dataclasses.replace(self._reply(message, ticket), agent=agent)
        )
        if text.rstrip().endswith(("?", "？")) and ticket.status is TicketStatus.CLAIMED:
            ticket = await self._store.set_status(number, TicketStatus.WAITING_USER, agent)
        await self._outbox.flush()  # the redraw (or reminder) it queued, among what else is due
        return ticket

    async def resolve(self, number: int, agent: str) -> Ticket:
        """Close the ticket, tell the user, and ask for a rating."""
        ticket = await self._store.resolve(number, agent)
        key = ticket.conversation_key
        state = await self._states.get(key)
        await self._states.put(key, dataclasses.replace(state, ticket=None, rating_for=number, last_suggestions=()))
        text = self._texts.render("ticket_resolved", ticket.lang, number=str(number))
        await self._outbox.send(
            ticket.channel,
            ticket.conversation_id,
            dataclasses.replace(self._reply(text, ticket), suggestions=RATING_CHOICES),
        )
        await self._outbox.flush()  # the redraw (or reminder) it queued, among what else is due
        return ticket

    def _reply(self, text: str, ticket: Ticket) -> Reply:
        label = self._texts.render("human_button", ticket.lang)
        return Reply(text, ticket=ticket.number, lang=ticket.lang, human_label=label)

    async def remind_unclaimed(self, older_than: datetime) -> list[Ticket]:
        """Announce again, once, the open tickets nobody claimed since before `older_than`."""
        if not self._agents.notifiers:  # nobody to remind: keep them due for when an agent tool is set up
            return []
        due = await self._store.unclaimed_since(older_than)
        for ticket in due:
            await self._store.mark_reminded(ticket.number)  # queues the reminder with the mark
        if due:
            await self._outbox.flush()  # the reminders, among what else is due
        return due
