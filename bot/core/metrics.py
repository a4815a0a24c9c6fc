"""Prometheus metrics of one OmniDesk process, on a registry of its own (no global state)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.core.messages import Action
from bot.core.ports import OutboxDepth
from bot.core.router import RouterResult


class Metrics:
    """Messages in and out per channel, decisions, escalations, secrets caught, routing latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_in = Counter("omnidesk_messages_in", "Messages received", ["channel"], registry=self.registry)
        self.messages_out = Counter("omnidesk_messages_out", "Replies sent", ["channel"], registry=self.registry)
        self.decisions = Counter("omnidesk_decisions", "Router decisions", ["action"], registry=self.registry)
        self.escalations = Counter(
            "omnidesk_escalations", "Escalations to a person", ["priority", "reason"], registry=self.registry
        )
        self.secrets = Counter("omnidesk_secrets_caught", "Secrets redacted", ["kind"], registry=self.registry)
        self.help_searches = Counter(
            "omnidesk_help_searches",
            "Help-center searches, by whether anything was found",
            ["result"],
            registry=self.registry,
        )
        # Read from the store at each scrape (see `observe_store`): what is true now, not what this process saw.
        self.tickets = Gauge("omnidesk_tickets", "Tickets by status", ["status"], registry=self.registry)
        self.outbox_pending = Gauge("omnidesk_outbox_pending", "Replies waiting for delivery", registry=self.registry)
        self.outbox_oldest_seconds = Gauge(
            "omnidesk_outbox_oldest_pending_seconds",
            "Age of the oldest reply waiting for delivery (0 when none waits)",
            registry=self.registry,
        )
        self.route_seconds = Histogram(
            "omnidesk_route_seconds",
            "Time to decide on one message (guard, matching and the other steps)",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )

    def routed(self, channel: str, result: RouterResult, seconds: float) -> None:
        """Count one routed message."""
        decision = result.decision
        self.messages_in.labels(channel).inc()
        self.decisions.labels(decision.action.value).inc()
        if _hands_over(result):
            assert decision.priority is not None  # every escalation has one
            self.escalations.labels(decision.priority.value, decision.reason or "-").inc()
        for kind in result.secret_kinds:
            self.secrets.labels(kind).inc()
        self.route_seconds.observe(seconds)

    def help_search(self, found: bool) -> None:
        """Count one help-center search; the ones with no result are the knowledge base's to-do list."""
        self.help_searches.labels("found" if found else "none").inc()

    def observe_store(self, tickets_by_status: Mapping[str, int], outbox: OutboxDepth, now: datetime) -> None:
        """Set the gauges read from the store just before a scrape."""
        for status, count in tickets_by_status.items():
            self.tickets.labels(status).set(count)
        self.outbox_pending.set(outbox.pending)
        oldest = outbox.oldest_created_at
        self.outbox_oldest_seconds.set(max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)

    def render(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)


def _hands_over(result: RouterResult) -> bool:
    """The message that hands the conversation to a person: one per ticket. Not the turns that ask the intake
    questions before it (the same escalation, still collecting details), nor messages relayed to an open ticket."""
    decision = result.decision
    return (
        decision.action is Action.ESCALATE
        and decision.priority is not None
        and decision.reason != "ticket_followup"
        and result.state.intake is None
    )
