"""The app `omnidesk run` serves (every route, the widget included) on a free port, for the help center's tests:
`serve_app`, and the `served` and `http` fixtures (registered for every test by conftest's `pytest_plugins`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from bot.app.config import Config
from bot.app.server import running
from bot.app.wiring import Runtime
from tests.fakes.loopback import free_port, serving


@dataclass(frozen=True)
class Served:
    url: str
    runtime: Runtime


@asynccontextmanager
async def serve_app(config: Config) -> AsyncIterator[Served]:
    """What `omnidesk run` serves (every route, the widget included), on a free port that the config names too, so
    links to this server's own pages (the answers' "read more") point at it."""
    port = free_port()
    web = config.channels.webchat.model_copy(update={"port": port})
    config = config.model_copy(update={"channels": config.channels.model_copy(update={"webchat": web})})
    # Answers' "read more" links point at this server, as OMNIDESK_HELP_CENTER_URL would make them.
    config = config.model_copy(
        update={"brand": config.brand.model_copy(update={"help_center_url": f"http://127.0.0.1:{port}/help/"})}
    )
    async with running(config) as (runtime, app, _), serving(app, port=port, timeout_graceful_shutdown=2) as url:
        yield Served(url, runtime)


@pytest.fixture
async def served(db_config: Config) -> AsyncIterator[Served]:
    async with serve_app(db_config) as app:
        yield app


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.url, trust_env=False, timeout=30) as client:
        yield client
