"""Open the store the configuration names: PostgreSQL when `store.url` is set, else SQLite at `store.path`."""

from __future__ import annotations

from datetime import timedelta

from bot.store.port import StorePort
from bot.store.records import StoreError

POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


async def open_store(
    url: str, path: str, *, lease_new_outbox: bool = True, outbox_lease: timedelta = timedelta(seconds=30)
) -> StorePort:
    """The store at `url` (PostgreSQL) or, when `url` is empty, the SQLite file at `path`.

    A bad URL or an unreachable database raises StoreError with one line saying which; `lease_new_outbox=False`
    for a process that only queues replies for the running instances (the agent CLI)."""
    if not url:
        from bot.store.store import Store

        return await Store.open(path)
    if not url.startswith(POSTGRESQL_SCHEMES):
        raise StoreError(f"store.url must be a postgresql://user:password@host:port/database URL, not {url[:40]!r}")
    from bot.store.pg_store import PgStore  # asyncpg is loaded only for PostgreSQL

    return await PgStore.open(url, lease_new_outbox=lease_new_outbox, outbox_lease=outbox_lease)


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
