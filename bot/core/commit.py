"""A handled message's unit of work: stored with its effects, state and replies in one transaction, then delivered."""

from __future__ import annotations

import dataclasses
import logging

from bot.core.conversation import ConversationSnapshot
from bot.core.messages import InboundMessage, Lang, Reply
from bot.core.outbox import Outbox
from bot.core.ports import MessageStore
from bot.core.router import RouterResult
from bot.knowledge.texts import ReplyTexts

log = logging.getLogger(__name__)


class MessageCommit:
    """Completes a message: what the router decided (or the desk's own answer: an apology, "slow down")."""

    def __init__(self, store: MessageStore, outbox: Outbox, texts: ReplyTexts) -> None:
        self._store = store
        self._outbox = outbox
        self._texts = texts

    async def __call__(
        self,
        message: InboundMessage,
        redacted: str,
        result: RouterResult | None,
        replies: tuple[Reply, ...],
        snapshot: ConversationSnapshot | None = None,
    ) -> bool:
        """Store the message, apply its effects, queue its replies and mark it handled in one transaction; then
        deliver. False when another delivery of the same message was completed first (its replies were sent)."""
        attachments = " ".join(f"[{a.kind}: {a.ref}]" for a in message.attachments)
        lang = result.decision.lang if result else None  # the desk's own replies (apology, slow down) carry theirs
        items = await self._store.complete_inbound(
            message.channel,
            message.message_id,
            message.conversation_id,
            message.user_id,
            f"{redacted} {attachments}".strip(),
            result.decision if result else None,
            [self._outbox.payload(message.channel, self._worded(reply, lang)) for reply in replies],
            result.state if result else None,
            result.effects if result else (),
            snapshot.version if result and snapshot else None,
            redact_earlier=result.redact_earlier if result else (),
        )
        if items is None:
            log.info("duplicate %s message %s dropped after routing", message.channel, message.message_id)
            return False
        await self._outbox.deliver(items)
        return True

    def _worded(self, reply: Reply, lang: Lang | None) -> Reply:
        """The reply with its language and the "talk to a human" label in it, for adapters to draw as they are."""
        worded_in = reply.lang or lang
        if worded_in is None:
            return reply
        return dataclasses.replace(reply, lang=worded_in, human_label=self._texts.render("human_button", worded_in))
