"""The help center: server-rendered pages of the knowledge base at `/help` (and `/en/help`, `/zh/help`).

Categories with their entries, one article page per entry with related entries and a "was this helpful?" vote, and
a search box answered by the bot's own ranker (the object the router matches with, so search follows any change to
it). Plain HTML forms and links: everything works without JavaScript; the chat widget is added when it is served.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Protocol
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.app.config import BrandConfig
from bot.core.messages import Lang
from bot.knowledge.knowledge_base import LANGS, FaqEntry, KnowledgeBase, render_article

TEMPLATES_DIR = Path(__file__).with_name("helpcenter_templates")
MAX_QUERY_CHARS = 200  # a search box, not a document: longer queries are cut, never refused
SEARCH_RESULTS = 8
RELATED_ENTRIES = 4
# Below this calibrated confidence a search hit is noise. Lower than the chat's `clarify` threshold: a results page
# shows several entries to choose from, where the chat must commit to an answer or a short list.
SEARCH_MIN_CONFIDENCE = 0.1

# Pages run no script of their own; only the widget's, from this server, when it is enabled.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS: Mapping[str, str] = MappingProxyType(
    {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
)
_ENTRY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")
_VOTED_COOKIE = "hc_voted_"
_VOTE_COOKIE_SECONDS = 365 * 24 * 3600

UI: Mapping[Lang, Mapping[str, str]] = MappingProxyType(
    {
        "en": MappingProxyType(
            {
                "help_center": "Help center",
                "search_label": "Search the help center",
                "search_placeholder": "Describe your question, e.g. withdrawal not received",
                "search_button": "Search",
                "results_for": "Results for “{query}”",
                "no_results": "Nothing in the help center matches “{query}”. Try other words, or ask our support chat.",
                "empty_query": "Type a question in the search box.",
                "categories": "Browse by topic",
                "related": "Related articles",
                "helpful": "Was this article helpful?",
                "yes": "Yes",
                "no": "No",
                "thanks": "Thanks for your feedback!",
                "not_found": "This article does not exist (any more).",
                "back": "All topics",
                "contact": "Still need help? Use the chat button or write to {email}.",
                "switch": "中文",
                "switch_label": "切换到中文 (Switch to Chinese)",
                "home": "{brand} home",
                "still_need_help": "Still need help?",
                "open_ticket": "Open a ticket",
                "my_tickets": "My tickets",
            }
        ),
        "zh": MappingProxyType(
            {
                "help_center": "帮助中心",
                "search_label": "搜索帮助中心",
                "search_placeholder": "描述你的问题，例如：提币没到账",
                "search_button": "搜索",
                "results_for": "“{query}”的搜索结果",
                "no_results": "帮助中心里没有与“{query}”相关的文章。换个说法试试，或者咨询在线客服。",
                "empty_query": "请在搜索框中输入问题。",
                "categories": "按主题浏览",
                "related": "相关文章",
                "helpful": "这篇文章对你有帮助吗？",
                "yes": "有帮助",
                "no": "没帮助",
                "thanks": "感谢你的反馈！",
                "not_found": "该文章不存在或已下线。",
                "back": "全部主题",
                "contact": "仍需帮助？点击在线客服按钮，或发邮件至 {email}。",
                "switch": "English",
                "switch_label": "Switch to English (切换到英文)",
                "home": "{brand} 首页",
                "still_need_help": "仍需帮助？",
                "open_ticket": "提交工单",
                "my_tickets": "我的工单",
            }
        ),
    }
)


class Ranked(Protocol):
    """What the help center reads of a ranked entry."""

    @property
    def entry_id(self) -> str: ...

    @property
    def confidence(self) -> float: ...


class Ranker(Protocol):
    """The bot's ranker (`FaqMatcher` today): search calls it exactly as the router does."""

    def match(self, text: str, lang: Lang | None = None, limit: int = 3) -> Sequence[Ranked]: ...


class VoteStore(Protocol):
    """Where votes go (`Store`)."""

    async def add_article_vote(self, entry_id: str, helpful: bool, lang: Lang) -> None: ...


