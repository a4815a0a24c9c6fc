"""Telegram channel: Bot API updates in (own long-polling loop or a webhook), plain-text replies with buttons out."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import json
import logging
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from adapters.base import split_at_breaks
from bot.app.config import TelegramConfig
from bot.core.messages import HUMAN_PAYLOAD, Attachment, InboundMessage, Lang, Reply
from bot.core.ports import Channel, ConversationMoves, DeliveryError, InboundSink
from bot.security.secret_scanner import SecretScanner

log = logging.getLogger(__name__)

CHANNEL_NAME = "telegram"
OFFSET_CURSOR = "telegram_offset"  # the store's cursor: the next update_id to ask getUpdates for
INACTIVE_CURSOR_PREFIX = "telegram_inactive:"  # + chat id: why and when the chat stopped accepting messages
CALLBACK_CURSOR_PREFIX = "telegram_callback:"  # + key: the full payload of a button whose payload was too long
CALLBACK_KEY_PREFIX = "#k:"  # callback_data of such a button; router payloads are commands, never "#k:..."
MIGRATED_CURSOR_PREFIX = "telegram_migrated:"  # + old group id: the supergroup it became
REPLY_TO_CURSOR_PREFIX = "telegram_reply_to:"  # + group conversation id: the user's message our reply quotes
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_MESSAGE_LENGTH = 4096  # sendMessage's limit, counted here in UTF-16 code units as Telegram counts
MAX_CALLBACK_DATA_BYTES = 64
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
_GROUP_TYPES = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})
_BOT_SEGMENT = re.compile(r"/bot(?=[^/]*$)")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]+)(?:@([A-Za-z0-9_]+))?")


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the bot is, as needed to tell whether a group message is addressed to it."""

    id: int
    username: str


@dataclass(frozen=True, slots=True)
class TelegramInbound:
    """One update converted: the message for the router, and what the channel does around it."""

    message: InboundMessage
    chat_id: int
    user_message_id: int | None  # the user's own message (deleted when it leaks a secret in a group)
    is_group: bool
    callback_query_id: str | None = None  # answered so the user's button stops spinning


class MalformedUpdate(ValueError):
    """An update whose fields have types the Bot API never sends (e.g. a non-string text): skipped with a log line."""


# -- conversion (pure) ------------------------------------------------------------------------------------------


def conversation_id_for(chat_id: int, user_id: int, *, is_group: bool) -> str:
    """A private chat is one conversation; in a group each member is a conversation (and ticket) of their own."""
    return f"{chat_id}:{user_id}" if is_group else str(chat_id)


def chat_of(conversation_id: str) -> str:
    """The chat a conversation id belongs to."""
    return conversation_id.split(":", 1)[0]


def lang_hint(language_code: str | None) -> Lang | None:
    """The user's app language as a hint: Chinese variants are "zh", anything else "en"; None when unknown."""
    if not language_code:
        return None
    return "zh" if language_code.lower().startswith("zh") else "en"


def convert_update(update: Update, me: BotIdentity) -> TelegramInbound | None:
    """The router's message for an update, or None when the update is not for the router."""
    if update.message is not None:
        return convert_message(update.update_id, update.message, me, edited=False)
    if update.edited_message is not None:
        return convert_message(update.update_id, update.edited_message, me, edited=True)
    if update.callback_query is not None:
        return convert_callback_query(update.update_id, update.callback_query)
    return None


