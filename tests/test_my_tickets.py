"""A user's own tickets on every channel: /tickets lists them in the user's words; a resolved ticket offers its
rating as choices. Real SQLite, the real router and desk, an in-memory channel."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from mnemonic import Mnemonic

from adapters.base import InMemoryChannel
from adapters.twitter import format_reply
from bot.app.config import Config
from bot.app.wiring import Core, Runtime, open_runtime
from bot.core.messages import InboundMessage
from bot.store import TicketStatus
from tests.test_webchat import bearer, new_session, serve_webchat

_ids = itertools.count(1)
SEED = Mnemonic("english").generate(128)


@pytest.fixture
async def runtime(db_config: Config, core: Core) -> AsyncIterator[tuple[Runtime, InMemoryChannel]]:
    channel = InMemoryChannel(name="telegram")
    rt = await open_runtime(db_config, {"telegram": channel}, core_parts=core)
    yield rt, channel
    await rt.close()


async def say(rt: Runtime, text: str, conversation: str = "chat-1") -> None:
    await rt.desk.handle(InboundMessage("telegram", f"user-{conversation}", conversation, str(next(_ids)), text))


async def open_ticket(rt: Runtime, conversation: str = "chat-1") -> int:
    await say(rt, "/human", conversation)
    await say(rt, "skip", conversation)
    ticket = await rt.store.open_ticket_for("telegram", conversation)
    assert ticket is not None
    return ticket.number


async def test_a_resolved_ticket_offers_its_rating_as_five_choices(runtime) -> None:  # type: ignore[no-untyped-def]
    rt, channel = runtime
    number = await open_ticket(rt)
    await rt.tickets.resolve(number, "alice")
    reply = channel.sent[-1][1]
    assert [(s.label, s.payload) for s in reply.suggestions] == [("★" * n, str(n)) for n in range(1, 6)]
    # On X the choices are numbered, and the number typed is the rating.
    assert "4. ★★★★" in format_reply(reply)
    await say(rt, "4")
    assert await rt.store.rating(number) == 4
    assert channel.texts()[-1] == "Thank you for your feedback!"
    assert (await rt.store.get_ticket(number)).status is TicketStatus.RESOLVED


async def test_the_widget_api_lists_a_sessions_tickets_and_shows_one_with_its_history(
    config: Config, core: Core, tmp_path: Path
) -> None:
    async with (
        serve_webchat(config, core, tmp_path) as app,
        httpx.AsyncClient(base_url=app.url, trust_env=False, timeout=30) as http,
    ):
        _, token = await new_session(http)
        _, stranger = await new_session(http)
        assert (await http.get("/api/webchat/tickets", headers=bearer(token))).json() == {"tickets": []}
        for n, text in enumerate(["/human", "skip", "my seed is " + SEED]):
            sent = await http.post("/api/webchat/messages", json={"id": f"m{n}", "text": text}, headers=bearer(token))
            assert sent.status_code == 200, sent.text
        await app.runtime.tickets.reply(1001, "Alice", "Which coin was it?")

        listed = (await http.get("/api/webchat/tickets", headers=bearer(token))).json()["tickets"]
        assert [(t["number"], t["status"], t["open"]) for t in listed] == [(1001, "waiting_for_you", True)]
        assert listed[0]["updated_at"] >= listed[0]["created_at"]

        shown = (await http.get("/api/webchat/tickets/1001", headers=bearer(token))).json()["ticket"]
        texts = [m["text"] for m in shown["messages"]]
        assert any("[REDACTED:SEED_PHRASE]" in t for t in texts) and SEED not in str(shown)
        assert texts[-1] == "Alice (ExampleX support): Which coin was it?"
        assert "/human" not in texts  # the messages before the ticket opened are its summary, not its history

        # Another session, no token, a number that does not exist: nothing leaks.
        assert (await http.get("/api/webchat/tickets", headers=bearer(stranger))).json() == {"tickets": []}
        assert (await http.get("/api/webchat/tickets/1001", headers=bearer(stranger))).status_code == 404
        assert (await http.get("/api/webchat/tickets/99999", headers=bearer(token))).status_code == 404
        assert (await http.get("/api/webchat/tickets/abc", headers=bearer(token))).status_code == 404
        assert (await http.get("/api/webchat/tickets")).status_code == 401

        icon = await http.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"


async def test_the_web_forms_ticket_goes_through_the_guard_and_is_not_opened_twice(runtime) -> None:  # type: ignore[no-untyped-def]
    rt, channel = runtime
    form = "/newticket deposits-withdrawals\nMy USDT deposit has not arrived. My seed is {seed}\nWhat coin and network? USDT TRC20"
    await say(rt, form.format(seed=SEED))
    ticket = await rt.store.open_ticket_for("telegram", "chat-1")
    assert ticket is not None and ticket.category == "deposits-withdrawals" and ticket.reason == "web_form"
    assert "My USDT deposit has not arrived." in ticket.summary and "USDT TRC20" in ticket.summary
    assert SEED not in ticket.summary and "[REDACTED:SEED_PHRASE]" in ticket.summary
    replies = channel.texts()[-2:]
    assert "I removed the sensitive information" in "\n".join(replies)
    assert f"Your ticket #{ticket.number} is open" in replies[-1]

    # The same form again: the open ticket is offered, and what was written reaches it.
    await say(rt, "/newticket trading\nAlso my order is stuck")
    assert channel.texts()[-1].startswith(f"You already have ticket #{ticket.number} open (submitted)")
    assert len(await rt.store.tickets_of("telegram", "chat-1")) == 1  # no second ticket
    events = [e.detail for e in await rt.store.ticket_events(ticket.number) if e.kind == "user_message"]
    assert any("Also my order is stuck" in (d or "") for d in events)

    # An empty description, an unknown category, a theft reported through the form.
    await say(rt, "/newticket trading\n   ", "chat-2")
    assert channel.texts("chat-2")[-1] == "Please describe your problem so an agent can help."
    await say(rt, "/newticket no-such-topic\nsomeone logged into my account and withdrew all my USDT", "chat-2")
    urgent = await rt.store.open_ticket_for("telegram", "chat-2")
    assert urgent is not None and urgent.category is None and urgent.priority.value == "urgent"
    assert "This is urgent" in channel.texts("chat-2")[-1]

