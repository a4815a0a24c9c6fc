"""Persistent state in one SQLite file: conversations, transcripts, tickets with an audit log, inbox and outbox."""

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
    "OutboxDepth",
    "OutboxItem",
    "SqliteConversationStates",
    "Store",
    "StoreError",
    "StoredAttachment",
    "StoredMessage",
    "Ticket",
    "TicketEvent",
    "TicketStats",
    "TicketStatus",
    "UserTicket",
    "WebchatSession",
    "utc_now",
]