class SearchCounter(Protocol):
    """Counts searches by outcome (`Metrics`)."""

    def help_search(self, found: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class Link:
    """An entry as a link: its title and the page's path."""

    title: str
    href: str


def entry_title(entry: FaqEntry, lang: Lang) -> str:
    """The entry's title; an entry without one is named by its first phrasing, capitalised."""
    if entry.title.get(lang):
        return entry.title[lang]
    first = entry.questions[lang][0].strip()
    return first[:1].upper() + first[1:]


def article_text(entry: FaqEntry, lang: Lang, brand: BrandConfig) -> str:
    """The full text of the entry's article page: its article, or its chat answer when it has none."""
    return render_article(entry, lang, brand)


def negotiate_lang(accept_language: str) -> Lang:
    """The first of our languages in the browser's Accept-Language (by q-value), English when none is."""
    ranked: list[tuple[float, int, Lang]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGS and q > 0:
            ranked.append((-q, position, "zh" if primary == "zh" else "en"))
    return min(ranked)[2] if ranked else "en"


class HelpCenter:
    """The pages, sharing the knowledge base, the ranker, the brand and where votes and counts go."""

    def __init__(
        self,
        kb: KnowledgeBase,
        ranker: Ranker,
        brand: BrandConfig,
        votes: VoteStore,
        searches: SearchCounter,
        *,
        widget: bool = True,
        ticket_form: bool = False,
    ) -> None:
        self._kb = kb
        self._ranker = ranker
        self._brand = brand
        self._votes = votes
        self._searches = searches
        self._widget = widget
        self._ticket_form = ticket_form  # served with the widget (`adapters.webchat_form`): its pages link to it
        self._answerable = {e.id: e for e in kb.entries if e.kind == "answer"}
        self._jinja = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def routes(self) -> list[BaseRoute]:
        """`/help...` (language from the browser) and `/en/help...`, `/zh/help...`."""
        routes: list[BaseRoute] = [Route("/help/help.css", self.stylesheet, methods=["GET"])]
        for prefix in ("", "/en", "/zh"):
            routes += [
                Route(f"{prefix}/help", self.home, methods=["GET"]),
                Route(f"{prefix}/help/", self.home, methods=["GET"]),
                Route(f"{prefix}/help/search", self.search, methods=["GET"]),
                Route(f"{prefix}/help/{{entry_id}}", self.article, methods=["GET"]),
                Route(f"{prefix}/help/{{entry_id}}/vote", self.vote, methods=["POST"]),
            ]
        return routes

    # -- pages -------------------------------------------------------------------------------------------------

    async def stylesheet(self, request: Request) -> Response:
        """The pages' styles."""
        headers = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}
        return FileResponse(TEMPLATES_DIR / "help.css", media_type="text/css; charset=utf-8", headers=headers)

    async def home(self, request: Request) -> Response:
        """Every category with its entries, and the search box."""
        lang = self.lang_of(request)
        categories = [
            (
                category.slug,
                category.title[lang],
                [self._link(self._answerable[i], lang) for i in category.entry_ids if i in self._answerable],
            )
            for category in self._kb.browsable_categories
        ]
        return self.page(request, "home.html", lang, title=UI[lang]["help_center"], categories=categories)

    async def search(self, request: Request) -> Response:
        """Entries ranked for `q` by the bot's ranker, in any language, typos included."""
        lang = self.lang_of(request)
        query = " ".join(request.query_params.get("q", "").split())[:MAX_QUERY_CHARS]
        results: list[Link] = []
        if query:
            for ranked in self._ranker.match(query, None, limit=SEARCH_RESULTS):
                if ranked.entry_id not in self._answerable:
                    break  # ranked below small talk or investment advice: what the bot would decline
                if ranked.confidence >= SEARCH_MIN_CONFIDENCE:
                    results.append(self._link(self._answerable[ranked.entry_id], lang))
            self._searches.help_search(bool(results))
        title = UI[lang]["results_for"].format(query=query) if query else UI[lang]["search_button"]
        return self.page(request, "search.html", lang, title=title, query=query, results=results)

    async def article(self, request: Request) -> Response:
        """One entry: its title, full text, related entries and the vote."""
        lang = self.lang_of(request)
        entry = self._entry(request)
        if entry is None:
            return self.page(request, "not_found.html", lang, title=UI[lang]["not_found"], status=404)
        category = self._kb.category(entry.category)
        return self.page(
            request,
            "article.html",
            lang,
            title=entry_title(entry, lang),
            entry_id=entry.id,
            category=(entry.category, category.title[lang] if category else entry.category),
            paragraphs=[p for p in article_text(entry, lang, self._brand).split("\n") if p.strip()],
            related=self._related(entry, lang),
            voted=request.query_params.get("voted") in ("yes", "no") or _VOTED_COOKIE + entry.id in request.cookies,
        )

    async def vote(self, request: Request) -> Response:
        """Store a "was this helpful?" answer, then back to the article (POST-redirect-GET)."""
        lang = self.lang_of(request)
        entry = self._entry(request)
        if entry is None:
            return self.page(request, "not_found.html", lang, title=UI[lang]["not_found"], status=404)
        if not same_origin(request):
            return Response("cross-site form posts are refused", status_code=403, media_type="text/plain")
        try:
            form = await request.form(max_files=0, max_fields=4)
        except Exception:  # a malformed body is the client's error, never a 500
            return Response("malformed form", status_code=400, media_type="text/plain")
        helpful = form.get("helpful")
        if helpful not in ("yes", "no"):
            return Response("helpful must be yes or no", status_code=400, media_type="text/plain")
        cookie = _VOTED_COOKIE + entry.id
        # One vote per browser and article: a second one (a double click, the back button) is thanked, not counted.
        if cookie not in request.cookies:
            await self._votes.add_article_vote(entry.id, helpful == "yes", lang)
        response = RedirectResponse(f"/{lang}/help/{entry.id}?voted={helpful}#vote", status_code=303)
        response.set_cookie(cookie, "1", max_age=_VOTE_COOKIE_SECONDS, httponly=True, samesite="lax", path="/")
        return response

    # -- helpers -----------------------------------------------------------------------------------------------

    def lang_of(self, request: Request) -> Lang:
        """From the URL (`/zh/help`), then the browser."""
        first = request.url.path.split("/")[1]
        if first == "zh":
            return "zh"
        if first == "en":
            return "en"
        return negotiate_lang(request.headers.get("accept-language", ""))

    def _entry(self, request: Request) -> FaqEntry | None:
        entry_id = str(request.path_params.get("entry_id", ""))
        return self._answerable.get(entry_id) if _ENTRY_ID.match(entry_id) else None

    def _link(self, entry: FaqEntry, lang: Lang) -> Link:
        return Link(entry_title(entry, lang), entry.id)

    def _related(self, entry: FaqEntry, lang: Lang) -> list[Link]:
        """What the ranker puts next to the entry's own phrasings, then the rest of its category."""
        ids: list[str] = []
        for question in entry.questions[lang][:3]:
            for candidate in self._ranker.match(question, lang, limit=RELATED_ENTRIES + 1):
                if candidate.entry_id != entry.id and candidate.entry_id in self._answerable:
                    ids.append(candidate.entry_id)
        category = self._kb.category(entry.category)
        ids += [i for i in (category.entry_ids if category else ()) if i != entry.id and i in self._answerable]
        unique = list(dict.fromkeys(ids))[:RELATED_ENTRIES]
        return [self._link(self._answerable[i], lang) for i in unique]

    def page(
        self, request: Request, template: str, lang: Lang, *, title: str, status: int = 200, **values: object
    ) -> Response:
        """Render a page of the help center's look; its links keep the language explicit (`/en/help/...`) so
        switching sticks."""
        other: Lang = "en" if lang == "zh" else "zh"
        # The same page in the other language: the path after /help, and the search query if any.
        rest = request.url.path.split("/help", 1)[1] if "/help" in request.url.path else ""
        query = f"?q={quote(request.query_params['q'])}" if "q" in request.query_params else ""
        ui = {key: text.replace("{brand}", self._brand.name) for key, text in UI[lang].items()}
        html = self._jinja.get_template(template).render(
            lang=lang,
            ui=ui,
            title=title,
            brand=self._brand,
            home_url=f"https://{self._brand.official_domains[0]}/",
            base=f"/{lang}/help",
            switch_url=f"/{other}/help{rest}{query}",
            widget=self._widget,
            ticket_form=self._ticket_form,
            **values,
        )
        return HTMLResponse(html, status_code=status, headers=dict(_HEADERS))


def same_origin(request: Request) -> bool:
    """A browser sends Origin with a form POST; refuse one from another site (a vote-stuffing page)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")
