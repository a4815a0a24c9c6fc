"""The website's chat widget: signed visitor sessions, a WebSocket channel with an HTTP fallback, and its routes.

Build order: open the runtime, put a `WebchatChannel()` in its channels under "webchat", and serve
`webchat_routes(channel, desk, tokens, config, attachments_dir=...)` with any ASGI server.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import io
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol
from urllib.parse import urlsplit

from PIL import Image
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from adapters.webchat_form import FormChoices, PageRenderer, TicketPages
from adapters.webchat_tickets import CHANNEL, MyTicketsApi, UserTickets, visitor_message
from bot.app.config import WebchatConfig
from bot.core.messages import Attachment, InboundMessage, Lang, Reply
from bot.core.ports import Channel, KeyValueStore, StoredMessage
from bot.core.rate_limit import RateLimiter
from bot.desk.domain import Ticket

log = logging.getLogger(__name__)

UPLOAD_PATH = "/api/webchat/attachments"
STATIC_DIR = Path(__file__).with_name("webchat_static")

# WebSocket close codes (4000-4999 are the application's): the widget gets a new token on 4401.
CLOSE_BAD_TOKEN = 4401
CLOSE_TOO_MANY_SOCKETS = 4429
CLOSE_RESTARTING = 1012
AUTH_FRAME_SECONDS = 10.0  # how long an accepted socket may take to send its auth frame
RENEWED_TOKEN_HEADER = "X-Session-Token"
# The visitor's token for pages that run no script (the help center's ticket form); the widget links to it.
SESSION_COOKIE = "omnidesk_session"

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_PILLOW_FORMATS: Mapping[str, str] = MappingProxyType({"image/png": "PNG", "image/jpeg": "JPEG"})
_IMAGE_EXTENSIONS: Mapping[str, str] = MappingProxyType({"image/png": "png", "image/jpeg": "jpg"})
_API_HEADERS: Mapping[str, str] = MappingProxyType({"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
# The demo page runs no inline script, so a strict policy costs nothing and stops any injected markup from running.
_DEMO_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


# -- sessions ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionGrant:
    """A verified token: its session, and a fresh token for it when the presented one is due for renewal."""

    session_id: str
    renewed_token: str | None = None


class SessionTokens:
    """Visitor tokens `<session id>.<issued at>.<HMAC-SHA256 of both>`: the server keeps no session table, a token
    names its session and says when it was issued. A token expires `ttl_seconds` after it was issued; one presented
    after `renew_after_seconds` is answered with a fresh one, so a visitor who keeps chatting never sees it expire."""

    def __init__(
        self,
        secret: bytes,
        *,
        ttl_seconds: float = 7 * 24 * 3600,
        renew_after_seconds: float = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the webchat session secret must be at least 16 bytes")
        if not 0 < renew_after_seconds < ttl_seconds:
            raise ValueError("renew_after_seconds must be positive and shorter than ttl_seconds")
        self._secret = secret
        self._ttl = ttl_seconds
        self._renew_after = renew_after_seconds
        self._clock = clock

    def issue(self, session_id: str | None = None) -> tuple[str, str]:
        """A token for `session_id` (default: a new random one), issued now; returns the id and the token."""
        # Hex, not URL-safe base64: an id (and so its token) that starts with "-" reads as an option to
        # `omnidesk sessions revoke`.
        session_id = session_id or secrets.token_hex(24)
        issued = str(int(self._clock()))
        return session_id, f"{session_id}.{issued}.{self._sign(session_id, issued)}"

    def check(self, token: str) -> SessionGrant | None:
        """The grant of a genuine, unexpired token, else None."""
        if len(token) > 200:
            return None
        session_id, _, rest = token.partition(".")
        issued, _, signature = rest.partition(".")
        if not _SESSION_ID.match(session_id) or not issued.isdigit() or len(issued) > 12:
            return None
        # Bytes, not str: compare_digest refuses non-ASCII text, and a token is whatever a visitor sends.
        if not hmac.compare_digest(signature.encode(), self._sign(session_id, issued).encode()):
            return None
        age = self._clock() - int(issued)
        if age > self._ttl or age < -300:  # expired, or issued in the future beyond clock skew
            return None
        return SessionGrant(session_id, self.issue(session_id)[1] if age > self._renew_after else None)

    @property
    def ttl_seconds(self) -> float:
        """How long a token lives after it was issued."""
        return self._ttl

    def form_token(self, session_id: str) -> str:
        """The anti-forgery token of the session's HTML forms: only a page this server rendered for the session
        knows it (signed apart from session tokens, so one cannot stand for the other)."""
        message = f"omnidesk-webchat-form:v1:{session_id}".encode()
        return base64.urlsafe_b64encode(hmac.new(self._secret, message, hashlib.sha256).digest()).rstrip(b"=").decode()

    def verify(self, token: str) -> str | None:
        """The session id a genuine, unexpired token names, else None."""
        grant = self.check(token)
        return grant.session_id if grant else None

    def _sign(self, session_id: str, issued: str) -> str:
        message = f"omnidesk-webchat-session:v2:{session_id}.{issued}".encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class WebchatStore(Protocol):
    """The `Store` methods the widget's endpoints read directly."""

    async def webchat_session_revoked(self, session_id: str) -> bool:
        """Whether an operator revoked the session (`omnidesk sessions revoke`)."""
        ...

    async def open_ticket_for(self, channel: str, conversation_id: str) -> Ticket | None:
        """The conversation's open ticket, if any (screenshots are taken only for one)."""
        ...


