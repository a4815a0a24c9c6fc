"""A throw-away PostgreSQL cluster for the tests: Debian's binaries, `initdb` + `pg_ctl` in a temp dir, listening on
127.0.0.1 and a free port, trust authentication. As root (CI) the server runs as the `postgres` system user, which
PostgreSQL requires."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.loopback import free_port

PG_BIN = Path(os.environ.get("OMNIDESK_PG_BIN", "/usr/lib/postgresql/15/bin"))


@dataclass(frozen=True, slots=True)
class PgCluster:
    """A running cluster: `url(database)` names one of its databases."""

    port: int
    data_dir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the `postgres` user when we are root."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def pg_cluster(durable: bool = False) -> Iterator[PgCluster]:
    """Start a cluster for the block, then stop it and delete its files; `durable` keeps PostgreSQL's defaults
    (fsync, synchronous commit) for benchmarks."""
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError(f"PostgreSQL binaries not found in {PG_BIN} (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="omnidesk-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    port = free_port()
    try:
        subprocess.run(
            _as_server_user(
                [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
            ),
            check=True,
            capture_output=True,
        )
        # Durability off and small buffers: a test cluster dies with its test; speed matters more here.
        options = f"-h 127.0.0.1 -p {port} -k {data} -c max_connections=300 -c shared_buffers=32MB"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            _as_server_user(
                [str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start"]
            ),
            check=True,
            capture_output=True,
        )
        yield PgCluster(port, data)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                _as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                capture_output=True,
            )
        shutil.rmtree(root, ignore_errors=True)
