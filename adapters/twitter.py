"""X (Twitter) direct messages over the X API v2 with tweepy: polled `GET /2/dm_events`, or Account Activity webhooks.

tweepy's `Client` is synchronous (requests), so every call runs in a worker thread. Its `AsyncClient` was no better
fit: it hard-codes the host as well and signs the URL itself before any hook we could use to change the host.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import requests
import tweepy  # type: ignore[import-untyped]
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.base import split_at_breaks
from bot.app.config import TwitterConfig
from bot.core.messages import InboundMessage, Reply
from bot.core.ports import Channel, DeliveryError, InboundSink, KeyValueStore

log = logging.getLogger(__name__)

CHANNEL = "twitter"
CURSOR = "x_dm_since"  # the newest DM event id handled, so a restart neither loses nor repeats a message
MAX_DM_CHARS = 10_000  # X's limit for the text of one direct message
MAX_CHOICES = 9  # the router reads a single digit as a choice
PAGE_SIZE = 100  # the largest page GET /2/dm_events serves
WEBHOOK_PATH = "/twitter/webhook"
SIGNATURE_HEADER = "x-twitter-webhooks-signature"
DM_EVENT_FIELDS = ("id", "text", "event_type", "dm_conversation_id", "sender_id", "created_at")
REQUEST_TIMEOUT_SECONDS = 30.0
# X's CRC tokens are random strings (UUIDs, base64 text); the alphabet excludes everything a JSON object needs.
_CRC_TOKEN = re.compile(r"[A-Za-z0-9_\-+/=]{8,256}")
_TWEEPY_HOST = "https://api.twitter.com"  # what tweepy 4.x writes in front of every route

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class DmApi(Protocol):
    """The tweepy `Client` methods the channel uses (called with `return_type=dict`, so they return parsed JSON)."""

    def get_me(self, **params: Any) -> Any: ...

    def get_direct_message_events(self, **params: Any) -> Any: ...

    def create_direct_message(self, **params: Any) -> Any: ...


class XApiError(Exception):
    """An X API call failed: `status` is None for network errors; `reset_at` is the rate limit's reset (epoch s)."""

    def __init__(self, message: str, *, status: int | None = None, reset_at: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reset_at = reset_at


class _HostSession(requests.Session):
    """Sends tweepy's requests to `base_url`, since tweepy hard-codes https://api.twitter.com in `Client.request`.

    The URL is rewritten before requests prepares the request, and OAuth 1.0a is signed while preparing,
    so the signature covers the host actually called.
    """

    def __init__(self, base_url: str, timeout: float = REQUEST_TIMEOUT_SECONDS) -> None:
        super().__init__()
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """Rewrite tweepy's host, and bound the wait: tweepy sets no timeout and a hung call would hold a thread."""
        if isinstance(url, str) and url.startswith(_TWEEPY_HOST):
            url = self._base_url + url[len(_TWEEPY_HOST) :]
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


def build_client(config: TwitterConfig) -> DmApi:
    """A tweepy Client with the user-context OAuth 1.0a keys, talking to `config.api_base_url`."""
    client = tweepy.Client(
        consumer_key=config.consumer_key,
        consumer_secret=config.consumer_secret,
        access_token=config.access_token,
        access_token_secret=config.access_token_secret,
        return_type=dict,  # plain JSON: no tweepy model objects to convert or leak
        wait_on_rate_limit=False,  # tweepy would block its thread in time.sleep; the channel waits on the event loop
    )
    client.session = _HostSession(config.api_base_url)
    return client  # type: ignore[no-any-return]


class TwitterChannel(Channel):
    """X direct messages: DM events become InboundMessages; replies go to `/2/dm_conversations/with/<user>/messages`."""

    name = CHANNEL

    def __init__(
        self,
        config: TwitterConfig,
        store: KeyValueStore,
        *,
        client: DmApi | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
    ) -> None:
        missing = [
            key
            for key in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
            if not getattr(config, key)
        ]
        if missing:
            raise ValueError(f"the X channel needs channels.twitter.{', '.join(missing)}")
        self._config = config
        self._store = store
        self._bot_user_id: str | None = None  # looked up once, on first need
        self._client = client if client is not None else build_client(config)
        self._sleep = sleep
        self._clock = clock
        self._inbound: InboundSink | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._busy = False  # True while one event is being handled: stop() lets it finish instead of cancelling

    # -- Channel --------------------------------------------------------------------------------------------------

    async def start(self, inbound: InboundSink) -> None:
        """Keep the sink; poll in polling mode, else look up the bot's own id for `webhook_routes` to use."""
        self._inbound = inbound
        self._stopping.clear()
        if self._config.mode == "polling" and self._task is None:
            self._task = asyncio.create_task(self._poll_forever(inbound), name="x-dm-polling")
        elif self._config.mode == "webhook" and self._bot_user_id is None:
            try:
                await self._own_user_id(wait=False)
            except XApiError as exc:
                # Not fatal: each delivery names the subscribed account in `for_user_id`.
                log.warning("could not look up the bot's X user id, trusting for_user_id: %s", exc)

    async def stop(self) -> None:
        """Stop polling after the event in hand; a wait between polls is simply cancelled."""
        self._stopping.set()
        self._inbound = None
        task, self._task = self._task, None
        if task is None:
            return
        if not self._busy:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def parts(self, reply: Reply) -> tuple[Reply, ...]:
        """One DM per 10,000 characters of the formatted reply (choices numbered in the text of the last)."""
        chunks = split_text(format_reply(reply))
        if len(chunks) <= 1:
            return (reply,)
        return tuple(Reply(chunk, transcript_id=reply.transcript_id) for chunk in chunks)

    async def send(self, conversation_id: str, reply: Reply) -> None:
        """DM the reply to the user `conversation_id`, choices as a numbered list, split past X's length limit."""
        for part in split_text(format_reply(reply)):
            call = functools.partial(
                self._client.create_direct_message, participant_id=conversation_id, text=part, user_auth=True
            )
            try:
                await self._call(call)
            except XApiError as exc:
                raise self._delivery_error(exc) from exc

    # -- polling --------------------------------------------------------------------------------------------------

    async def poll_once(self, inbound: InboundSink) -> int:
        """Hand every DM event newer than the saved cursor to `inbound`, oldest first; returns how many were users'.

        Stops early, cursor saved, once `stop()` is called."""
        bot_id = await self._own_user_id()
        saved = await self._store.cursor_get(CURSOR)
        since = int(saved) if saved else None
        not_before = None if since is not None else self._clock() - self._config.first_poll_backlog_minutes * 60
        events, skipped_up_to = await self._new_events(since, not_before)
        if skipped_up_to is not None:
            await self._store.cursor_set(CURSOR, str(skipped_up_to))
            log.info(
                "first X poll: DMs older than %g minutes left unanswered (up to event %s)",
                self._config.first_poll_backlog_minutes,
                skipped_up_to,
            )
        handled = 0
        for number, event in sorted(events, key=lambda item: item[0]):
            if self._stopping.is_set():
                break
            self._busy = True
            try:
                message = message_from_dm_event(event)
                if message is not None and message.user_id != bot_id:
                    await inbound(message)
                    handled += 1
                # Skipped events move the cursor too, so the bot's own messages are not fetched again and again.
                await self._store.cursor_set(CURSOR, str(number))
            finally:
                self._busy = False
        return handled

    async def _poll_forever(self, inbound: InboundSink) -> None:
        while not self._stopping.is_set():
            try:
                await self.poll_once(inbound)
            except XApiError as exc:
                log.warning("polling X direct messages failed: %s", exc)
            except Exception:
                log.exception("handling X direct messages failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._config.poll_interval_seconds)

    async def _new_events(
        self, since: int | None, not_before: float | None = None
    ) -> tuple[list[tuple[int, Mapping[str, Any]]], int | None]:
        """The events above `since` and not sent before `not_before` (epoch seconds), following `meta.next_token`
        until a page reaches either (pages are newest first); and the newest event skipped as too old, if any."""
        found: list[tuple[int, Mapping[str, Any]]] = []
        skipped_up_to: int | None = None
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "dm_event_fields": list(DM_EVENT_FIELDS),
                "expansions": ["sender_id"],
                "max_results": PAGE_SIZE,
                "user_auth": True,
            }
            if token:
                params["pagination_token"] = token
            page = await self._call_waiting(functools.partial(self._client.get_direct_message_events, **params))
            reached_since = False
            for event in _list_of_mappings(page.get("data")):
                number = _event_number(event.get("id"))
                if number is None:
                    log.warning("X DM event without a numeric id skipped: %r", event.get("id"))
                elif since is not None and number <= since:
                    reached_since = True
                elif not_before is not None and _sent_before(event, not_before):
                    reached_since = True
                    skipped_up_to = max(skipped_up_to or number, number)
                else:
                    found.append((number, event))
            meta = page.get("meta")
            token = meta.get("next_token") if isinstance(meta, Mapping) else None
            if reached_since or not token:
                return found, skipped_up_to

    async def _own_user_id(self, wait: bool = True) -> str:
        if self._bot_user_id is None:
            call = functools.partial(self._client.get_me, user_auth=True)
            me = await (self._call_waiting(call) if wait else self._call(call))
            data = me.get("data")
            if not isinstance(data, Mapping) or not data.get("id"):
                raise XApiError("GET /2/users/me returned no user id")
            self._bot_user_id = str(data["id"])
        return self._bot_user_id

    # -- webhook (Account Activity) -------------------------------------------------------------------------------

    def webhook_routes(self) -> list[Route]:
        """`GET /twitter/webhook?crc_token=` answers X's challenge; `POST` takes signed Account Activity events."""
        return [Route(WEBHOOK_PATH, self._webhook, methods=["GET", "POST"], name="twitter_webhook")]

    async def _webhook(self, request: Request) -> Response:
        if request.method == "GET":
            token = request.query_params.get("crc_token")
            if not token:
                return JSONResponse({"error": "crc_token is required"}, status_code=400)
            if not crc_token_acceptable(token):
                log.warning("X CRC request with a token not of X's shape refused")
                return JSONResponse({"error": "crc_token is not of the shape X sends"}, status_code=400)
            return JSONResponse({"response_token": crc_response(self._config.consumer_secret, token)})
        body = await request.body()
        if not signature_valid(self._config.consumer_secret, body, request.headers.get(SIGNATURE_HEADER)):
            log.warning("X webhook request with a bad or missing signature refused")
            return JSONResponse({"error": "bad signature"}, status_code=403)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # not UTF-8 or JSON, a number too long to parse, absurd nesting
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"error": "body is not a JSON object"}, status_code=400)
        inbound = self._inbound
        if inbound is None:
            # Not started (or stopping): X redelivers what was not acknowledged.
            return JSONResponse({"error": "not accepting messages"}, status_code=503)
        # The subscribed account is the bot itself; its own sent DMs come back as events too.
        for_user = str(payload.get("for_user_id") or "")
        if self._bot_user_id and for_user and for_user != self._bot_user_id:
            # One app's webhook can serve several subscribed accounts: another account's DMs are not ours to answer.
            return Response(status_code=200)
        own_id = self._bot_user_id or for_user
        for event in _list_of_mappings(payload.get("direct_message_events")):
            message = message_from_webhook_event(event)
            if message is not None and message.user_id != own_id:
                await inbound(message)
        return Response(status_code=200)

    # -- calls ----------------------------------------------------------------------------------------------------

    async def _call(self, call: Callable[[], Any]) -> Mapping[str, Any]:
        """Run a tweepy call in a thread; tweepy's and requests' exceptions become XApiError."""
        try:
            result = await asyncio.to_thread(call)
        except tweepy.HTTPException as exc:
            response = exc.response
            raise XApiError(str(exc), status=response.status_code, reset_at=_reset_at(response.headers)) from None
        except (requests.RequestException, tweepy.TweepyException) as exc:
            raise XApiError(f"X API unreachable: {exc}") from None
        return result if isinstance(result, Mapping) else {}

    async def _call_waiting(self, call: Callable[[], Any]) -> Mapping[str, Any]:
        """`_call`, waiting out 429s until the reset the response announces."""
        while True:
            try:
                return await self._call(call)
            except XApiError as exc:
                if exc.status != 429:
                    raise
                wait = self._seconds_until(exc.reset_at)
                log.warning("X API rate limit reached: waiting %.0f s", wait)
                await self._sleep(wait)

    def _seconds_until(self, reset_at: float | None) -> float:
        if reset_at is None:
            return self._config.poll_interval_seconds
        return max(1.0, reset_at - self._clock())  # at least a second, should the clocks disagree

    def _delivery_error(self, exc: XApiError) -> DeliveryError:
        if exc.status == 429:
            return DeliveryError(f"X rate limit: {exc}", retry_after=self._seconds_until(exc.reset_at))
        # 403: the user does not accept DMs from us or blocked us; 404: no such user; 400: the DM itself is invalid.
        # Sending the same DM again cannot succeed. A 401 stays retryable: the reply survives fixing the keys.
        if exc.status in (400, 403, 404):
            return DeliveryError(f"X refused the DM: {exc}", permanent=True)
        return DeliveryError(f"X DM not sent: {exc}")


