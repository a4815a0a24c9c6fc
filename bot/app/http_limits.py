"""Request body limits for every HTTP endpoint, enforced while the body is read and before anything parses it.

Starlette reads a whole body into memory on `request.body()` and every framework parser after it (JSON, forms,
slack-bolt's) does the same, whatever its size: an unauthenticated 20 MB body cost seconds of CPU and hundreds of
megabytes before any signature was looked at. This ASGI middleware refuses a declared `Content-Length` past the
limit without reading a byte, and counts a chunked body as the app reads it, stopping it at the limit: no body
larger than the limit is ever held, and an endpoint that refuses early (no ticket, bad token) reads none of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """ASGI middleware: at most `limits[path]` bytes of body (else `default` bytes), or 413 before the app runs."""

    def __init__(self, app: ASGIApp, default: int, limits: Mapping[str, int] | None = None) -> None:
        self._app = app
        self._default = default
        self._limits = MappingProxyType(dict(limits or {}))

    def limit_for(self, path: str) -> int:
        """The body limit of one path."""
        return self._limits.get(path, self._default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared == -1:
            await _refuse(send, 400, "bad_request", "The Content-Length header is not a number.")
            return
        if declared is not None and declared > limit:
            await _refuse(send, 413, "too_large", f"The body can be at most {limit} bytes.")
            return
        # Not buffered here: an endpoint may refuse before reading anything (a widget upload without a ticket).
        # Past the limit, the app is told the client went away (so it stops reading), its answer is dropped, and
        # the client gets the 413.
        received = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def answered(message: Message) -> None:
            nonlocal started
            if exceeded:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._app(scope, counted, answered)
        except Exception:
            if not exceeded:
                raise
            # The app failed on the cut-off body (a disconnect mid-parse): that is the 413 below, not an error.
        if exceeded and not started:
            await _refuse(send, 413, "too_large", f"The body can be at most {limit} bytes.")


def _content_length(scope: Scope) -> int | None:
    """The declared length; None when absent (chunked), -1 when it is not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 19 else -1
    return None


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"type": "error", "code": code, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The unread rest of the body would otherwise have to be drained before the next request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
