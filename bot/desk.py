"""Desk: everything between the channels and the router: de-duplication, transcripts, delivery, agents' replies.

Build one with `bot.app.open_runtime(config, channels)`; channels call `desk.handle(message)` for each message.
"""

from __future__ import annotations

import logging
import time

from bot.messages import InboundMessage
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.router import Router, RouterResult
from bot.store import Store, StoredMessage, Ticket
from bot.tickets import TicketDesk

log = logging.getLogger(__name__)


class Desk:
    """Handles each inbound message once: route it, keep the redacted transcript, send the replies."""

    def __init__(
        self, router: Router, store: Store, outbox: Outbox, tickets: TicketDesk, metrics: Metrics | None = None
    ) -> None:
        self._router = router
        self._store = store
        self._outbox = outbox
        self._tickets = tickets
        self.metrics = metrics or Metrics()

    async def handle(self, message: InboundMessage) -> RouterResult | None:
        """Route and answer a message; None when this platform message was already handled."""
        # Only ids go into the inbox: the raw text may hold a secret until the router's guard has seen it.
        fresh = await self._store.inbox_add(message.channel, message.message_id, {"user": message.user_id})
        if not fresh:
            log.info("duplicate %s message %s skipped", message.channel, message.message_id)
            return None
        started = time.perf_counter()
        result = await self._router.route(message)
        self.metrics.routed(message.channel, result, time.perf_counter() - started)
        attachments = " ".join(f"[{a.kind}: {a.ref}]" for a in message.attachments)
        text = f"{result.redacted_text} {attachments}".strip()
        await self._store.record_message(
            message.channel, message.conversation_id, "in", text, message.message_id, message.user_id, result.decision
        )
        for reply in result.replies:
            await self._outbox.send(message.channel, message.conversation_id, reply)
            self.metrics.messages_out.labels(message.channel).inc()
        await self._store.inbox_mark_handled(message.channel, message.message_id)
        return result

    async def history(self, channel: str, conversation_id: str, limit: int = 200) -> list[StoredMessage]:
        """The conversation's redacted transcript, oldest first."""
        return await self._store.transcript((channel, conversation_id), limit=limit)

    async def agent_reply(self, number: int, agent: str, text: str) -> Ticket:
        """An agent's answer, delivered on the user's channel (as from Slack or the CLI)."""
        return await self._tickets.reply(number, agent, text)
