"""The help center in headless Debian Chromium against the app `omnidesk run` serves: browse, search, read, vote.

Each page is saved to docs/screenshots/ (referenced from the README) so a person can look at what a visitor sees.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from tests.served_app import Served
from tests.test_widget_browser import CHROMIUM, LAUNCH_ARGS

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
)
pytest.importorskip("playwright.async_api", reason="the playwright Python package is not installed")

from playwright.async_api import Browser, Page, async_playwright, expect  # noqa: E402


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Browser, *, locale: str, phone: bool = False, javascript: bool = True) -> Page:
    size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    context = await browser.new_context(
        locale=locale, viewport=size, is_mobile=phone, has_touch=phone, java_script_enabled=javascript
    )
    return await context.new_page()


async def shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


async def search(page: Page, label: str, text: str) -> None:
    box = page.get_by_role("searchbox", name=label)
    await box.fill(text)
    await box.press("Enter")


async def test_browse_search_read_and_vote_in_english_without_javascript(served: Served, browser: Browser) -> None:
    # No JavaScript at all: every step is a link or a form.
    page = await new_page(browser, locale="en-US", javascript=False)
    await page.goto(served.url + "/help")
    await expect(page.get_by_role("heading", name="Browse by topic", level=1)).to_be_visible()
    await expect(page.get_by_role("heading", name="Account & security")).to_be_visible()
    await shoot(page, "help-home.png")

    await search(page, "Search the help center", "withdrawl not recieved")  # two typos
    await expect(page).to_have_url(served.url + "/en/help/search?q=withdrawl+not+recieved")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Results for “withdrawl not recieved”")
    results = page.locator("ol.results a")
    await expect(results.first).to_have_attribute("href", "/en/help/withdrawal-pending")
    await shoot(page, "help-search.png")

    await results.first.click()
    await expect(page).to_have_url(served.url + "/en/help/withdrawal-pending")
    article = page.get_by_role("article")
    await expect(article).to_contain_text("TxID")
    await expect(page.get_by_role("heading", name="Related articles")).to_be_visible()
    await page.get_by_role("button", name="Yes").click()
    await expect(page.get_by_role("status")).to_have_text("Thanks for your feedback!")
    await shoot(page, "help-article.png")
    votes = [(v.entry_id, v.helpful, v.not_helpful) for v in await served.runtime.store.article_votes(_long_ago())]
    assert votes == [("withdrawal-pending", 1, 0)]

    # Related articles lead on; the breadcrumb goes back to the topic.
    await page.get_by_role("region", name="Related articles").get_by_role("link").first.click()
    await expect(page.get_by_role("button", name="No")).to_be_visible()
    await page.get_by_role("link", name="All topics").click()
    await expect(page.get_by_role("heading", name="Browse by topic")).to_be_visible()


async def test_a_chinese_browser_gets_chinese_pages_and_can_switch(served: Served, browser: Browser) -> None:
    page = await new_page(browser, locale="zh-CN")
    await page.goto(served.url + "/help")
    await expect(page.get_by_role("heading", name="按主题浏览")).to_be_visible()
    await search(page, "搜索帮助中心", "提现没到账")
    await expect(page.get_by_role("heading", level=1)).to_have_text("“提现没到账”的搜索结果")
    await expect(page.locator("ol.results a").first).to_have_attribute("href", "/zh/help/withdrawal-pending")
    await shoot(page, "help-search-zh.png")

    await page.get_by_role("link", name="Switch to English (切换到英文)").click()
    await expect(page).to_have_url(served.url + "/en/help/search?q=%E6%8F%90%E7%8E%B0%E6%B2%A1%E5%88%B0%E8%B4%A6")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Results for “提现没到账”")
    await expect(page.locator("ol.results a").first).to_have_attribute("href", "/en/help/withdrawal-pending")

    await page.goto(served.url + "/zh/help/reset-2fa")
    await page.get_by_role("button", name="没帮助").click()
    await expect(page.get_by_role("status")).to_have_text("感谢你的反馈！")
    votes = [(v.entry_id, v.helpful, v.not_helpful) for v in await served.runtime.store.article_votes(_long_ago())]
    assert votes == [("reset-2fa", 0, 1)]


async def test_phone_pages_fit_the_screen_and_the_chat_is_one_tap_away(served: Served, browser: Browser) -> None:
    page = await new_page(browser, locale="en-US", phone=True)
    await page.goto(served.url + "/en/help")
    await expect(page.get_by_role("heading", name="Browse by topic")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    await shoot(page, "help-home-phone.png", full_page=False)

    await search(page, "Search the help center", "reset 2af")
    await page.locator("ol.results a").first.click()
    await expect(page).to_have_url(served.url + "/en/help/reset-2fa")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await shoot(page, "help-article-phone.png", full_page=False)

    # The widget is on every page: a question from the help center reaches the bot.
    await page.get_by_role("button", name="Open support chat").click()
    box = page.get_by_role("textbox", name="Your message")
    await box.fill("how do I reset my 2FA?")
    await box.press("Enter")
    await expect(page.get_by_role("log", name="Conversation")).to_contain_text(
        "authenticator app"
    )


def _long_ago() -> datetime:
    return datetime.now(UTC) - timedelta(days=1)


async def test_a_chat_answer_links_to_its_article(served: Served, browser: Browser) -> None:
    page = await new_page(browser, locale="en-US")
    await page.goto(served.url + "/")
    await page.get_by_role("button", name="Open support chat").click()
    box = page.get_by_role("textbox", name="Your message")
    await box.fill("how do I reset my 2FA?")
    await box.press("Enter")
    link = page.get_by_role("log", name="Conversation").get_by_role("link", name=served.url + "/help/reset-2fa")
    await expect(link).to_be_visible()
    async with page.context.expect_page() as opened:
        await link.click()
    article = await opened.value
    await expect(article.get_by_role("article")).to_contain_text("authenticator")
    await expect(article).to_have_url(served.url + "/help/reset-2fa")


async def test_the_ticket_form_without_javascript_lands_on_the_ticket_which_the_widget_lists(
    served: Served, browser: Browser, tmp_path: Path
) -> None:
    # A phone without JavaScript: from an article's "Still need help?" to the form, its topic chosen.
    page = await new_page(browser, locale="en-US", phone=True, javascript=False)
    await page.goto(served.url + "/en/help/withdrawal-pending")
    await page.get_by_role("link", name="Open a ticket").first.click()
    await expect(page.get_by_role("heading", name="Open a ticket", level=1)).to_be_visible()
    await expect(page.get_by_label("Topic")).to_have_value("deposits-withdrawals")
    await page.get_by_role("button", name="Open ticket").click()  # empty: the browser's own check stops it
    await expect(page).to_have_url(served.url + "/en/help/ticket?topic=deposits-withdrawals")
    await page.get_by_label("What happened?").fill("My USDT withdrawal has been pending for three hours.")
    await page.get_by_label("Which coin and network was it (for example USDT on TRC20)?").fill("USDT TRC20")
    await page.get_by_label("Email for the answer (optional)").fill("ann@example.org")
    shot = tmp_path / "wallet.png"
    Image.new("RGB", (60, 40), (30, 90, 200)).save(shot)
    await page.get_by_label("Screenshots (optional)").set_input_files(str(shot))
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    await shoot(page, "help-ticket-form-phone.png")
    await page.get_by_role("button", name="Open ticket").click()

    await expect(page.get_by_role("heading", name="Ticket #1001", level=1)).to_be_visible()
    await expect(page.get_by_role("status")).to_contain_text("Your ticket #1001 is open")
    await expect(page.locator("dd.status")).to_have_text("submitted")
    await expect(page.locator("ol.messages")).to_contain_text("pending for three hours")
    await expect(page.get_by_label("Reply to the agent")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await shoot(page, "help-ticket-phone.png")
    assert [a.mime_type for a in await served.runtime.store.attachments(1001)] == ["image/png"]

    # The same browser with JavaScript: the widget's My tickets lists the form's ticket (one visitor, one session).
    cookies = await page.context.cookies()
    widget_page = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    await widget_page.add_cookies(cookies)  # type: ignore[arg-type]
    desktop = await widget_page.new_page()
    await desktop.goto(served.url + "/en/help")
    await desktop.get_by_role("button", name="Open support chat").click()
    await desktop.get_by_role("navigation", name="Support menu").get_by_role("button", name="My tickets").click()
    await expect(desktop.get_by_role("button", name="#1001")).to_contain_text("submitted")
    await widget_page.close()
