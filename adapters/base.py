"""The one small interface every channel adapter implements, and an in-memory channel for tests."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.messages import InboundMessage, Reply

if TYPE_CHECKING:
    from bot.router import RouterResult

# What an adapter calls for every message it receives (Desk.handle): returns once the message is handled,
# with the router's result (None for a duplicate), e.g. so a group message holding a secret can be deleted.
InboundSink = Callable[[InboundMessage], Awaitable["RouterResult | None"]]


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

    async def start(self, inbound: InboundSink) -> None:  # noqa: B027 - optional hook: send-only channels need none
        """Begin receiving messages (polling, webhooks, sockets), handing each to `inbound`."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Stop receiving; finish what is in flight."""


@dataclass
class InMemoryChannel(Channel):
    """A channel that records what it was asked to send: a test is one line."""

    name: str = "memory"
    sent: list[tuple[str, Reply]] = field(default_factory=list)
    fail_with: DeliveryError | None = None

    async def send(self, conversation_id: str, reply: Reply) -> None:
        """Record the reply (or raise the configured failure)."""
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((conversation_id, reply))

    def texts(self, conversation_id: str | None = None) -> list[str]:
        """Texts sent, optionally to one conversation."""
        return [r.text for c, r in self.sent if conversation_id is None or c == conversation_id]
