"""A fake X API v2 on 127.0.0.1 for the DM endpoints, checking OAuth 1.0a user-context signatures, for tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import re
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

Json = dict[str, Any]

_OAUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')
_FIRST_ID = 1_790_000_000_000_000_000  # X ids are large numbers that grow with time
RATE_LIMIT = 300  # what X announces for GET /2/dm_events per user per 15 minutes
RATE_WINDOW_SECONDS = 900


@dataclass(frozen=True, slots=True)
class SentDm:
    """A DM the bot sent through `POST /2/dm_conversations/with/:participant_id/messages`."""

    participant_id: str
    text: str
    event_id: str


@dataclass(frozen=True, slots=True)
class _Failure:
    path_prefix: str
    status: int
    reset_at: int | None


class FakeXApi(LoopbackServer):
    """Serves `http://127.0.0.1:PORT/2/...`; use as `async with FakeXApi() as x: x.base_url`."""

    def __init__(
        self,
        *,
        consumer_key: str = "ck-test",
        consumer_secret: str = "cs-test",
        access_token: str = "1700000000000000001-at-test",
        access_token_secret: str = "ats-test",
        bot_user_id: str = "1700000000000000001",
        bot_username: str = "ExampleX_Support",
        page_size: int = 2,
    ) -> None:
        super().__init__()
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.access_token = access_token
        self.access_token_secret = access_token_secret
        self.bot_user_id = bot_user_id
        self.page_size = page_size
        self.users: dict[str, str] = {bot_user_id: bot_username}  # id -> username
        self.events: list[Json] = []  # oldest first, as stored; served newest first like X
        self.sent: list[SentDm] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, authorised or not
        self._ids = itertools.count(_FIRST_ID, 4096)
        self._failures: deque[_Failure] = deque()
        self._remaining = RATE_LIMIT

    @property
    def base_url(self) -> str:
        """The API base URL (like https://api.x.com), without a trailing slash."""
        return self.origin

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/2/users/me", self._me)
        app.router.add_get("/2/dm_events", self._dm_events)
        app.router.add_post("/2/dm_conversations/with/{participant_id}/messages", self._create_dm)
        return app

    # -- test controls --------------------------------------------------------------------------------------------

    def add_dm(self, sender_id: str, text: str, event_type: str = "MessageCreate") -> str:
        """A DM (or another DM event type) from `sender_id` to the bot; returns its event id."""
        self.users.setdefault(sender_id, f"user{sender_id}")
        return self._add_event(sender_id, event_type, text, self._conversation_id(sender_id))

    def fail_next(self, status: int, path_prefix: str = "/2/", reset_at: int | None = None) -> None:
        """Answer the next request under `path_prefix` with `status` (429 carries `reset_at` as its reset header)."""
        self._failures.append(_Failure(path_prefix, status, reset_at))

    def texts_to(self, participant_id: str) -> list[str]:
        """Texts of the DMs sent to one user, in order."""
        return [dm.text for dm in self.sent if dm.participant_id == participant_id]

    # -- wire -----------------------------------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if not self._signed(request):
            return _problem(401, "Unauthorized", "Unauthorized")
        for failure in list(self._failures):
            if request.path.startswith(failure.path_prefix):
                self._failures.remove(failure)
                return self._failure(failure)
        self._remaining = max(0, self._remaining - 1)
        response: web.StreamResponse = await handler(request)
        response.headers.update(self._rate_headers(self._remaining, self._window_reset()))
        return response

    def _signed(self, request: web.Request) -> bool:
        """A valid OAuth 1.0a HMAC-SHA1 signature of this request, by the expected consumer and access token."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("OAuth "):
            return False
        oauth = {key: unquote(value) for key, value in _OAUTH_PARAM.findall(header)}
        if oauth.get("oauth_consumer_key") != self.consumer_key or oauth.get("oauth_token") != self.access_token:
            return False
        if oauth.get("oauth_signature_method") != "HMAC-SHA1":
            return False
        signed = [(k, v) for k, v in oauth.items() if k != "oauth_signature"] + list(request.query.items())
        normalized = "&".join(f"{k}={v}" for k, v in sorted((_enc(k), _enc(v)) for k, v in signed))
        url = str(request.url.with_query(None))
        base_string = "&".join((request.method.upper(), _enc(url), _enc(normalized)))
        key = f"{_enc(self.consumer_secret)}&{_enc(self.access_token_secret)}"
        expected = base64.b64encode(hmac.new(key.encode(), base_string.encode(), hashlib.sha1).digest()).decode()
        return hmac.compare_digest(expected, oauth.get("oauth_signature", ""))

    def _failure(self, failure: _Failure) -> web.Response:
        if failure.status == 429:
            reset = failure.reset_at if failure.reset_at is not None else self._window_reset()
            response = _problem(429, "Too Many Requests", "Too Many Requests")
            response.headers.update(self._rate_headers(0, reset))
            return response
        titles = {403: "Forbidden", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}
        title = titles.get(failure.status, "Error")
        return _problem(failure.status, title, f"{title} (injected by the test)")

    @staticmethod
    def _rate_headers(remaining: int, reset: int) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(RATE_LIMIT),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(reset),
        }

    @staticmethod
    def _window_reset() -> int:
        now = int(time.time())
        return now - now % RATE_WINDOW_SECONDS + RATE_WINDOW_SECONDS

    # -- endpoints ------------------------------------------------------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        user = {"id": self.bot_user_id, "name": "ExampleX Support", "username": self.users[self.bot_user_id]}
        return web.json_response({"data": user})

    async def _dm_events(self, request: web.Request) -> web.Response:
        try:
            max_results = int(request.query.get("max_results", "100"))
        except ValueError:
            max_results = 0
        if not 1 <= max_results <= 100:
            return _problem(400, "Invalid Request", "max_results must be between 1 and 100")
        newest_first = sorted(self.events, key=lambda e: int(e["id"]), reverse=True)
        token = request.query.get("pagination_token")
        if token:
            before = _token_id(token)
            if before is None:
                return _problem(400, "Invalid Request", "pagination_token is invalid")
            newest_first = [e for e in newest_first if int(e["id"]) < before]
        size = min(max_results, self.page_size)
        page, more = newest_first[:size], len(newest_first) > size
        fields = set(request.query.get("dm_event.fields", "").split(",")) | {"id", "event_type", "text"}
        data = [{k: v for k, v in event.items() if k in fields and v is not None} for event in page]
        body: Json = {"meta": {"result_count": len(data)}}
        if data:
            body["data"] = data
            if more:
                body["meta"]["next_token"] = _token(int(page[-1]["id"]))
            if token:
                body["meta"]["previous_token"] = _token(int(page[0]["id"]) + 1)
        if "sender_id" in request.query.get("expansions", "").split(",") and data:
            senders = sorted({e["sender_id"] for e in page if e.get("sender_id")})
            body["includes"] = {"users": [{"id": s, "name": self.users[s], "username": self.users[s]} for s in senders]}
        return web.json_response(body)

    async def _create_dm(self, request: web.Request) -> web.Response:
        participant = request.match_info["participant_id"]
        try:
            payload = await request.json()
        except ValueError:
            return _problem(400, "Invalid Request", "the body is not JSON")
        text = payload.get("text") if isinstance(payload, dict) else None
        if not isinstance(text, str) or not text or len(text) > 10_000:
            return _problem(400, "Invalid Request", "text must be 1 to 10000 characters")
        if participant not in self.users or participant == self.bot_user_id:
            return _problem(403, "Forbidden", "You cannot send messages to this user.")
        conversation = self._conversation_id(participant)
        event_id = self._add_event(self.bot_user_id, "MessageCreate", text, conversation)
        self.sent.append(SentDm(participant, text, event_id))
        return web.json_response({"data": {"dm_conversation_id": conversation, "dm_event_id": event_id}}, status=201)

    def _add_event(self, sender_id: str, event_type: str, text: str | None, conversation: str) -> str:
        event_id = str(next(self._ids))
        created = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        self.events.append(
            {
                "id": event_id,
                "event_type": event_type,
                "text": text if event_type == "MessageCreate" else None,
                "sender_id": sender_id,
                "dm_conversation_id": conversation,
                "created_at": created,
            }
        )
        return event_id

    def _conversation_id(self, user_id: str) -> str:
        """A one-to-one conversation's id: both user ids, smaller first."""
        low, high = sorted((user_id, self.bot_user_id), key=int)
        return f"{low}-{high}"


def _enc(value: str) -> str:
    """RFC 5849 percent-encoding: everything but unreserved characters."""
    return quote(value, safe="~")


def _token(event_id: int) -> str:
    return base64.b32encode(event_id.to_bytes(8, "big")).decode().rstrip("=").lower()


def _token_id(token: str) -> int | None:
    try:
        raw = base64.b32decode(token.upper() + "=" * (-len(token) % 8))
    except ValueError:
        return None
    return int.from_bytes(raw, "big") if len(raw) == 8 else None


def _problem(status: int, title: str, detail: str) -> web.Response:
    """X API v2's error shape (RFC 7807 problem details)."""
    body = {"title": title, "detail": detail, "type": "about:blank", "status": status}
    return web.json_response(body, status=status)
