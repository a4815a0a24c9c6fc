"""A fake Slack Web API on 127.0.0.1 speaking Slack's wire format, and Slack's request signing, for tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

Params = dict[str, Any]
MethodHandler = Callable[[Params], Awaitable[Params]]

# Form bodies carry these as JSON strings; JSON bodies carry them as structures.
_JSON_FIELDS = ("blocks", "attachments", "metadata")


@dataclass(frozen=True, slots=True)
class SlackCall:
    """One request the fake received: the API method and its parameters (token removed)."""

    method: str
    params: Params


class FakeSlackApi(LoopbackServer):
    """Serves `http://127.0.0.1:PORT/api/<method>`; use as `async with FakeSlackApi(...) as api: api.base_url`."""

    def __init__(
        self,
        token: str = "xoxb-test-token",
        *,
        channels: Mapping[str, str] | None = None,
        users: Mapping[str, str] | None = None,
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        team_id: str = "T0FAKE",
    ) -> None:
        super().__init__()
        self.token = token
        self.channels = dict(channels or {"agents": "C0AGENTS"})  # name -> ID
        self.users = dict(users or {"U0ALICE": "alice", "U0BOB": "bob"})  # ID -> handle
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self.calls: list[SlackCall] = []
        self.messages: dict[tuple[str, str], Params] = {}  # (channel ID, ts) -> the message as stored
        self._last_ts = 0.0
        self._limited_until = 0.0  # time.monotonic() until which every call is answered 429
        self._methods: dict[str, MethodHandler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "users.info": self._users_info,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
        }

    @property
    def base_url(self) -> str:
        """The API base URL, ending in `/api/` like Slack's."""
        return f"{self.origin}/api/"

    def _build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._dispatch)
        return app

    def rate_limit(self, seconds: float) -> None:
        """Answer every call with HTTP 429 and `Retry-After` for the next `seconds`, as Slack does when limited."""
        self._limited_until = time.monotonic() + seconds

    def calls_to(self, method: str) -> list[Params]:
        """The parameters of every call to `method`, in order."""
        return [call.params for call in self.calls if call.method == method]

    # -- wire -----------------------------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _parameters(request)
        token = _bearer(request.headers.get("Authorization")) or params.pop("token", None)
        self.calls.append(SlackCall(method, params))
        wait = self._limited_until - time.monotonic()
        if wait > 0:
            headers = {"Retry-After": str(max(1, round(wait)))}
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
        handler = self._methods.get(method)
        if handler is None:
            return _answer({"ok": False, "error": "unknown_method"})
        if not token:
            return _answer({"ok": False, "error": "not_authed"})
        if not hmac.compare_digest(str(token), self.token):
            return _answer({"ok": False, "error": "invalid_auth"})
        return _answer(await handler(params))

    # -- methods --------------------------------------------------------------------------------------------------

    async def _auth_test(self, params: Params) -> Params:
        return {
            "ok": True,
            "url": "https://fake-workspace.slack.com/",
            "team": "Fake Workspace",
            "user": "omnidesk",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    async def _post_message(self, params: Params) -> Params:
        channel = self._channel_id(params.get("channel"), names_allowed=True)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        message = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "ts": ts}
        message.update({k: params[k] for k in ("text", "blocks", "thread_ts", "metadata") if k in params})
        if params.get("thread_ts") and _true(params.get("reply_broadcast")):
            message["subtype"] = "thread_broadcast"  # also shown in the channel (and its history)
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    async def _update(self, params: Params) -> Params:
        channel = self._channel_id(params.get("channel"), names_allowed=False)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        ts = str(params.get("ts", ""))
        message = self.messages.get((channel, ts))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.update({k: params[k] for k in ("text", "blocks") if k in params})
        return {"ok": True, "channel": channel, "ts": ts, "text": message.get("text", ""), "message": message}

    async def _post_ephemeral(self, params: Params) -> Params:
        channel = self._channel_id(params.get("channel"), names_allowed=False)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if params.get("user") not in self.users:
            return {"ok": False, "error": "user_not_in_channel"}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        return {"ok": True, "message_ts": self._next_ts()}

    async def _history(self, params: Params) -> Params:
        """The channel's messages, newest first: top-level ones, thread parents and broadcast replies (not the other
        thread replies), between `oldest` and `latest`; metadata only with `include_all_metadata`."""
        channel = self._channel_id(params.get("channel"), names_allowed=False)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        shown = [
            message
            for (where, ts), message in self.messages.items()
            if where == channel
            and (message.get("thread_ts") in (None, ts) or message.get("subtype") == "thread_broadcast")
        ]
        page, more = _window(shown, params, newest_first=True)
        return {"ok": True, "messages": page, "has_more": more, "pin_count": 0, "response_metadata": {"next_cursor": ""}}

    async def _replies(self, params: Params) -> Params:
        """A thread: its parent first, then its replies between `oldest` and `latest`, oldest first."""
        channel = self._channel_id(params.get("channel"), names_allowed=False)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        parent = self.messages.get((channel, str(params.get("ts", ""))))
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        replies = [
            message
            for (where, ts), message in self.messages.items()
            if where == channel and message.get("thread_ts") == parent["ts"] and ts != parent["ts"]
        ]
        page, more = _window(replies, params, newest_first=False)
        head = _shown(parent, params)
        return {"ok": True, "messages": [head, *page], "has_more": more, "response_metadata": {"next_cursor": ""}}

    async def _users_info(self, params: Params) -> Params:
        user_id = str(params.get("user", ""))
        name = self.users.get(user_id)
        if name is None:
            return {"ok": False, "error": "user_not_found"}
        profile = {"display_name": name, "real_name": name.title()}
        user = {"id": user_id, "team_id": self.team_id, "name": name, "real_name": name.title(), "is_bot": False}
        return {"ok": True, "user": {**user, "profile": profile}}

    # -- helpers --------------------------------------------------------------------------------------------------

    def _channel_id(self, value: object, *, names_allowed: bool) -> str | None:
        """Slack accepts `#name` or `name` only where it says so; chat.update and friends need the ID."""
        text = str(value or "")
        if text in self.channels.values():
            return text
        return self.channels.get(text.removeprefix("#")) if names_allowed else None

    def _next_ts(self) -> str:
        # Slack's ts: the posting time in seconds with six decimals, unique in the channel.
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"


