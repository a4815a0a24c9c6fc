"""The agent desk alone, for `omnidesk tickets ...`: the store and what agents do to tickets, without the router, so
neither the knowledge base nor the matcher (nor their imports: scipy, zhconv) is loaded."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.config import Config
from bot.core.outbox import Outbox
from bot.desk.notifications import AgentRelay
from bot.desk.tickets import TicketDesk
from bot.knowledge.texts import ReplyTexts
from bot.security.secret_scanner import SecretScanner
from bot.store import StorePort, open_store


@dataclass(frozen=True, slots=True)
class TicketRuntime:
    """The agent desk alone: the store and what agents do to tickets, no router (no knowledge base, no matcher).
    Its outbox only queues: the running OmniDesk delivers replies and agent notices."""

    config: Config
    store: StorePort
    tickets: TicketDesk

    async def close(self) -> None:
        """Close the store."""
        await self.store.close()


async def open_ticket_runtime(config: Config) -> TicketRuntime:
    """Open the store for `omnidesk tickets ...`: start-up is the store's, not the matcher's (about 3 s)."""
    # Only queues (leased to nobody): whichever running instance flushes next delivers.
    store = await open_store(config.store.url, config.store.path, lease_new_outbox=False)
    agents = AgentRelay(store)
    outbox = Outbox(store, {}, deliver_now=False, agents=agents)
    texts = ReplyTexts(config.brand)
    tickets = TicketDesk(store, outbox, texts, SecretScanner(), agents)
    return TicketRuntime(config, store, tickets)
