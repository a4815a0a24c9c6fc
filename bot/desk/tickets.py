"""TicketDesk: carries agents' actions (from Slack or the CLI) to tickets and users; users' own changes to tickets
are effects the message pipeline applies."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime

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
    (see StoreQueries); the outbox delivers it, here or, from the CLI, in the running OmniDesk.

    An agent's change to a ticket is made holding its conversation's lock, the one the Desk holds while it handles
    a user's message, so the two never interleave: the user's message is decided before the change or after it.
    A change to the conversation's state (the resolve) also gives it a new version in the same transaction, so a
    message decided meanwhile where that lock is not shared (another process on a SQLite desk) is decided again."""

    def __init__(
        self,
        store: StorePort,
        outbox: Outbox,
        texts: ReplyTexts,
        scanner: SecretScanner,
        agents: AgentRelay,
    ) -> None:
        self._scanner = scanner
        self._store = store
        self._outbox = outbox
        self._texts = texts
        self._agents = agents

    async def get(self, number: int) -> Ticket:
        """The ticket as stored."""
        return await self._store.get_ticket(number)

    async def of_conversation(self, channel: str, conversation_id: str, limit: int = 50) -> list[UserTicket]:
        """The conversation's tickets, newest first, with their last update ("My tickets")."""
        return await self._store.tickets_of(channel, conversation_id, limit)

    @contextlib.asynccontextmanager
    async def _conversation_of(self, number: int) -> AsyncIterator[Ticket]:
        """Hold the lock of the ticket's conversation for the block (the Desk's, see `Desk.handle`)."""
        ticket = await self._store.get_ticket(number)
        async with self._store.conversation_lock(ticket.conversation_key):
            yield ticket

    async def claim(self, number: int, agent: str) -> Ticket:
        """Take the ticket."""
        async with self._conversation_of(number):
            ticket = await self._store.claim(number, agent)
        await self._outbox.flush()  # the redraw (or reminder) it queued, among what else is due
        return ticket

    async def reply(self, number: int, agent: str, text: str) -> Ticket:
        """Deliver an agent's answer on the user's channel; a question to the user makes the ticket wait for them.
        An unclaimed ticket is claimed by its first reply."""
        text = self._scanner.scan(text).redacted_text  # agents paste things too; the same rule holds
        async with self._conversation_of(number) as ticket:
            if ticket.status is TicketStatus.OPEN:
                # Two quick replies race to claim: the loser's reply must still go out.
                with contextlib.suppress(StoreError):
                    ticket = await self._store.claim(number, agent)
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
        async with self._conversation_of(number) as ticket:
            text = self._texts.render("ticket_resolved", ticket.lang, number=str(number))
            reply = dataclasses.replace(self._reply(text, ticket), suggestions=RATING_CHOICES)
            ticket, items = await self._store.resolve_asking_rating(
                number, agent, self._outbox.payload(ticket.channel, reply)
            )
            await self._outbox.deliver(items)  # in the lock, as the Desk's replies: in order with the user's next
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
