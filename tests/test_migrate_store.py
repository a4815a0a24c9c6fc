"""`omnidesk migrate-store --to postgresql://...` on a desk with history: everything arrives, verified, resumable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bot.core.conversation import ConversationState
from bot.core.messages import Priority, Suggestion
from bot.store import Store, StorePort
from bot.store.pg_store import PgStore

ROOT = Path(__file__).resolve().parent.parent


def omnidesk(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = shutil.which("omnidesk", path=str(Path(sys.executable).parent)) or "omnidesk"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIDESK_")} | {"OMNIDESK_DB": str(db)}
    return subprocess.run([script, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


# A reply's choices and its agent (the transcript's columns the help center's widget reads) are copied too.
CHOICES_AND_AGENT = {1: {"suggestions": [{"label": "★★★★★", "payload": "5"}], "agent": "alice"}}


async def build_desk(path: Path, attachments: Path) -> None:
    async with await Store.open(path) as store:
        await store.cursor_set("webchat_session_secret", "ab" * 32)
        await store.cursor_set("telegram.offset", "1042")
        for n in range(30):  # more than nothing, and two of them with a NUL PostgreSQL's text cannot hold
            await store.complete_inbound(
                "webchat", f"m{n}", f"s{n % 4}", f"s{n % 4}", f"question {n}" + ("\x00" if n % 15 == 0 else ""), None,
                [{"text": f"answer {n}", "suggestions": [], "offer_human": False} | CHOICES_AND_AGENT.get(n, {})],
                ConversationState(lang_choice="zh", misses=n % 2, last_suggestions=(Suggestion("Human", "human"),)),
            )  # fmt: skip
        done = await store.open_ticket("telegram", "chat-1", "u1", "en", Priority.HIGH, "account", "human", "help")
        await store.claim(done.number, "alice")
        await store.add_agent_reply(done.number, "alice", "On it.")
        await store.resolve(done.number, "alice")
        await store.rate(done.number, 4)
        open_one = await store.open_ticket("webchat", "s1", "s1", "en", Priority.URGENT, None, "security", "hacked")
        screenshot = attachments / "s1" / "shot.png"
        screenshot.parent.mkdir(parents=True)
        screenshot.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 100)
        await store.add_attachment(open_one.number, "photo", str(screenshot), "image/png")
        await store.record_message("webchat", "s1", "in", f"[photo: {screenshot}]")
        await store.outbox_add("telegram", "chat-1", {"text": "pending, to be delivered after the move"})
        await store.add_article_vote("reset-2fa", True, "en")
        await store.add_article_vote("reset-2fa", False, "zh")


async def snapshot(store: StorePort) -> dict[str, object]:
    tickets = await store.list_tickets()
    return {
        "tickets": tickets,
        "events": [
            [(e.kind, e.actor, e.detail, e.created_at) for e in await store.ticket_events(t.number)] for t in tickets
        ],
        "ratings": [await store.rating(t.number) for t in tickets],
        "transcripts": [
            [
                (m.id, m.direction, m.text, m.created_at, m.suggestions, m.agent)
                for m in await store.transcript(("webchat", f"s{n}"))
            ]
            for n in range(4)
        ],
        "states": [await store.load_conversation_state(("webchat", f"s{n}")) for n in range(4)],
        "pending": [(i.id, i.payload) for i in await store.outbox_pending(100)],
        "cursors": [await store.cursor_get(name) for name in ("webchat_session_secret", "telegram.offset")],
        "votes": await store.article_votes(datetime(2000, 1, 1, tzinfo=UTC)),
    }


async def test_migrate_store_round_trip_is_complete_verified_and_resumable(tmp_path: Path, pg_url: str) -> None:
    db, old, new = tmp_path / "omnidesk.db", tmp_path / "attachments", tmp_path / "shared-attachments"
    await build_desk(db, old)
    async with await Store.open(db) as store:
        before = await snapshot(store)
        [attachment] = await store.attachments(1002)

    moved = omnidesk(db, "migrate-store", "--to", pg_url, "--attachments-dir", str(new))
    assert moved.returncode == 0, moved.stderr + moved.stdout
    assert "verified" in moved.stdout and "messages" in moved.stdout
    assert before["votes"] and any(m[4] and m[5] == "alice" for m in before["transcripts"][1])  # type: ignore[index]

    async with await PgStore.open(pg_url) as store:
        after = await snapshot(store)
        [copied] = await store.attachments(1002)
        for key in before:
            if key not in ("transcripts", "events"):
                assert after[key] == before[key], key

        # Text a user typed with a NUL keeps its place as U+FFFD; a screenshot's path now points at the shared copy.
        def moved(text: str | None) -> str | None:
            return None if text is None else text.replace("\x00", "\ufffd").replace(f"{old}/", f"{new}/")

        transcripts = [
            [(i, d, moved(t), at, offered, agent) for i, d, t, at, offered, agent in conversation]
            for conversation in before["transcripts"]  # type: ignore[attr-defined]
        ]
        events = [[(k, a, moved(d), at) for k, a, d, at in log] for log in before["events"]]  # type: ignore[attr-defined]
        assert (after["transcripts"], after["events"]) == (transcripts, events)
        assert (
            copied.ref == str(new / "s1" / "shot.png")
            and Path(copied.ref).read_bytes() == Path(attachment.ref).read_bytes()
        )

    # Interrupted half-way: the rows after some point are missing; running again copies exactly those.
    connection = await asyncpg.connect(pg_url)
    try:
        await connection.execute("DELETE FROM outbox")
        await connection.execute("DELETE FROM messages WHERE id > 20")
    finally:
        await connection.close()
    resumed = omnidesk(db, "migrate-store", "--to", pg_url, "--attachments-dir", str(new))  # the same options
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    lines = {line.split()[0]: line.split() for line in resumed.stdout.splitlines() if "copied" in line}
    assert lines["messages"][4] == str(int(lines["messages"][2]) - 20) and lines["tickets"][4] == "0"
    assert int(lines["messages"][2]) == 61 and lines["inbox"][2] == "30"
    async with await PgStore.open(pg_url) as store:
        assert await snapshot(store) == after
        # New tickets go on after the copied numbers.
        assert (await store.open_ticket("x", "new", "u", "en", Priority.NORMAL, None, None, "s")).number == 1003


def test_migrate_store_refuses_what_it_cannot_copy(tmp_path: Path) -> None:
    missing = omnidesk(tmp_path / "none.db", "migrate-store", "--to", "postgresql://u@127.0.0.1:1/x")
    assert missing.returncode == 2 and "no database at" in missing.stderr
    wrong = omnidesk(tmp_path / "none.db", "migrate-store", "--to", "sqlite:///x.db")
    assert wrong.returncode == 2 and "must be a postgresql://" in wrong.stderr
