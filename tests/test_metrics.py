"""`/metrics` of the app `omnidesk run` serves: tickets by status, outbox depth, one escalation per ticket."""

from __future__ import annotations

import re

import httpx

from bot.app.config import Config
from tests.served_app import serve_app


def sample(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert found is not None, f"{name} not in:\n{text}"
    return float(found.group(1))


async def test_metrics_count_tickets_by_status_the_outbox_and_one_escalation_per_ticket(db_config: Config) -> None:
    async with serve_app(db_config) as app, httpx.AsyncClient(base_url=app.url, trust_env=False, timeout=30) as http:
        token = (await http.post("/api/webchat/session", json={})).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        # The request, an intake answer, then two follow-ups on the open ticket: one escalation.
        for n, text in enumerate(["talk to a human please", "skip", "any news?", "hello?"]):
            sent = await http.post("/api/webchat/messages", json={"id": f"m{n}", "text": text}, headers=auth)
            assert sent.status_code == 200, sent.text
        await app.runtime.store.queue_reply("nowhere", "c1", {"text": "a reply no channel can deliver"})

        response = await http.get("/metrics")
        text = response.text
        assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert sample(text, 'omnidesk_escalations_total{priority="normal",reason="human_request"}') == 1.0
        assert sample(text, 'omnidesk_decisions_total{action="escalate"}') == 4.0  # every message still counted
        assert sample(text, 'omnidesk_tickets{status="open"}') == 1.0
        assert sample(text, 'omnidesk_tickets{status="resolved"}') == 0.0
        assert sample(text, "omnidesk_outbox_pending") == 1.0
        assert sample(text, "omnidesk_outbox_oldest_pending_seconds") >= 0.0

        await app.runtime.tickets.resolve(1001, "alice")
        text = (await http.get("/metrics")).text
        assert sample(text, 'omnidesk_tickets{status="open"}') == 0.0
        assert sample(text, 'omnidesk_tickets{status="resolved"}') == 1.0

        # prometheus-client's own app: it negotiates OpenMetrics for a scraper that asks for it.
        open_metrics = await http.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
        assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
        assert open_metrics.text.rstrip().endswith("# EOF")
