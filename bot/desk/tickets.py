"""TicketDesk: opens tickets for escalations, relays follow-ups to agents, and carries agents' actions to users."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Sequence
from datetime import datetime

from bot.core.conversation import ConversationStates, Intake
from bot.core.messages import Attachment, Lang, Reply, Suggestion
from bot.core.outbox import Outbox
from bot.desk.agents import AgentNotifier
from bot.knowledge.texts import ReplyTexts
from bot.security.secret_scanner import SecretScanner
from bot.store import Store, StoreError, Ticket, TicketStatus, UserTicket

log = logging.getLogger(__name__)
TRANSCRIPT_FOR_AGENTS = 50  # messages of context posted with a new ticket
# The rating as choices (widget chips, Telegram buttons, X's numbered list): each sends its digit, which is also its
# number in a numbered list, so typing "4" on X and tapping the fourth button give the same rating.
RATING_CHOICES = tuple(Suggestion("★" * n, str(n)) for n in range(1, 6))
MY_TICKETS_SHOWN = 10  # /tickets lists the newest ones


class TicketDesk:
    """The one place tickets change: the router's steps, Slack and the CLI all come through here."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        texts: ReplyTexts,
        states: ConversationStates,
        scanner: SecretScanner,
        notifiers: Sequence[AgentNotifier] = (),
    ) -> None:
        self._scanner = scanner
        self._store = store
        self._outbox = outbox
        self._texts = texts
        self._states = states
        # Slack needs this desk to act on, so it is added after both exist.
        self.notifiers: list[AgentNotifier] = list(notifiers)

    # -- the user's side (called from router steps) ---------------------------------------------------------------

    async def open(
        self,
        channel: str,
        conversation_id: str,
        user_id: str,
        lang: Lang,
        intake: Intake,
        attachments: Sequence[Attachment] = (),
    ) -> Ticket:
        """Open a ticket for a finished intake (with the files sent with the message that opened it) and announce it
        to agents."""
        existing = await self._store.open_ticket_for(channel, conversation_id)
        if existing is not None and await self._store.has_event(existing.number, "announced"):
            # Handling this message again after a crash: the ticket exists and agents know of it.
            return existing
        details = "\n".join(answer for answer in intake.answers if answer)
        summary = intake.summary + (f"\n{details}" if details else "")
        ticket = existing or await self._store.open_ticket(
            channel, conversation_id, user_id, lang, intake.priority, intake.category, intake.reason, summary
        )
        if existing is None:  # a re-opened existing ticket has its files already
            for attachment in attachments:
                await self._store.add_attachment(ticket.number, attachment.kind, attachment.ref, attachment.mime_type)
        transcript = (
            await self._store.transcript((channel, conversation_id), limit=TRANSCRIPT_FOR_AGENTS)
            if self.notifiers
            else []
        )
        for notifier in self.notifiers:
            await _quietly(notifier.ticket_opened(ticket, transcript), f"announce ticket #{ticket.number}")
        await self._store.add_event(ticket.number, "announced", "bot")
        return ticket

    async def follow_up(self, ticket: Ticket, text: str, attachments: Sequence[Attachment] = ()) -> Ticket:
        """A user's message on an open ticket (as just read): to the agents, and back to `claimed` if the agent was
        waiting."""
        number = ticket.number
        for attachment in attachments:
            await self._store.add_attachment(number, attachment.kind, attachment.ref, attachment.mime_type)
        if ticket.status is TicketStatus.WAITING_USER:
            with contextlib.suppress(StoreError):  # an agent moved it meanwhile: theirs is the newer word
                ticket = await self._store.set_status(number, TicketStatus.CLAIMED, "user")
        for notifier in self.notifiers:
            await _quietly(notifier.user_message(ticket, text), f"relay to ticket #{number}")
        return ticket

    async def get(self, number: int) -> Ticket:
        """The ticket as stored."""
        return await self._store.get_ticket(number)

    async def cancel_by_user(self, number: int) -> Ticket:
        """The user closes their own ticket."""
        ticket = await self._store.cancel(number, "user")
        await self._announce(ticket)
        return ticket

    async def of_conversation(self, channel: str, conversation_id: str, limit: int = 50) -> list[UserTicket]:
        """The conversation's tickets, newest first, with their last update ("My tickets", /tickets)."""
        return await self._store.tickets_of(channel, conversation_id, limit)

    async def rate(self, number: int, rating: int) -> None:
        """Store the user's 1-5 rating of a resolved ticket."""
        await self._store.rate(number, rating)

    # -- the agent's side (AgentActions: Slack and the CLI) ------------------------------------------------------

    async def claim(self, number: int, agent: str) -> Ticket:
        """Take the ticket."""
        ticket = await self._store.claim(number, agent)
        await self._announce(ticket)
        return ticket

    async def reply(self, number: int, agent: str, text: str) -> Ticket:
        """Deliver an agent's answer on the user's channel; a question to the user makes the ticket wait for them."""
        ticket = await self._store.get_ticket(number)
        if ticket.status is TicketStatus.OPEN:
            # Two quick replies race to claim: the loser's reply must still go out.
            with contextlib.suppress(StoreError):
                ticket = await self._store.claim(number, agent)
        text = self._scanner.scan(text).redacted_text  # agents paste things too; the same rule holds
        ticket = await self._store.add_agent_reply(number, agent, text)
        message = self._texts.render("agent_reply", ticket.lang, agent=agent, text=text)
        await self._outbox.send(ticket.channel, ticket.conversation_id, Reply(message, ticket=number, agent=agent))
        if text.rstrip().endswith(("?", "？")) and ticket.status is TicketStatus.CLAIMED:
            ticket = await self._store.set_status(number, TicketStatus.WAITING_USER, agent)
        return ticket

    async def resolve(self, number: int, agent: str) -> Ticket:
        """Close the ticket, tell the user, and ask for a rating."""
        ticket = await self._store.resolve(number, agent)
        key = ticket.conversation_key
        state = await self._states.get(key)
        await self._states.put(key, dataclasses.replace(state, ticket=None, rating_for=number, last_suggestions=()))
        text = self._texts.render("ticket_resolved", ticket.lang, number=str(number))
        await self._outbox.send(ticket.channel, ticket.conversation_id, Reply(text, RATING_CHOICES, ticket=number))
        await self._announce(ticket)
        return ticket

    async def remind_unclaimed(self, older_than: datetime) -> list[Ticket]:
        """Announce again, once, the open tickets nobody claimed since before `older_than`."""
        if not self.notifiers:  # nobody to remind: keep them due for when an agent tool is set up
            return []
        due = await self._store.unclaimed_since(older_than)
        for ticket in due:
            for notifier in self.notifiers:
                await _quietly(notifier.remind_unclaimed(ticket), f"remind ticket #{ticket.number}")
            await self._store.mark_reminded(ticket.number)
        return due

    async def _announce(self, ticket: Ticket) -> None:
        for notifier in self.notifiers:
            await _quietly(notifier.ticket_updated(ticket), f"update ticket #{ticket.number}")


async def _quietly(call: Awaitable[None], what: str) -> None:
    """Agents' tools failing must not lose the user's message: log and go on (the ticket is in the store)."""
    try:
        await call
    except Exception:
        log.exception("could not %s", what)
