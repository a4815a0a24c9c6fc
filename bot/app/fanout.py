"""Replies for widget visitors connected to another instance: sent locally, and announced to every instance with
PostgreSQL's NOTIFY; each instance pushes the reply to the visitor's sockets and long-polls it holds.

The transcript stays the durable copy: a notification lost (an instance restarting) is caught up by the widget's
poll endpoint and its history on reconnect, and the widget drops a reply id it already shows.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from bot.core.messages import Reply
from bot.core.outbox import reply_from_payload, reply_to_payload
from bot.core.ports import Channel, InboundSink
from bot.store import StorePort

log = logging.getLogger(__name__)
TOPIC = "omnidesk_webchat"
# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; a longer reply travels as its transcript id.
MAX_PAYLOAD_BYTES = 7000


class FanoutChannel(Channel):
    """Wraps a channel whose visitors may be connected to any instance (the widget)."""

    def __init__(self, local: Channel, store: StorePort) -> None:
        self.name = local.name
        self._local = local
        self._store = store
        self._instance = uuid.uuid4().hex  # our own notifications come back to us: skip those

    async def listen(self) -> None:
        """Start receiving other instances' replies."""
        await self._store.subscribe(TOPIC, self._on_notification)

    async def send(self, conversation_id: str, reply: Reply) -> None:
        """Push to the visitor's connections here, then tell the other instances."""
        await self._local.send(conversation_id, reply)
        event: dict[str, Any] = {
            "from": self._instance,
            "conversation": conversation_id,
            "reply": reply_to_payload(reply),
        }
        payload = json.dumps(event, ensure_ascii=False)
        if len(payload.encode()) > MAX_PAYLOAD_BYTES:
            event = {"from": self._instance, "conversation": conversation_id, "transcript_id": reply.transcript_id}
            payload = json.dumps(event)
        try:
            await self._store.publish(TOPIC, payload)
        except Exception as exc:  # delivered here already; elsewhere the poll endpoint and the history catch up
            log.warning("could not announce a %s reply to the other instances: %s", self.name, exc)

    async def _on_notification(self, payload: str) -> None:
        event = json.loads(payload)
        if event.get("from") == self._instance:
            return
        conversation_id = str(event["conversation"])
        if "reply" in event:
            reply = reply_from_payload(event["reply"])
        else:
            wanted = int(event["transcript_id"])
            stored = [
                m
                for m in await self._store.transcript((self.name, conversation_id), after=wanted - 1)
                if m.id == wanted
            ]
            if not stored:
                return
            # The transcript keeps the reply's choices and its agent too (what a reloaded widget shows).
            reply = Reply(stored[0].text, stored[0].suggestions, transcript_id=wanted, agent=stored[0].agent)
        await self._local.send(conversation_id, reply)

    async def start(self, inbound: InboundSink) -> None:
        """Start the wrapped channel and listen to the others."""
        await self._local.start(inbound)
        await self.listen()

    async def stop(self) -> None:
        """Stop the wrapped channel."""
        await self._local.stop()
