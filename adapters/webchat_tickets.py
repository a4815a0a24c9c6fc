"""The widget's "My tickets": the visitor's tickets with their status in words, and one ticket's redacted history.

Served by `webchat_routes` when it is given the ticket desk; the session token decides whose tickets these are,
and a ticket of another session is as unknown as a ticket that does not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.core.messages import Attachment, InboundMessage, Lang
from bot.core.ports import StoredMessage, StoreError
from bot.desk.domain import USER_STATUS, Ticket, UserTicket

CHANNEL = "webchat"
LISTED = 50


def visitor_message(
    session_id: str, client_id: str, text: str, lang: Lang | None, attachments: tuple[Attachment, ...] = ()
) -> InboundMessage:
    """A visitor's message from the widget, the form or a ticket page: the session is the user and the conversation,
    and `session:client id` is the message id the desk deduplicates on."""
    return InboundMessage(
        channel=CHANNEL,
        user_id=session_id,
        conversation_id=session_id,
        message_id=f"{session_id}:{client_id}",
        text=text,
        attachments=attachments,
        lang_hint=lang,
    )


class UserTickets(Protocol):
    """What the widget reads of the ticket desk (`TicketDesk`)."""

    async def of_conversation(self, channel: str, conversation_id: str, limit: int = 50) -> list[UserTicket]: ...

    async def get(self, number: int) -> Ticket: ...


class Transcripts(Protocol):
    """The conversation's redacted transcript (`Desk.history`)."""

    async def history(
        self, channel: str, conversation_id: str, limit: int = 200, after: int = 0
    ) -> list[StoredMessage]: ...


class MyTicketsApi:
    """`GET /api/webchat/tickets` and `GET /api/webchat/tickets/{number}`."""

    def __init__(
        self,
        tickets: UserTickets,
        transcripts: Transcripts,
        session_of: Callable[[Request], Awaitable[str]],
        message_json: Callable[[str, StoredMessage], dict[str, Any]],
        history_limit: int,
        form: Mapping[str, Any] | None = None,
    ) -> None:
        self._tickets = tickets
        self._transcripts = transcripts
        self._session_of = session_of  # raises the widget's 401 for a missing or bad token
        self._message_json = message_json
        self._history_limit = history_limit
        # The web form's choices (categories and each one's intake questions, in both languages), from the wiring.
        self._form = dict(form or {"categories": []})

    async def form(self, request: Request) -> Response:
        """What the widget's ticket form offers; the ticket itself is sent as a message (`/newticket`), so it goes
        through the secret guard, the duplicate check and the desk like anything typed in the chat."""
        await self._session_of(request)
        return JSONResponse(self._form, headers={"Cache-Control": "no-store"})

    async def list(self, request: Request) -> Response:
        """The session's tickets, newest first."""
        session_id = await self._session_of(request)
        tickets = await self._tickets.of_conversation(CHANNEL, session_id, LISTED)
        return JSONResponse({"tickets": [_ticket_json(t.ticket, t.updated_at) for t in tickets]})

    async def show(self, request: Request) -> Response:
        """One of the session's tickets with the messages exchanged while it was open."""
        session_id = await self._session_of(request)
        found = await ticket_history(
            self._tickets, self._transcripts, session_id, request.path_params["number"], self._history_limit
        )
        if found is None:
            return JSONResponse({"type": "error", "code": "not_found", "message": "No such ticket."}, status_code=404)
        body = _ticket_json(found.ticket, found.updated_at)
        body["summary"] = found.ticket.summary
        body["messages"] = [self._message_json(session_id, m) for m in found.messages]
        return JSONResponse({"ticket": body})


@dataclass(frozen=True, slots=True)
class TicketHistory:
    """One of a visitor's tickets, when it was last updated, and the messages exchanged while it was open."""

    ticket: Ticket
    updated_at: datetime
    messages: list[StoredMessage]


async def ticket_history(
    tickets: UserTickets, transcripts: Transcripts, session_id: str, number: int, history_limit: int
) -> TicketHistory | None:
    """The session's ticket `number` with its history; None when the session has no such ticket (another session's
    ticket is as unknown as one that does not exist)."""
    mine = {t.ticket.number: t for t in await tickets.of_conversation(CHANNEL, session_id, LISTED)}
    if number not in mine:
        return None
    try:
        ticket = await tickets.get(number)
    except StoreError:
        return None
    transcript = await transcripts.history(CHANNEL, session_id, history_limit)
    end = ticket.resolved_at
    # The question that led to it is the ticket's summary; the history is what was said while it was open.
    during = [m for m in transcript if m.created_at >= ticket.created_at and (end is None or m.created_at <= end)]
    return TicketHistory(ticket, mine[number].updated_at, during)


def _ticket_json(ticket: Ticket, updated_at: datetime) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "status": USER_STATUS[ticket.status],
        "open": ticket.is_open,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": updated_at.isoformat(),
    }
