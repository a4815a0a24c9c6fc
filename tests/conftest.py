"""Shared fixtures: the shipped knowledge base and a router built from the shipped config, both built once."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.app.config import Config, load_config
from bot.app.wiring import Core, build_core
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.security.secret_scanner import SecretScanner
from tests.fakes.wiring import with_store
from tests.pg_cluster import PgCluster, pg_cluster

ROOT = Path(__file__).resolve().parent.parent
# The app `omnidesk run` serves, as the `served` and `http` fixtures of the help center's tests.
pytest_plugins = ["tests.served_app"]


def pytest_configure(config: pytest.Config) -> None:
    """The desk, channel and store tests (and the `omnidesk` processes they start) rank lexically: they test the
    desk, not understanding, and the encoder adds tens of ms per message. tests/test_understanding.py and
    tests/test_run.py use the shipped default, e5."""
    os.environ.setdefault("OMNIDESK_ENCODER", "none")
    # The `omnidesk` processes tests start import this checkout's code, not an editable install made from another
    # checkout (a git worktree): the script's folder, not the working directory, is first on their sys.path.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config(ROOT / "config.yaml", env={"OMNIDESK_ENCODER": os.environ["OMNIDESK_ENCODER"]})


@pytest.fixture(scope="session")
def core(config: Config) -> Core:
    return build_core(config)


@pytest.fixture(scope="session")
def kb(core: Core) -> KnowledgeBase:
    return core.kb


@pytest.fixture
def db_config(config: Config, tmp_path: Path) -> Config:
    """The shipped config with the store in the test's own folder."""
    return with_store(config, tmp_path / "omnidesk.db")


@pytest.fixture(scope="session")
def scanner(core: Core) -> SecretScanner:
    return core.scanner


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgCluster]:
    """One throw-away PostgreSQL cluster for the whole run (started on first use)."""
    with pg_cluster() as cluster:
        yield cluster


_DATABASE_NUMBERS = itertools.count(1)


async def new_pg_database(pg_server: PgCluster) -> str:
    """The URL of a new, empty database on the cluster."""
    name = f"test_{next(_DATABASE_NUMBERS)}"
    admin = await asyncpg.connect(pg_server.url())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return pg_server.url(name)


@pytest.fixture
async def pg_url(pg_server: PgCluster) -> str:
    """The URL of a new, empty database of the test's own."""
    return await new_pg_database(pg_server)