def convert_message(update_id: int, message: Message, me: BotIdentity, *, edited: bool) -> TelegramInbound | None:
    """A user's (possibly edited) message; in groups only when addressed to the bot, with the mention removed."""
    user = message.from_user
    chat = message.chat
    if user is None or user.is_bot or chat.type not in (ChatType.PRIVATE, *_GROUP_TYPES):
        return None  # channel posts, anonymous senders, other bots (two bots must not talk in a loop)
    is_group = chat.type in _GROUP_TYPES
    raw = message_text(message)
    if utf16_length(raw) > MAX_MESSAGE_LENGTH:
        # Telegram sends nothing longer: such an update is forged or broken, and routing it would cost seconds.
        log.warning("Telegram update %s skipped: its text is longer than Telegram allows", update_id)
        return None
    replied = message.reply_to_message
    to_bot = replied is not None and replied.from_user is not None and replied.from_user.id == me.id
    text = addressed_text(raw, me.username, in_group=is_group, reply_to_bot=to_bot)
    if text is None:
        return None
    attachments = message_attachments(message)
    if not text and not attachments:
        return None  # stickers, locations, a bare mention...: nothing to route
    # update_id is what Telegram redelivers; chat and message ids keep the id unique should update ids restart
    # (Telegram picks a random one after a week without updates). An edit is a new message to the router.
    message_id = f"{update_id}:{chat.id}:{message.message_id}"
    sent_at = message.date
    if edited:
        edit_date = message.edit_date
        message_id += f":edited:{int(edit_date.timestamp()) if edit_date is not None else 0}"
        sent_at = edit_date or sent_at
    inbound = InboundMessage(
        channel=CHANNEL_NAME,
        user_id=str(user.id),
        conversation_id=conversation_id_for(chat.id, user.id, is_group=is_group),
        message_id=message_id,
        text=text,
        attachments=attachments,
        lang_hint=lang_hint(user.language_code),
        sent_at=_aware(sent_at),
    )
    return TelegramInbound(inbound, chat.id, message.message_id, is_group)


def convert_callback_query(update_id: int, query: CallbackQuery) -> TelegramInbound | None:
    """A tapped button: its data comes back as the text of a message from that user."""
    if not query.data:
        return None  # game buttons carry no data
    if not isinstance(query.data, str):
        raise MalformedUpdate("callback data is not a string")
    chat = query.message.chat if query.message is not None else None
    # Without the button's message (too old to be accessible) the query came from the user's private chat.
    chat_id = chat.id if chat is not None else query.from_user.id
    is_group = chat is not None and chat.type in _GROUP_TYPES
    inbound = InboundMessage(
        channel=CHANNEL_NAME,
        user_id=str(query.from_user.id),
        conversation_id=conversation_id_for(chat_id, query.from_user.id, is_group=is_group),
        message_id=f"{update_id}:callback:{query.id}",
        text=query.data,
        lang_hint=lang_hint(query.from_user.language_code),
    )
    return TelegramInbound(inbound, chat_id, None, is_group, callback_query_id=query.id)


def message_text(message: Message) -> str:
    """The message's text, else its caption, else ""; MalformedUpdate when either is not a string."""
    for value in (message.text, message.caption):
        if value is not None and not isinstance(value, str):
            raise MalformedUpdate(f"{'text' if value is message.text else 'caption'} is {type(value).__name__}")
    return message.text if message.text is not None else message.caption or ""


def unaddressed_group_message(update: Update) -> Message | None:
    """A group member's message with text that is not for the bot (the router never sees it); None otherwise."""
    message = update.message or update.edited_message
    if message is None or message.chat.type not in _GROUP_TYPES:
        return None
    user = message.from_user
    if user is None or user.is_bot:
        return None
    return message if message_text(message) else None


def addressed_text(text: str, bot_username: str, *, in_group: bool, reply_to_bot: bool = False) -> str | None:
    """The text with the bot's @mention and command suffix removed; None for a group message not meant for the bot."""
    name = re.escape(bot_username)
    mention = re.compile(rf"(?<![\w@/])@{name}(?!\w)[,:]?\s*", re.IGNORECASE)
    command = _COMMAND.match(text)
    command_target = command.group(2) if command is not None else None
    for_us = command_target is not None and command_target.lower() == bot_username.lower()
    if command_target is not None and not for_us:
        # "/help@OtherBot" is another bot's command in a group; in a private chat it can only be for us.
        return None if in_group else text.strip()
    if in_group and not (reply_to_bot or command is not None or mention.search(text)):
        return None
    if for_us:
        text = f"/{command.group(1)}{text[command.end() :]}" if command is not None else text
    return mention.sub("", text).strip()


