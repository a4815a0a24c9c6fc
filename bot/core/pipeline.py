"""Desk: everything between the channels and the router: de-duplication, transcripts, delivery.

Build one with `bot.app.wiring.open_runtime(config, channels)`; channels call `desk.handle(message)` for each message and
acknowledge it to their platform (offset, cursor, HTTP 200, widget ack) only after it returns.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from bot.core.conversation import ConversationSnapshot, ConversationState
from bot.core.locks import ConversationLocks
from bot.core.messages import InboundMessage, Lang, Reply
from bot.core.metrics import Metrics
from bot.core.outbox import Outbox
from bot.core.ports import MessageStore, StateConflict, StoredMessage
from bot.core.rate_limit import RateLimiter
from bot.core.router import Router, RouterResult
from bot.knowledge.texts import ReplyTexts
from bot.security.secret_scanner import SecretScanner

log = logging.getLogger(__name__)
USER_MESSAGES_PER_WINDOW = 12
USER_WINDOW_SECONDS = 20.0
EARLIER_MESSAGES = 2  # how many of the user's last messages a seed phrase sent in parts may span, besides this one
# Deciding again after the conversation changed under a message (another process, an agent): rare, so a few tries.
CONFLICT_RETRIES = 3


def _storable(message: InboundMessage) -> InboundMessage:
    """Lone surrogates (which browsers can send) cannot be stored or encoded: replace them."""
    text = message.text.encode("utf-8", "replace").decode("utf-8")
    return message if text == message.text else dataclasses.replace(message, text=text)


class Desk:
    """Handles each inbound message once: route it, keep the redacted transcript, send the replies."""

    def __init__(
        self,
        router: Router,
        store: MessageStore,
        outbox: Outbox,
        scanner: SecretScanner,
        texts: ReplyTexts,
        metrics: Metrics,
    ) -> None:
        self._router = router
        self._store = store
        self._outbox = outbox
        self._scanner = scanner
        self._texts = texts
        self.metrics = metrics
        self._limiter = RateLimiter(USER_MESSAGES_PER_WINDOW, USER_WINDOW_SECONDS)
        self._warned: dict[tuple[str, str], float] = {}  # flooders told to slow down, until when
        self._locks = ConversationLocks()

    async def handle(self, message: InboundMessage) -> RouterResult | None:
        """Route and answer a message; None when it was already handled (a redelivery) or dropped as a flood."""
        # One unit of work per message, one message of a conversation at a time: a redelivery arriving meanwhile
        # waits here and then finds the message handled; a second message is decided from the first one's state.
        # The store's lock makes it one at a time across every instance sharing the store (PostgreSQL: an advisory
        # lock); the in-process lock first, so this instance's waiters queue here rather than on the database.
        key = (message.channel, message.conversation_id)
        async with self._locks.hold(key), self._store.conversation_lock(key):
            return await self._handle(_storable(message))

    async def _handle(self, message: InboundMessage) -> RouterResult | None:
        # Nothing is written before the message is decided: the platform redelivers it until we acknowledge it,
        # which happens only after this returns, and the inbox row marks it handled with its effects and replies.
        state = ConversationState()
        for attempt in range(CONFLICT_RETRIES):
            snapshot = await self._store.receive_inbound(
                message.channel, message.message_id, (message.channel, message.conversation_id)
            )
            if snapshot is None:
                log.info("duplicate %s message %s skipped", message.channel, message.message_id)
                return None
            state = snapshot.state
            if attempt == 0 and await self._flooding(message, state):
                return None
            started = time.perf_counter()
            try:
                result = await self._router.decide(
                    message, snapshot.state, snapshot.ticket, await self._earlier(message), snapshot.tickets
                )
                self.metrics.routed(message.channel, result, time.perf_counter() - started)
                if not await self._complete(message, result.redacted_text, result, result.replies, snapshot):
                    return None
                return result
            except StateConflict:
                log.info(
                    "%s conversation %s changed meanwhile; deciding again", message.channel, message.conversation_id
                )
            except Exception:
                log.exception("handling %s message %s failed", message.channel, message.message_id)
                break
        # A message we cannot handle must not be retried forever, holding up every message behind it: answer it with
        # an apology, keep it (redacted), apply nothing, and let the platform move on.
        lang = self._router.reply_lang(message, state)
        apology = (Reply(self._texts.render("internal_error", lang), offer_human=True, lang=lang),)
        await self._complete(message, self._scanner.scan(message.text).redacted_text, None, apology)
        return None

    async def _earlier(self, message: InboundMessage) -> tuple[tuple[int, str], ...]:
        """The user's last messages (row id, stored text), when this one may continue a seed phrase sent in parts."""
        if not self._scanner.may_continue_seed(message.text):
            return ()
        recent = await self._store.transcript((message.channel, message.conversation_id), limit=EARLIER_MESSAGES * 2)
        return tuple((m.id, m.text) for m in recent if m.direction == "in")[-EARLIER_MESSAGES:]

    async def _complete(
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

    async def _flooding(self, message: InboundMessage, state: ConversationState) -> bool:
        """Past the per-user limit: keep the message (redacted), say "slow down" once per burst, answer nothing else."""
        key = (message.channel, message.user_id)
        wait = self._limiter.retry_after(f"{key[0]}\x00{key[1]}")
        if not wait:
            return False
        now = time.monotonic()
        if len(self._warned) > 10_000:  # bounded memory: a burst that has ended needs no record
            self._warned = {k: until for k, until in self._warned.items() if until > now}
        first_in_burst = self._warned.get(key, 0.0) <= now
        self._warned[key] = now + wait
        lang = self._router.reply_lang(message, state)
        replies = (Reply(self._texts.render("slow_down", lang), lang=lang),) if first_in_burst else ()
        await self._complete(message, self._scanner.scan(message.text).redacted_text, None, replies)
        log.info("rate limited %s user %s (%s)", message.channel, message.user_id, "warned" if replies else "quiet")
        return True

    async def stored_inbound(self, message: InboundMessage) -> StoredMessage | None:
        """The message as it was stored (redacted), once handled; None if it was not."""
        return await self._store.inbound_message((message.channel, message.conversation_id), message.message_id)

    async def history(
        self, channel: str, conversation_id: str, limit: int = 200, after: int = 0
    ) -> list[StoredMessage]:
        """The conversation's redacted transcript (its messages with ids above `after`), oldest first."""
        return await self._store.transcript((channel, conversation_id), limit=limit, after=after)
