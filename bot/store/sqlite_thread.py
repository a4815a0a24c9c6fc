"""One SQLite connection on its own thread: each store call is one hop, and writes that queue up commit together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
# A bound on one group, so a steady stream of writes cannot hold its first caller's commit back for long.
MAX_GROUP = 64


class DatabaseClosedError(RuntimeError):
    """The connection was closed before the call ran."""


@dataclass(slots=True)
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    write: bool
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    outcome: tuple[bool, Any] = field(default=(False, None))  # (failed, result or exception)

    def run(self) -> None:
        try:
            self.outcome = (False, self.fn(*self.args))
        except BaseException as exc:  # handed to the caller, whatever it is; the thread lives on
            self.outcome = (True, exc)


def _settle_all(jobs: list[_Job]) -> None:
    """Hand each job's outcome to its caller (on the caller's event loop)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
    for job in jobs:
        by_loop.setdefault(job.loop, []).append(job)
    for loop, waiting in by_loop.items():
        # One wake-up of the loop per group, not one per job: each costs a write to the loop's self-pipe.
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            loop.call_soon_threadsafe(_set_outcomes, waiting)


def _set_outcomes(jobs: list[_Job]) -> None:
    for job in jobs:
        if job.future.cancelled():
            continue
        failed, value = job.outcome
        if failed:
            job.future.set_exception(value)
        else:
            job.future.set_result(value)


_CLOSE = object()


class SqliteThread:
    """Runs functions of a `sqlite3.Connection` on one thread, in order.

    `setup(db)` runs first, on the thread: it configures the connection and builds what the calls use (functions
    closing over `db`). `read(fn, ...)` runs `fn(...)` as is; `write(fn, ...)` runs it inside a transaction.
    Writes waiting in the queue together share one `BEGIN IMMEDIATE ... COMMIT` (group commit), each in its own
    savepoint, so one failing write is rolled back alone; every caller hears back only after the commit, so a write
    acknowledged is durable.
    """

    def __init__(self, path: str | Path, setup: Callable[[sqlite3.Connection], None]) -> None:
        self._path = str(path)
        self._setup = setup
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=f"sqlite:{Path(path).name}", daemon=True)
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._closing = False
        self.groups = 0  # commits made: writes / groups is the mean group size
        self.writes = 0

    async def start(self) -> None:
        """Open the connection on the thread and run `setup` (pragmas, migrations); raises what they raise."""
        self._thread.start()
        await asyncio.to_thread(self._ready.wait)
        if self._startup_error is not None:
            raise self._startup_error

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the database thread, outside any transaction."""
        return await self._submit(fn, args, write=False)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` inside a transaction; returns once it is committed (or raises, rolled back)."""
        return await self._submit(fn, args, write=True)

    async def close(self) -> None:
        """Finish the queued calls, then close the connection; safe to call twice."""
        if self._closing:
            return
        self._closing = True
        self._queue.put(_CLOSE)
        await asyncio.to_thread(self._thread.join)

    async def _submit(self, fn: Callable[..., T], args: tuple[Any, ...], write: bool) -> T:
        if self._closing:
            raise DatabaseClosedError("the database is closed")
        loop = asyncio.get_running_loop()
        job = _Job(fn, args, write, loop, loop.create_future())
        self._queue.put(job)
        result: T = await job.future
        return result

    # -- on the database thread ------------------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            # isolation_level=None: sqlite3 must not open transactions behind our back; we BEGIN explicitly.
            db = sqlite3.connect(self._path, isolation_level=None)
            try:
                self._setup(db)
            except BaseException:
                db.close()
                raise
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop(db)
        finally:
            db.close()

    def _loop(self, db: sqlite3.Connection) -> None:
        while True:
            job = self._queue.get()
            if job is _CLOSE:
                return
            assert isinstance(job, _Job)
            if not job.write:
                job.run()
                _settle_all([job])
                continue
            if self._commit_group(db, job):
                return

    def _commit_group(self, db: sqlite3.Connection, first: _Job) -> bool:
        """Run `first` and the jobs queued behind it in one transaction; True when a close request was met."""
        group, closing = [first], False
        try:
            db.execute("BEGIN IMMEDIATE")  # the write lock up front: a read-then-write cannot fail halfway
            # The first write needs no savepoint: if it fails, the transaction holds nothing else to keep.
            first.run()
            if first.outcome[0]:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                _settle_all(group)
                return False
            while len(group) < MAX_GROUP:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is _CLOSE:
                    closing = True
                    break
                assert isinstance(job, _Job)
                group.append(job)
                if job.write:
                    self._in_savepoint(db, job)
                else:
                    job.run()  # sees the group's writes, and hears back after the commit like them
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            # BEGIN, COMMIT or a savepoint failed (busy past the timeout, disk full, I/O error): nothing of the
            # group is kept, and each caller hears why (a job that failed on its own keeps its own error).
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            log.error("a group of %d database calls was rolled back: %s", len(group), exc)
            for job in group:
                if not job.outcome[0]:
                    job.outcome = (True, exc)
        self.groups += 1
        self.writes += sum(job.write for job in group)
        _settle_all(group)
        return closing

    @staticmethod
    def _in_savepoint(db: sqlite3.Connection, job: _Job) -> None:
        """Run a write so that its failure undoes it alone (raises if SQLite has already undone the transaction)."""
        db.execute("SAVEPOINT job")
        job.run()
        if job.outcome[0]:
            db.execute("ROLLBACK TO job")
        db.execute("RELEASE job")
