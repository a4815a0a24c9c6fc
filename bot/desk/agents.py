"""The desk's ports towards agents' tools: where tickets are announced, and what agents can do to them."""

from __future__ import annotations

from typing import Protocol

from bot.core.ports import AgentNotice, StoredMessage
from bot.desk.domain import Ticket


class AgentNotifier(Protocol):
    """Where agents see tickets (Slack, or nothing for CLI-only teams). Texts passed here are already redacted.
    `notice` is the outbox item being delivered: a notice that `maybe_delivered` may be in the tool already."""

    async def ticket_opened(self, ticket: Ticket, transcript: list[StoredMessage], *, notice: AgentNotice) -> None:
        """Announce a new ticket with its transcript."""
        ...

    async def user_message(self, ticket: Ticket, text: str, *, notice: AgentNotice) -> None:
        """A follow-up from the user on an open ticket."""
        ...

    async def ticket_updated(self, ticket: Ticket, *, notice: AgentNotice) -> None:
        """The ticket's status or assignee changed (claimed, resolved, cancelled)."""
        ...

    async def remind_unclaimed(self, ticket: Ticket, *, notice: AgentNotice) -> None:
        """The ticket has waited unclaimed past the configured time: announce it again, once."""
        ...


class AgentActions(Protocol):
    """What an agent can do, from Slack or the CLI: both go through the same calls."""

    async def get(self, number: int) -> Ticket:
        """The ticket as stored (a button acts only on the state it was drawn for)."""
        ...

    async def claim(self, number: int, agent: str) -> Ticket:
        """Take the ticket."""
        ...

    async def reply(self, number: int, agent: str, text: str) -> Ticket:
        """Answer the user on their channel."""
        ...

    async def resolve(self, number: int, agent: str) -> Ticket:
        """Close the ticket and ask the user for a rating."""
        ...
