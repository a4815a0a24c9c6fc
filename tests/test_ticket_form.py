"""The help center's ticket form over real HTTP against the app `omnidesk run` serves (uvicorn, the real router and
desk, a SQLite file): a plain POST form with a session cookie and an anti-forgery token, no JavaScript."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import httpx
import pytest
from mnemonic import Mnemonic
from PIL import Image

from bot.app.config import Config
from tests.served_app import Served, serve_app
from tests.test_helpcenter import text_of

SEED = Mnemonic("english").generate(128)
DESCRIPTION = "My USDT deposit has not arrived after two hours."


def png(size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the form carries its anti-forgery token"
    return found.group(1)


async def open_form(http: httpx.AsyncClient, lang: str = "en") -> str:
    page = await http.get(f"/{lang}/help/ticket")
    assert page.status_code == 200
    return csrf_of(page.text)


async def submit(
    http: httpx.AsyncClient,
    csrf: str,
    lang: str = "en",
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    **fields: str,
) -> httpx.Response:
    data = {"csrf": csrf, "topic": "deposits-withdrawals", "description": DESCRIPTION, **fields}
    return await http.post(f"/{lang}/help/ticket", data=data, files=files or [("files", ("", b"", "application/octet-stream"))])


async def test_the_form_opens_a_ticket_and_lands_on_its_page_which_my_tickets_lists(
    http: httpx.AsyncClient, served: Served
) -> None:
    form = await http.get("/en/help/ticket?topic=trading")
    assert form.status_code == 200 and "omnidesk_session" in form.cookies
    assert 'value="trading" selected' in form.text and 'value="other"' in form.text  # the topics plus "other"
    assert "Which coin and network was it" in text_of(form.text) and "Email for the answer (optional)" in text_of(form.text)
    shot = png()
    sent = await submit(
        http,
        csrf_of(form.text),
        intake_coin_network="USDT TRC20",
        email="ann@example.org",
        files=[("files", ("deposit.png", shot, "image/png"))],
    )
    assert sent.status_code == 303
    location = sent.headers["location"]
    assert re.fullmatch(r"/en/help/tickets/\d+\?sent=\d+#notice", location), location
    number = int(location.split("/")[4].split("?")[0])

    page = await http.get(location)
    assert page.status_code == 200
    shown = text_of(page.text)
    assert f"Ticket #{number}" in shown and "submitted" in shown
    assert f"Your ticket #{number} is open" in shown  # the bot's reply, on top
    assert DESCRIPTION in shown and "/newticket" not in shown  # what the visitor wrote, as written
    assert 'name="text"' in page.text  # a reply box while it is open

    ticket = await served.runtime.store.get_ticket(number)
    assert ticket.category == "deposits-withdrawals" and ticket.reason == "web_form"
    assert DESCRIPTION in ticket.summary and "USDT TRC20" in ticket.summary and "ann@example.org" in ticket.summary
    attachments = await served.runtime.store.attachments(number)
    assert [a.mime_type for a in attachments] == ["image/png"]
    assert Path(attachments[0].ref).read_bytes() == shot

    # The same visitor's My tickets: the page, and the widget's list once it links to the cookie's session.
    listed = await http.get("/en/help/tickets")
    assert f'href="/en/help/tickets/{number}"' in listed.text and "submitted" in text_of(listed.text)
    session = (await http.post("/api/webchat/session", json={"cookie": True})).json()
    assert session["resumed"] is True
    widget = await http.get("/api/webchat/tickets", headers={"Authorization": f"Bearer {session['token']}"})
    assert [t["number"] for t in widget.json()["tickets"]] == [number]
    # A widget whose own token went bad also finds the cookie's visitor; without asking for the link it does not.
    stale = (await http.post("/api/webchat/session", json={"token": "stale.1.x", "cookie": True})).json()
    assert stale["resumed"] is True and stale["session"] == session["session"]
    assert (await http.post("/api/webchat/session", json={})).json()["resumed"] is False

    # A reply from the page reaches the agent on the same ticket.
    replied = await http.post(f"/en/help/tickets/{number}/reply", data={"csrf": csrf_of(page.text), "text": "TxID abc123"})
    assert replied.status_code == 303
    after = await http.get(replied.headers["location"])
    assert "TxID abc123" in text_of(after.text) and f"Added to your ticket #{number}" in text_of(after.text)
    events = await served.runtime.store.ticket_events(number)
    assert any(e.kind == "user_message" and "TxID abc123" in (e.detail or "") for e in events)

    # A reply that is empty, or posted without the page's token, is not sent, and the page says why.
    count = len(await served.runtime.store.ticket_events(number))
    for text, token, why in [("   ", csrf_of(page.text), "Please describe the problem."), ("hi", "forged", "nothing was sent")]:
        refused = await http.post(f"/en/help/tickets/{number}/reply", data={"csrf": token, "text": text})
        assert why in text_of((await http.get(refused.headers["location"])).text)
    assert len(await served.runtime.store.ticket_events(number)) == count

    # Another browser knows nothing of it.
    async with httpx.AsyncClient(base_url=served.url, trust_env=False, timeout=30) as stranger:
        assert (await stranger.get(f"/en/help/tickets/{number}")).status_code == 404
        assert "You have no tickets" in text_of((await stranger.get("/en/help/tickets")).text)


@pytest.mark.parametrize(
    ("fields", "files", "error"),
    [
        ({"description": "   "}, None, "Please describe the problem."),
        ({"description": "x" * 1501}, None, "Please keep it under 1500 characters."),
        ({"intake_txid": "y" * 201}, None, "Please keep it under 200 characters."),
        ({"email": "not an address"}, None, "This is not an email address."),
        ({"topic": "no-such-topic"}, None, "Please choose a topic from the list."),
        ({}, [("files", ("notes.png", b"this is not an image", "image/png"))], "notes.png: only PNG and JPEG"),
        ({}, [("files", ("huge.png", png() + b"\0" * (5 * 1024 * 1024), "image/png"))], "huge.png: screenshots can be at most 5 MB"),
        ({}, [("files", (f"s{n}.png", png(), "image/png")) for n in range(4)], "Attach at most 3 screenshots."),
    ],
)
async def test_a_refused_form_comes_back_with_its_values_and_why_and_opens_nothing(
    http: httpx.AsyncClient,
    served: Served,
    fields: dict[str, str],
    files: list[tuple[str, tuple[str, bytes, str]]] | None,
    error: str,
) -> None:
    refused = await submit(http, await open_form(http), files=files, **fields)
    assert refused.status_code == 400
    assert error in text_of(refused.text)
    assert 'role="alert"' in refused.text
    if "description" not in fields:
        assert html.escape(DESCRIPTION) in refused.text  # kept for the visitor to fix and resend
    session = (await http.post("/api/webchat/session", json={"cookie": True})).json()
    assert await served.runtime.tickets.of_conversation("webchat", session["session"]) == []


async def test_a_form_without_its_token_or_from_another_site_is_refused(http: httpx.AsyncClient, served: Served) -> None:
    csrf = await open_form(http)
    assert (await submit(http, "forged")).status_code == 403
    crossed = await http.post(
        "/en/help/ticket",
        data={"csrf": csrf, "topic": "trading", "description": "hi"},
        headers={"Origin": "http://evil.example"},
    )
    assert crossed.status_code == 403 and "nothing was sent" in text_of(crossed.text)
    async with httpx.AsyncClient(base_url=served.url, trust_env=False, timeout=30) as no_cookie:
        assert (await submit(no_cookie, csrf)).status_code == 403  # the token is the session's, not a password
    assert await served.runtime.store.ticket_status_counts() == {}


async def test_a_seed_phrase_is_redacted_before_it_is_stored_and_the_visitor_warned(db_config: Config) -> None:
    async with (
        serve_app(db_config) as served,
        httpx.AsyncClient(base_url=served.url, trust_env=False, timeout=30) as http,
    ):
        sent = await submit(http, await open_form(http), description=f"Deposit missing. My seed is {SEED}")
        assert sent.status_code == 303
        page = await http.get(sent.headers["location"])
        shown = text_of(page.text)
        assert "I removed the sensitive information" in shown and "[REDACTED:SEED_PHRASE]" in shown
        assert SEED not in page.text
        number = int(sent.headers["location"].split("/")[4].split("?")[0])
        assert SEED not in (await served.runtime.store.get_ticket(number)).summary
    # Closed: everything written, the WAL folded in. No file of the database holds the phrase or a run of it.
    words = SEED.split()
    files = list(Path(db_config.store.path).parent.glob("omnidesk.db*"))
    assert files
    for path in files:
        data = path.read_bytes()
        assert SEED.encode() not in data and " ".join(words[4:8]).encode() not in data, path


async def test_a_second_form_on_an_open_ticket_offers_it_instead_of_a_second_ticket(
    http: httpx.AsyncClient, served: Served
) -> None:
    first = await submit(http, await open_form(http))
    number = int(first.headers["location"].split("/")[4].split("?")[0])
    again = await submit(http, await open_form(http), description="Still nothing, and the order is stuck too.")
    assert again.status_code == 303 and again.headers["location"].startswith(f"/en/help/tickets/{number}?")
    page = text_of((await http.get(again.headers["location"])).text)
    assert f"You already have ticket #{number} open (submitted)" in page
    session = (await http.post("/api/webchat/session", json={"cookie": True})).json()
    assert len(await served.runtime.tickets.of_conversation("webchat", session["session"])) == 1
    events = await served.runtime.store.ticket_events(number)
    assert any("order is stuck" in (e.detail or "") for e in events)


async def test_the_form_and_its_ticket_in_chinese(http: httpx.AsyncClient, served: Served) -> None:
    form = await http.get("/zh/help/ticket")
    assert "提交工单" in text_of(form.text) and "其他" in text_of(form.text)
    sent = await submit(http, csrf_of(form.text), lang="zh", description="我的USDT充值两个小时还没到账")
    assert sent.headers["location"].startswith("/zh/help/tickets/")
    page = text_of((await http.get(sent.headers["location"])).text)
    assert "状态" in page and "已提交" in page and "我的USDT充值两个小时还没到账" in page
    refused = await submit(http, csrf_of(form.text), lang="zh", description="")
    assert "请填写问题描述。" in text_of(refused.text)


async def test_help_pages_link_to_the_form(http: httpx.AsyncClient) -> None:
    article = await http.get("/en/help/withdrawal-pending")
    assert 'href="/en/help/ticket?topic=deposits-withdrawals"' in article.text
    assert "Still need help?" in text_of(article.text)
    home = await http.get("/zh/help")
    assert 'href="/zh/help/ticket"' in home.text and 'href="/zh/help/tickets"' in home.text
