"""The help center over real HTTP: the app `omnidesk run` serves (uvicorn, the router's own ranker, SQLite)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx
from markupsafe import escape

from adapters.helpcenter import entry_title, negotiate_lang
from bot.app.config import Config
from bot.desk.report import build_report, format_report
from tests.served_app import Served, serve_app


def links(page: str) -> list[str]:
    """The article links of a page, in order."""
    return re.findall(r'<li><a href="/(?:en|zh)/help/([a-z0-9-]+)"', page)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


async def test_home_lists_every_category_with_its_entries_in_the_language_of_the_url(
    http: httpx.AsyncClient, served: Served
) -> None:
    kb = served.runtime.core.kb
    english = await http.get("/en/help")
    assert english.status_code == 200
    assert english.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in english.headers["content-security-policy"]
    assert '<html lang="en">' in english.text
    for category in kb.browsable_categories:
        assert html.escape(category.title["en"]) in english.text
    answerable = [e.id for e in kb.entries if e.kind == "answer"]
    assert sorted(set(links(english.text))) == sorted(answerable)
    assert "small-talk" not in english.text  # decline entries are not articles

    chinese = await http.get("/zh/help/")
    assert '<html lang="zh-CN">' in chinese.text
    assert "帮助中心" in chinese.text and "按主题浏览" in chinese.text
    for category in kb.browsable_categories:
        assert html.escape(category.title["zh"]) in chinese.text
    assert 'href="/en/help/"' in chinese.text  # the switch to the same page in English


async def test_language_without_a_prefix_comes_from_the_browser(http: httpx.AsyncClient) -> None:
    zh = await http.get("/help", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert '<html lang="zh-CN">' in zh.text
    en = await http.get("/help", headers={"Accept-Language": "fr-FR,en;q=0.5,zh;q=0.4"})
    assert '<html lang="en">' in en.text
    assert negotiate_lang("") == "en"
    assert negotiate_lang("de, zh-TW;q=0.3") == "zh"
    assert negotiate_lang("zh;q=0, en;q=0.1") == "en"
    assert negotiate_lang("zh;q=abc, ;;, en-GB") == "en"


async def test_search_uses_the_bots_ranker_in_both_languages_with_typos(
    http: httpx.AsyncClient, served: Served
) -> None:
    matcher = served.runtime.core.matcher
    for query, lang, expected in (
        ("withdrawal not received", "en", "withdrawal-pending"),
        ("withdrawl not recieved", "en", "withdrawal-pending"),  # typos
        ("提现没到账", "zh", "withdrawal-pending"),
        ("reset 2af", "en", "reset-2fa"),
    ):
        page = await http.get(f"/{lang}/help/search", params={"q": query})
        assert page.status_code == 200
        found = links(page.text)
        assert found[0] == expected, (query, found)
        assert found[0] == matcher.match(query, None, limit=1)[0].entry_id  # the same object the bot asks
        assert f'value="{escape(query)}"' in page.text  # the query stays in the box (and the URL)

    # A Chinese query on the English page finds the entry and shows its English title.
    page = await http.get("/en/help/search", params={"q": "怎么重置谷歌验证器"})
    assert links(page.text)[0] == "reset-2fa"
    entry = served.runtime.core.kb.entry("reset-2fa")
    assert entry is not None and html.escape(entry_title(entry, "en")) in page.text

    nothing = await http.get("/en/help/search", params={"q": "what is the weather like"})
    assert links(nothing.text) == []
    assert "Nothing in the help center matches “what is the weather like”" in text_of(nothing.text)
    empty = await http.get("/en/help/search", params={"q": "   "})
    assert "Type a question in the search box." in empty.text

    metrics = (await http.get("/metrics")).text
    assert 'omnidesk_help_searches_total{result="found"} 5.0' in metrics
    assert 'omnidesk_help_searches_total{result="none"} 1.0' in metrics


async def test_user_text_is_escaped_everywhere(http: httpx.AsyncClient) -> None:
    attack = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    page = await http.get("/en/help/search", params={"q": attack})
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert str(escape(attack)) in page.text  # as Jinja escapes it
    long = await http.get("/zh/help/search", params={"q": "提现" * 500})
    assert long.status_code == 200
    # NUL, invalid UTF-8 and a lone surrogate's bytes, a nonsense Accept-Language: a page, never a 500.
    odd = await http.get("/help/search?q=%00%ED%A0%80%FF&q=2", headers={"Accept-Language": "zh;q=1e999, *;q=-1"})
    assert odd.status_code == 200 and "<html" in odd.text


async def test_an_article_shows_its_full_answer_related_entries_and_takes_a_vote(
    http: httpx.AsyncClient, served: Served
) -> None:
    page = await http.get("/en/help/reset-2fa")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "authenticator codes depend on the clock" in text
    assert "{brand}" not in text and "ExampleX" in text  # placeholders filled from config
    related = links(page.text)
    assert "enable-2fa" in related and "reset-2fa" not in related and len(related) == 4
    assert "Was this article helpful?" in text
    zh = await http.get("/zh/help/reset-2fa")
    assert "这篇文章对你有帮助吗" in zh.text

    voted = await http.post("/en/help/reset-2fa/vote", data={"helpful": "no"}, headers={"Origin": served.url})
    assert voted.status_code == 303
    assert voted.headers["location"] == "/en/help/reset-2fa?voted=no#vote"
    thanks = await http.get(voted.headers["location"])
    assert "Thanks for your feedback!" in thanks.text
    again = await http.post("/en/help/reset-2fa/vote", data={"helpful": "no"})  # the same browser: thanked, not counted
    assert again.status_code == 303
    assert "Thanks for your feedback!" in (await http.get("/en/help/reset-2fa")).text  # no second form
    async with (
        httpx.AsyncClient(base_url=served.url, trust_env=False) as other,
        httpx.AsyncClient(base_url=served.url, trust_env=False) as third,
    ):
        await other.post("/zh/help/reset-2fa/vote", data={"helpful": "yes"})
        await third.post("/en/help/reset-2fa/vote", data={"helpful": "no"})

    # Refused: a vote posted from another site, a bad value, an unknown article.
    assert (
        await http.post("/en/help/reset-2fa/vote", data={"helpful": "yes"}, headers={"Origin": "https://evil.example"})
    ).status_code == 403
    assert (await http.post("/en/help/kyc-how/vote", data={"helpful": "maybe"})).status_code == 400
    assert (
        await http.post(
            "/en/help/reset-2fa/vote", content=b"\xff\xfe", headers={"Content-Type": "multipart/form-data; boundary=x"}
        )
    ).status_code == 400
    assert (await http.post("/en/help/no-such-entry/vote", data={"helpful": "yes"})).status_code == 404
    missing = await http.get("/en/help/no-such-entry")
    assert missing.status_code == 404 and "This article does not exist" in missing.text
    assert (await http.get("/en/help/small-talk")).status_code == 404
    assert (await http.get("/en/help/..%2F..%2Fetc%2Fpasswd")).status_code == 404

    since = datetime.now(UTC) - timedelta(days=1)
    votes = await served.runtime.store.article_votes(since)
    assert [(v.entry_id, v.helpful, v.not_helpful) for v in votes] == [("reset-2fa", 1, 2)]
    report = format_report(await build_report(served.runtime.store, since))
    assert "Help-center votes (helpful / not helpful):" in report
    assert "reset-2fa" in report and "1 / 2" in report


async def test_pages_carry_the_widget_and_the_brand_from_config(db_config: Config) -> None:
    brand = db_config.brand.model_copy(update={"name": "Acme <Ex>", "support_email": "help@acme.test"})
    config = db_config.model_copy(update={"brand": brand})
    async with serve_app(config) as app, httpx.AsyncClient(base_url=app.url, trust_env=False) as http:
        page = (await http.get("/en/help/deposit-not-credited")).text
        assert '<script src="/widget.js" defer></script>' in page
        assert "Acme &lt;Ex&gt;" in page and "Acme <Ex>" not in page
        assert 'href="mailto:help@acme.test"' in page
        assert (await http.get("/help/help.css")).headers["content-type"].startswith("text/css")
