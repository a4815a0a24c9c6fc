"""`omnidesk migrate-store --to postgresql://...`: copy a SQLite desk into PostgreSQL, resumable, verified by counts.

Tables are copied parents first, in key order and in batches, each batch one transaction that skips rows already
there: a copy that was interrupted is simply run again and goes on where it stopped. The copy ends with a count of
every table on both sides; identity sequences are moved past the copied keys, so ticket numbers go on from the
highest one.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from asyncpg.pool import PoolConnectionProxy

from bot.store.pg_store import PgStore
from bot.store.records import StoreError
from bot.store.store import Store

BATCH_ROWS = 1000


@dataclass(frozen=True, slots=True)
class TableCopy:
    """One table: its key (rows are copied in its order; an integer key also says where a resumed copy goes on)."""

    name: str
    key: str
    integer_key: bool = True
    identity: bool = True  # the key is an identity column (its sequence must move past the copied keys)


# Parents before children (foreign keys): conversations -> messages, tickets -> events, ratings, attachments.
TABLES: tuple[TableCopy, ...] = (
    TableCopy("conversations", "id"),
    TableCopy("messages", "id"),
    TableCopy("tickets", "number"),
    TableCopy("ticket_events", "id"),
    TableCopy("csat_ratings", "ticket", identity=False),
    TableCopy("attachments", "id"),
    TableCopy("inbox", "id"),
    TableCopy("outbox", "id"),
    TableCopy("cursors", "name", integer_key=False, identity=False),
    TableCopy("webchat_revoked_sessions", "session_id", integer_key=False, identity=False),
    TableCopy("article_votes", "id"),
)
TEXT_COLUMNS_WITH_PATHS = {("attachments", "ref"), ("ticket_events", "detail"), ("messages", "text")}


@dataclass(frozen=True, slots=True)
class TableCount:
    """Rows of one table in the source, copied by this run, and in the target afterwards."""

    table: str
    source: int
    copied: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


async def migrate_store(
    sqlite_path: Path,
    url: str,
    old_attachments: Path | None = None,
    new_attachments: Path | None = None,
    progress: Callable[[str], None] = print,
) -> list[TableCount]:
    """Copy the desk at `sqlite_path` into the PostgreSQL database at `url` (its schema is created if needed).

    With `new_attachments`, widget screenshots under `old_attachments` are copied there and their paths rewritten
    (in the attachment rows, the audit log and the transcript), for instances that share that directory."""
    if not sqlite_path.exists():
        raise StoreError(f"no SQLite database at {sqlite_path} to migrate")
    # The source's schema first brought up to date (the copy reads today's columns).
    await (await Store.open(sqlite_path)).close()
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    source.row_factory = sqlite3.Row
    rewrite = _path_rewriter(old_attachments, new_attachments)
    target = await PgStore.open(url)  # connects, and creates or upgrades the schema under the migration lock
    try:
        counts = []
        async with target.pool.acquire() as db:
            for table in TABLES:
                copied = await _copy_table(source, db, table, rewrite)
                source_rows = int(source.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0])
                target_rows = int(await db.fetchval(f"SELECT count(*) FROM {table.name}"))
                counts.append(TableCount(table.name, source_rows, copied, target_rows))
                progress(f"{table.name:14s} source {source_rows:8d}  copied {copied:8d}  target {target_rows:8d}")
                if table.identity:
                    # Past the copied keys: new rows (ticket numbers above all) go on from the highest one.
                    await db.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{table.key}'), "
                        f"GREATEST((SELECT max({table.key}) FROM {table.name}), "
                        f"{1000 if table.name == 'tickets' else 0}) + 1, false)"
                    )
        if new_attachments is not None and old_attachments is not None and old_attachments.exists():
            copied_files = _copy_files(old_attachments, new_attachments)
            progress(f"attachments    {copied_files} files copied to {new_attachments}")
        return counts
    finally:
        await target.close()
        source.close()


async def _copy_table(
    source: sqlite3.Connection, db: PoolConnectionProxy, table: TableCopy, rewrite: Callable[[str, str, Any], Any]
) -> int:
    columns = [row["name"] for row in source.execute(f"PRAGMA table_info({table.name})")]
    last: Any = ""
    if table.integer_key:
        # Resume: the target's rows came from this source in key order, so go on after its highest key.
        highest = await db.fetchval(f"SELECT max({table.key}) FROM {table.name}")
        last = -1 if highest is None else int(highest)
    placeholders = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    insert = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) OVERRIDING SYSTEM VALUE VALUES ({placeholders}) "
        f"ON CONFLICT DO NOTHING"
        if table.identity
        else f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"
    )
    copied = 0
    while True:
        rows = source.execute(
            f"SELECT {', '.join(columns)} FROM {table.name} WHERE {table.key} > ? ORDER BY {table.key} LIMIT ?",
            (last, BATCH_ROWS),
        ).fetchall()
        if not rows:
            return copied
        records = [tuple(rewrite(table.name, column, row[column]) for column in columns) for row in rows]
        async with db.transaction():
            await db.executemany(insert, records)
        copied += len(records)
        last = rows[-1][table.key]


def _path_rewriter(old: Path | None, new: Path | None) -> Callable[[str, str, Any], Any]:
    """Converts SQLite's values to PostgreSQL's: ISO timestamps to datetimes, NUL to U+FFFD, and moved file paths."""
    old_prefix = f"{old.resolve()}/" if old is not None else None
    new_prefix = f"{new.resolve()}/" if new is not None else None

    def convert(table: str, column: str, value: Any) -> Any:
        if value is None:
            return None
        if column.endswith("_at"):
            return datetime.fromisoformat(value)
        if isinstance(value, str):
            if "\x00" in value:
                value = value.replace("\x00", "\ufffd")
            if old_prefix and new_prefix and (table, column) in TEXT_COLUMNS_WITH_PATHS:
                value = value.replace(old_prefix, new_prefix)
        return value

    return convert


def _copy_files(old: Path, new: Path) -> int:
    copied = 0
    for path in old.rglob("*"):
        if path.is_file():
            target = new / path.relative_to(old)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
                copied += 1
    return copied


def all_ok(counts: Sequence[TableCount]) -> bool:
    """True when every table has as many rows in the target as in the source."""
    return all(count.ok for count in counts)