def message_attachments(message: Message) -> tuple[Attachment, ...]:
    """Photos and documents as references to Telegram's files (never their bytes)."""
    caption = message.caption
    found: list[Attachment] = []
    if message.photo:
        largest = message.photo[-1]  # Telegram lists the sizes smallest first
        found.append(Attachment("photo", largest.file_id, "image/jpeg", caption))  # Telegram re-encodes photos as JPEG
    if message.document is not None:
        document = message.document
        found.append(Attachment("document", document.file_id, document.mime_type, caption))
    return tuple(found)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- replies (pure) ---------------------------------------------------------------------------------------------


def utf16_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2  # a lone surrogate from JSON counts one, not raises


def split_text(text: str, limit: int = MAX_MESSAGE_LENGTH) -> list[str]:
    """A reply as sendMessage texts, each at most `limit` UTF-16 code units."""
    return split_at_breaks(text, limit, utf16_length)


def button_rows(reply: Reply) -> list[tuple[str, str]]:
    """The reply's choices as (label, payload), one per row, plus the human hand-off when offered and not there."""
    rows = [(s.label, s.payload) for s in reply.suggestions]
    if reply.offer_human and all(payload != HUMAN_PAYLOAD for _, payload in rows):
        # The desk words the label in the reply's language; a reply queued by a version that did not (an old
        # outbox row) shows the command itself, which works in any language, rather than a guess.
        rows.append((reply.human_label or HUMAN_PAYLOAD, HUMAN_PAYLOAD))
    return rows


def callback_key(payload: str) -> str | None:
    """The short stand-in for a payload too long for callback_data (64 bytes), or None when it fits as it is."""
    if len(payload.encode()) <= MAX_CALLBACK_DATA_BYTES and not payload.startswith(CALLBACK_KEY_PREFIX):
        return None
    return CALLBACK_KEY_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:24]


def retry_after_seconds(error: RetryAfter) -> float:
    """RetryAfter's delay in seconds, whichever type this PTB version gives it."""
    with warnings.catch_warnings():
        # PTB 22 warns that retry_after will become a timedelta; both are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def default_file_url(base_url: str) -> str:
    """The file download URL that goes with an API base URL (".../bot" -> ".../file/bot", also ".../bot{token}")."""
    # Telegram's and a self-hosted Bot API server's file URLs differ from the API's by this one path segment.
    url, found = _BOT_SEGMENT.subn("/file/bot", base_url)
    return url if found else base_url.rstrip("/") + "/file/bot"


# -- the channel ------------------------------------------------------------------------------------------------