# -- converters -----------------------------------------------------------------------------------------------------


def message_from_dm_event(event: Mapping[str, Any]) -> InboundMessage | None:
    """A v2 DM event (`GET /2/dm_events`) as an InboundMessage; None unless it is a text message with a sender."""
    if event.get("event_type") != "MessageCreate":
        return None
    sender, event_id, text = event.get("sender_id"), event.get("id"), event.get("text")
    if not sender or not event_id or not isinstance(text, str):
        return None
    sent_at = _parse_iso(event.get("created_at"))
    # The reply goes to /2/dm_conversations/with/<sender>/messages, so the conversation is the sender.
    return _message(str(sender), str(event_id), text, sent_at)


def message_from_webhook_event(event: Mapping[str, Any]) -> InboundMessage | None:
    """An Account Activity `direct_message_events` item as an InboundMessage; None unless a `message_create`."""
    if event.get("type") != "message_create":
        return None
    create = event.get("message_create")
    if not isinstance(create, Mapping):
        return None
    data = create.get("message_data")
    text = data.get("text") if isinstance(data, Mapping) else None
    sender, event_id = create.get("sender_id"), event.get("id")
    if not sender or not event_id or not isinstance(text, str):
        return None
    return _message(str(sender), str(event_id), text, _parse_epoch_ms(event.get("created_timestamp")))


