"""Delivery of replies: written to the store's outbox first, then sent through the user's channel."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.core.messages import Reply, Suggestion
from bot.core.ports import Channel, DeliveryError, OutboxItem, OutboxStore

if TYPE_CHECKING:
    from bot.core.metrics import Metrics

log = logging.getLogger(__name__)
RETRY_BASE_SECONDS = 2.0
RETRY_MAX_SECONDS = 300.0


def reply_to_payload(reply: Reply) -> dict[str, Any]:
    """A reply as stored in the outbox (the inverse of `reply_from_payload`)."""
    # Spelled out: dataclasses.asdict deep-copies field by field, a tenth of a message's routing time.
    return {
        "text": reply.text,
        "suggestions": [{"label": s.label, "payload": s.payload} for s in reply.suggestions],
        "offer_human": reply.offer_human,
        "transcript_id": reply.transcript_id,
        "ticket": reply.ticket,
        "agent": reply.agent,
    }


def reply_from_payload(payload: Mapping[str, Any]) -> Reply:
    """A stored reply back as a Reply."""
    suggestions = tuple(Suggestion(str(s["label"]), str(s["payload"])) for s in payload.get("suggestions", ()))
    transcript_id = payload.get("transcript_id")
    ticket = payload.get("ticket")
    agent = payload.get("agent")
    return Reply(
        str(payload["text"]),
        suggestions,
        bool(payload.get("offer_human", False)),
        transcript_id if isinstance(transcript_id, int) else None,
        ticket if isinstance(ticket, int) else None,
        agent if isinstance(agent, str) else None,
    )


class Outbox:
    """Sends replies to users; a reply that cannot be sent now stays pending for `flush` to retry."""

    def __init__(
        self,
        store: OutboxStore,
        channels: Mapping[str, Channel],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        deliver_now: bool = True,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._channels = channels
        self._clock = clock
        # The agent CLI runs apart from the channels: it only queues, and the running OmniDesk delivers.
        self._deliver_now = deliver_now
        self._in_flight: set[int] = set()

    async def send(self, channel: str, conversation_id: str, reply: Reply) -> bool:
        """Store, record in the transcript, and try to deliver one reply; True when delivered now."""
        item = await self._store.queue_reply(channel, conversation_id, reply_to_payload(reply))
        return await self._deliver(item) if self._deliver_now else False

    async def deliver(self, items: list[OutboxItem]) -> int:
        """Try to deliver replies already queued (e.g. by `Store.complete_inbound`); returns how many went out."""
        if not self._deliver_now:
            return 0
        delivered = 0
        for item in items:
            delivered += await self._deliver(item)
        return delivered

    async def flush(self, limit: int = 100) -> int:
        """Retry the replies that are due; returns how many were delivered."""
        delivered = 0
        for item in await self._store.outbox_pending(limit):
            # The list may have been read before another delivery of the same reply finished: look again.
            if item.id not in self._in_flight and (await self._store.outbox_get(item.id)).status == "pending":
                delivered += await self._deliver(item)
        return delivered

    async def _deliver(self, item: OutboxItem) -> bool:
        # The flush loop must not pick up a reply that is being sent right now (it is still "pending").
        if item.id in self._in_flight:
            return False
        self._in_flight.add(item.id)
        try:
            return await self._deliver_once(item)
        finally:
            self._in_flight.discard(item.id)

    async def _deliver_once(self, item: OutboxItem) -> bool:
        channel = self._channels.get(item.channel)
        if channel is None:
            await self._store.outbox_mark_failed(item.id, permanent=True, error=f"no channel '{item.channel}' running")
            log.warning("reply %s dropped: channel %s is not running", item.id, item.channel)
            return False
        try:
            await channel.send(item.conversation_id, reply_from_payload(item.payload))
        except DeliveryError as exc:
            delay = exc.retry_after or min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**item.attempts)
            retry_at = None if exc.permanent else self._clock() + timedelta(seconds=delay)
            await self._store.outbox_mark_failed(item.id, permanent=exc.permanent, error=str(exc), retry_at=retry_at)
            log.warning(
                "reply %s to %s not delivered (%s): %s",
                item.id,
                item.channel,
                "permanent" if exc.permanent else "will retry",
                exc,
            )
            return False
        await self._store.outbox_mark_sent(item.id)
        if self._metrics is not None:  # every reply that went out: the desk's, agents', and retried ones
            self._metrics.messages_out.labels(item.channel).inc()
        return True
