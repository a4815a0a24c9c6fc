"""The chat widget in headless Debian Chromium against the real app: what a visitor sees and does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from mnemonic import Mnemonic

from bot.app.config import Config
from bot.app.wiring import Core
from tests.test_webchat import WebchatServer, png_bytes, serve_webchat

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
)
pytest.importorskip("playwright.async_api", reason="the playwright Python package is not installed")

from playwright.async_api import Browser, Dialog, FilePayload, Page, async_playwright, expect  # noqa: E402


@pytest.fixture
async def app(config: Config, core: Core, tmp_path: Path) -> AsyncIterator[WebchatServer]:
    async with serve_webchat(config, core, tmp_path) as server:
        yield server


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def open_page(browser: Browser, url: str, dialogs: list[str], **context_options: object) -> Page:
    context = await browser.new_context(**context_options)  # type: ignore[arg-type]
    page = await context.new_page()

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    await page.goto(url)
    return page


async def ask(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Your message")
    await box.fill(text)
    await box.press("Enter")


async def stored_history(app: WebchatServer, page: Page) -> list[dict[str, object]]:
    token = await page.evaluate(f"() => localStorage.getItem('omnidesk.webchat.{app.url}.token')")
    assert isinstance(token, str)
    async with httpx.AsyncClient(base_url=app.url, trust_env=False) as http:
        response = await http.get("/api/webchat/history", headers={"Authorization": f"Bearer {token}"})
    messages = response.json()["messages"]
    assert isinstance(messages, list)
    return messages


async def test_a_visitor_talks_to_the_bot_and_an_agent(app: WebchatServer, browser: Browser) -> None:
    dialogs: list[str] = []
    page = await open_page(browser, app.url + "/", dialogs, locale="en-US", viewport={"width": 1280, "height": 860})
    socket_urls: list[str] = []
    page.on("websocket", lambda ws: socket_urls.append(ws.url))
    await expect(page.get_by_role("heading", name="Buy, sell and trade crypto with confidence")).to_be_visible()

    bubble = page.get_by_role("button", name="Open support chat")
    await bubble.click()
    panel = page.get_by_role("dialog", name="ExampleX Support")
    await expect(panel).to_be_visible()
    log = page.get_by_role("log", name="Conversation")
    await expect(log).to_have_attribute("aria-live", "polite")
    await expect(page.get_by_role("textbox", name="Your message")).to_be_focused()

    # A question gets the FAQ answer.
    await ask(page, "how do I reset my 2FA?")
    await expect(log).to_contain_text("Set your phone's date and time to automatic")
    # It came over the WebSocket, whose URL carries no credential (the token is its first frame).
    assert socket_urls and all("/ws/webchat?lang=" in u and "token" not in u for u in socket_urls), socket_urls

    # A vague one gets choices; a chip sends its payload and shows its label.
    await ask(page, "code")
    await expect(log).to_contain_text("Did you mean one of these?")
    await page.get_by_role("button", name="Anti-phishing code").click()
    await expect(log).to_contain_text("An anti-phishing code is a phrase you choose")
    await expect(log.locator(".odw-in").last).to_have_text("You:Anti-phishing code")

    chip_label = await log.locator(".odw-in .odw-text").last.text_content()  # the tapped choice, as shown
    assert chip_label

    # A seed phrase: the warning, and only the redacted text is kept (and shown back).
    seed = Mnemonic("english").generate(128)
    await ask(page, f"is it safe to share this? {seed}")
    await expect(log).to_contain_text("I removed the sensitive information from your message")
    await expect(log).to_contain_text("[REDACTED:SEED_PHRASE]")
    await expect(log).not_to_contain_text(seed)
    history = await stored_history(app, page)
    assert any("[REDACTED" in str(m["text"]) for m in history)
    assert seed not in json.dumps(history)

    # The human hand-off, then an agent's reply arrives in the open page.
    await page.get_by_role("button", name="Talk to a human").click()
    await expect(log).to_contain_text("I'll pass this to ExampleX support")
    await ask(page, "skip")
    await expect(log).to_contain_text("Your ticket #1001 is open")
    await app.runtime.tickets.reply(1001, "Alice", "Hi, this is Alice. I'm checking your account now.")
    await expect(log).to_contain_text("Alice (ExampleX support): Hi, this is Alice. I'm checking your account now.")

    # A screenshot for the ticket.
    shot: FilePayload = {"name": "withdrawal.png", "mimeType": "image/png", "buffer": png_bytes()}
    await page.locator(".odw-file").set_input_files(files=[shot])
    await expect(log).to_contain_text("Screenshot added to ticket #1001.")

    # Markup from the visitor or an agent is text, never HTML.
    await ask(page, "<img src=x onerror=alert(1)>")
    await expect(log.get_by_text("<img src=x onerror=alert(1)>", exact=True)).to_be_visible()
    await expect(log).to_contain_text("Added to your ticket #1001.")
    await app.runtime.tickets.reply(1001, "Alice", "<b>Noted</b><img src=y onerror=alert(2)>")
    await expect(log).to_contain_text("<b>Noted</b><img src=y onerror=alert(2)>")
    assert await page.locator("#omnidesk-webchat img, #omnidesk-webchat b").count() == 0

    # Too long: a clear error, and the text comes back to edit.
    await ask(page, "x" * 2100)
    await expect(log).to_contain_text("Your message is too long (at most 2,000 characters).")
    await expect(page.get_by_role("textbox", name="Your message")).to_have_value("x" * 2100)
    await page.get_by_role("textbox", name="Your message").fill("")

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "widget.png"))

    # Escape closes and gives focus back to the bubble; replies while closed are counted.
    await page.get_by_role("textbox", name="Your message").press("Escape")
    await expect(panel).to_be_hidden()
    await expect(bubble).to_be_focused()
    await app.runtime.tickets.reply(1001, "Alice", "Could you confirm your UID?")
    unread = page.get_by_role("button", name="Open support chat, 1 unread")
    await expect(unread).to_be_visible()
    await expect(unread.locator(".odw-badge")).to_have_text("1")

    # A reload keeps the conversation.
    await page.reload()
    await page.get_by_role("button", name="Open support chat").click()
    log = page.get_by_role("log", name="Conversation")
    await expect(log).to_contain_text("Set your phone's date and time to automatic")
    await expect(log).to_contain_text("[REDACTED:SEED_PHRASE]")
    await expect(log).to_contain_text("Alice (ExampleX support): Could you confirm your UID?")
    await expect(log.get_by_text("<img src=x onerror=alert(1)>", exact=True)).to_be_visible()
    await expect(log).to_contain_text("Screenshot")
    await expect(log).not_to_contain_text(str(app.attachments))
    await expect(log).not_to_contain_text(seed)
    order = await log.locator(".odw-msg .odw-text").all_text_contents()
    assert order.index("how do I reset my 2FA?") < order.index("code") < order.index("skip")
    # What the visitor saw, not the commands behind it: the chip's label, the human button's, and the choices.
    assert chip_label in order and "Talk to a human" in order
    assert not [text for text in order if text.startswith("/")]
    await expect(log.get_by_role("button", name=chip_label)).to_be_visible()

    assert dialogs == []


async def test_chinese_browser_gets_chinese_ui_and_can_switch(app: WebchatServer, browser: Browser) -> None:
    dialogs: list[str] = []
    page = await open_page(browser, app.url + "/", dialogs, locale="zh-CN")
    await page.get_by_role("button", name="打开在线客服").click()
    await expect(page.get_by_role("button", name="转人工客服")).to_be_visible()
    log = page.get_by_role("log")  # its name follows the language, which this test switches
    await ask_zh(page, "怎么重置谷歌验证器")
    await expect(log.locator(".odw-out").last).to_contain_text("验证")

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "widget-zh.png"))

    await page.get_by_role("button", name="Switch to English (切换到英文)").click()
    await expect(page.get_by_role("button", name="Talk to a human")).to_be_visible()
    await expect(log).to_contain_text("OK, I'll reply in English.")
    assert dialogs == []


async def ask_zh(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="你的消息")
    await box.fill(text)
    await box.press("Enter")


async def test_http_fallback_when_websockets_are_blocked(app: WebchatServer, browser: Browser) -> None:
    dialogs: list[str] = []
    context = await browser.new_context(locale="en-US")
    # As behind a proxy that drops WebSockets: every attempt fails before it opens.
    await context.add_init_script("window.WebSocket = function () { throw new Error('blocked'); };")
    page = await context.new_page()
    await page.goto(app.url + "/")
    await page.get_by_role("button", name="Open support chat").click()
    log = page.get_by_role("log", name="Conversation")
    await ask(page, "how do I reset my 2FA?")
    await expect(log).to_contain_text("Set your phone's date and time to automatic")
    await expect(page.get_by_role("status")).to_have_text("Live connection unavailable: using a slower connection.")

    await page.get_by_role("button", name="Talk to a human").click()
    await expect(log).to_contain_text("I'll pass this to ExampleX support")
    await ask(page, "skip")
    await expect(log).to_contain_text("Your ticket #1001 is open")
    await app.runtime.tickets.reply(1001, "Alice", "Long-polling works too.")
    await expect(log).to_contain_text("Alice (ExampleX support): Long-polling works too.")
    texts = await log.locator(".odw-msg .odw-text").all_text_contents()
    assert texts.count("how do I reset my 2FA?") == 1  # merged, not repeated, across ack and poll
    assert dialogs == []


async def test_phone_screen_gets_a_full_screen_panel(app: WebchatServer, browser: Browser) -> None:
    dialogs: list[str] = []
    viewport = {"width": 390, "height": 844}
    page = await open_page(
        browser, app.url + "/", dialogs, locale="en-US", viewport=viewport, is_mobile=True, has_touch=True
    )
    bubble = page.get_by_role("button", name="Open support chat")
    await bubble.click()
    panel = page.get_by_role("dialog", name="ExampleX Support")
    await expect(panel).to_be_visible()
    await ask(page, "code")
    await expect(page.get_by_role("button", name="Anti-phishing code")).to_be_visible()
    box = await panel.bounding_box()
    assert box is not None
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)
    await expect(bubble).to_be_hidden()  # the panel's own close button takes over

    # Keyboard order at the bottom of the panel: human, attach, message box, send.
    box_input = page.get_by_role("textbox", name="Your message")
    await box_input.focus()
    await page.keyboard.press("Shift+Tab")
    await expect(page.get_by_role("button", name="Attach a screenshot (PNG or JPEG)")).to_be_focused()
    await page.keyboard.press("Shift+Tab")
    await expect(page.get_by_role("button", name="Talk to a human")).to_be_focused()

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "widget-phone.png"))
    await page.get_by_role("button", name="Close chat").click()
    await expect(panel).to_be_hidden()
    await expect(bubble).to_be_visible()
    assert dialogs == []


async def test_my_tickets_rating_buttons_menu_and_labels(app: WebchatServer, browser: Browser) -> None:
    dialogs: list[str] = []
    missing: list[str] = []
    page = await open_page(browser, app.url + "/", dialogs, locale="en-US", viewport={"width": 1280, "height": 860})
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    await page.reload()  # the listener now sees every request of a page load, favicon included
    await page.get_by_role("button", name="Open support chat").click()
    await expect(page.get_by_role("button", name="Close support chat")).to_be_visible()  # the bubble says what it does
    menu = page.get_by_role("navigation", name="Support menu")
    await expect(menu.get_by_role("link", name="Help center")).to_have_attribute("href", app.url + "/en/help")
    log = page.get_by_role("log", name="Conversation")

    await menu.get_by_role("button", name="My tickets").click()
    await expect(page.get_by_text("You have no tickets.")).to_be_visible()
    await page.get_by_role("button", name="‹ Back to chat").click()
    await page.get_by_role("button", name="Talk to a human").click()
    await ask(page, "skip")
    await expect(log).to_contain_text("Your ticket #1001 is open")
    await app.runtime.tickets.reply(1001, "Alice", "Which coin and network was it?")
    await expect(log).to_contain_text("Which coin and network was it?")
    # A person's answer looks like one: their name above it, its own style, and the header says a person is here.
    agent_message = log.locator(".odw-agent").last
    await expect(agent_message.locator(".odw-agent-name")).to_have_text("Alice · support agent")
    await expect(page.get_by_role("dialog").get_by_role("status").first).to_have_text(
        "Alice (a person) is on this conversation"
    )
    colours = await agent_message.locator(".odw-text").evaluate("e => getComputedStyle(e).backgroundColor")
    bot_colours = await log.locator(".odw-out:not(.odw-agent) .odw-text").first.evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert colours != bot_colours
    await page.screenshot(path=str(SCREENSHOTS / "widget-agent.png"))

    await menu.get_by_role("button", name="My tickets").click()
    ticket = page.get_by_role("button", name="#1001")
    await expect(ticket).to_contain_text("waiting for you · updated")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "widget-my-tickets.png"))
    await ticket.click()
    await expect(page.get_by_role("heading", name="Ticket #1001")).to_be_visible()
    history = page.locator(".odw-ticket-history")
    await expect(history).to_contain_text("Alice (ExampleX support): Which coin and network was it?")
    await page.get_by_role("textbox", name="Reply on this ticket").fill("USDT on TRC20")
    await page.screenshot(path=str(SCREENSHOTS / "widget-ticket.png"))
    await page.get_by_role("button", name="Send reply").click()
    await expect(log).to_be_visible()
    await expect(log).to_contain_text("Added to your ticket #1001.")
    assert (await app.runtime.store.get_ticket(1001)).status.value == "claimed"  # the reply went back to the agent

    # Resolved: the rating is five buttons, not a number to type.
    await app.runtime.tickets.resolve(1001, "Alice")
    await expect(log).to_contain_text("How did we do?")
    await page.get_by_role("button", name="★★★★★", exact=True).click()
    await expect(log).to_contain_text("Thank you for your feedback!")
    assert await app.runtime.store.rating(1001) == 5
    await expect(page.get_by_text("Alice (a person) is on this conversation")).to_be_hidden()  # resolved: no longer

    # After a reload the agent's answer is still theirs.
    await page.reload()
    await page.get_by_role("button", name="Open support chat").click()
    await expect(page.locator(".odw-agent .odw-agent-name").first).to_have_text("Alice · support agent")
    assert missing == []  # no 404 on the page, favicon included
    assert dialogs == []


async def test_a_long_answer_is_shown_from_its_first_line(app: WebchatServer, browser: Browser) -> None:
    dialogs: list[str] = []
    page = await open_page(browser, app.url + "/", dialogs, locale="en-US", viewport={"width": 390, "height": 560})
    await page.get_by_role("button", name="Open support chat").click()
    log = page.get_by_role("log", name="Conversation")
    await ask(page, "my withdrawal is still pending")
    answer = log.locator(".odw-out").last
    await expect(answer).to_contain_text("Withdrawal History")
    box, view = await answer.bounding_box(), await log.bounding_box()
    assert box is not None and view is not None
    assert box["height"] > view["height"]  # longer than the transcript's height: the case that matters
    assert view["y"] <= box["y"] <= view["y"] + 20  # its first line at the top, not its last at the bottom
    assert dialogs == []


async def test_the_ticket_form_opens_a_ticket_with_its_screenshot(app: WebchatServer, browser: Browser) -> None:
    dialogs: list[str] = []
    page = await open_page(browser, app.url + "/", dialogs, locale="en-US", viewport={"width": 1280, "height": 860})
    await page.get_by_role("button", name="Open support chat").click()
    await page.get_by_role("button", name="My tickets").click()
    await page.get_by_role("button", name="New ticket").click()
    await expect(page.get_by_role("heading", name="Open a ticket")).to_be_visible()
    await page.get_by_role("button", name="Open ticket").click()
    await expect(page.get_by_role("alert")).to_have_text("Please describe the problem.")  # nothing sent yet

    await page.get_by_label("Topic").select_option(label="Deposits & withdrawals")
    await page.get_by_label("Describe the problem").fill("My USDT deposit has not arrived after 3 hours.")
    await page.get_by_label("Which coin and network was it (for example USDT on TRC20)? (optional)").fill("USDT on TRC20")
    shot: FilePayload = {"name": "deposit.png", "mimeType": "image/png", "buffer": png_bytes()}
    await page.get_by_label("Screenshots (PNG or JPEG, optional)").set_input_files(files=[shot])
    await page.screenshot(path=str(SCREENSHOTS / "widget-ticket-form.png"))
    await page.get_by_role("button", name="Open ticket").click()

    log = page.get_by_role("log", name="Conversation")
    await expect(log).to_contain_text("Your ticket #1001 is open")
    await expect(log).to_contain_text("Screenshot added to ticket #1001.")
    ticket = await app.runtime.store.get_ticket(1001)
    assert ticket.category == "deposits-withdrawals" and "USDT on TRC20" in ticket.summary
    assert len(await app.runtime.store.attachments(1001)) == 1
    await expect(log).not_to_contain_text("/newticket")  # the visitor sees what they wrote
    await page.reload()
    await page.get_by_role("button", name="Open support chat").click()
    await expect(page.get_by_role("log", name="Conversation")).to_contain_text("My USDT deposit has not arrived")
    await expect(page.get_by_role("log", name="Conversation")).not_to_contain_text("/newticket")
    assert dialogs == []
