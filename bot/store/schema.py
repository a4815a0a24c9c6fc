"""The database schema as numbered migrations, and the code that applies them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from bot.store.records import StoreError

# Each script upgrades the schema by one version; PRAGMA user_version records how many have been applied.
# Never edit a released script: append a new one instead.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        channel_user_id TEXT,
        lang TEXT,
        lang_choice TEXT,
        state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'inactive')),
        misses INTEGER NOT NULL DEFAULT 0,
        last_suggestions TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (channel, conversation_id)
    );

    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation INTEGER NOT NULL REFERENCES conversations (id),
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        text TEXT NOT NULL,
        platform_message_id TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages (conversation, id);

    -- AUTOINCREMENT so a number users have quoted is never reused; sqlite_sequence is seeded below.
    CREATE TABLE tickets (
        number INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation INTEGER NOT NULL REFERENCES conversations (id),
        channel TEXT NOT NULL,
        channel_user_id TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open'
            CHECK (status IN ('open', 'claimed', 'waiting_user', 'resolved', 'cancelled')),
        priority TEXT NOT NULL CHECK (priority IN ('normal', 'high', 'urgent')),
        category TEXT,
        reason TEXT,
        summary TEXT NOT NULL,
        assignee TEXT,
        lang TEXT NOT NULL,
        created_at TEXT NOT NULL,
        claimed_at TEXT,
        first_reply_at TEXT,
        resolved_at TEXT,
        slack_ts TEXT
    );
    -- The first ticket is #1001: short enough to quote, and not mistaken for a count.
    INSERT INTO sqlite_sequence (name, seq) VALUES ('tickets', 1000);
    -- At most one unfinished ticket per conversation, even when two messages escalate at once.
    CREATE UNIQUE INDEX tickets_one_open_per_conversation ON tickets (conversation)
        WHERE status NOT IN ('resolved', 'cancelled');
    CREATE INDEX tickets_by_status ON tickets (status, number);
    CREATE INDEX tickets_by_created_at ON tickets (created_at);

    CREATE TABLE ticket_events (
        id INTEGER PRIMARY KEY,
        ticket INTEGER NOT NULL REFERENCES tickets (number),
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        detail TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket, id);

    CREATE TABLE csat_ratings (
        ticket INTEGER NOT NULL UNIQUE REFERENCES tickets (number),
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
        created_at TEXT NOT NULL
    );

    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        platform_message_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL,
        handled_at TEXT,
        UNIQUE (channel, platform_message_id)
    );

    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT
    );
    CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id);

    CREATE TABLE cursors (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    """
    ALTER TABLE conversations ADD COLUMN flow TEXT NOT NULL DEFAULT '{}';
    CREATE INDEX tickets_slack_ts ON tickets (slack_ts);
    """,
    """
    ALTER TABLE messages ADD COLUMN action TEXT;
    ALTER TABLE messages ADD COLUMN reason TEXT;
    ALTER TABLE messages ADD COLUMN faq_id TEXT;
    CREATE INDEX messages_by_time ON messages (created_at);
    """,
    """
    CREATE TABLE attachments (
        id INTEGER PRIMARY KEY,
        ticket INTEGER NOT NULL REFERENCES tickets (number),
        channel TEXT NOT NULL,
        kind TEXT NOT NULL,
        ref TEXT NOT NULL,
        mime_type TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX attachments_by_ticket ON attachments (ticket, id);
    """,
    # The Slack message that mirrors a ticket is Slack's business: its ts moves to Slack's own key-value entries
    # (both ways: ticket -> message, message -> ticket).
    """
    INSERT OR IGNORE INTO cursors (name, value)
        SELECT 'slack_ts:' || number, slack_ts FROM tickets WHERE slack_ts IS NOT NULL;
    INSERT OR IGNORE INTO cursors (name, value)
        SELECT 'slack_ticket:' || slack_ts, number FROM tickets WHERE slack_ts IS NOT NULL;
    DROP INDEX tickets_slack_ts;
    ALTER TABLE tickets DROP COLUMN slack_ts;
    """,
    """
    -- Widget sessions an operator revoked (`omnidesk sessions revoke`): their tokens are refused from then on.
    CREATE TABLE webchat_revoked_sessions (
        session_id TEXT PRIMARY KEY,
        revoked_at TEXT NOT NULL
    );
    """,
    # A conversation's version: a message's transaction commits only if nobody changed the conversation since its
    # state was read. Pending outbox items by conversation: each conversation's items are sent in order.
    """
    ALTER TABLE conversations ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX outbox_pending_by_conversation ON outbox (channel, conversation_id, id) WHERE status = 'pending';
    """,
    """
    -- "Was this helpful?" on the help center's article pages: one row per vote, no visitor identity kept.
    CREATE TABLE article_votes (
        id INTEGER PRIMARY KEY,
        entry_id TEXT NOT NULL,
        helpful INTEGER NOT NULL CHECK (helpful IN (0, 1)),
        lang TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX article_votes_by_time ON article_votes (created_at);
    CREATE INDEX tickets_by_conversation ON tickets (conversation, number);
    """,
    """
    -- The choices a reply offered (JSON list of {label, payload}), so a reloaded widget shows what the user saw.
    ALTER TABLE messages ADD COLUMN suggestions TEXT;
    -- The agent who wrote a reply (NULL for the bot), so the widget can show a person's answers as theirs.
    ALTER TABLE messages ADD COLUMN agent TEXT;
    """,
)


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema up to date in one transaction; refuse a database newer than this code."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise StoreError(
                f"database schema version {version} is newer than this OmniDesk supports "
                f"({len(MIGRATIONS)}); upgrade OmniDesk"
            )
        for script in MIGRATIONS[version:]:
            # executescript would COMMIT first, so run the statements one by one inside our transaction.
            for statement in _statements(script):
                db.execute(statement)
        if version != len(MIGRATIONS):
            db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into statements (sqlite3.complete_statement knows about quotes and comments)."""
    buffer = ""
    for part in script.split(";"):
        buffer += part + ";"
        if sqlite3.complete_statement(buffer):
            if _has_code(buffer):
                yield buffer.strip()
            buffer = ""
    if _has_code(buffer):
        raise StoreError(f"incomplete SQL statement in migration: {buffer.strip()[:80]!r}")


def _has_code(sql: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in sql.rstrip(";").splitlines())
