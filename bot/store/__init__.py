"""Persistent state (SQLite, or PostgreSQL for several instances): conversations, transcripts, tickets with an audit
log, inbox and outbox."""

from bot.store.opening import open_store
from bot.store.port import Leadership, StorePort
from bot.store.records import (
    FINAL_STATUSES,
    ArticleVotes,
    OutboxDepth,
    OutboxItem,
    StoredAttachment,
    StoredMessage,
    StoreError,
    Ticket,
    TicketEvent,
    TicketStats,
    TicketStatus,
    UserTicket,
    WebchatSession,
    utc_now,
)
from bot.store.schema import MIGRATIONS
from bot.store.store import SqliteConversationStates, Store

__all__ = [
    "FINAL_STATUSES",
    "MIGRATIONS",
    "ArticleVotes",
    "Leadership",
    "OutboxDepth",
    "OutboxItem",
    "SqliteConversationStates",
    "Store",
    "StoreError",
    "StorePort",
    "StoredAttachment",
    "StoredMessage",
    "Ticket",
    "TicketEvent",
    "TicketStats",
    "TicketStatus",
    "UserTicket",
    "WebchatSession",
    "open_store",
    "utc_now",
]