def _message(sender: str, event_id: str, text: str, sent_at: datetime | None) -> InboundMessage | None:
    if len(text) > MAX_DM_CHARS:
        # X sends nothing longer: such an event is forged or broken, and routing it would cost seconds.
        log.warning("X DM event %s skipped: its text is longer than X allows", event_id)
        return None
    if sent_at is None:
        return InboundMessage(CHANNEL, sender, sender, event_id, text)
    return InboundMessage(CHANNEL, sender, sender, event_id, text, sent_at=sent_at)


def format_reply(reply: Reply) -> str:
    """The reply as DM text: DMs have no buttons in v2, so choices are numbered for the user to type."""
    zh = reply.lang == "zh"  # set by the desk: no guessing from the text
    lines = [reply.text]
    choices = reply.suggestions[:MAX_CHOICES]
    if choices:
        lines += ["", _choice_prompt(len(choices), zh)]
        lines += [f"{number}. {choice.label}" for number, choice in enumerate(choices, start=1)]
    if reply.offer_human:
        if choices:
            lines.append("或输入“人工”转人工客服" if zh else "or type human for a person")
        else:
            lines += ["", "需要人工客服请输入“人工”。" if zh else "Type human for a person."]
    return "\n".join(lines)


def _choice_prompt(count: int, zh: bool) -> str:
    numbers = [str(n) for n in range(1, count + 1)]
    if len(numbers) == 1:
        return "回复 1：" if zh else "Reply 1:"
    if zh:
        return f"回复 {'、'.join(numbers[:-1])} 或 {numbers[-1]}："
    return f"Reply {', '.join(numbers[:-1])} or {numbers[-1]}:"


