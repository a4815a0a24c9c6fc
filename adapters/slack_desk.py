"""Slack agent desk: each ticket is a channel message with Claim/Resolve buttons; agents answer in its thread."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.app.config import SlackConfig
from bot.core.messages import Priority
from bot.core.ports import AgentNotice, DeliveryError, KeyValueStore, StoredMessage, StoreError
from bot.desk.agents import AgentActions
from bot.desk.domain import Ticket, TicketStatus

log = logging.getLogger(__name__)

CLAIM_ACTION = "omnidesk_claim"
RESOLVE_ACTION = "omnidesk_resolve"
TS_KEY = "slack_ts:"  # + ticket number: the ts of the Slack message that mirrors the ticket
TICKET_KEY = "slack_ticket:"  # + ts: the ticket a Slack message mirrors
EVENT_KEY = "slack_event:"  # + event id: an agent's thread reply already acted on
CLICK_KEY = "slack_click:"  # + action, ticket, agent and action_ts: a button click already acted on
CHANNEL_KEY = "slack_channel:"  # + the configured channel: its ID, as Slack answered a post (lookups need the ID)
# Each notice's posts carry the outbox item's id (and their part: a transcript or a relay may take several posts)
# in Slack's message metadata: a notice that may have been posted before is looked for by it, not posted again.
NOTICE_EVENT = "omnidesk_notice"
LOOKUP_LIMIT = 200  # messages read, newest first, when looking for a notice's earlier posts
CLOCK_SKEW_SECONDS = 60.0  # a notice's posts are looked for from this long before it was queued
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
MAX_MESSAGE_CHARS = 3500  # Slack folds message text past about 4,000 characters
MAX_SECTION_CHARS = 2900  # a section block's text may not exceed 3,000 characters
MAX_HEADER_CHARS = 150  # a header block's limit
# Human messages: plain ones, and thread replies also sent to the channel. Edits, deletions, joins... are not replies.
_AGENT_SUBTYPES = frozenset({"", "thread_broadcast"})
_PRIORITY_BADGES: Mapping[Priority, str] = {
    Priority.URGENT: ":rotating_light: *URGENT*",
    Priority.HIGH: ":warning: High",
    Priority.NORMAL: "Normal",
}
_STATUS_LABELS: Mapping[TicketStatus, str] = {
    TicketStatus.OPEN: "Open, unclaimed",
    TicketStatus.CLAIMED: "Claimed",
    TicketStatus.WAITING_USER: "Waiting for the user",
    TicketStatus.RESOLVED: ":white_check_mark: Resolved",
    TicketStatus.CANCELLED: "Cancelled by the user",
}
_LANGUAGES: Mapping[str, str] = {"en": "English", "zh": "Chinese"}
_SLACK_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")

AgentAction = Callable[[int, str], Awaitable[Ticket]]


class _SocketConnection(Protocol):
    """What the desk uses of bolt's Socket Mode handler (whose methods are not annotated)."""

    async def connect_async(self) -> None: ...

    async def close_async(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ThreadReply:
    """An agent's message in a thread, converted out of Slack's event shape."""

    event_id: str
    channel: str
    user_id: str
    thread_ts: str
    ts: str
    text: str


class SlackAgentDesk:
    """Announces tickets in a Slack channel and turns agents' buttons and thread replies into `AgentActions` calls."""

    def __init__(
        self, config: SlackConfig, store: KeyValueStore, actions: AgentActions, brand_name: str = "ExampleX"
    ) -> None:
        self._config = config
        self._store = store
        self._actions = actions
        self._brand = brand_name
        # chat.update needs a channel ID; a configured name is replaced by the ID Slack returns on the first post.
        self._channel_id = config.channel
        self._agent_names: dict[str, str] = {}
        self._events_in_flight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._socket: _SocketConnection | None = None
        # No retry handler: a notice that Slack refuses now (429) is retried by the outbox, in the background.
        self._client = AsyncWebClient(token=config.bot_token, base_url=config.api_base_url)
        # Listeners only acknowledge and hand the work to a tracked task, so bolt may wait for them before answering:
        # Slack gets its answer within its 3 seconds, and stop() can finish what is in flight.
        self._app = AsyncApp(
            client=self._client,
            signing_secret=config.signing_secret,
            name="omnidesk-slack",
            logger=log,
            process_before_response=True,
        )
        self._app.action(CLAIM_ACTION)(self._on_claim)
        self._app.action(RESOLVE_ACTION)(self._on_resolve)
        self._app.event("message")(self._on_message)
        self._http = AsyncSlackRequestHandler(self._app)
        self._verifier: SignatureVerifier | None = None  # made by asgi_routes, which needs the signing secret

    # -- AgentNotifier --------------------------------------------------------------------------------------------

    async def ticket_opened(self, ticket: Ticket, transcript: list[StoredMessage], *, notice: AgentNotice) -> None:
        """Post the ticket with its buttons, remember the message, and put the transcript in its thread."""
        if await self.message_ts(ticket.number) is not None:
            return  # posted already (the notice is delivered again after a failure or a crash)
        posted = await self._posted_before(notice, None)
        ts = posted.get(0) or await self._post(
            notice, 0, text=ticket_headline(ticket), blocks=ticket_blocks(ticket, self._brand)
        )
        # The ticket's key first: it is what makes a repeated notice skip the post (the at-least-once window).
        await self._store.cursor_set(TS_KEY + str(ticket.number), ts)
        await self._store.cursor_set(TICKET_KEY + ts, str(ticket.number))
        in_thread = await self._posted_before(notice, ts) if 0 in posted else {}
        for part, chunk in enumerate(transcript_chunks(transcript, self._brand), start=1):
            if part in in_thread:
                continue
            try:
                await self._post(notice, part, thread_ts=ts, text=chunk)
            except DeliveryError as exc:  # the ticket is announced; its context is a courtesy, not worth a repeat
                log.warning("ticket #%s: transcript not posted: %s", ticket.number, exc)
                break

    async def user_message(self, ticket: Ticket, text: str, *, notice: AgentNotice) -> None:
        """Relay the user's follow-up into the ticket's thread."""
        ts = await self.message_ts(ticket.number)
        posted = await self._posted_before(notice, ts)
        for part, chunk in enumerate(chunk_lines([f":speech_balloon: *User:* {escape(text)}"])):
            if part not in posted:
                await self._post(notice, part, thread_ts=ts, text=chunk)

    async def ticket_updated(self, ticket: Ticket, *, notice: AgentNotice) -> None:
        """Redraw the ticket's message: status, assignee, and only the buttons that still apply."""
        ts = await self.message_ts(ticket.number)
        if ts is None:
            log.warning("ticket #%s has no Slack message to update", ticket.number)
            return
        async with _delivery_errors():
            await self._client.chat_update(
                channel=self._channel_id,
                ts=ts,
                text=ticket_headline(ticket),
                blocks=ticket_blocks(ticket, self._brand),
            )

    async def remind_unclaimed(self, ticket: Ticket, *, notice: AgentNotice) -> None:
        """Ping the channel about a ticket nobody has claimed."""
        text = f"<!here> Ticket #{ticket.number} is still unclaimed ({ticket.priority.value}): {_first_line(ticket)}"
        ts = await self.message_ts(ticket.number)
        if not await self._posted_before(notice, ts):
            await self._post(notice, 0, thread_ts=ts, text=text, reply_broadcast=True if ts else None)

    # -- serving Slack ------------------------------------------------------------------------------------------

    def asgi_routes(self) -> list[Route]:
        """The Events API and interactivity endpoints; bolt checks every request's signature (401 otherwise)."""
        if not self._config.signing_secret:
            # Bolt would accept requests signed with an empty secret: anyone could act as an agent.
            raise ValueError("agents.slack.signing_secret is required to receive Slack requests over HTTP")
        self._verifier = SignatureVerifier(self._config.signing_secret)
        return [
            Route("/slack/events", self._handle_http, methods=["POST"]),
            Route("/slack/interactivity", self._handle_http, methods=["POST"]),
        ]

    async def start_socket_mode(self) -> None:
        """Connect over Socket Mode when configured (no public URL needed); returns once connected."""
        if not self._config.socket_mode or self._socket is not None:
            return
        if not self._config.app_token:
            raise ValueError("agents.slack.app_token is required for socket_mode")
        socket: _SocketConnection = AsyncSocketModeHandler(self._app, self._config.app_token)
        await socket.connect_async()
        self._socket = socket

    async def stop(self) -> None:
        """Disconnect Socket Mode and finish the agents' actions in flight."""
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await socket.close_async()
        await self.drain()

    async def drain(self) -> None:
        """Wait until every agent action started so far has finished."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle_http(self, request: Request) -> Response:
        # Bolt raises on a timestamp that is not a number and on signed bodies it cannot parse: answer those
        # as what they are, a bad request, instead of a 500 anyone could trigger.
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not timestamp.isdigit() or len(timestamp) > 12:
            return Response("invalid request timestamp", status_code=401)
        # The signature first, on the raw bytes: bolt parses the body (JSON or form) before checking it, and logs
        # the whole refused body at INFO, so anyone could make us parse and log whatever they send.
        if not self._signed(await request.body(), timestamp, request.headers.get("X-Slack-Signature", "")):
            log.info("Slack request with a bad, missing or expired signature refused")
            return Response("invalid request", status_code=401)
        if request.headers.get("content-type", "").startswith("application/json") and not _event_shaped(
            await request.body()
        ):
            return Response("malformed event", status_code=400)
        try:
            return await self._http.handle(request)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            log.info("slack request refused: %s", type(exc).__name__)
            return Response("malformed request", status_code=400)

    def _signed(self, body: bytes, timestamp: str, signature: str) -> bool:
        try:
            return self._verifier is not None and self._verifier.is_valid(body, timestamp, signature)
        except UnicodeDecodeError:  # slack_sdk decodes the body first; Slack only sends UTF-8
            return False

    # -- bolt listeners -----------------------------------------------------------------------------------------

    async def _on_claim(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """The Claim button."""
        await ack()
        self._spawn(self._button(body, action, self._actions.claim, "claim"))

    async def _on_resolve(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """The Resolve button."""
        await ack()
        self._spawn(self._button(body, action, self._actions.resolve, "resolve"))

    async def _on_message(self, body: dict[str, Any]) -> None:
        """Any message the app can see (bolt acknowledges events itself); only agents' ticket-thread replies count."""
        reply = thread_reply(body)
        if reply is not None:
            self._spawn(self._relay(reply))

    # -- the work behind the listeners --------------------------------------------------------------------------

    async def _button(self, body: Mapping[str, Any], action: Mapping[str, Any], act: AgentAction, verb: str) -> None:
        user = _mapping(body.get("user"))
        channel = str(_mapping(body.get("channel")).get("id") or self._channel_id)
        number = _ticket_number(action.get("value"))
        if number is None:
            log.warning("Slack %s button without a ticket number: %r", verb, action.get("value"))
            return
        user_id = str(user.get("id", ""))

        async def tell(text: str) -> None:
            await self._tell_agent(channel, user_id, None, text)

        # A click is one action: Slack's retry or a captured request replayed within the signature's 5 minutes
        # carries the same action_ts, and is recorded (and acted on) once.
        key = _click_key(body, action, number, user_id)
        if key is not None:
            # The set covers two deliveries in flight at once, the key-value entry the ones after (and restarts).
            if key in self._events_in_flight or await self._store.cursor_get(CLICK_KEY + key) is not None:
                log.info("Slack %s of ticket #%s already received (a retry or a replay); ignored", verb, number)
                return
            self._events_in_flight.add(key)
        try:

            async def act_on_current_state() -> Ticket:
                # By the ticket's state too: a Claim seen after someone took the ticket never reassigns it.
                if verb == "claim":
                    current = await self._actions.get(number)
                    if current.status is not TicketStatus.OPEN:
                        holder = f" by {current.assignee}" if current.assignee else ""
                        raise StoreError(f"ticket #{number} is already {current.status.value}{holder}; nothing changed")
                return await act(number, _payload_agent_name(user))

            if key is not None:
                await self._store.cursor_set(CLICK_KEY + key, verb)  # who did what is the ticket's audit log
            await self._attempt(act_on_current_state(), f"{verb} ticket #{number}", tell)
        finally:
            if key is not None:
                self._events_in_flight.discard(key)

    async def _relay(self, reply: ThreadReply) -> None:
        number = _ticket_number(await self._store.cursor_get(TICKET_KEY + reply.thread_ts))
        if number is None:
            return  # a thread that is not a ticket's
        # Slack re-sends an event it thinks was lost (X-Slack-Retry-Num); the event id is the same each time. The
        # set covers two deliveries in flight at once, the key-value entry the ones after (also across restarts).
        if reply.event_id in self._events_in_flight:
            return
        self._events_in_flight.add(reply.event_id)
        try:
            if await self._store.cursor_get(EVENT_KEY + reply.event_id) is not None:
                log.info("Slack event %s already received; ignored", reply.event_id)
                return
            await self._store.cursor_set(EVENT_KEY + reply.event_id, reply.ts)
        finally:
            self._events_in_flight.discard(reply.event_id)
        agent = await self._agent_name(reply.user_id)

        async def tell(text: str) -> None:
            await self._tell_agent(reply.channel, reply.user_id, reply.thread_ts, text)

        await self._attempt(self._actions.reply(number, agent, reply.text), f"send your reply on ticket #{number}", tell)

    async def _attempt(self, call: Awaitable[Ticket], what: str, tell: Callable[[str], Awaitable[None]]) -> None:
        """Run an agent's action; a refusal or failure is told to the agent, never raised into bolt."""
        try:
            await call
        except StoreError as exc:
            await tell(f"Could not {what}: {exc}")
        except Exception:
            log.exception("Slack agent action failed: %s", what)
            await tell(f"Could not {what}: an internal error (logged)")

    async def _tell_agent(self, channel: str, user_id: str, thread_ts: str | None, text: str) -> None:
        """An ephemeral note only the agent sees."""
        try:
            # slack_sdk leaves out arguments that are None, so no thread means a note in the channel.
            await self._client.chat_postEphemeral(channel=channel, user=user_id, text=text, thread_ts=thread_ts)
        except SlackApiError as exc:
            log.warning("could not tell Slack user %s %r: %s", user_id, text, exc.response.get("error"))

    async def _agent_name(self, user_id: str) -> str:
        """The agent's Slack handle (as button payloads give it), falling back to the user ID."""
        if user_id not in self._agent_names:
            try:
                response = await self._client.users_info(user=user_id)
            except SlackApiError as exc:
                log.warning("users.info %s failed: %s", user_id, exc.response.get("error"))
                return user_id
            self._agent_names[user_id] = str(_mapping(response.get("user")).get("name") or user_id)
        return self._agent_names[user_id]

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(_logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- posting ------------------------------------------------------------------------------------------------

    async def _post(self, notice: AgentNotice, part: int, **message: Any) -> str:
        """Post part `part` of a notice, marked with its outbox item in the message's metadata; its ts. Without a
        `thread_ts` (the ticket's message is unknown: its announcement failed) it goes in the channel."""
        metadata = {"event_type": NOTICE_EVENT, "event_payload": {"outbox_id": str(notice.item_id), "part": part}}
        thread_ts = message.pop("thread_ts", None)
        channel = self._channel_id if thread_ts else self._config.channel
        async with _delivery_errors():
            # slack_sdk leaves out arguments that are None (no thread, no broadcast).
            response = await self._client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, metadata=metadata, **message
            )
        return await self._posted_ts(response)

    async def _posted_before(self, notice: AgentNotice, thread_ts: str | None) -> dict[int, str]:
        """The parts of `notice` Slack has already (part -> ts), in the ticket's thread or (None) the channel.

        The outbox delivers at least once: when Slack accepted a post but the process died (or the answer was
        lost) before the item was marked sent, the item is delivered again. Slack takes no idempotency key, so a
        notice that `maybe_delivered` is first looked for by the metadata its posts carry (`_post`), since shortly
        before it was queued. Only those: a notice delivered for the first time (nearly all) is posted directly,
        without the extra call, which also counts against Slack's rate limits."""
        if not notice.maybe_delivered:
            return {}
        channel = await self._known_channel_id()
        if channel is None:
            return {}  # nothing was ever posted where this process could find it
        oldest = "0" if notice.queued_at is None else f"{notice.queued_at.timestamp() - CLOCK_SKEW_SECONDS:.6f}"
        window: dict[str, Any] = {"include_all_metadata": True, "oldest": oldest, "limit": LOOKUP_LIMIT}
        async with _delivery_errors():
            if thread_ts is None:
                response = await self._client.conversations_history(channel=channel, **window)
            else:
                response = await self._client.conversations_replies(channel=channel, ts=thread_ts, **window)
        found: dict[int, str] = {}
        for message in response.get("messages") or ():
            metadata = _mapping(_mapping(message).get("metadata"))
            payload = _mapping(metadata.get("event_payload"))
            part = payload.get("part", 0)
            if (
                metadata.get("event_type") == NOTICE_EVENT
                and str(payload.get("outbox_id")) == str(notice.item_id)
                and isinstance(part, int)
            ):
                found[part] = str(message.get("ts"))
        if found:
            log.info("agent notice %s (ticket #%s) was in Slack already: not posted again", notice.item_id, notice.ticket)
        return found

    async def _known_channel_id(self) -> str | None:
        """The agents' channel's ID (reading history needs it, not a name): configured, learned, or remembered."""
        if _CHANNEL_ID.match(self._channel_id):
            return self._channel_id
        remembered = await self._store.cursor_get(CHANNEL_KEY + self._config.channel)
        if remembered:
            self._channel_id = remembered
        return remembered

    async def message_ts(self, number: int) -> str | None:
        """The ts of the Slack message that mirrors ticket `number`, once it was announced."""
        return await ticket_message_ts(self._store, number)

    async def _posted_ts(self, response: AsyncSlackResponse) -> str:
        """The new message's ts; also learns (and remembers, for after a restart) the channel ID Slack resolved the
        configured channel to."""
        channel, ts = response.get("channel"), response.get("ts")
        if not isinstance(ts, str) or not ts:
            raise DeliveryError(f"chat.postMessage answered without a ts: {response.data!r}")
        if isinstance(channel, str) and channel and channel != self._channel_id:
            self._channel_id = channel
            if channel != self._config.channel:
                await self._store.cursor_set(CHANNEL_KEY + self._config.channel, channel)
        return ts


async def ticket_message_ts(store: KeyValueStore, number: int) -> str | None:
    """The ts of the Slack message that mirrors ticket `number`, once it was announced."""
    return await store.cursor_get(TS_KEY + str(number))


# -- Slack -> OmniDesk --------------------------------------------------------------------------------------------


def _event_shaped(body: bytes) -> bool:
    """An Events API body bolt can dispatch: a JSON object whose `event`, if any, is an object too."""
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(envelope, dict) and isinstance(envelope.get("event", {}), dict)


def thread_reply(body: Mapping[str, Any]) -> ThreadReply | None:
    """An agent's reply in a thread, from an Events API envelope; None for bots, edits, and top-level messages."""
    event = _mapping(body.get("event"))
    subtype = event.get("subtype") or ""
    if event.get("type") != "message" or event.get("bot_id") or not isinstance(subtype, str):
        return None
    if subtype not in _AGENT_SUBTYPES:
        return None
    fields = (body.get("event_id"), event.get("channel"), event.get("user"), event.get("thread_ts"), event.get("ts"))
    if not all(isinstance(field, str) and field for field in fields):
        return None
    event_id, channel, user, thread_ts, ts = (str(field) for field in fields)
    text = plain_text(str(event.get("text") or "")).strip()
    if thread_ts == ts or not text:
        return None  # a thread's root message, or nothing to relay (e.g. only a file)
    return ThreadReply(event_id, channel, user, thread_ts, ts, text)


def plain_text(slack_text: str) -> str:
    """Slack's message markup as plain text for the user: links, mentions and the &amp; &lt; &gt; escapes."""
    return _unescape(_SLACK_LINK.sub(_plain_link, slack_text))


def _plain_link(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith(("@", "#")):
        return target[0] + (label or target[1:])
    if target.startswith("!"):
        return "@" + (label or target[1:].split("^")[0])
    url = target.removeprefix("mailto:")
    if not label or _unescape(label) in (url, url.split("://", 1)[-1]):
        return url
    return f"{label} ({url})"


def _click_key(body: Mapping[str, Any], action: Mapping[str, Any], number: int, user_id: str) -> str | None:
    """The inbox key of one button click: its action, ticket, agent and Slack's time stamp of the click."""
    stamp = action.get("action_ts") or body.get("trigger_id")
    if not isinstance(stamp, str) or not stamp:
        return None
    return f"action:{action.get('action_id')}:{number}:{user_id}:{stamp[:64]}"


def _payload_agent_name(user: Mapping[str, Any]) -> str:
    """The clicking agent's handle from an interaction payload's user, else their ID."""
    return str(user.get("username") or user.get("name") or user.get("id") or "unknown")


def _ticket_number(value: object) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


# -- OmniDesk -> Slack --------------------------------------------------------------------------------------------


def ticket_headline(ticket: Ticket) -> str:
    """The message's plain text: what notifications and screen readers show."""
    urgent = ":rotating_light: URGENT " if ticket.priority is Priority.URGENT else ""
    return (
        f"{urgent}Ticket #{ticket.number} ({ticket.priority.value}, {ticket.status.value}) "
        f"from {escape(ticket.channel)}: {_first_line(ticket)}"
    )


def ticket_blocks(ticket: Ticket, brand: str) -> list[dict[str, Any]]:
    """Block Kit for a ticket's message: header, fields, summary, and the buttons its status allows."""
    header = f"{brand} ticket #{ticket.number}"[:MAX_HEADER_CHARS]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        {"type": "section", "fields": [_mrkdwn(f"*{name}*\n{value}") for name, value in _ticket_fields(ticket)]},
        {"type": "section", "text": _mrkdwn(f"*Summary*\n{_clip(escape(ticket.summary), MAX_SECTION_CHARS)}")},
        {"type": "context", "elements": [_mrkdwn(f"Opened {ticket.created_at:%Y-%m-%d %H:%M} UTC")]},
    ]
    buttons = _buttons(ticket)
    if buttons:
        blocks.append({"type": "actions", "block_id": f"omnidesk_ticket_{ticket.number}", "elements": buttons})
    return blocks


def _ticket_fields(ticket: Ticket) -> list[tuple[str, str]]:
    return [
        ("Priority", _PRIORITY_BADGES[ticket.priority]),
        ("Status", _STATUS_LABELS[ticket.status]),
        ("Channel", escape(ticket.channel)),
        ("Language", f"{_LANGUAGES.get(ticket.lang, ticket.lang)} ({ticket.lang})"),
        ("Category", escape(ticket.category or "-")),
        ("Reason", escape(ticket.reason or "-")),
        ("Assignee", escape(ticket.assignee or "nobody yet")),
    ]


def _buttons(ticket: Ticket) -> list[dict[str, Any]]:
    """Claim while nobody has the ticket, Resolve until it is finished, nothing after."""
    if not ticket.is_open:
        return []
    resolve = _button("Resolve", RESOLVE_ACTION, ticket.number)
    if ticket.status is not TicketStatus.OPEN:
        return [resolve]
    return [{**_button("Claim", CLAIM_ACTION, ticket.number), "style": "primary"}, resolve]


def _button(label: str, action_id: str, number: int) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": str(number),
    }


