"""What adapters share: an in-memory channel for tests, and splitting a long text at its breaks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.core.messages import Reply
from bot.core.ports import Channel, DeliveryError


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
