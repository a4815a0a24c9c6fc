"""Checkpoints the WAL from a connection and thread of its own, so the writer never waits on the checkpoint's fsync."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)
CHECKPOINT_INTERVAL_SECONDS = 1.0
# Past this many WAL frames (4 KB each), a RESTART follows the PASSIVE checkpoint so the WAL starts over. Under
# steady writes a PASSIVE checkpoint never finds the WAL quiet, so on its own it would let the file grow forever.
RESTART_AFTER_FRAMES = 1_000
RESTART_PATIENCE_MS = 20


class WalCheckpointer:
    """Every interval: copy the WAL into the database (PASSIVE: writers go on meanwhile), then, once the WAL is
    long, RESTART it; that holds writers back only for the few frames written since the PASSIVE step.

    SQLite's own automatic checkpoint runs inside a writer's commit, fsyncs included: a few milliseconds' stall
    for every message waiting behind it. The writer's connection turns it off (`wal_autocheckpoint = 0`).
    """

    def __init__(self, path: str | Path, interval: float = CHECKPOINT_INTERVAL_SECONDS) -> None:
        self._path = str(path)
        self._interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()  # set to check now: on stop, or when the WAL must be truncated
        self._truncate = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"checkpoint:{Path(path).name}", daemon=True)
        self.restarts = 0
        self.truncations = 0

    def start(self) -> None:
        """Begin checkpointing in the background."""
        self._thread.start()

    def truncate_soon(self) -> None:
        """Copy the WAL into the database and truncate it to nothing, now rather than at the next interval.

        After rows were redacted in place (a seed phrase sent in parts), the WAL still holds their old text in the
        frames of earlier commits, and SQLite reuses that space only as the WAL wraps around."""
        self._truncate.set()
        self._wake.set()

    async def close(self) -> None:
        """Stop; the store's last connection to close checkpoints what is left."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        db = sqlite3.connect(self._path, isolation_level=None)
        try:
            # RESTART holds writers back while it waits for readers (an agent's long `omnidesk report`, say): give up
            # within a few milliseconds and try again next round rather than stall every message meanwhile.
            db.execute(f"PRAGMA busy_timeout = {RESTART_PATIENCE_MS}")
            while True:
                self._wake.wait(self._interval)
                self._wake.clear()
                if self._stop.is_set():
                    break
                try:
                    self._checkpoint(db)
                except sqlite3.Error as exc:  # e.g. busy past the timeout: the next round tries again
                    log.warning("WAL checkpoint of %s failed: %s", self._path, exc)
        finally:
            db.close()

    def _checkpoint(self, db: sqlite3.Connection) -> None:
        if self._truncate.is_set():
            self._truncate.clear()
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:  # a reader held it back: the next round tries again
                self._truncate.set()
            else:
                self.truncations += 1
            return
        _, frames, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames > RESTART_AFTER_FRAMES:
            db.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self.restarts += 1
