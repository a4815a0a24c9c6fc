"""A fake Telegram Bot API on 127.0.0.1 speaking Telegram's wire format, with its getUpdates offset semantics."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer, eventually

Params = dict[str, Any]
JsonObject = dict[str, Any]
MethodHandler = Callable[[Params], Awaitable[Any]]

# Form bodies carry every value as a string; these are numbers or JSON structures in Telegram's eyes.
_INT_FIELDS = frozenset({"chat_id", "message_id", "offset", "limit", "timeout", "max_connections", "cache_time"})
_JSON_FIELDS = frozenset({"reply_markup", "allowed_updates", "entities", "link_preview_options", "reply_parameters"})
_BOOL_FIELDS = frozenset({"drop_pending_updates", "show_alert", "disable_notification"})
MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
SUPERGROUP_ID_BELOW = -1_000_000_000_000  # Telegram's supergroup ids are -100xxxxxxxxxx


class ApiError(Exception):
    """An error answer: `{"ok": false, "error_code", "description", "parameters"?}` with the same HTTP status."""

    def __init__(self, error_code: int, description: str, parameters: Params | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message the bot sent (sendMessage), as the fake stored it."""

    message_id: int
    chat_id: int | str
    text: str
    reply_markup: JsonObject | None
    params: Params

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """The inline keyboard as (text, callback_data), row by row."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard", [])
        return [(str(b["text"]), str(b.get("callback_data", ""))) for row in rows for b in row]


@dataclass(slots=True)
class _Failure:
    error_code: int
    description: str
    parameters: Params | None = None


@dataclass(slots=True)
class _Chat:
    id: int
    type: str
    title: str | None = None
    first_name: str | None = None

    def to_json(self) -> JsonObject:
        data: JsonObject = {"id": self.id, "type": self.type}
        if self.title is not None:
            data["title"] = self.title
        if self.first_name is not None:
            data["first_name"] = self.first_name
        return data


@dataclass(slots=True)
class _Calls:
    """Everything the fake received, for assertions."""

    calls: list[tuple[str, Params]] = field(default_factory=list)
    get_updates_offsets: list[int | None] = field(default_factory=list)


class FakeTelegramApi(LoopbackServer):
    """Serves `http://127.0.0.1:PORT/bot<token>/<method>`; use as `async with FakeTelegramApi() as api: api.base_url`."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_id: int = 123456,
        bot_username: str = "OmniDeskBot",
        max_long_poll: float = 1.0,
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.max_long_poll = max_long_poll  # a long poll is honoured, but briefly, so tests stay fast
        self.shutdown_timeout = max_long_poll + 1
        self.sent: list[SentMessage] = []
        self.answered_callbacks: list[str] = []
        self.deleted: list[tuple[int | str, int]] = []
        self.undeletable: set[tuple[int | str, int]] = set()  # deleteMessage fails: the bot lacks the right
        self.missing_chats: set[int | str] = set()  # sendMessage answers "chat not found"
        # Groups upgraded to supergroups: sending to the old id answers 400 with parameters.migrate_to_chat_id.
        self.migrated: dict[int, int] = {}
        self._posted: set[tuple[int | str, int]] = set()  # messages that exist (users' and the bot's), to reply to
        self.webhook: Params | None = None
        self.confirmed_offset = 0  # every update with a smaller id is confirmed and forgotten
        self.record = _Calls()
        self._updates: list[JsonObject] = []
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._failures: dict[str, deque[_Failure | None]] = {}  # None: that call succeeds
        self._chats: dict[int, _Chat] = {}
        self._methods: dict[str, MethodHandler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "answercallbackquery": self._answer_callback_query,
            "deletemessage": self._delete_message,
            "getfile": self._get_file,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
        }

    # -- lifecycle ----------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API base URL without the token, like `https://api.telegram.org/bot`."""
        return f"{self.origin}/bot"

    def _build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        return app

    async def stop(self) -> None:
        """Stop listening, waking a waiting long poll first."""
        self._new_update.set()
        await super().stop()

    # -- what tests do ------------------------------------------------------------------------------------------

    def push_update(self, update: JsonObject) -> int:
        """Queue an Update (Telegram's JSON; an id is given if it has none) for getUpdates; returns its update_id."""
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._new_update.set()
        return int(update["update_id"])

    def fail_next(self, method: str, error_code: int, description: str, parameters: Params | None = None) -> None:
        """Make the next call of `method` fail with this error (queued: several calls fail in turn)."""
        self._failures.setdefault(method.lower(), deque()).append(_Failure(error_code, description, parameters))

    def succeed_next(self, method: str) -> None:
        """Let the next call of `method` through, before the failures queued after this (e.g. fail part 2)."""
        self._failures.setdefault(method.lower(), deque()).append(None)

    def rate_limit_next_send(self, retry_after: int) -> None:
        """The next sendMessage answers 429 with `parameters.retry_after`."""
        self.fail_next(
            "sendMessage",
            429,
            f"Too Many Requests: retry after {retry_after}",
            {"retry_after": retry_after},
        )

    def block_next_send(self) -> None:
        """The next sendMessage answers 403: the user blocked the bot."""
        self.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")

    def texts(self, chat_id: int | None = None) -> list[str]:
        """Texts the bot sent, optionally to one chat."""
        return [m.text for m in self.sent if chat_id is None or m.chat_id == chat_id]

    def calls_of(self, method: str) -> list[Params]:
        """Parameters of every call of `method` received so far."""
        return [params for name, params in self.record.calls if name == method.lower()]

    async def wait_confirmed(self, update_id: int, timeout: float = 10.0) -> None:
        """Wait until the bot confirmed the update (asked getUpdates for a later offset)."""
        await eventually(lambda: self.confirmed_offset > update_id, timeout, f"the bot to confirm update {update_id}")

    # -- Update JSON builders -----------------------------------------------------------------------------------

    def private_chat(self, user_id: int, first_name: str = "Ann") -> JsonObject:
        """A private chat with a user (its id is the user's)."""
        return self._chat(_Chat(user_id, "private", first_name=first_name))

    def group_chat(self, chat_id: int, title: str = "Traders") -> JsonObject:
        """A group (or a supergroup when the id is below -10^12)."""
        kind = "supergroup" if chat_id < SUPERGROUP_ID_BELOW else "group"
        return self._chat(_Chat(chat_id, kind, title=title))

    def user(self, user_id: int, first_name: str = "Ann", language_code: str | None = "en") -> JsonObject:
        """A User object."""
        data: JsonObject = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            data["language_code"] = language_code
        return data

    def bot_user(self) -> JsonObject:
        """The bot's own User object."""
        return {"id": self.bot_id, "is_bot": True, "first_name": "OmniDesk", "username": self.bot_username}

    def message(
        self,
        chat: JsonObject,
        sender: JsonObject,
        text: str | None = None,
        *,
        reply_to: JsonObject | None = None,
        photo_file_id: str | None = None,
        document: JsonObject | None = None,
        caption: str | None = None,
    ) -> JsonObject:
        """A Message object with entities for commands and @mentions, as Telegram fills them in."""
        data: JsonObject = {
            "message_id": next(self._message_ids),
            "from": sender,
            "chat": chat,
            "date": int(time.time()),
        }
        self._posted.add((chat["id"], data["message_id"]))
        if text is not None:
            data["text"] = text
            entities = _entities(text)
            if entities:
                data["entities"] = entities
        if reply_to is not None:
            data["reply_to_message"] = reply_to
        if photo_file_id is not None:
            data["photo"] = [
                {"file_id": f"{photo_file_id}-s", "file_unique_id": "ps", "width": 90, "height": 90, "file_size": 900},
                {"file_id": photo_file_id, "file_unique_id": "pl", "width": 1280, "height": 720, "file_size": 90000},
            ]
        if document is not None:
            data["document"] = document
        if caption is not None:
            data["caption"] = caption
            entities = _entities(caption)
            if entities:
                data["caption_entities"] = entities
        return data

    def message_update(self, message: JsonObject, *, edited: bool = False) -> JsonObject:
        """An Update with a new (or edited) message."""
        if edited:
            message = {**message, "edit_date": int(time.time()) + 1}
            return {"update_id": next(self._update_ids), "edited_message": message}
        return {"update_id": next(self._update_ids), "message": message}

    def callback_update(self, sender: JsonObject, message: JsonObject, data: str) -> JsonObject:
        """An Update with a tapped inline button of `message` (a message the bot sent)."""
        query = {
            "id": f"cbq-{next(self._callback_ids)}",
            "from": sender,
            "message": message,
            "chat_instance": "ci-1",
            "data": data,
        }
        return {"update_id": next(self._update_ids), "callback_query": query}

    def sent_message_json(self, sent: SentMessage) -> JsonObject:
        """A message the bot sent, as Telegram shows it inside a callback query."""
        data: JsonObject = {
            "message_id": sent.message_id,
            "from": self.bot_user(),
            "chat": self._chat_json(sent.chat_id),
            "date": int(time.time()),
            "text": sent.text,
        }
        if sent.reply_markup is not None:
            data["reply_markup"] = sent.reply_markup
        return data

    # -- HTTP ---------------------------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()  # Telegram's method names are case-insensitive
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        try:
            params = await _params(request)
        except ValueError as exc:
            return _error(ApiError(400, f"Bad Request: {exc}"))
        self.record.calls.append((method, params))
        handler = self._methods.get(method)
        failures = self._failures.get(method)
        try:
            failure = failures.popleft() if failures else None
            if failure is not None:
                raise ApiError(failure.error_code, failure.description, failure.parameters)
            if handler is None:
                raise ApiError(400, f"Bad Request: method {request.match_info['method']} is not implemented")
            result = await handler(params)
        except ApiError as exc:
            return _error(exc)
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        return web.Response(body=b"fake file: " + request.match_info["path"].encode())

    # -- methods ------------------------------------------------------------------------------------------------

    async def _get_me(self, params: Params) -> JsonObject:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: Params) -> list[JsonObject]:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = params.get("offset")
        self.record.get_updates_offsets.append(offset)
        if isinstance(offset, int) and offset < 0:
            self._updates = self._updates[offset:]  # -N: only the last N are kept, the others forgotten
        elif isinstance(offset, int) and offset > self.confirmed_offset:
            self.confirmed_offset = offset
        self._updates = [u for u in self._updates if u["update_id"] >= self.confirmed_offset]
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, self.max_long_poll)
        while not self._updates and self.running:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), remaining)
            except TimeoutError:
                break
        return self._updates[:limit]

    async def _send_message(self, params: Params) -> JsonObject:
        chat_id = _required(params, "chat_id")
        text = str(params.get("text") or "")
        if chat_id in self.missing_chats:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat_id]},
            )
        self._check_reply_parameters(chat_id, params.get("reply_parameters"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        if markup is not None:
            _check_markup(markup)
        sent = SentMessage(next(self._message_ids), chat_id, text, markup, params)
        self.sent.append(sent)
        self._posted.add((chat_id, sent.message_id))
        return self.sent_message_json(sent)

    async def _answer_callback_query(self, params: Params) -> bool:
        self.answered_callbacks.append(str(_required(params, "callback_query_id")))
        return True

    async def _delete_message(self, params: Params) -> bool:
        key = (_required(params, "chat_id"), _required(params, "message_id"))
        if key in self.undeletable:
            raise ApiError(400, "Bad Request: message can't be deleted")
        if key not in self._posted:
            raise ApiError(400, "Bad Request: message to delete not found")
        self.deleted.append(key)
        self._posted.discard(key)
        return True

    def _check_reply_parameters(self, chat_id: int | str, reply: Any) -> None:
        """ReplyParameters as Telegram checks them: the message must exist unless sending without it is allowed."""
        if reply is None:
            return
        if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
            raise ApiError(400, "Bad Request: can't parse reply parameters JSON object")
        target = reply.get("chat_id", chat_id)
        if (target, reply["message_id"]) not in self._posted and not reply.get("allow_sending_without_reply"):
            raise ApiError(400, "Bad Request: message to be replied not found")

    async def _get_file(self, params: Params) -> JsonObject:
        file_id = str(_required(params, "file_id"))
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": 1024,
            "file_path": f"files/{file_id}",
        }

    async def _set_webhook(self, params: Params) -> bool:
        if not str(params.get("url") or "").startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = params
        return True

    async def _delete_webhook(self, params: Params) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    # -- helpers ------------------------------------------------------------------------------------------------

    def _chat(self, chat: _Chat) -> JsonObject:
        self._chats[chat.id] = chat
        return chat.to_json()

    def _chat_json(self, chat_id: int | str) -> JsonObject:
        if isinstance(chat_id, int) and chat_id in self._chats:
            return self._chats[chat_id].to_json()
        if isinstance(chat_id, int) and chat_id > 0:
            return _Chat(chat_id, "private", first_name="User").to_json()
        return _Chat(chat_id if isinstance(chat_id, int) else 0, "supergroup", title=str(chat_id)).to_json()


def _entities(text: str) -> list[JsonObject]:
    """bot_command and mention entities, with offsets in UTF-16 code units as Telegram gives them."""
    entities: list[JsonObject] = []
    position = 0
    for word in text.split(" "):
        kind = "bot_command" if word.startswith("/") and position == 0 else "mention" if word.startswith("@") else None
        if kind is not None and len(word) > 1:
            offset = len(text[: text.index(word, position)].encode("utf-16-le")) // 2
            entities.append({"type": kind, "offset": offset, "length": len(word.encode("utf-16-le")) // 2})
        position += len(word) + 1
    return entities


def _check_markup(markup: Any) -> None:
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def _required(params: Params, name: str) -> Any:
    if params.get(name) in (None, ""):
        raise ApiError(400, f"Bad Request: {name} is empty")
    return params[name]


async def _params(request: web.Request) -> Params:
    """Query, form or JSON parameters, with numbers and JSON structures decoded as Telegram decodes them."""
    raw: Params = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("the JSON body must be an object")
        raw.update(body)
    elif request.can_read_body:
        form = await request.post()
        raw.update({key: value for key, value in form.items() if isinstance(value, str)})
    return {key: _decode(key, value) for key, value in raw.items()}


def _decode(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in _INT_FIELDS:
        return int(value) if value.lstrip("-").isdigit() else value  # chat_id may be "@channelusername"
    if key in _BOOL_FIELDS:
        return value.lower() == "true"
    if key in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ValueError(f"can't parse {key} JSON object") from exc
    return value


def _error(error: ApiError) -> web.Response:
    body: Params = {"ok": False, "error_code": error.error_code, "description": error.description}
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.error_code)