class TelegramChannel(Channel):
    """Telegram bot: converts updates to InboundMessage and replies to sendMessage calls."""

    name = CHANNEL_NAME

    def __init__(
        self,
        config: TelegramConfig,
        store: ConversationMoves,
        *,
        bot: Bot | None = None,
        scanner: SecretScanner | None = None,
        group_warning: Callable[[Lang], str] | None = None,
        poll_timeout: int = 30,
        error_backoff: float = 2.0,
        max_backoff: float = 60.0,
    ) -> None:
        """Build on `config` (token, base URL, mode, and the public `webhook_url` given to setWebhook). With a
        `scanner`, a secret posted in a group without addressing the bot is deleted too, with `group_warning`."""
        if config.mode == "webhook" and not config.webhook_secret:
            raise ValueError("channels.telegram.webhook_secret is required in webhook mode")
        self._config = config
        self._store = store
        self._webhook_url = config.webhook_url or None
        self._bot = bot or Bot(config.token, base_url=config.base_url, base_file_url=default_file_url(config.base_url))
        self._scanner = scanner
        self._group_warning = group_warning
        self._poll_timeout = poll_timeout
        self._error_backoff = error_backoff
        self._max_backoff = max_backoff
        self._inbound: InboundSink | None = None
        self._stopping = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None

    # -- receiving ----------------------------------------------------------------------------------------------

    async def start(self, inbound: InboundSink) -> None:
        """Polling: start the loop and return. Webhook: register the public URL (when given) with the secret."""
        self._inbound = inbound
        self._stopping.clear()
        if self._config.mode == "webhook":
            if self._webhook_url:
                try:
                    await self._me()
                    await self._bot.set_webhook(
                        self._webhook_url,
                        secret_token=self._config.webhook_secret,
                        allowed_updates=ALLOWED_UPDATES,
                    )
                except TelegramError as exc:
                    raise RuntimeError(f"telegram: cannot set the webhook: {exc}") from exc
                log.info("telegram webhook registered")
            return
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(inbound), name="telegram-polling")

    async def stop(self) -> None:
        """Stop polling once the batch in hand is handled and its offset saved; close the HTTP clients."""
        self._stopping.set()
        self._inbound = None  # webhook requests now get 503, so Telegram delivers them again later
        if self._poller is not None:
            poller, self._poller = self._poller, None
            await poller
        await self._bot.shutdown()

    async def _poll(self, inbound: InboundSink) -> None:
        """Our own getUpdates loop: an update's offset is saved only after `inbound` has handled it."""
        failures = 0
        webhook_cleared = False
        while not self._stopping.is_set():
            try:
                me = await self._me()
                if not webhook_cleared:
                    # getUpdates is refused while a webhook is set (e.g. left by an earlier webhook-mode run).
                    await self._bot.delete_webhook(drop_pending_updates=False)
                    webhook_cleared = True
                updates = await self._next_updates()
                if updates is None:
                    return  # stopped while waiting
                if not updates:
                    continue
                failed = await self._handle_batch(updates, me, inbound)
                # Everything before the first failed update is handled: the offset moves up to it, and the failed
                # one (with whatever came after it) is fetched again; the desk skips what it already handled.
                next_offset = failed if failed is not None else updates[-1].update_id + 1
                await self._store.cursor_set(OFFSET_CURSOR, str(next_offset))
                if self._stopping.is_set():
                    return  # stop after the batch in hand
                if failed is not None:
                    failures += 1
                    await self._pause(self._backoff(failures))
                    continue
                failures = 0
            except InvalidToken:
                log.error("telegram: the bot token was rejected; polling stopped")
                return
            except RetryAfter as exc:
                await self._pause(retry_after_seconds(exc))
            except (Conflict, NetworkError) as exc:
                # Conflict: another process polls with this token, or a webhook was set meanwhile.
                failures += 1
                log.warning("telegram getUpdates failed (%s); retrying", exc)
                await self._pause(self._backoff(failures))
            except Exception:
                # The offset was not saved, so the updates in hand are fetched again, not lost; a message the
                # desk already recorded is skipped as a duplicate then, so one bad message cannot loop forever.
                failures += 1
                log.exception("telegram update handling failed; retrying from the saved offset")
                await self._pause(self._backoff(failures))

    async def _handle_batch(self, updates: tuple[Update, ...], me: BotIdentity, inbound: InboundSink) -> int | None:
        """Handle a batch: each chat's updates in order, different chats side by side (one slow chat, or a slow
        agents' tool, holds up only its own). Returns the first update that failed, or None."""

        async def chat_in_order(chat_updates: list[Update]) -> int | None:
            for update in chat_updates:
                try:
                    await self._handle(update, me, inbound)
                except Exception:
                    log.exception("telegram update %s handling failed; it will be fetched again", update.update_id)
                    return update.update_id
            return None

        chats: dict[int | str, list[Update]] = {}
        for update in updates:
            chat = update.effective_chat
            chats.setdefault(chat.id if chat is not None else f"update:{update.update_id}", []).append(update)
        failed = [f for f in await asyncio.gather(*map(chat_in_order, chats.values())) if f is not None]
        return min(failed) if failed else None

    async def _next_updates(self) -> tuple[Update, ...] | None:
        """The next batch after the saved offset; None if stop() was called while waiting."""
        saved = await self._store.cursor_get(OFFSET_CURSOR)
        offset = int(saved) if saved is not None else None
        fetch = asyncio.create_task(
            self._bot.get_updates(offset=offset, timeout=self._poll_timeout, allowed_updates=ALLOWED_UPDATES)
        )
        stopped = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not fetch.done():
            # Nothing is in hand while waiting: updates not yet returned stay on Telegram's side.
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await fetch
            return None
        return fetch.result()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    def _backoff(self, failures: int) -> float:
        return float(min(self._max_backoff, self._error_backoff * 2 ** (failures - 1)))

    async def _me(self) -> BotIdentity:
        """The bot's id and username (getMe once per start, as stop() shuts the bot's HTTP clients down)."""
        await self._bot.initialize()  # returns at once when already initialized
        return BotIdentity(self._bot.id, self._bot.username)

    async def _handle(self, update: Update, me: BotIdentity, inbound: InboundSink) -> None:
        """Convert one update, hand it to the desk, and delete a group message that leaked a secret."""
        service = update.message
        if service is not None and isinstance(service.migrate_to_chat_id, int):
            # Telegram announces the upgrade in the old group: move its conversations before a reply bounces.
            await self._migrate(str(service.chat.id), str(service.migrate_to_chat_id), str(service.chat.id))
            return
        try:
            converted = convert_update(update, me)
        except MalformedUpdate as exc:
            log.warning("telegram update %s skipped: %s", update.update_id, exc)
            return
        except Exception:
            # A conversion bug would fail the same way on every retry: skip the update instead of stalling the queue.
            log.exception("telegram update %s could not be converted; skipped", update.update_id)
            return
        if converted is None:
            if not await self._guard_unaddressed(update):
                log.info("telegram update %s skipped (%s)", update.update_id, _update_kind(update))
            return
        if converted.callback_query_id is not None:
            # Answered first: the user's client shows a spinner on the button until it is.
            await self._answer_callback(converted.callback_query_id)
            text = await self._callback_payload(converted.message.text)
            if text is None:
                log.warning("telegram update %s: unknown button key; skipped", update.update_id)
                return
            converted = dataclasses.replace(converted, message=dataclasses.replace(converted.message, text=text))
        if converted.is_group and converted.user_message_id is not None:
            # The reply quotes the message it answers: in a group, several members may be talking to the bot.
            key = REPLY_TO_CURSOR_PREFIX + converted.message.conversation_id
            await self._store.cursor_set(key, str(converted.user_message_id))
        result = await inbound(converted.message)
        if result is not None and result.secret_detected and converted.is_group:
            await self._delete_leak(converted.chat_id, converted.user_message_id)

    async def _guard_unaddressed(self, update: Update) -> bool:
        """A secret in a group message not meant for the bot (an admin bot sees them all): delete it and post a
        short warning; nothing else unaddressed is answered, stored or logged. True when it held a secret."""
        if self._scanner is None:
            return False
        message = unaddressed_group_message(update)
        if message is None or not self._scanner.scan(message_text(message)).found:
            return False
        await self._delete_leak(message.chat.id, message.message_id)
        user = message.from_user
        lang = lang_hint(user.language_code if user is not None else None) or "en"
        if self._group_warning is not None:
            try:
                await self._bot.send_message(message.chat.id, self._group_warning(lang))
            except TelegramError as exc:
                log.warning("telegram: could not post the secret warning in chat %s: %s", message.chat.id, exc)
        return True

    async def _answer_callback(self, query_id: str) -> None:
        try:
            await self._bot.answer_callback_query(query_id)
        except TelegramError as exc:
            # An old query can no longer be answered; the tap is still routed.
            log.info("telegram callback query not answered: %s", exc)

    async def _callback_payload(self, data: str) -> str | None:
        if not data.startswith(CALLBACK_KEY_PREFIX):
            return data
        return await self._store.cursor_get(CALLBACK_CURSOR_PREFIX + data[len(CALLBACK_KEY_PREFIX) :])

    async def _delete_leak(self, chat_id: int, message_id: int | None) -> None:
        """Delete a group message holding a secret, so the other members stop seeing it."""
        if message_id is None:
            return
        try:
            await self._bot.delete_message(chat_id, message_id)
            log.info("telegram: deleted a message holding a secret in chat %s", chat_id)
        except TelegramError as exc:
            # Without the "delete messages" admin right this fails; the warning reply is all we can do.
            log.warning("telegram: could not delete a message holding a secret in chat %s: %s", chat_id, exc)

    # -- webhook ------------------------------------------------------------------------------------------------

    def webhook_route(self) -> Route:
        """`POST /telegram/webhook`: Telegram's updates, accepted only with the secret token set on the webhook."""
        return Route(WEBHOOK_PATH, self._webhook, methods=["POST"], name="telegram_webhook")

    async def _webhook(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        expected = self._config.webhook_secret
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            log.warning("telegram webhook request with a wrong or missing secret token refused")
            return JSONResponse({"ok": False, "error": "forbidden"}, status_code=403)
        inbound = self._inbound
        if inbound is None:
            return JSONResponse({"ok": False, "error": "not started"}, status_code=503)
        try:
            data = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly nested JSON
            return JSONResponse({"ok": False, "error": "malformed JSON"}, status_code=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return JSONResponse({"ok": False, "error": "not an update"}, status_code=400)
        try:
            update = Update.de_json(data, self._bot)
        except Exception:
            log.warning("telegram webhook: update %s has an unexpected shape; skipped", data["update_id"])
            return JSONResponse({"ok": False, "error": "malformed update"}, status_code=400)
        try:
            await self._handle(update, await self._me(), inbound)
        except Exception:
            # Telegram delivers the update again after an error; the desk skips what it already recorded.
            log.exception("telegram webhook update %s failed", update.update_id)
            return JSONResponse({"ok": False}, status_code=500)
        return JSONResponse({"ok": True})

    # -- sending ------------------------------------------------------------------------------------------------

    def parts(self, reply: Reply) -> tuple[Reply, ...]:
        """One message per 4,096 UTF-16 units, the choices (buttons) on the last."""
        chunks = split_text(reply.text)
        if len(chunks) <= 1:
            return (reply,)
        last = dataclasses.replace(reply, text=chunks[-1])
        return (*(Reply(chunk, transcript_id=reply.transcript_id) for chunk in chunks[:-1]), last)

    async def send(self, conversation_id: str, reply: Reply) -> None:
        """Send a reply as plain text, split to Telegram's length limit, with its choices as buttons on the last part."""
        await self._send(conversation_id, reply, follow_migration=True)

    async def _send(self, conversation_id: str, reply: Reply, *, follow_migration: bool) -> None:
        chunks = split_text(reply.text)
        if not chunks:
            log.warning("telegram: empty reply to %s not sent", conversation_id)
            return
        original = chat_of(conversation_id)
        chat = original
        if chat.startswith("-"):  # a group: it may have become a supergroup since
            chat = await self._store.cursor_get(MIGRATED_CURSOR_PREFIX + chat) or chat
        chat_id: int | str = int(chat) if _is_int(chat) else chat
        try:
            markup = await self._keyboard(reply)
            # A message id of the old group means nothing in the supergroup it became.
            quote = await self._quote(conversation_id) if chat == original else None
            await self._me()
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                # No parse_mode: the text goes out exactly as written, so nothing in it ever needs escaping.
                await self._bot.send_message(
                    chat_id,
                    chunk,
                    reply_markup=markup if last else None,
                    reply_parameters=quote if index == 0 else None,
                )
        except RetryAfter as exc:
            seconds = retry_after_seconds(exc)
            raise DeliveryError(f"telegram flood control: retry in {seconds:g}s", retry_after=seconds) from exc
        except Forbidden as exc:
            await self._mark_inactive(conversation_id, str(exc))
            raise DeliveryError(f"telegram: {exc}", permanent=True) from exc
        except ChatMigrated as exc:
            # A group upgraded to a supergroup: its conversations (and their tickets) move to the new id, and
            # the reply goes there.
            if not follow_migration:
                raise DeliveryError(f"telegram: chat migrated to {exc.new_chat_id} again", permanent=True) from exc
            new_conversation = await self._migrate(str(chat_id), str(exc.new_chat_id), conversation_id)
            await self._send(new_conversation, reply, follow_migration=False)
        except BadRequest as exc:
            if "chat not found" in str(exc).lower():
                await self._mark_inactive(conversation_id, str(exc))
            # The same request would be refused again: retrying cannot help.
            raise DeliveryError(f"telegram: {exc}", permanent=True) from exc
        except TelegramError as exc:
            # Timeouts, connection errors and 5xx: worth another try later.
            raise DeliveryError(f"telegram: {exc}") from exc

    async def fetch_attachment(self, ref: str) -> bytes:
        """The bytes of a file the user sent (an Attachment's ref); OSError when Telegram cannot provide them."""
        try:
            await self._me()
            file = await self._bot.get_file(ref)
            return bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            raise OSError(f"telegram file {ref}: {exc}") from exc

    async def _quote(self, conversation_id: str) -> ReplyParameters | None:
        """In a group, the user's message a reply answers; sent even if that message was deleted meanwhile."""
        if ":" not in conversation_id:
            return None
        saved = await self._store.cursor_get(REPLY_TO_CURSOR_PREFIX + conversation_id)
        if saved is None or not saved.isdigit():
            return None
        return ReplyParameters(message_id=int(saved), allow_sending_without_reply=True)

    async def _migrate(self, old_chat: str, new_chat: str, conversation_id: str) -> str:
        """Move a group's conversations to the supergroup it became; returns `conversation_id`'s new id."""
        if old_chat == new_chat:
            return conversation_id
        moved = await self._store.move_conversations(CHANNEL_NAME, old_chat, new_chat)
        await self._store.cursor_set(MIGRATED_CURSOR_PREFIX + old_chat, new_chat)
        log.info("telegram: group %s became supergroup %s; %d conversation(s) moved", old_chat, new_chat, moved)
        # The quoted message stays behind: the supergroup numbers its messages anew.
        return ":".join([new_chat, *conversation_id.split(":", 1)[1:]])

    async def _keyboard(self, reply: Reply) -> InlineKeyboardMarkup | None:
        rows = button_rows(reply)
        if not rows:
            return None
        buttons = []
        for label, payload in rows:
            key = callback_key(payload)
            if key is not None:
                await self._store.cursor_set(CALLBACK_CURSOR_PREFIX + key[len(CALLBACK_KEY_PREFIX) :], payload)
            buttons.append([InlineKeyboardButton(label, callback_data=key or payload)])
        return InlineKeyboardMarkup(buttons)

    async def _mark_inactive(self, conversation_id: str, reason: str) -> None:
        """Record that the chat refuses messages: the outbox gives up on them, and operators can see why."""
        log.warning("telegram chat %s is inactive: %s", conversation_id, reason)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        await self._store.cursor_set(INACTIVE_CURSOR_PREFIX + conversation_id, f"{now} {reason}")


def _is_int(value: str) -> bool:
    return value.lstrip("-").isdigit()


def _update_kind(update: Update) -> str:
    """The update's type, for logs (never its content)."""
    fields = update.to_dict()
    return ",".join(key for key in fields if key != "update_id") or "empty"
