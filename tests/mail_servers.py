"""Real mail servers on loopback for the email tests: a throw-away Dovecot (IMAP) and aiosmtpd (SMTP).

Dovecot gets a generated config in a temporary folder: plaintext login on 127.0.0.1 and a free port, one
passwd-file user, maildir storage, no TLS. As root (CI) its internal and login processes run as Debian's `dovecot`
and `dovenull` users and mail is stored as `dovecot`; otherwise everything runs as the current user.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.fakes.loopback import free_port

DOVECOT = Path("/usr/sbin/dovecot")
MAIL_USER = "support@example.com"
MAIL_PASSWORD = "imap-test-password"


@dataclass
class Dovecot:
    """A running Dovecot serving one mailbox (on `tls_port` too, with implicit TLS, when started with a cert)."""

    port: int
    folder: Path
    process: subprocess.Popen[bytes]
    tls_port: int = 0

    def append(self, raw: bytes) -> int:
        """Deliver a mail into the INBOX (IMAP APPEND, as a mail server's delivery would); returns its UID."""
        client = imaplib.IMAP4("127.0.0.1", self.port)
        try:
            client.login(MAIL_USER, MAIL_PASSWORD)
            status, data = client.append("INBOX", None, None, raw)
            assert status == "OK", data
            text = data[0].decode() if data and isinstance(data[0], bytes) else ""
            return int(text.split("APPENDUID ")[1].split()[1].rstrip("]")) if "APPENDUID" in text else 0
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def log(self) -> str:
        """Dovecot's own log, for failure messages."""
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _ids() -> tuple[str, str, str, str]:
    """(internal user, internal group, login user, mail user) Dovecot runs as here."""
    if os.geteuid() == 0:
        return "dovecot", "dovecot", "dovenull", "dovecot"
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    return user, group, user, user


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost and its key, made with Debian's openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"]
    names = "subjectAltName=IP:127.0.0.1,DNS:localhost"
    subprocess.run(
        ["openssl", *arguments, "-addext", names, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@contextlib.contextmanager
def dovecot(tls: tuple[Path, Path] | None = None) -> Iterator[Dovecot]:
    """Start a throw-away Dovecot (with STARTTLS and an implicit-TLS port when given a cert and key); stopped and
    removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="omnidesk-dovecot-"))
    folder.chmod(0o755)  # Dovecot's own users must reach the mail folder below
    internal_user, internal_group, login_user, mail_user = _ids()
    mail_uid = pwd.getpwnam(mail_user).pw_uid
    mail_gid = pwd.getpwnam(mail_user).pw_gid
    for name in ("run", "state", "mail"):
        (folder / name).mkdir()
    if os.geteuid() == 0:
        for name in ("state", "mail"):
            os.chown(folder / name, mail_uid, mail_gid)
    (folder / "passwd").write_text(f"{MAIL_USER}:{{PLAIN}}{MAIL_PASSWORD}\n")
    (folder / "passwd").chmod(0o644)
    port = free_port()
    tls_port = free_port() if tls else 0
    ssl_setting = f"ssl = yes\nssl_cert = <{tls[0]}\nssl_key = <{tls[1]}" if tls else "ssl = no"
    conf = folder / "dovecot.conf"
    conf.write_text(
        f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl_setting}
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
first_valid_gid = 1
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
mail_location = maildir:{folder}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={folder}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
"""
    )
    process = subprocess.Popen([str(DOVECOT), "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = Dovecot(port, folder, process, tls_port)
    try:
        _wait_listening(port, process, server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_listening(port: int, process: subprocess.Popen[bytes], server: Dovecot) -> None:
    import socket
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"dovecot exited: {output}\n{server.log()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen on {port}\n{server.log()}")


@dataclass
class SmtpInbox:
    """What OmniDesk's SMTP client delivered to the test server."""

    messages: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        parsed = message_from_bytes(data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.raw.append(data)
            self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        """Mails sent to `address`, oldest first."""
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]


@contextlib.contextmanager
def smtp_server(tls: ssl.SSLContext | None = None, *, implicit: bool = False) -> Iterator[tuple[SmtpInbox, int]]:
    """aiosmtpd on a free loopback port (its own thread); yields what it received and the port. With a TLS
    context: STARTTLS required, or TLS from the first byte when `implicit`."""
    inbox = SmtpInbox()
    port = free_port()
    options: dict[str, object] = {}
    if tls is not None:
        options = {"ssl_context": tls} if implicit else {"tls_context": tls, "require_starttls": True}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def dovecot_available() -> bool:
    """True when Dovecot is installed here (Debian's dovecot-imapd; `.ci/run` installs it)."""
    return DOVECOT.exists() and shutil.which("doveconf") is not None


async def to_thread_append(server: Dovecot, raw: bytes) -> int:
    """`Dovecot.append` without blocking the test's event loop."""
    return await asyncio.to_thread(server.append, raw)
