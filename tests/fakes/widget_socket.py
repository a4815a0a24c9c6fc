"""Opening the widget's WebSocket as widget.js does: connect without credentials, then the token in the first frame."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


@asynccontextmanager
async def widget_socket(ws_url: str, token: str, **kwargs: Any) -> AsyncIterator[ClientConnection]:
    """A connected socket to `ws_url` (`.../ws/webchat`, optionally `?lang=`) that has sent its auth frame."""
    kwargs.setdefault("open_timeout", 5)
    async with connect(ws_url, proxy=None, **kwargs) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        yield ws