async def load_session_secret(cursors: KeyValueStore, name: str = "webchat_session_secret") -> bytes:
    """The token secret kept in the store, created on first use, so visitors keep their conversation across restarts."""
    saved = await cursors.cursor_get(name)
    if saved is not None:
        return bytes.fromhex(saved)
    secret = secrets.token_bytes(32)
    await cursors.cursor_set(name, secret.hex())
    return secret


# -- the channel -------------------------------------------------------------------------------------------------


class WebchatBackend(Protocol):
    """The Desk methods the widget needs."""

    async def handle(self, message: InboundMessage) -> object: ...

    async def stored_inbound(self, message: InboundMessage) -> StoredMessage | None: ...

    async def history(
        self, channel: str, conversation_id: str, limit: int = 200, after: int = 0
    ) -> list[StoredMessage]: ...


@dataclass
class _Session:
    """What is live for one visitor session: its open sockets and its long-polls."""

    sockets: set[WebSocket] = field(default_factory=set)
    waiters: set[asyncio.Event] = field(default_factory=set)

    @property
    def idle(self) -> bool:
        return not self.sockets and not self.waiters


class WebchatChannel(Channel):
    """Pushes replies to the visitor's open sockets and wakes their long-polls; the transcript is the durable copy."""

    name = CHANNEL

    def __init__(self) -> None:
        self._sessions: dict[str, _Session] = {}
        self._unauthenticated: set[WebSocket] = set()  # accepted, waiting for their auth frame
        self.closing = False  # set by stop(): no socket or long-poll is held from then on

    async def send(self, conversation_id: str, reply: Reply) -> None:
        """Push a reply to every open socket of the session; with none open it waits in the history."""
        session = self._sessions.get(conversation_id)
        if session is None:
            return
        if session.sockets:
            frame = {
                "type": "reply",
                "id": reply.transcript_id,  # the widget orders by it and de-duplicates it against the history
                "text": reply.text,
                "suggestions": [{"label": s.label, "payload": s.payload} for s in reply.suggestions],
                "offer_human": reply.offer_human,
                "agent": reply.agent,
            }
            await self.push(conversation_id, frame)
        for event in list(session.waiters):
            event.set()

    async def push(self, session_id: str, frame: Mapping[str, Any]) -> None:
        """Send a frame to every open socket of the session; a dead socket is dropped."""
        session = self._sessions.get(session_id)
        if session is None:
            return
        for socket in list(session.sockets):
            await self.send_frame(socket, frame, session_id)

    async def send_frame(self, socket: WebSocket, frame: Mapping[str, Any], session_id: str | None = None) -> bool:
        """Send one frame; False (and forget the socket) when it has gone away."""
        try:
            await socket.send_json(dict(frame))
        except Exception:  # any transport error means the visitor has gone; the history keeps the message
            if session_id is not None:
                self.disconnect(session_id, socket)
            return False
        return True

    async def stop(self) -> None:
        """Close every socket as "service restarting" (the widget reconnects) and release the long-polls; sockets
        opened after this are closed at once, so none can hold the shutdown."""
        self.closing = True
        for socket in list(self._unauthenticated):
            with contextlib.suppress(Exception):
                await socket.close(code=1012)
        for session_id, session in list(self._sessions.items()):
            for socket in list(session.sockets):
                with contextlib.suppress(Exception):
                    await socket.close(code=1012)
                self.disconnect(session_id, socket)
            for event in list(session.waiters):
                event.set()

    def connect(self, session_id: str, socket: WebSocket) -> int:
        """Register an open socket; returns how many the session now has."""
        session = self._sessions.setdefault(session_id, _Session())
        session.sockets.add(socket)
        return len(session.sockets)

    def disconnect(self, session_id: str, socket: WebSocket) -> None:
        """Forget a closed socket."""
        session = self._sessions.get(session_id)
        if session is not None:
            session.sockets.discard(socket)
            if session.idle:
                del self._sessions[session_id]

    def open_sockets(self, session_id: str) -> int:
        """How many sockets the session has open."""
        session = self._sessions.get(session_id)
        return len(session.sockets) if session else 0

    @contextlib.contextmanager
    def authenticating(self, socket: WebSocket) -> Iterator[None]:
        """Track a socket accepted but not yet authenticated, so that stop() closes it too."""
        self._unauthenticated.add(socket)
        try:
            yield
        finally:
            self._unauthenticated.discard(socket)

    @contextlib.contextmanager
    def watch(self, session_id: str) -> Iterator[asyncio.Event]:
        """An event set when a reply is sent to the session while the block runs (for long-polling)."""
        session = self._sessions.setdefault(session_id, _Session())
        event = asyncio.Event()
        session.waiters.add(event)
        try:
            yield event
        finally:
            session.waiters.discard(event)
            if session.idle and self._sessions.get(session_id) is session:
                del self._sessions[session_id]


