"""Several `omnidesk run` processes on one PostgreSQL database, and nginx in front of them with the shipped config
(`deploy/nginx/omnidesk.conf`, its instance list replaced by the test's): real processes, real sockets."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.fakes.loopback import free_port
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.x_api import FakeXApi

ROOT = Path(__file__).resolve().parent.parent
NGINX = Path("/usr/sbin/nginx")
SHIPPED_NGINX_CONF = ROOT / "deploy" / "nginx" / "omnidesk.conf"


@dataclass
class Instance:
    """One running `omnidesk run`."""

    name: str
    port: int
    process: subprocess.Popen[str]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, its connections simply drop."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def leads(self) -> bool:
        """True once the instance logged that it won the pollers' election."""
        return "this instance leads" in self.output()


def omnidesk_env(database_url: str, attachments: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of an instance (or of the agent CLI) on the shared database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "X_", "OMNIDESK_"))}
    return env | {
        "OMNIDESK_ENCODER": os.environ.get("OMNIDESK_ENCODER", "none"),
        "OMNIDESK_DATABASE_URL": database_url,
        "OMNIDESK_ATTACHMENTS_DIR": str(attachments),
        **(extra or {}),
    }


def fake_platforms_env(
    telegram: FakeTelegramApi, x: FakeXApi, slack: FakeSlackApi, signing_secret: str
) -> dict[str, str]:
    """The environment that points an instance's Telegram, X and Slack clients at the fake servers."""
    return {
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_BASE_URL": telegram.base_url,
        "X_CONSUMER_KEY": x.consumer_key,
        "X_CONSUMER_SECRET": x.consumer_secret,
        "X_ACCESS_TOKEN": x.access_token,
        "X_ACCESS_TOKEN_SECRET": x.access_token_secret,
        "X_API_BASE_URL": x.base_url,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_AGENTS_CHANNEL": "agents",
        "SLACK_API_BASE_URL": slack.base_url,
    }


def omnidesk_cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    script = shutil.which("omnidesk", path=str(Path(sys.executable).parent)) or "omnidesk"
    return subprocess.run([script, *args], capture_output=True, text=True, cwd=ROOT, env=dict(env), timeout=120)


def start_instance(name: str, env: Mapping[str, str], folder: Path, config: Path | None = None) -> Instance:
    script = shutil.which("omnidesk", path=str(Path(sys.executable).parent)) or "omnidesk"
    port = free_port()
    log = folder / f"{name}.log"
    process = subprocess.Popen(
        [script, "run", *(["--config", str(config)] if config else [])],
        cwd=ROOT,
        env={**env, "OMNIDESK_PORT": str(port)},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    return Instance(name, port, process, log)


def wait_healthy(instances: Sequence[Instance], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    for instance in instances:
        while True:
            if instance.process.poll() is not None:
                raise RuntimeError(f"{instance.name} exited: {instance.output()[-3000:]}")
            try:
                if httpx.get(f"{instance.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{instance.name} did not start: {instance.output()[-3000:]}")
            time.sleep(0.2)


@contextmanager
def instances(count: int, env: Mapping[str, str], folder: Path, config: Path | None = None) -> Iterator[list[Instance]]:
    """`count` instances (named A, B, C, ...), healthy before the block; stopped after it."""
    started = [start_instance(chr(ord("A") + n), env, folder, config) for n in range(count)]
    try:
        wait_healthy(started)
        yield started
    finally:
        for instance in started:
            instance.stop()


def nginx_config(shipped: str, upstreams: Sequence[str], port: int, folder: Path) -> str:
    """The shipped server config with the test's instances and port, inside a minimal main config."""
    servers = "\n".join(f"    server {address} max_fails=1 fail_timeout=5s;" for address in upstreams)
    body, replaced = re.subn(r"# BEGIN instances.*?# END instances", servers, shipped, flags=re.S)
    assert replaced == 1, "the shipped nginx config lost its instance markers"
    body, replaced = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", body)
    assert replaced == 1
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\n"
        f"events {{ worker_connections 1024; }}\nhttp {{\n    access_log off;\n{temp}\n{body}\n}}\n"
    )


@contextmanager
def nginx(upstreams: Sequence[str], folder: Path) -> Iterator[str]:
    """A real nginx on a free port in front of `upstreams`; yields its base URL."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text(nginx_config(SHIPPED_NGINX_CONF.read_text(), upstreams, port, folder))
    checked = subprocess.run([str(NGINX), "-t", "-p", str(folder), "-c", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [str(NGINX), "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