def slack_signature_headers(signing_secret: str, body: str | bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers signing `body` as Slack does: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(signing_secret.encode(), b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


async def _parameters(request: web.Request) -> Params:
    """Query string, then a form or JSON body, as one dict; JSON-in-form fields decoded."""
    params: Params = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        params.update(body if isinstance(body, dict) else {})
    elif request.can_read_body:
        params.update({key: value for key, value in (await request.post()).items() if isinstance(value, str)})
    for key in _JSON_FIELDS:
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


def _true(value: object) -> bool:
    """A boolean argument as Slack reads it: JSON true, or "true" / "1" in a form or query string."""
    return value is True or str(value).lower() in ("true", "1")


def _shown(message: Params, params: Params) -> Params:
    """A stored message as a read method returns it: its metadata only when asked for (`include_all_metadata`)."""
    if _true(params.get("include_all_metadata")):
        return dict(message)
    return {k: v for k, v in message.items() if k != "metadata"}


def _window(messages: list[Params], params: Params, *, newest_first: bool) -> tuple[list[Params], bool]:
    """The messages between `oldest` and `latest` (exclusive unless `inclusive`), at most `limit` of them from the
    newest (or oldest) end, in that order; and whether more were left out."""
    oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or time.time() + 1)
    inclusive = _true(params.get("inclusive"))
    limit = int(params.get("limit") or 100)
    inside = [
        m
        for m in messages
        if (oldest <= float(m["ts"]) <= latest if inclusive else oldest < float(m["ts"]) < latest)
    ]
    inside.sort(key=lambda m: float(m["ts"]), reverse=newest_first)
    return [_shown(m, params) for m in inside[:limit]], len(inside) > limit


def _bearer(header: str | None) -> str | None:
    if header and header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    return None


def _answer(payload: Params) -> web.Response:
    # Slack answers HTTP 200 even for errors: the outcome is in "ok".
    return web.json_response(payload)
