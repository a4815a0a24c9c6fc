"""Channel-agnostic messages and decisions: the only types adapters produce and consume."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

Lang = Literal["en", "zh"]
# "chat": answer from the knowledge base when possible. "formal": a written request (an email) that always gets a
# ticket of its own, so a person answers it and it keeps a written record.
MessageKind = Literal["chat", "formal"]
# The payload of the "talk to a human" choice: the router reads it as a command, adapters draw it as a button.
HUMAN_PAYLOAD = "/human"


class Action(StrEnum):
    """What the router decided to do with a message."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    ESCALATE = "escalate"
    DECLINE = "decline"


class Priority(StrEnum):
    """Ticket priority of an escalation."""

    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the user sent: the platform's reference to it, never its bytes."""

    kind: str  # "photo", "document", ...
    ref: str  # platform file id or stored path
    mime_type: str | None = None
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message from a user on any channel."""

    channel: str  # "telegram", "twitter", "webchat", "cli"
    user_id: str  # the user's id on that channel
    conversation_id: str  # chat / DM conversation / widget session
    message_id: str  # the platform's id for this message, unique per channel
    text: str
    attachments: tuple[Attachment, ...] = ()
    lang_hint: Lang | None = None
    sent_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    kind: MessageKind = "chat"


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A choice the user can tap (or type the number of): a label and the payload sent back."""

    label: str
    payload: str  # e.g. "faq:reset-2fa", "human", "category:trading"


@dataclass(frozen=True, slots=True)
class Reply:
    """One reply to a user: text plus optional choices and a human-handoff button."""

    text: str
    suggestions: tuple[Suggestion, ...] = ()
    offer_human: bool = False
    transcript_id: int | None = None  # set once queued: its id in the transcript (the widget orders by it)
    ticket: int | None = None  # the ticket this reply is about (email puts it in the subject)
    lang: Lang | None = None  # the language it is written in, set by the desk: adapters need not guess it
    human_label: str | None = None  # the "talk to a human" choice in that language, as the bot words it
    agent: str | None = None  # the person who wrote it (an agent's reply); None for the bot


@dataclass(frozen=True, slots=True)
class Decision:
    """What the router decided for one message, for logs, metrics, tickets and `omnidesk classify`."""

    action: Action
    lang: Lang
    faq_id: str | None = None  # the answered entry, or the top suggestion when clarifying
    suggestions: tuple[str, ...] = ()  # FAQ ids offered
    confidence: float = 0.0
    priority: Priority | None = None  # set when escalating
    reason: str | None = None  # why: "human_request", "security_incident", "not_understood", "investment_advice", ...
