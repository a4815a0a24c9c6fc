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
        self._thread = threading.Thread(target=self._run, name=f"checkpoint:{Path(path).name}", daemon=True)
        self.restarts = 0

    def start(self) -> None:
        """Begin checkpointing in the background."""
        self._thread.start()

    async def close(self) -> None:
        """Stop; the store's last connection to close checkpoints what is left."""
        self._stop.set()
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        db = sqlite3.connect(self._path, isolation_level=None)
        try:
            # RESTART holds writers back while it waits for readers (an agent's long `omnidesk report`, say): give up
            # within a few milliseconds and try again next round rather than stall every message meanwhile.
            db.execute(f"PRAGMA busy_timeout = {RESTART_PATIENCE_MS}")
            while not self._stop.wait(self._interval):
                try:
                    self._checkpoint(db)
                except sqlite3.Error as exc:  # e.g. busy past the timeout: the next round tries again
                    log.warning("WAL checkpoint of %s failed: %s", self._path, exc)
        finally:
            db.close()

    def _checkpoint(self, db: sqlite3.Connection) -> None:
        _, frames, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames > RESTART_AFTER_FRAMES:
            db.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self.restarts += 1
