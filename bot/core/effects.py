"""What a deciding step asks the desk to do besides replying: applied in the message's own transaction."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.messages import Attachment, Lang, Priority

# Stands for the number of the ticket an OpenTicket effect opens, in the replies of the same message: the number
# exists only once the effect is applied, in the transaction that also stores the replies.
NEW_TICKET = "\u2063new-ticket\u2063"


@dataclass(frozen=True, slots=True)
class OpenTicket:
    """Open a ticket for the conversation (or keep the unfinished one it has) and announce it to agents."""

    lang: Lang
    priority: Priority
    category: str | None
    reason: str
    summary: str  # redacted: the message that asked for a person, plus the intake answers
    attachments: tuple[Attachment, ...] = ()  # files sent with the message that opens it, kept on the ticket


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A user's message on their open ticket: relayed to agents; a ticket waiting for the user is claimed again."""

    ticket: int
    text: str  # redacted
    attachments: tuple[Attachment, ...] = ()
    # Relayed to agents only after this long: the message may be the first part of a seed phrase sent in parts,
    # which the next message redacts (in the store and in the relay still queued).
    hold_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class CancelTicket:
    """The user closes their own ticket (nothing happens if an agent finished it meanwhile)."""

    ticket: int


@dataclass(frozen=True, slots=True)
class RateTicket:
    """The user's 1-5 rating of a resolved ticket (kept once; a second rating is ignored)."""

    ticket: int
    rating: int


Effect = OpenTicket | FollowUp | CancelTicket | RateTicket
