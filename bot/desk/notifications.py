"""The outbox's agents destination: each queued notice becomes the agents' tools' calls, with the ticket as it is."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.ports import AgentNotice, DeliveryError
from bot.desk.agents import AgentNotifier
from bot.store import StorePort

TRANSCRIPT_FOR_AGENTS = 50  # messages of context posted with a new ticket


class AgentRelay:
    """Tells agents' tools (Slack, or none for CLI-only teams) what the outbox hands over; texts are redacted."""

    def __init__(self, store: StorePort, notifiers: Sequence[AgentNotifier] = ()) -> None:
        self._store = store
        # Slack needs the ticket desk to act on, so it is added after both exist.
        self.notifiers: list[AgentNotifier] = list(notifiers)

    async def notify(self, notice: AgentNotice) -> None:
        """Tell every notifier; DeliveryError (retried by the outbox) when one could not be told now."""
        if not self.notifiers:
            return
        ticket = await self._store.get_ticket(notice.ticket)
        for notifier in self.notifiers:
            try:
                if notice.kind == "announce":
                    transcript = await self._store.transcript(ticket.conversation_key, limit=TRANSCRIPT_FOR_AGENTS)
                    await notifier.ticket_opened(ticket, transcript, notice=notice)
                elif notice.kind == "relay":
                    await notifier.user_message(ticket, notice.text, notice=notice)
                elif notice.kind == "redraw":
                    await notifier.ticket_updated(ticket, notice=notice)
                else:
                    await notifier.remind_unclaimed(ticket, notice=notice)
            except DeliveryError:
                raise
            except Exception as exc:  # the tool failed in its own way: worth another try, as for a reply
                raise DeliveryError(f"agents' tool: {type(exc).__name__}: {exc}") from exc