# -- limits ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebchatLimits:
    """What one visitor may send."""

    max_text_chars: int = 2000
    messages_per_window: int = 10
    window_seconds: float = 10.0
    max_attachment_bytes: int = 5 * 1024 * 1024
    max_session_attachment_bytes: int = 25 * 1024 * 1024  # one visitor's screenshots on disk, all tickets
    max_total_attachment_bytes: int = 2 * 1024 * 1024 * 1024  # every visitor's
    max_image_pixels: int = 40_000_000  # decoding is refused above this (a small file can declare a huge image)
    history_limit: int = 200
    max_poll_wait_seconds: float = 25.0
    max_sockets_per_session: int = 8


class WebchatError(Exception):
    """A refused request, shown to the visitor as an error frame."""

    def __init__(self, code: str, message: str, status: int = 400, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after

    def frame(self, client_id: str | None = None) -> dict[str, Any]:
        """The error as a WebSocket frame or JSON body."""
        frame: dict[str, Any] = {"type": "error", "code": self.code, "message": self.message}
        if client_id is not None:
            frame["id"] = client_id
        if self.retry_after is not None:
            frame["retry_after"] = round(self.retry_after, 1)
        return frame


# -- routes ------------------------------------------------------------------------------------------------------


def webchat_routes(
    channel: WebchatChannel,
    desk: WebchatBackend,
    tokens: SessionTokens,
    config: WebchatConfig,
    *,
    attachments_dir: Path,
    limits: WebchatLimits | None = None,
    store: WebchatStore | None = None,
    tickets: UserTickets | None = None,
    ticket_form: Mapping[str, Any] | None = None,
    pages: PageRenderer | None = None,
    form_choices: FormChoices | None = None,
) -> list[BaseRoute]:
    """The demo page, the widget's files, its JSON API and its WebSocket, ready for `Starlette(routes=...)`; with
    `tickets`, also the visitor's "My tickets"; with `pages` and `form_choices` too, the help center's ticket form
    and ticket pages for the same visitor (`adapters.webchat_form`)."""
    limits = limits or WebchatLimits()
    api = _WebchatApi(channel, desk, tokens, config, attachments_dir, limits, store)
    get, post = ["GET", "OPTIONS"], ["POST", "OPTIONS"]
    routes: list[BaseRoute] = []
    if tickets is not None:
        mine = MyTicketsApi(tickets, desk, api.authorized, api.message_json, limits.history_limit, ticket_form)
        routes += [
            Route("/api/webchat/ticket-form", api.cors(mine.form), methods=get),
            Route("/api/webchat/tickets", api.cors(mine.list), methods=get),
            Route("/api/webchat/tickets/{number:int}", api.cors(mine.show), methods=get),
        ]
        if pages is not None and form_choices is not None:
            form_pages = TicketPages(
                api,
                WebchatError,
                tickets,
                desk,
                pages,
                form_choices,
                max_text_chars=limits.max_text_chars,
                max_attachment_bytes=limits.max_attachment_bytes,
                history_limit=limits.history_limit,
            )
            routes += form_pages.routes()
    return [
        *routes,
        Route("/", api.demo_page, methods=["GET"]),
        Route("/favicon.ico", api.favicon, methods=["GET"]),
        Route("/widget.js", api.widget_js, methods=["GET"]),
        Route("/widget.css", api.widget_css, methods=["GET"]),
        Route("/api/webchat/session", api.cors(api.session), methods=post),
        Route("/api/webchat/history", api.cors(api.history), methods=get),
        Route("/api/webchat/messages", api.cors(api.messages), methods=post),
        Route("/api/webchat/poll", api.cors(api.poll), methods=get),
        Route(UPLOAD_PATH, api.cors(api.attachments), methods=post),
        WebSocketRoute("/ws/webchat", api.websocket),
    ]


Endpoint = Callable[[Request], Awaitable[Response]]


class _WebchatApi:
    """The endpoints, sharing their dependencies."""

    def __init__(
        self,
        channel: WebchatChannel,
        desk: WebchatBackend,
        tokens: SessionTokens,
        config: WebchatConfig,
        attachments_dir: Path,
        limits: WebchatLimits,
        store: WebchatStore | None = None,
    ) -> None:
        self._channel = channel
        self._store = store
        self._attachment_bytes: int | None = None  # on disk under attachments_dir; counted on first upload
        self._desk = desk
        self._tokens = tokens
        self._allowed_origins = frozenset(_normal_origin(o) for o in config.allowed_origins)
        self._attachments_dir = attachments_dir
        self._limits = limits
        self._rate = RateLimiter(limits.messages_per_window, limits.window_seconds)

    # -- static files ------------------------------------------------------------------------------------------

    async def demo_page(self, request: Request) -> Response:
        """A plain page about a fictional exchange that embeds the widget with one tag."""
        return FileResponse(
            STATIC_DIR / "demo.html",
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": _DEMO_CSP, "X-Content-Type-Options": "nosniff"},
        )

    async def favicon(self, request: Request) -> Response:
        """The chat bubble as the site icon: browsers ask for /favicon.ico on every page."""
        return self._static("favicon.svg", "image/svg+xml")

    async def widget_js(self, request: Request) -> Response:
        """The widget's script, embeddable from any page."""
        return self._static("widget.js", "text/javascript; charset=utf-8")

    async def widget_css(self, request: Request) -> Response:
        """The widget's styles."""
        return self._static("widget.css", "text/css; charset=utf-8")

    def _static(self, name: str, media_type: str) -> Response:
        # Short caching: a deploy reaches visitors within minutes without versioned file names.
        headers = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}
        return FileResponse(STATIC_DIR / name, media_type=media_type, headers=headers)

    # -- the JSON API --------------------------------------------------------------------------------------------

    def cors(self, endpoint: Endpoint) -> Endpoint:
        """Refuse foreign origins not in `allowed_origins`, answer preflights, turn WebchatError into JSON."""

        async def wrapped(request: Request) -> Response:
            origin = request.headers.get("origin")
            if not self._origin_allowed(request):
                return _error_response(WebchatError("forbidden_origin", "This site may not use the chat.", 403))
            headers = dict(_API_HEADERS)
            if origin is not None:
                headers |= {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
            if request.method == "OPTIONS":
                headers |= {
                    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                    "Access-Control-Allow-Headers": "Authorization, Content-Type",
                    "Access-Control-Expose-Headers": RENEWED_TOKEN_HEADER,
                    "Access-Control-Max-Age": "600",
                }
                return Response(status_code=204, headers=headers)
            try:
                response = await endpoint(request)
            except WebchatError as exc:
                response = _error_response(exc)
            except ClientDisconnect:
                raise  # gone, or cut off at the body limit (which answers 413): nothing to log or answer
            except Exception:
                log.exception("webchat %s %s failed", request.method, request.url.path)
                response = _error_response(WebchatError("server_error", "Something went wrong. Please try again.", 500))
            renewed = getattr(request.state, "renewed_token", None)
            if renewed is not None:
                headers |= {RENEWED_TOKEN_HEADER: renewed, "Access-Control-Expose-Headers": RENEWED_TOKEN_HEADER}
            response.headers.update(headers)
            return response

        return wrapped

    async def session(self, request: Request) -> Response:
        """A new visitor token, or the same session for a token that is still good. With `"cookie": true` (the
        widget on the site's own pages) the visitor's session cookie is used when no good token is presented, and is
        set to the session returned: the help center's ticket form and the widget are then one visitor."""
        presented = _bearer(request)
        body = await _json_body(request, required=False)
        if presented is None:
            presented = body.get("token") if isinstance(body.get("token"), str) else None
        linked = body.get("cookie") is True
        candidates = [presented, request.cookies.get(SESSION_COOKIE) if linked else None]
        session_id, token, resumed = "", "", False
        for candidate in candidates:
            grant = await self._grant(candidate) if candidate else None
            if grant is not None and candidate is not None:
                session_id, token, resumed = grant.session_id, grant.renewed_token or candidate, True
                break
        if not resumed:
            session_id, token = self._tokens.issue()
        response = JSONResponse({"session": session_id, "token": token, "resumed": resumed})
        if linked:
            self.set_session_cookie(request, response, token)
        return response

    async def cookie_session(self, request: Request) -> SessionGrant | None:
        """The visitor's session by its cookie (the no-JavaScript pages' identity), if genuine, unexpired, unrevoked."""
        token = request.cookies.get(SESSION_COOKIE)
        return await self._grant(token) if token else None

    def new_session(self) -> tuple[str, str]:
        """A new visitor session: its id and token."""
        return self._tokens.issue()

    def set_session_cookie(self, request: Request, response: Response, token: str) -> None:
        """Keep the visitor's token in an HttpOnly cookie, as long as the token lives."""
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(self._tokens.ttl_seconds),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )

    def form_token(self, session_id: str) -> str:
        """The anti-forgery token a page's form carries for the session (`SessionTokens.form_token`)."""
        return self._tokens.form_token(session_id)

    async def history(self, request: Request) -> Response:
        """The session's redacted transcript, oldest first."""
        session_id = await self.authorized(request)
        limit = _int_param(request, "limit", self._limits.history_limit, 1, self._limits.history_limit)
        messages = await self._desk.history(CHANNEL, session_id, limit)
        return JSONResponse({"session": session_id, "messages": [self.message_json(session_id, m) for m in messages]})

    async def messages(self, request: Request) -> Response:
        """The HTTP fallback for a message frame: returns the ack once the desk has handled it."""
        session_id = await self.authorized(request)
        body = await _json_body(request, required=True)
        return JSONResponse(await self._accept(session_id, body, request.query_params.get("lang")))

    async def poll(self, request: Request) -> Response:
        """Messages after `after` (a transcript id); with `wait`, held open until a reply arrives or time runs out."""
        session_id = await self.authorized(request)
        after = _int_param(request, "after", 0, 0, 2**62)
        wait = min(_float_param(request, "wait", 0.0), self._limits.max_poll_wait_seconds)
        with self._channel.watch(session_id) as replied:
            messages = await self._messages_after(session_id, after)
            if not messages and wait > 0 and not self._channel.closing:
                await _wait_for_reply(request, replied, wait)
                messages = await self._messages_after(session_id, after)
        return JSONResponse({"session": session_id, "messages": messages})

    async def attachments(self, request: Request) -> Response:
        """A PNG or JPEG screenshot (multipart field `file`, or the raw body) for the session's open ticket, handed
        to the desk as a photo. Refused before anything is written unless a ticket is open, the image decodes, and
        the session's and the server's disk quotas have room."""
        session_id = await self.authorized(request)
        self.check_rate(session_id)
        lang = _lang(request.query_params.get("lang"))
        if self._store is not None and await self._store.open_ticket_for(CHANNEL, session_id) is None:
            raise WebchatError("no_ticket", _NO_TICKET[lang or "en"], 409)
        data = await self._upload_bytes(request)
        mime = await self.screenshot_type(data)
        return JSONResponse(await self.add_screenshot(session_id, data, mime, lang), status_code=201)

    async def screenshot_type(self, data: bytes) -> str:
        """The type of a screenshot within the size limit that decodes as PNG or JPEG; WebchatError otherwise."""
        if len(data) > self._limits.max_attachment_bytes:
            limit_mb = self._limits.max_attachment_bytes // (1024 * 1024)
            raise WebchatError("too_large", f"Screenshots can be at most {limit_mb} MB.", 413)
        if not data:
            raise WebchatError("bad_request", "The screenshot is empty.")
        mime = await asyncio.to_thread(_decoded_image_type, data, self._limits.max_image_pixels)
        if mime is None:
            raise WebchatError("unsupported_type", "Only PNG and JPEG screenshots can be attached.", 415)
        return mime

    async def add_screenshot(self, session_id: str, data: bytes, mime: str, lang: Lang | None) -> dict[str, Any]:
        """Keep a checked screenshot within the disk quotas and hand it to the desk as a photo; returns its ack."""
        folder = self._attachments_dir / session_id
        await self._reserve_disk(folder, len(data))
        attachment_id = uuid.uuid4().hex
        path = folder / f"{attachment_id}.{_IMAGE_EXTENSIONS[mime]}"
        try:
            await asyncio.to_thread(_write_new_file, path, data)
        except OSError:
            self._attachment_bytes = None  # recount next time
            raise
        client_id = f"att-{attachment_id}"
        message = visitor_message(session_id, client_id, "", lang, (Attachment("photo", str(path), mime),))
        return await self.handle(session_id, message, client_id)

    async def _reserve_disk(self, folder: Path, size: int) -> None:
        """Count `size` bytes against the session's and the total quota, or refuse with 507."""
        if self._attachment_bytes is None:
            self._attachment_bytes = await asyncio.to_thread(_folder_bytes, self._attachments_dir)
        session_bytes = await asyncio.to_thread(_folder_bytes, folder)
        if session_bytes + size > self._limits.max_session_attachment_bytes:
            raise WebchatError("quota", "This chat has reached its limit for screenshots.", 507)
        if self._attachment_bytes + size > self._limits.max_total_attachment_bytes:
            log.warning("webchat screenshot refused: the attachments folder is at its quota")
            raise WebchatError("quota", "Screenshots cannot be accepted right now. Please try again later.", 507)
        self._attachment_bytes += size

    async def _upload_bytes(self, request: Request) -> bytes:
        limit = self._limits.max_attachment_bytes
        too_large = WebchatError("too_large", f"Screenshots can be at most {limit // (1024 * 1024)} MB.", 413)
        declared = request.headers.get("content-length")
        # Multipart adds a little framing around the file, so allow for it before reading the body.
        if declared is not None and declared.isdigit() and int(declared) > limit + 64 * 1024:
            raise too_large
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            # The form parser spools a whole body to disk before we see it: only a declared, bounded one is parsed.
            if declared is None:
                raise WebchatError("length_required", "Send the upload with a Content-Length.", 411)
            async with request.form(max_files=1, max_fields=4) as form:
                upload = form.get("file")
                if not isinstance(upload, UploadFile):
                    raise WebchatError("bad_request", "Send the screenshot in the form field 'file'.")
                data = await upload.read(limit + 1)
        else:
            chunks: list[bytes] = []
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large
                chunks.append(chunk)
            data = b"".join(chunks)
        if len(data) > limit:
            raise too_large
        return data

    # -- the WebSocket -------------------------------------------------------------------------------------------

    async def websocket(self, socket: WebSocket) -> None:
        """`/ws/webchat?lang=..`: an auth frame first (`{"type": "auth", "token": ...}`: never the URL, which logs
        and proxies record), then message frames in; hello, token, ack, typing, reply and error frames out."""
        if not self._origin_allowed(socket):
            await socket.close(code=1008)  # before accepting: the handshake is refused with 403
            return
        await socket.accept()
        if self._channel.closing:
            await socket.close(code=CLOSE_RESTARTING)
            return
        with self._channel.authenticating(socket):
            token = await self._auth_frame(socket)
        grant = await self._grant(token) if token else None
        if grant is None:
            with contextlib.suppress(Exception):
                await socket.close(code=CLOSE_BAD_TOKEN, reason="invalid token")
            return
        session_id = grant.session_id
        if self._channel.closing:  # the shutdown began while the visitor was authenticating
            await socket.close(code=CLOSE_RESTARTING)
            return
        if self._channel.open_sockets(session_id) >= self._limits.max_sockets_per_session:
            await socket.close(code=CLOSE_TOO_MANY_SOCKETS, reason="too many connections")
            return
        self._channel.connect(session_id, socket)
        lang = socket.query_params.get("lang")
        try:
            await self._channel.send_frame(socket, {"type": "hello", "session": session_id})
            if grant.renewed_token is not None:
                token = grant.renewed_token
                await self._channel.send_frame(socket, {"type": "token", "token": token})
            while True:
                event = await socket.receive()
                if event["type"] == "websocket.disconnect":
                    break
                current = await self._grant(token or "")
                if current is None:  # expired or revoked while connected
                    await socket.close(code=CLOSE_BAD_TOKEN, reason="session expired or revoked")
                    break
                if current.renewed_token is not None:
                    token = current.renewed_token
                    await self._channel.send_frame(socket, {"type": "token", "token": token}, session_id)
                await self._on_frame(socket, session_id, event.get("text"), lang)
        except WebSocketDisconnect:
            pass
        finally:
            self._channel.disconnect(session_id, socket)

    async def _auth_frame(self, socket: WebSocket) -> str | None:
        """The token of the socket's first frame, or None (no frame in time, or not an auth frame)."""
        try:
            event = await asyncio.wait_for(socket.receive(), AUTH_FRAME_SECONDS)
        except (TimeoutError, WebSocketDisconnect, RuntimeError):  # RuntimeError: closed by stop() meanwhile
            return None
        raw = event.get("text")
        if not isinstance(raw, str) or len(raw) > 1024:
            return None
        try:
            frame = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(frame, dict) or frame.get("type") != "auth" or not isinstance(frame.get("token"), str):
            return None
        token: str = frame["token"]
        return token

    async def _on_frame(self, socket: WebSocket, session_id: str, raw: str | None, lang: str | None) -> None:
        client_id: str | None = None
        try:
            if raw is None:
                raise WebchatError("bad_frame", "Frames must be JSON text.")
            try:
                frame = json.loads(raw)
            except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
                raise WebchatError("bad_frame", "Frames must be JSON text.") from None
            if not isinstance(frame, dict):
                raise WebchatError("bad_frame", "A frame must be a JSON object.")
            if isinstance(frame.get("id"), str) and _CLIENT_ID.match(frame["id"]):
                client_id = frame["id"]
            kind = frame.get("type")
            if kind == "ping":
                await self._channel.send_frame(socket, {"type": "pong"}, session_id)
            elif kind == "message":
                await self._accept(session_id, frame, lang)  # its ack is pushed to every socket of the session
            else:
                raise WebchatError("bad_frame", "Unknown frame type.")
        except WebchatError as exc:
            await self._channel.send_frame(socket, exc.frame(client_id), session_id)
        except Exception:
            log.exception("webchat frame from session %s failed", session_id)
            error = WebchatError("server_error", "Something went wrong. Please try again.", 500)
            await self._channel.send_frame(socket, error.frame(client_id), session_id)

    # -- shared ------------------------------------------------------------------------------------------------

    async def _accept(self, session_id: str, frame: Mapping[str, Any], lang: str | None) -> dict[str, Any]:
        """Validate a message frame, hand it to the desk, and return its ack."""
        client_id = frame.get("id")
        text = frame.get("text")
        if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
            raise WebchatError("bad_frame", "A message needs an id of up to 64 letters, digits or -_.:")
        if not isinstance(text, str):
            raise WebchatError("bad_frame", "A message needs a text.")
        if not text.strip():
            raise WebchatError("empty", "The message is empty.")
        if len(text) > self._limits.max_text_chars:
            raise WebchatError("too_long", f"Messages can be at most {self._limits.max_text_chars} characters.", 413)
        self.check_rate(session_id)
        message = visitor_message(session_id, client_id, text, _lang(frame.get("lang", lang)))
        return await self.handle(session_id, message, client_id)

    async def handle(self, session_id: str, message: InboundMessage, client_id: str) -> dict[str, Any]:
        """Hand a visitor's message to the desk; push and return its ack (with the stored, redacted text)."""
        await self._channel.push(session_id, {"type": "typing"})
        await self._desk.handle(message)
        stored = await self._desk.stored_inbound(message)
        ack = {
            "type": "ack",
            "id": client_id,
            "message_id": stored.id if stored else None,
            "text": self._visible_text(session_id, stored.text) if stored else None,
        }
        # The sender and the visitor's other tabs all learn the stored (redacted) message, however it was sent.
        await self._channel.push(session_id, ack)
        return ack

    def check_rate(self, session_id: str) -> None:
        """WebchatError (429) when the session sends faster than its limit."""
        wait = self._rate.retry_after(session_id)
        if wait:
            raise WebchatError(
                "rate_limited", "You are sending messages too quickly. Please wait a moment.", 429, retry_after=wait
            )

    async def _messages_after(self, session_id: str, after: int) -> list[dict[str, Any]]:
        messages = await self._desk.history(CHANNEL, session_id, self._limits.history_limit, after)
        return [self.message_json(session_id, m) for m in messages]

    def message_json(self, session_id: str, message: StoredMessage) -> dict[str, Any]:
        prefix = f"{session_id}:"
        platform_id = message.platform_message_id
        return {
            "id": message.id,
            "direction": message.direction,
            "text": self._visible_text(session_id, message.text),
            "created_at": message.created_at.isoformat(),
            "suggestions": [{"label": c.label, "payload": c.payload} for c in message.suggestions],
            "agent": message.agent,
            "client_id": platform_id[len(prefix) :] if platform_id and platform_id.startswith(prefix) else None,
        }

    def _visible_text(self, session_id: str, text: str) -> str:
        # The transcript names a screenshot by its server path; the visitor needs only the file name.
        return text.replace(f"{self._attachments_dir / session_id}/", "")

    async def authorized(self, request: Request) -> str:
        """The session of the request's bearer token; a 401 error without a good one."""
        token = _bearer(request)
        grant = await self._grant(token) if token else None
        if grant is None:
            raise WebchatError("unauthorized", "The chat session is missing, expired or revoked.", 401)
        if grant.renewed_token is not None:
            request.state.renewed_token = grant.renewed_token  # sent back in a header by `cors`
        return grant.session_id

    async def _grant(self, token: str) -> SessionGrant | None:
        """A genuine, unexpired token of a session nobody revoked."""
        grant = self._tokens.check(token)
        if grant is None:
            return None
        if self._store is not None and await self._store.webchat_session_revoked(grant.session_id):
            return None
        return grant

    def _origin_allowed(self, connection: HTTPConnection) -> bool:
        """No Origin (not a browser), the page's own host, or a configured origin."""
        origin = connection.headers.get("origin")
        if origin is None:
            return True
        normal = _normal_origin(origin)
        # Host only, not scheme: behind a TLS-terminating proxy the server sees http for an https page.
        if urlsplit(normal).netloc == connection.headers.get("host", "").lower():
            return True
        return normal in self._allowed_origins


