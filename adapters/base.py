"""The one small interface every channel adapter implements, and an in-memory channel for tests."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.core.messages import InboundMessage, Reply

if TYPE_CHECKING:
    from bot.core.router import RouterResult

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


def split_at_breaks(text: str, limit: int, length: Callable[[str], int] = len) -> list[str]:
    """Split text into parts of at most `limit` (as `length` counts): at paragraphs, else lines, else words, else
    anywhere; blank parts are dropped."""
    chunks = _split(text, limit, ("\n\n", "\n", " "), length)
    return [chunk for chunk in (c.strip() for c in chunks) if chunk]


def _split(text: str, limit: int, separators: Sequence[str], length: Callable[[str], int]) -> list[str]:
    if length(text) <= limit:
        return [text]
    if not separators:
        return _hard_split(text, limit, length)
    separator, finer = separators[0], separators[1:]
    parts = text.split(separator)
    if len(parts) == 1:
        return _split(text, limit, finer, length)
    chunks: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current}{separator}{part}" if current else part
        if length(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        if length(part) <= limit:
            current = part
        else:
            chunks.extend(_split(part, limit, finer, length))
            current = ""
    if current:
        chunks.append(current)
    return chunks


def _hard_split(text: str, limit: int, length: Callable[[str], int]) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:  # by character, so a surrogate pair is never cut in half
        width = length(char)
        if size + width > limit:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        chunks.append("".join(current))
    return chunks
