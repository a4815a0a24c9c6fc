"""Prometheus metrics of one OmniDesk process, on a registry of its own (no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

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
            "omnidesk_help_searches", "Help-center searches, by whether anything was found", ["result"],
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
        if decision.action.value == "escalate" and decision.priority is not None:
            self.escalations.labels(decision.priority.value, decision.reason or "-").inc()
        for kind in result.secret_kinds:
            self.secrets.labels(kind).inc()
        self.route_seconds.observe(seconds)

    def help_search(self, found: bool) -> None:
        """Count one help-center search; the ones with no result are the knowledge base's to-do list."""
        self.help_searches.labels("found" if found else "none").inc()

    def render(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)
