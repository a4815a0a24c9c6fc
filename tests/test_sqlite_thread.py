"""SqliteThread: one hop per call, group commit, a failing write rolled back alone, durable once acknowledged."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.sqlite_thread import DatabaseClosedError, SqliteThread


class Notes:
    """A one-table schema for the tests, used only on the database thread."""

    def __init__(self) -> None:
        self.db: sqlite3.Connection | None = None

    def setup(self, db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)")
        self.db = db

    def add(self, text: str) -> int:
        assert self.db is not None
        cursor = self.db.execute("INSERT INTO notes (text) VALUES (?)", (text,))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def add_two(self, first: str, second: str) -> None:
        self.add(first)
        self.add(second)

    def texts(self) -> list[str]:
        assert self.db is not None
        return [row[0] for row in self.db.execute("SELECT text FROM notes ORDER BY id")]


def committed(path: Path) -> list[str]:
    """What another connection sees: only committed rows."""
    with sqlite3.connect(path) as other:
        return [row[0] for row in other.execute("SELECT text FROM notes ORDER BY id")]


@pytest.fixture
async def notes(tmp_path: Path) -> AsyncIterator[tuple[SqliteThread, Notes, Path]]:
    path, notes = tmp_path / "notes.db", Notes()
    thread = SqliteThread(path, notes.setup)
    await thread.start()
    yield thread, notes, path
    await thread.close()


async def test_a_write_is_committed_when_its_caller_hears_back(notes: tuple[SqliteThread, Notes, Path]) -> None:
    thread, table, path = notes
    assert await thread.write(table.add, "first") == 1
    assert committed(path) == ["first"]


async def test_writes_that_queue_together_share_one_commit(notes: tuple[SqliteThread, Notes, Path]) -> None:
    thread, table, path = notes
    await thread.write(table.add, "warm-up")
    writes, groups = thread.writes, thread.groups
    await asyncio.gather(*(thread.write(table.add, f"note {n}") for n in range(50)))
    assert thread.writes - writes == 50
    assert thread.groups - groups < 50  # grouped: fewer commits than writes
    assert len(committed(path)) == 51


async def test_a_failing_write_in_a_group_is_rolled_back_alone(notes: tuple[SqliteThread, Notes, Path]) -> None:
    thread, table, path = notes
    results = await asyncio.gather(
        thread.write(table.add, "a"),
        thread.write(table.add_two, "b", "a"),  # "b" goes in, then "a" breaks UNIQUE: the whole call is undone
        thread.write(table.add, "c"),
        return_exceptions=True,
    )
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert results[0] == 1 and isinstance(results[2], int)
    assert committed(path) == ["a", "c"]


async def test_reads_see_earlier_writes_in_order(notes: tuple[SqliteThread, Notes, Path]) -> None:
    thread, table, _ = notes
    write = asyncio.ensure_future(thread.write(table.add, "x"))
    await asyncio.sleep(0)  # the write is queued
    assert await thread.read(table.texts) == ["x"]  # queued after the write, so it sees it
    await write


async def test_an_exception_reaches_its_caller_and_the_thread_lives_on(notes: tuple[SqliteThread, Notes, Path]) -> None:
    thread, table, _ = notes

    def broken() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await thread.read(broken)
    with pytest.raises(ValueError, match="boom"):
        await thread.write(broken)
    assert await thread.write(table.add, "still here") == 1


async def test_close_finishes_queued_calls_then_refuses_new_ones(notes: tuple[SqliteThread, Notes, Path]) -> None:
    thread, table, path = notes
    pending = [asyncio.ensure_future(thread.write(table.add, f"n{n}")) for n in range(5)]
    await asyncio.sleep(0)  # the calls are queued
    await thread.close()
    await asyncio.gather(*pending)
    assert len(committed(path)) == 5
    with pytest.raises(DatabaseClosedError):
        await thread.read(table.texts)
    await thread.close()  # twice is fine


async def test_a_setup_error_is_raised_by_start(tmp_path: Path) -> None:
    def setup(db: sqlite3.Connection) -> None:
        db.execute("THIS IS NOT SQL")

    thread = SqliteThread(tmp_path / "bad.db", setup)
    with pytest.raises(sqlite3.OperationalError, match="syntax error"):
        await thread.start()


async def test_the_wal_is_checkpointed_off_the_writer_and_starts_over(tmp_path: Path) -> None:
    from bot.store import Store
    from bot.store.checkpointer import RESTART_AFTER_FRAMES

    path = tmp_path / "omnidesk.db"
    store = await Store.open(path, checkpoint_interval=0.05)
    try:
        row = await store._thread.read(store._sql._one, "PRAGMA wal_autocheckpoint")
        assert row is not None and row[0] == 0
        for n in range(400):  # well past RESTART_AFTER_FRAMES frames of WAL
            await store.record_message("webchat", f"c{n % 7}", "in", f"message {n} " + "x" * 500)
        await asyncio.sleep(0.3)  # a few checkpoint rounds
        assert store._checkpointer.restarts >= 1
        await store.record_message("webchat", "c0", "in", "after the restart")
        with sqlite3.connect(path) as other:
            _, frames, _ = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            assert frames < RESTART_AFTER_FRAMES  # written from the start of the WAL again
            assert other.execute("SELECT count(*) FROM messages").fetchone()[0] == 401
    finally:
        await store.close()


async def test_a_locked_database_fails_the_call_not_the_thread(tmp_path: Path) -> None:
    path, table = tmp_path / "notes.db", Notes()

    def setup(db: sqlite3.Connection) -> None:
        table.setup(db)
        db.execute("PRAGMA busy_timeout = 50")

    thread = SqliteThread(path, setup)
    await thread.start()
    try:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process (say the agent CLI) holds the write lock
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await thread.write(table.add, "blocked")
        other.execute("ROLLBACK")
        other.close()
        assert await thread.write(table.add, "after") == 1
        assert await thread.read(table.texts) == ["after"]
    finally:
        await thread.close()


async def test_a_long_reader_does_not_hold_the_writer_up_through_the_checkpointer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.store import Store, checkpointer

    monkeypatch.setattr(checkpointer, "RESTART_AFTER_FRAMES", 20)  # every round tries a RESTART
    path = tmp_path / "omnidesk.db"
    store = await Store.open(path, checkpoint_interval=0.05)
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM messages").fetchone()  # an agent's report holding its snapshot
        loop = asyncio.get_running_loop()
        slowest = 0.0
        for n in range(12):
            for _ in range(10):
                started = loop.time()
                await store.record_message("webchat", "c0", "in", f"message {n} " + "x" * 2000)
                slowest = max(slowest, loop.time() - started)
            await asyncio.sleep(0.06)  # let a checkpoint round run
        # A RESTART waiting for the reader with the writer held back stalled a write for the whole busy timeout (5 s).
        assert slowest < 1.0
        reader.execute("COMMIT")
    finally:
        reader.close()
        await store.close()