async def _wait_for_reply(request: Request, replied: asyncio.Event, seconds: float) -> None:
    """Until a reply is sent, `seconds` pass, or the client goes away (a held poll must not outlive its visitor)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not replied.is_set() and not await request.is_disconnected():
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(replied.wait(), min(1.0, remaining))


def _normal_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


async def _json_body(request: Request, *, required: bool) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip() and not required:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        raise WebchatError("bad_request", "The body must be JSON.") from None
    if not isinstance(body, dict):
        raise WebchatError("bad_request", "The body must be a JSON object.")
    return body


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return max(low, min(high, int(raw)))
    except ValueError:
        raise WebchatError("bad_request", f"'{name}' must be a whole number.") from None


def _float_param(request: Request, name: str, default: float) -> float:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise WebchatError("bad_request", f"'{name}' must be a number.") from None
    return value if value == value and value > 0 else 0.0  # NaN and negatives mean "do not wait"


def _error_response(error: WebchatError) -> JSONResponse:
    headers = dict(_API_HEADERS)
    if error.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(error.retry_after)))
    return JSONResponse(error.frame(), status_code=error.status, headers=headers)


_NO_TICKET: Mapping[Lang, str] = MappingProxyType(
    {
        "en": "You can attach screenshots once a ticket is open. Type /human to open one.",
        "zh": "创建工单后才能上传截图。输入 /human 创建工单。",
    }
)


def _decoded_image_type(data: bytes, max_pixels: int) -> str | None:
    """`image/png` or `image/jpeg` when the bytes decode as such an image (a valid header is not enough), else None.
    Runs in a worker thread: decoding a 5 MB image takes tens of milliseconds."""
    mime = _image_type(data)
    if mime is None:
        return None
    formats = [_PILLOW_FORMATS[mime]]
    try:
        with Image.open(io.BytesIO(data), formats=formats) as image:
            width, height = image.size
            if width * height > max_pixels:
                return None
            image.verify()  # the file's structure and checksums (a PNG's chunk CRCs, its end)
        with Image.open(io.BytesIO(data), formats=formats) as image:
            image.load()  # and the whole pixel data: truncated or corrupt files raise here
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return mime


def _folder_bytes(folder: Path) -> int:
    """The size of the files under `folder` (0 when it does not exist)."""
    total = 0
    with contextlib.suppress(FileNotFoundError):
        for entry in folder.rglob("*"):
            with contextlib.suppress(OSError):
                if entry.is_file():
                    total += entry.stat().st_size
    return total


def _write_new_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") as file:
        file.write(data)


def _image_type(data: bytes) -> str | None:
    """The image type by its first bytes: what the visitor's browser claims is not trusted."""
    if data.startswith(_PNG_MAGIC):
        return "image/png"
    if data.startswith(_JPEG_MAGIC):
        return "image/jpeg"
    return None


def _lang(value: object) -> Lang | None:
    """`en`/`zh` from a browser language tag such as `zh-CN` or `en-GB`."""
    if not isinstance(value, str):
        return None
    tag = value.strip().lower()
    if tag.startswith("zh"):
        return "zh"
    if tag.startswith("en"):
        return "en"
    return None