def transcript_chunks(transcript: Iterable[StoredMessage], brand: str) -> list[str]:
    """The conversation so far as thread messages (several only when it is long); none for an empty one."""
    messages = list(transcript)
    if not messages:
        return []
    lines = [f"*Transcript* ({len(messages)} messages, oldest first, secrets redacted)"]
    for message in messages:
        who = "User" if message.direction == "in" else brand
        lines.append(f"*{who}* {message.created_at:%H:%M}: {escape(message.text)}")
    return chunk_lines(lines)


def chunk_lines(lines: Iterable[str], limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Join lines into texts of at most `limit` characters, splitting only lines that are longer by themselves."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        for piece in (line[start : start + limit] for start in range(0, max(len(line), 1), limit)):
            if current and len(current) + 1 + len(piece) > limit:
                chunks.append(current)
                current = ""
            current = f"{current}\n{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


def escape(text: str) -> str:
    """Slack's three escapes, so user text cannot mention @here, link, or format as a Slack entity."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _first_line(ticket: Ticket) -> str:
    return _clip(escape(ticket.summary.strip().splitlines()[0] if ticket.summary.strip() else "-"), 200)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@contextlib.asynccontextmanager
async def _delivery_errors() -> AsyncIterator[None]:
    """Slack's refusals as the outbox's DeliveryError: 429 with its Retry-After, others to be tried again later."""
    try:
        yield
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "")
        retry_after = exc.response.headers.get("Retry-After") if exc.response.status_code == 429 else None
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
        raise DeliveryError(f"slack: {error or exc.response.status_code}", retry_after=seconds) from exc


async def _logged(work: Coroutine[Any, Any, None]) -> None:
    """A background task's failure is logged: nobody awaits it to see the exception."""
    try:
        await work
    except Exception:
        log.exception("Slack agent desk task failed")
