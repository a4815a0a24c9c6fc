"""The desk's middleware around deciding and committing a message: dedup (with deciding again when the conversation
changed meanwhile), flood control, and the apology for a message that cannot be handled."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core.commit import MessageCommit
from bot.core.conversation import ConversationSnapshot, ConversationState
from bot.core.messages import InboundMessage, Lang, Reply
from bot.core.middleware import Middleware
from bot.core.ports import MessageStore, StateConflict
from bot.core.rate_limit import RateLimiter
from bot.core.router import RouterResult
from bot.knowledge.texts import ReplyTexts
from bot.security.secret_scanner import SecretScanner

log = logging.getLogger(__name__)
USER_MESSAGES_PER_WINDOW = 12
USER_WINDOW_SECONDS = 20.0
# Deciding again after the conversation changed under a message (another process, an agent): rare, so a few tries.
CONFLICT_RETRIES = 3

ReplyLang = Callable[[InboundMessage, ConversationState], Lang]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery of a message on its way through the desk: the conversation as loaded for it, and which try
    this is (a try starts again when the conversation changed under the decision)."""

    message: InboundMessage
    snapshot: ConversationSnapshot | None = None
    attempt: int = 0

    @property
    def state(self) -> ConversationState:
        """The conversation's state as loaded (a fresh one before it is)."""
        return self.snapshot.state if self.snapshot is not None else ConversationState()


DeskMiddleware = Middleware[Delivery, RouterResult | None]
DeskNext = Callable[[Delivery], Awaitable[RouterResult | None]]


class Dedup:
    """Skips a message handled already (a redelivery, also one that waited while the first was handled), and loads
    the conversation for the others; loads it again and passes the message on again when the conversation changed
    under the decision (StateConflict at commit: another process, an agent's change)."""

    def __init__(self, store: MessageStore) -> None:
        self._store = store

    async def __call__(self, *, turn: Delivery, next: DeskNext) -> RouterResult | None:
        """None for a message handled already; else what the rest of the chain returns."""
        message = turn.message
        attempt = 0
        while True:
            snapshot = await self._store.receive_inbound(
                message.channel, message.message_id, (message.channel, message.conversation_id)
            )
            if snapshot is None:
                log.info("duplicate %s message %s skipped", message.channel, message.message_id)
                return None
            try:
                return await next(dataclasses.replace(turn, snapshot=snapshot, attempt=attempt))
            except StateConflict:
                if attempt + 1 >= CONFLICT_RETRIES:  # (the apology answers the last try's conflict)
                    raise
                attempt += 1


class FloodControl:
    """Past the per-user limit: keep the message (redacted), say "slow down" once per burst, answer nothing else."""

    def __init__(
        self,
        commit: MessageCommit,
        scanner: SecretScanner,
        texts: ReplyTexts,
        reply_lang: ReplyLang,
        limit: int = USER_MESSAGES_PER_WINDOW,
        window: float = USER_WINDOW_SECONDS,
    ) -> None:
        self._commit = commit
        self._scanner = scanner
        self._texts = texts
        self._reply_lang = reply_lang
        self._limiter = RateLimiter(limit, window)
        self._warned: dict[tuple[str, str], float] = {}  # flooders told to slow down, until when

    async def __call__(self, *, turn: Delivery, next: DeskNext) -> RouterResult | None:
        """None for a message past the limit (counted once, on its first try); else the rest of the chain's."""
        if turn.attempt == 0 and await self._flooding(turn.message, turn.state):
            return None
        return await next(turn)

    async def _flooding(self, message: InboundMessage, state: ConversationState) -> bool:
        key = (message.channel, message.user_id)
        wait = self._limiter.retry_after(f"{key[0]}\x00{key[1]}")
        if not wait:
            return False
        now = time.monotonic()
        if len(self._warned) > 10_000:  # bounded memory: a burst that has ended needs no record
            self._warned = {k: until for k, until in self._warned.items() if until > now}
        first_in_burst = self._warned.get(key, 0.0) <= now
        self._warned[key] = now + wait
        lang = self._reply_lang(message, state)
        replies = (Reply(self._texts.render("slow_down", lang), lang=lang),) if first_in_burst else ()
        await self._commit(message, self._scanner.scan(message.text).redacted_text, None, replies)
        log.info("rate limited %s user %s (%s)", message.channel, message.user_id, "warned" if replies else "quiet")
        return True


class ErrorApology:
    """A message that cannot be handled must not be retried forever, holding up every message behind it: answer
    it with an apology, keep it (redacted), apply nothing, and let the platform move on."""

    def __init__(
        self, commit: MessageCommit, scanner: SecretScanner, texts: ReplyTexts, reply_lang: ReplyLang
    ) -> None:
        self._commit = commit
        self._scanner = scanner
        self._texts = texts
        self._reply_lang = reply_lang

    async def __call__(self, *, turn: Delivery, next: DeskNext) -> RouterResult | None:
        """The rest of the chain's result; None, with the apology sent, when it failed."""
        message = turn.message
        try:
            return await next(turn)
        except StateConflict:
            log.info("%s conversation %s changed meanwhile; deciding again", message.channel, message.conversation_id)
            if turn.attempt + 1 < CONFLICT_RETRIES:
                raise  # Dedup loads the conversation again
        except Exception:
            log.exception("handling %s message %s failed", message.channel, message.message_id)
        lang = self._reply_lang(message, turn.state)
        apology = (Reply(self._texts.render("internal_error", lang), offer_human=True, lang=lang),)
        await self._commit(message, self._scanner.scan(message.text).redacted_text, None, apology)
        return None
