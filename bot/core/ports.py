"""The core's ports: what it asks of channels, of the store and of the agents' tools. Adapters implement them; the
core never imports an adapter or the store."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bot.core.conversation import ConversationKey, ConversationSnapshot, ConversationState
from bot.core.effects import Effect
from bot.core.messages import Decision, InboundMessage, Reply, Suggestion

if TYPE_CHECKING:
    from bot.core.router import RouterResult

Direction = Literal["in", "out"]
# The outbox destination of agent notifications (its conversation id is the ticket number): queued in the same
# transaction as the change they tell of, delivered and retried like replies, never on a user's critical path.
AGENTS = "agents"
AgentNoticeKind = Literal["announce", "relay", "redraw", "remind"]
# What an adapter calls for every message it receives (Desk.handle): returns once the message is handled,
# with the router's result (None for a duplicate), e.g. so a group message holding a secret can be deleted.
InboundSink = Callable[[InboundMessage], Awaitable["RouterResult | None"]]


class StoreError(Exception):
    """The store refused an operation (unknown ticket, illegal transition, unsupported schema, ...)."""


class StateConflict(StoreError):
    """The conversation changed since its state was read (another process, an agent resolving): decide again."""


class DeliveryError(Exception):
    """A reply could not be delivered. `permanent` (user blocked the bot, chat gone) means do not retry."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Channel(ABC):
    """A user-facing channel: converts platform events to InboundMessage and Reply to platform calls."""

    name: str

    @abstractmethod
    async def send(self, conversation_id: str, reply: Reply) -> None:
        """Deliver one reply to a conversation; raise DeliveryError when it cannot be delivered."""

    def parts(self, reply: Reply) -> tuple[Reply, ...]:
        """The reply as the messages the platform takes (e.g. split at its length limit), each sent on its own so a
        retry resends only the parts not yet accepted; `send` of each part is one platform message."""
        return (reply,)

    async def start(self, inbound: InboundSink) -> None:  # noqa: B027 - optional hook: send-only channels need none
        """Begin receiving messages (polling, webhooks, sockets), handing each to `inbound`."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Stop receiving; finish what is in flight."""


class KeyValueStore(Protocol):
    """A small named value an adapter keeps across restarts: a polling offset, a cursor, a platform's own id."""

    async def cursor_get(self, name: str) -> str | None:
        """The saved value, or None."""
        ...

    async def cursor_set(self, name: str, value: str) -> None:
        """Save a value."""
        ...


class ConversationMoves(KeyValueStore, Protocol):
    """A channel whose conversations can change id (a Telegram group that becomes a supergroup): its key-value
    entries, and moving a conversation with its tickets and pending replies."""

    async def move_conversations(self, channel: str, old: str, new: str) -> int:
        """Move conversation `old` and its per-user ones (`old:*`) to `new`; returns how many moved."""
        ...


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message of a conversation's transcript (text as redacted by the caller)."""

    id: int
    channel: str
    conversation_id: str
    direction: Direction
    text: str
    platform_message_id: str | None
    created_at: datetime
    suggestions: tuple[Suggestion, ...] = ()  # the choices a reply offered, as the user saw them
    agent: str | None = None  # the person who wrote a reply; None for the bot and for the user's messages


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A message waiting to be (or already) delivered by a channel adapter."""

    id: int
    channel: str
    conversation_id: str
    payload: dict[str, Any]
    status: Literal["pending", "sent", "failed"]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    # Taken for delivery before, by a sender whose lease ran out (it may have died mid-send): its send may have
    # reached the platform although the item is still pending.
    claimed_before: bool = False


@dataclass(frozen=True, slots=True)
class OutboxDepth:
    """Replies waiting for delivery, and when the oldest of them was queued (None when there is none)."""

    pending: int
    oldest_created_at: datetime | None


@dataclass(frozen=True, slots=True)
class AgentNotice:
    """One thing agents are told about a ticket: announce it, relay a follow-up, redraw it, remind them of it."""

    ticket: int
    kind: AgentNoticeKind
    text: str = ""  # the follow-up, redacted (relay only)
    item_id: int = 0  # the outbox item it comes from: the same on every retry, in every process
    # Its delivery may have been made before (a retry, or an item a dead process may have been sending): the
    # agents' tool should look for it before posting it again.
    maybe_delivered: bool = False
    queued_at: datetime | None = None  # when it was queued: nothing of it can have been posted before


class AgentsDestination(Protocol):
    """Where agent notices go (the desk's relay to Slack or to nobody); DeliveryError to be retried later."""

    async def notify(self, notice: AgentNotice) -> None:
        """Tell agents; raise DeliveryError when they could not be told now."""
        ...


class OutboxStore(Protocol):
    """The store as the outbox needs it: queued deliveries and their outcome."""

    async def queue_reply(self, channel: str, conversation_id: str, payload: Mapping[str, Any]) -> list[OutboxItem]:
        """A reply outside any inbound message: into the transcript and the outbox (a row per part), together."""
        ...

    async def outbox_pending(self, limit: int = 100) -> list[OutboxItem]:
        """Pending deliveries that are due, oldest due first."""
        ...

    async def outbox_claim(self, limit: int = 100) -> list[OutboxItem]:
        """Take the due deliveries for this instance: with several instances on one store, each item goes to one
        of them (leased; a dead instance's items come due again when the lease runs out)."""
        ...

    async def outbox_get(self, item_id: int) -> OutboxItem:
        """One outbox item."""
        ...

    async def outbox_mark_sent(self, item_id: int) -> None:
        """Delivery succeeded."""
        ...

    async def outbox_mark_failed(
        self, item_id: int, permanent: bool, error: str, retry_at: datetime | None = None
    ) -> None:
        """Delivery failed: give up if `permanent`, else try again at `retry_at`."""
        ...


class MessageStore(Protocol):
    """The store as the pipeline needs it: a message's state before routing, and its unit of work after."""

    def conversation_lock(self, key: ConversationKey) -> AbstractAsyncContextManager[None]:
        """Hold while handling a message: one conversation's messages one at a time, across every instance."""
        ...

    async def receive_inbound(
        self, channel: str, platform_message_id: str, conversation: ConversationKey
    ) -> ConversationSnapshot | None:
        """The state to handle a message from; None when it was handled already (a redelivery)."""
        ...

    async def complete_inbound(
        self,
        channel: str,
        platform_message_id: str,
        conversation_id: str,
        channel_user_id: str,
        text: str,
        decision: Decision | None,
        replies: Sequence[Mapping[str, Any]],
        state: ConversationState | None = None,
        effects: Sequence[Effect] = (),
        version: int | None = None,
        redact_earlier: Sequence[tuple[int, str]] = (),
    ) -> list[OutboxItem] | None:
        """The message, its effects, new state, replies and inbox row in one transaction; None for a redelivery,
        StateConflict when the conversation is no longer at `version`. `redact_earlier`: earlier user messages of
        the conversation to store redacted there too (row id, text)."""
        ...

    async def transcript(
        self, conversation: ConversationKey, limit: int | None = None, after: int = 0
    ) -> list[StoredMessage]:
        """A conversation's messages with ids above `after`, oldest first."""
        ...

    async def inbound_message(self, conversation: ConversationKey, platform_message_id: str) -> StoredMessage | None:
        """A user's message as stored (redacted), by its platform id."""
        ...
