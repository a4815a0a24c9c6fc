"""Per-conversation memory the router needs between messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.messages import Lang, Suggestion

ConversationKey = tuple[str, str]  # (channel, conversation id)


@dataclass(frozen=True, slots=True)
class ConversationState:
    """The user's language choice, how many messages in a row were not understood, and the last choices offered."""

    lang_choice: Lang | None = None  # set by /lang; wins over detection
    last_lang: Lang | None = None
    misses: int = 0
    last_suggestions: tuple[Suggestion, ...] = ()


class ConversationStates(Protocol):
    """Where conversation state is kept between messages."""

    async def get(self, key: ConversationKey) -> ConversationState:
        """The state of a conversation (a fresh one if unknown)."""
        ...

    async def put(self, key: ConversationKey, state: ConversationState) -> None:
        """Remember a conversation's new state."""
        ...


class InMemoryConversationStates:
    """Conversation state in a dict: for the CLI and tests, and until the SQLite store takes over."""

    def __init__(self) -> None:
        self._states: dict[ConversationKey, ConversationState] = {}

    async def get(self, key: ConversationKey) -> ConversationState:
        """The state of a conversation (a fresh one if unknown)."""
        return self._states.get(key, ConversationState())

    async def put(self, key: ConversationKey, state: ConversationState) -> None:
        """Remember a conversation's new state."""
        self._states[key] = state
