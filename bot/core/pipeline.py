"""Desk: everything between the channels and the router: de-duplication, transcripts, delivery.

Build one with `bot.app.wiring.open_runtime(config, channels)`; channels call `desk.handle(message)` for each message and
acknowledge it to their platform (offset, cursor, HTTP 200, widget ack) only after it returns.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence

from bot.core.commit import MessageCommit
from bot.core.desk_middleware import Delivery, DeskMiddleware
from bot.core.locks import ConversationLocks
from bot.core.messages import InboundMessage
from bot.core.metrics import Metrics
from bot.core.middleware import chained
from bot.core.ports import MessageStore, StoredMessage
from bot.core.router import Router, RouterResult
from bot.security.secret_scanner import SecretScanner

log = logging.getLogger(__name__)
EARLIER_MESSAGES = 2  # how many of the user's last messages a seed phrase sent in parts may span, besides this one


def _storable(message: InboundMessage) -> InboundMessage:
    """Lone surrogates (which browsers can send) cannot be stored or encoded: replace them."""
    text = message.text.encode("utf-8", "replace").decode("utf-8")
    return message if text == message.text else dataclasses.replace(message, text=text)


class Desk:
    """Handles each inbound message once: its middleware (dedup, flood control, the error apology; see
    `bot.core.desk_middleware`) around routing it and committing the result with its replies, then sending them."""

    def __init__(
        self,
        router: Router,
        store: MessageStore,
        commit: MessageCommit,
        middlewares: Sequence[DeskMiddleware],
        scanner: SecretScanner,
        metrics: Metrics,
    ) -> None:
        self._router = router
        self._store = store
        self._commit = commit
        self._scanner = scanner
        self.metrics = metrics
        self._locks = ConversationLocks()
        self._run = chained(middlewares, self._decide)

    async def handle(self, message: InboundMessage) -> RouterResult | None:
        """Route and answer a message; None when it was already handled (a redelivery) or dropped as a flood."""
        # One unit of work per message, one message of a conversation at a time: a redelivery arriving meanwhile
        # waits here and then finds the message handled; a second message is decided from the first one's state.
        # The store's lock makes it one at a time across every instance sharing the store (PostgreSQL: an advisory
        # lock); the in-process lock first, so this instance's waiters queue here rather than on the database.
        key = (message.channel, message.conversation_id)
        async with self._locks.hold(key), self._store.conversation_lock(key):
            return await self._run(Delivery(_storable(message)))

    async def _decide(self, delivery: Delivery) -> RouterResult | None:
        """Route the message from the conversation as loaded, and commit the result with its replies; None when
        another delivery of it was committed first. Nothing is written before: the platform redelivers the message
        until it is acknowledged, which happens only after `handle` returns."""
        message, snapshot = delivery.message, delivery.snapshot
        assert snapshot is not None  # loaded by Dedup, the outermost middleware
        started = time.perf_counter()
        result = await self._router.decide(
            message, snapshot.state, snapshot.ticket, await self._earlier(message), snapshot.tickets
        )
        self.metrics.routed(message.channel, result, time.perf_counter() - started)
        if not await self._commit(message, result.redacted_text, result, result.replies, snapshot):
            return None
        return result

    async def _earlier(self, message: InboundMessage) -> tuple[tuple[int, str], ...]:
        """The user's last messages (row id, stored text), when this one may continue a seed phrase sent in parts."""
        if not self._scanner.may_continue_seed(message.text):
            return ()
        recent = await self._store.transcript((message.channel, message.conversation_id), limit=EARLIER_MESSAGES * 2)
        return tuple((m.id, m.text) for m in recent if m.direction == "in")[-EARLIER_MESSAGES:]

    async def stored_inbound(self, message: InboundMessage) -> StoredMessage | None:
        """The message as it was stored (redacted), once handled; None if it was not."""
        return await self._store.inbound_message((message.channel, message.conversation_id), message.message_id)

    async def history(
        self, channel: str, conversation_id: str, limit: int = 200, after: int = 0
    ) -> list[StoredMessage]:
        """The conversation's redacted transcript (its messages with ids above `after`), oldest first."""
        return await self._store.transcript((channel, conversation_id), limit=limit, after=after)
