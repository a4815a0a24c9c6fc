"""Delivery: replies (and agent notices) are written to the store's outbox with the change that caused them, then
sent through the user's channel (or to the agents' tool), each conversation's items in order."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, get_args

from bot.core.locks import ConversationLocks
from bot.core.messages import Reply, Suggestion
from bot.core.ports import (
    AGENTS,
    AgentNotice,
    AgentNoticeKind,
    AgentsDestination,
    Channel,
    DeliveryError,
    OutboxItem,
    OutboxStore,
)

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
        "lang": reply.lang,
        "human_label": reply.human_label,
        "agent": reply.agent,
    }


def reply_from_payload(payload: Mapping[str, Any]) -> Reply:
    """A stored reply back as a Reply."""
    suggestions = tuple(Suggestion(str(s["label"]), str(s["payload"])) for s in payload.get("suggestions", ()))
    transcript_id = payload.get("transcript_id")
    ticket = payload.get("ticket")
    lang = payload.get("lang")
    label = payload.get("human_label")
    agent = payload.get("agent")
    return Reply(
        str(payload["text"]),
        suggestions,
        bool(payload.get("offer_human", False)),
        transcript_id if isinstance(transcript_id, int) else None,
        ticket if isinstance(ticket, int) else None,
        "zh" if lang == "zh" else "en" if lang == "en" else None,  # rows queued before replies carried it: None
        label if isinstance(label, str) else None,
        agent if isinstance(agent, str) else None,
    )


def notice_from_item(item: OutboxItem, maybe_delivered: bool = False) -> AgentNotice:
    """An agents-destination outbox item as the notice it carries."""
    kind = item.payload.get("notice")
    for known in get_args(AgentNoticeKind):
        if kind == known:
            text = str(item.payload.get("text", ""))
            return AgentNotice(int(item.conversation_id), known, text, item.id, maybe_delivered, item.created_at)
    raise DeliveryError(f"unknown agent notice {kind!r}", permanent=True)


class Outbox:
    """Sends queued items; one that cannot be sent now stays pending for `flush` to retry. A conversation's items
    go out one at a time and in order: a later one waits while an earlier one is pending."""

    def __init__(
        self,
        store: OutboxStore,
        channels: Mapping[str, Channel],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        deliver_now: bool = True,
        metrics: Metrics | None = None,
        agents: AgentsDestination | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._channels = channels
        self._clock = clock
        # The agent CLI runs apart from the channels: it only queues, and the running OmniDesk delivers.
        self._deliver_now = deliver_now
        self.agents = agents  # set by the wiring once the desk's relay to agents exists
        self._in_flight: set[int] = set()
        # Items this process has finished with (sent, or failed and rescheduled), newest last: a sender that waited
        # for the conversation behind another sender skips them without asking the store.
        self._settled: dict[int, None] = {}
        self._order = ConversationLocks()
        self._background: set[asyncio.Task[Any]] = set()
        self._started = clock()  # items queued before were perhaps being sent by a process that died

    def payload(self, channel: str, reply: Reply) -> dict[str, Any]:
        """A reply as queued: one transcript message, and its parts (as the channel splits it) for the outbox rows."""
        payload = reply_to_payload(reply)
        running = self._channels.get(channel)
        parts = running.parts(reply) if running is not None else (reply,)
        if len(parts) > 1:  # a channel that is not running here (the CLI) sends it whole and splits it itself
            payload["parts"] = [reply_to_payload(part) for part in parts]
        return payload

    async def send(self, channel: str, conversation_id: str, reply: Reply) -> bool:
        """Store, record in the transcript, and try to deliver one reply (all its parts); True when delivered now."""
        items = await self._store.queue_reply(channel, conversation_id, self.payload(channel, reply))
        return await self.deliver(items) == len(items)

    async def deliver(self, items: list[OutboxItem]) -> int:
        """Deliver items already queued (e.g. by `Store.complete_inbound`): users' replies now, in order, and agent
        notices in the background, so the agents' tool never delays a user; returns how many replies went out."""
        if not self._deliver_now:
            return 0
        by_conversation: dict[tuple[str, str], list[OutboxItem]] = defaultdict(list)
        for item in items:
            by_conversation[(item.channel, item.conversation_id)].append(item)
        delivered = 0
        for (channel, _), queued in by_conversation.items():
            if channel == AGENTS:
                self._spawn(self._deliver_in_order(queued, recheck=False))
            else:
                delivered += await self._deliver_in_order(queued, recheck=False)
        return delivered

    async def drain(self) -> None:
        """Wait for the deliveries running in the background."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def flush(self, limit: int = 100) -> int:
        """Retry what is due, each conversation's first pending item; returns how many replies were delivered."""
        if not self._deliver_now:
            return 0
        # One item per conversation, so they can go out side by side: a slow destination holds up only its own.
        # Claimed, not just read: with several instances on one PostgreSQL store each item is leased to one of
        # them (`outbox_claim`), so two instances' flushes never send the same item.
        heads = await self._store.outbox_claim(limit)
        return sum(await asyncio.gather(*(self._deliver_in_order([item]) for item in heads)))

    async def _deliver_in_order(self, items: list[OutboxItem], recheck: bool = True) -> int:
        """Deliver one conversation's items in order, stopping at the first that fails (the rest wait for it);
        returns how many of them were replies delivered. `recheck` asks the store whether an item is still pending
        (a list read before may be stale: another process, or a delivery this one finished earlier)."""
        delivered = 0
        async with self._order.hold((items[0].channel, items[0].conversation_id)):
            for item in items:
                # Another sender may have delivered it (or failed it) while this one waited for the conversation:
                # the flush asks the store (a failed item is due again later), a fresh item's sender remembers.
                if item.id in self._in_flight or (not recheck and item.id in self._settled):
                    continue
                if recheck and (await self._store.outbox_get(item.id)).status != "pending":
                    continue
                if item.next_attempt_at > self._clock():
                    break  # an earlier item waits for its retry: the later ones wait with it (the flush sends them)
                self._in_flight.add(item.id)
                try:
                    sent = await self._deliver_once(item)
                finally:
                    self._in_flight.discard(item.id)
                    self._settle(item.id)
                if not sent:
                    break
                delivered += item.channel != AGENTS
        return delivered

    def _settle(self, item_id: int) -> None:
        self._settled[item_id] = None
        if len(self._settled) > 10_000:  # bounded: an old item is long out of every sender's hands
            del self._settled[next(iter(self._settled))]

    async def _deliver_once(self, item: OutboxItem) -> bool:
        try:
            await self._send(item)
        except DeliveryError as exc:
            delay = exc.retry_after or min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**item.attempts)
            retry_at = None if exc.permanent else self._clock() + timedelta(seconds=delay)
            await self._store.outbox_mark_failed(item.id, permanent=exc.permanent, error=str(exc), retry_at=retry_at)
            log.warning(
                "outbox item %s to %s not delivered (%s): %s",
                item.id,
                item.channel,
                "permanent" if exc.permanent else "will retry",
                exc,
            )
            return exc.permanent  # a permanent failure no longer holds up the conversation's later items
        await self._store.outbox_mark_sent(item.id)
        if self._metrics is not None and item.channel != AGENTS:  # every reply that went out, retried ones too
            self._metrics.messages_out.labels(item.channel).inc()
        return True

    async def _send(self, item: OutboxItem) -> None:
        if item.channel == AGENTS:
            if self.agents is not None:  # no agents' tool: nobody to tell, and nothing to keep for later
                await self.agents.notify(notice_from_item(item, self._maybe_delivered(item)))
            return
        channel = self._channels.get(item.channel)
        if channel is None:
            raise DeliveryError(f"no channel '{item.channel}' running", permanent=True)
        await channel.send(item.conversation_id, reply_from_payload(item.payload))

    def _maybe_delivered(self, item: OutboxItem) -> bool:
        """Whether a send of the item may have reached its destination already although it is still pending: it
        failed before (a timeout may hide a success), or a sender that may have died mid-send had it (queued
        before this process started: SQLite's one process; a lease that ran out: PostgreSQL's instances). Only
        then does the agents' tool look before posting: an item this process queued and sends for the first time
        (nearly every one) is posted directly, without the extra lookup."""
        return item.attempts > 0 or item.claimed_before or item.created_at < self._started

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