def split_text(text: str, limit: int = MAX_DM_CHARS) -> list[str]:
    """A reply as DMs of at most `limit` characters."""
    return split_at_breaks(text, limit)


# -- webhook security -----------------------------------------------------------------------------------------------


def crc_token_acceptable(crc_token: str) -> bool:
    """Whether `crc_token` has the shape of X's challenges (a short random string of letters, digits, `-_+/=`).

    X's CRC answer and a webhook body's signature are the same HMAC under the same key, so answering any token
    would sign anything: an attacker would send a JSON body as the token and post it with the answer as its
    signature. The POST side only acts on a JSON object, which must start with `{` (after optional whitespace) and
    needs `"` and `:`; none of these is in the accepted alphabet, so no token we answer is the body of an event we
    would act on, and the length bound keeps the answer cheap.
    """
    return _CRC_TOKEN.fullmatch(crc_token) is not None


def crc_response(consumer_secret: str, crc_token: str) -> str:
    """X's challenge answer: `sha256=` + base64(HMAC-SHA256(consumer secret, crc_token))."""
    return _sign(consumer_secret, crc_token.encode())


def signature_valid(consumer_secret: str, body: bytes, header: str | None) -> bool:
    """Whether `x-twitter-webhooks-signature` is `sha256=` + base64(HMAC-SHA256(consumer secret, raw body))."""
    if not header or not consumer_secret:
        return False
    return hmac.compare_digest(_sign(consumer_secret, body).encode(), header.strip().encode())


def _sign(secret: str, message: bytes) -> str:
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


# -- wire helpers ---------------------------------------------------------------------------------------------------


def _list_of_mappings(value: object) -> list[Mapping[str, Any]]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _event_number(value: object) -> int | None:
    """X ids are decimal strings that grow with time: their order is the events' order."""
    text = str(value) if value is not None else ""
    return int(text) if text.isdigit() else None


def _reset_at(headers: Mapping[str, str]) -> float | None:
    value = headers.get("x-rate-limit-reset")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _parse_iso(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _sent_before(event: Mapping[str, Any], moment: float) -> bool:
    """True when the event's `created_at` is earlier than `moment` (epoch seconds); False when it has none."""
    sent_at = _parse_iso(event.get("created_at"))
    return sent_at is not None and sent_at.timestamp() < moment


def _parse_epoch_ms(value: object) -> datetime | None:
    if not isinstance(value, str | int) or not str(value).isdigit():
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):  # a time far outside any calendar: treat as unknown
        return None
