"""The FAQ knowledge base: YAML files in `faq_data/`, validated on load with `file:line` errors."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from bot.app.config import BrandConfig
from bot.core.messages import Lang
from bot.knowledge.textnorm import normalize
from bot.knowledge.texts import LIST_SEPARATOR

LANGS: tuple[Lang, ...] = ("en", "zh")
MIN_QUESTIONS: Mapping[Lang, int] = {"en": 6, "zh": 4}
SYNONYMS_FILE = "synonyms.yaml"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
PLACEHOLDERS = frozenset(
    {
        "brand",
        "website",
        "official_domains",
        "support_email",
        "official_handles",
        "help_center",
        "reply_time",
        "reply_time_chat",
        "reply_time_email",
        "reply_time_urgent",
    }
)
# Chinese separates list items with 、, not a comma.
# Under each chat answer: the entry's full article on the help center.
_READ_MORE: Mapping[Lang, str] = {"en": "Read more: {url}", "zh": "详细说明：{url}"}


class KnowledgeBaseError(Exception):
    """An invalid knowledge base file; the message starts with `file:line`."""


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One FAQ entry: how users ask it, its keywords and its answer, in both languages."""

    id: str
    category: str
    questions: Mapping[Lang, tuple[str, ...]]
    keywords: Mapping[Lang, tuple[str, ...]]
    answer: Mapping[Lang, str]  # what the chat sends: about 600 characters in English at most, steps first
    # "answer" entries are answered; "decline" entries (off-topic, investment advice) are politely refused.
    kind: str = "answer"
    source: str = ""  # file:line, for error messages and lint output
    title: Mapping[Lang, str] = field(default_factory=dict)  # the label of choice buttons and chips
    article: Mapping[Lang, str] = field(default_factory=dict)  # the full help-center answer; empty: the answer


@dataclass(frozen=True, slots=True)
class Category:
    """A group of entries users can browse."""

    slug: str
    title: Mapping[Lang, str]
    entry_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """All entries, their categories, and the synonym groups the matcher expands."""

    entries: tuple[FaqEntry, ...]
    categories: tuple[Category, ...]
    synonyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # looked up for every candidate of every message: an index, not a scan
    _by_id: Mapping[str, FaqEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {e.id: e for e in self.entries})

    def entry(self, entry_id: str) -> FaqEntry | None:
        """The entry with this id, or None."""
        return self._by_id.get(entry_id)

    def category(self, slug: str) -> Category | None:
        """The category with this slug, or None."""
        return next((c for c in self.categories if c.slug == slug), None)

    @property
    def declining_ids(self) -> frozenset[str]:
        """The ids of the entries that politely refuse (small talk, investment advice, illegal requests)."""
        return frozenset(e.id for e in self.entries if e.kind == "decline")

    @property
    def browsable_categories(self) -> tuple[Category, ...]:
        """Categories of answerable entries (not the off-topic ones)."""
        answerable = {e.id for e in self.entries if e.kind == "answer"}
        return tuple(c for c in self.categories if any(i in answerable for i in c.entry_ids))


def _fill(text: str, lang: Lang, brand: BrandConfig) -> str:
    values = {
        "brand": brand.name,
        "website": brand.official_domains[0],
        "official_domains": LIST_SEPARATOR[lang].join(brand.official_domains),
        "support_email": brand.support_email,
        "official_handles": LIST_SEPARATOR[lang].join(brand.official_handles),
        "help_center": brand.help_center_url,
        "reply_time": getattr(brand.reply_time, lang),
        "reply_time_chat": getattr(brand.reply_times.live_chat, lang),
        "reply_time_email": getattr(brand.formal_reply_time, lang),
        "reply_time_urgent": getattr(brand.reply_times.urgent, lang),
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text).strip()


def article_url(entry: FaqEntry, brand: BrandConfig) -> str:
    """Where the entry's full article lives: the help center's page for its id."""
    return brand.help_center_url.rstrip("/") + "/" + entry.id


def render_chat_answer(entry: FaqEntry, lang: Lang, brand: BrandConfig) -> str:
    """The chat answer alone, without the link: what the length limit applies to."""
    return _fill(entry.answer[lang], lang, brand)


def render_answer(entry: FaqEntry, lang: Lang, brand: BrandConfig) -> str:
    """The entry's chat answer in `lang` with the brand's details filled in and, for answerable entries, a link to
    the full article."""
    text = render_chat_answer(entry, lang, brand)
    if entry.kind != "answer":
        return text
    return text + "\n" + _READ_MORE[lang].format(url=article_url(entry, brand))


def render_article(entry: FaqEntry, lang: Lang, brand: BrandConfig) -> str:
    """The entry's full article (the chat answer when it has none), for the help center."""
    return _fill((entry.article or entry.answer)[lang], lang, brand)


class _Str(str):
    """A YAML string that remembers its line."""

    line: int = 0


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose strings and mappings carry the line they came from."""


def _construct_str(loader: _LineLoader, node: yaml.ScalarNode) -> _Str:
    value = _Str(loader.construct_scalar(node))
    value.line = node.start_mark.line + 1
    return value


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = dict(loader.construct_pairs(node, deep=True))
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)
_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def default_faq_dir() -> Path:
    """The knowledge base shipped inside the package."""
    return Path(str(resources.files("faq_data")))


def load_knowledge_base(directory: Path | None = None) -> KnowledgeBase:
    """Load and validate every `*.yaml` file in `directory` (default: the shipped knowledge base)."""
    root = directory or default_faq_dir()
    files = sorted(p for p in root.glob("*.yaml"))
    if not files:
        raise KnowledgeBaseError(f"{root}: no *.yaml files")
    entries: list[FaqEntry] = []
    categories: list[Category] = []
    synonyms: dict[str, tuple[str, ...]] = {}
    for path in files:
        doc = _read(path)
        if path.name == SYNONYMS_FILE:
            synonyms.update(_parse_synonyms(path, doc))
            continue
        category, file_entries = _parse_category(path, doc)
        categories.append(category)
        entries.extend(file_entries)
    _check_unique(entries)
    return KnowledgeBase(tuple(entries), tuple(categories), synonyms)


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise KnowledgeBaseError(f"{path}:{line}: invalid YAML: {exc.problem}") from None
    if not isinstance(doc, dict):
        raise KnowledgeBaseError(f"{path}:1: the top level must be a mapping")
    return doc


def _where(path: Path, node: Any) -> str:
    line = node.get("__line__", 0) if isinstance(node, dict) else getattr(node, "line", 0)
    return f"{path}:{line}"


def _parse_synonyms(path: Path, doc: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    groups = doc.get("synonyms")
    if not isinstance(groups, dict):
        raise KnowledgeBaseError(f"{_where(path, doc)}: 'synonyms' must map a canonical term to its variants")
    parsed: dict[str, tuple[str, ...]] = {}
    for canonical, variants in groups.items():
        if canonical == "__line__":
            continue
        if not isinstance(variants, list) or not all(isinstance(v, str) for v in variants):
            raise KnowledgeBaseError(f"{_where(path, canonical)}: synonyms of '{canonical}' must be a list of strings")
        parsed[str(canonical)] = tuple(str(v) for v in variants)
    return parsed


def _localized(path: Path, node: Any, field_name: str, entry_id: str) -> dict[Lang, Any]:
    if not isinstance(node, dict):
        raise KnowledgeBaseError(f"{_where(path, node)}: entry '{entry_id}': '{field_name}' needs 'en' and 'zh'")
    for lang in LANGS:
        if not node.get(lang):
            raise KnowledgeBaseError(f"{_where(path, node)}: entry '{entry_id}': '{field_name}' is missing '{lang}'")
    return {lang: node[lang] for lang in LANGS}


def _strings(path: Path, values: Any, what: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise KnowledgeBaseError(f"{_where(path, values)}: {what} must be a list of non-empty strings")
    return tuple(values)


def _parse_category(path: Path, doc: dict[str, Any]) -> tuple[Category, list[FaqEntry]]:
    slug = doc.get("category")
    if not isinstance(slug, str) or not slug:
        raise KnowledgeBaseError(f"{path}:1: missing 'category'")
    title = _localized(path, doc.get("title"), "title", slug)
    kind = doc.get("kind", "answer")
    if kind not in ("answer", "decline"):
        raise KnowledgeBaseError(f"{_where(path, doc)}: kind must be 'answer' or 'decline'")
    raw_entries = doc.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise KnowledgeBaseError(f"{_where(path, doc)}: 'entries' must be a non-empty list")
    entries = [_parse_entry(path, raw, slug, str(kind)) for raw in raw_entries]
    return Category(slug, {k: str(v) for k, v in title.items()}, tuple(e.id for e in entries)), entries


def _parse_entry(path: Path, raw: Any, category: str, kind: str) -> FaqEntry:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise KnowledgeBaseError(f"{_where(path, raw)}: every entry needs an 'id'")
    entry_id = str(raw["id"])
    questions = _localized(path, raw.get("questions"), "questions", entry_id)
    answer = _localized(path, raw.get("answer"), "answer", entry_id)
    if not isinstance(raw.get("title"), dict):
        # Choice buttons and chips show the title; without one they would show a raw user phrasing.
        raise KnowledgeBaseError(f"{_where(path, raw)}: entry '{entry_id}' needs a 'title' with 'en' and 'zh'")
    title = _localized(path, raw["title"], "title", entry_id)
    article = _localized(path, raw["article"], "article", entry_id) if raw.get("article") else {}
    keywords = raw.get("keywords") or {"en": [], "zh": []}
    parsed_questions: dict[Lang, tuple[str, ...]] = {}
    for lang in LANGS:
        parsed_questions[lang] = _strings(path, questions[lang], f"entry '{entry_id}': questions.{lang}")
        if kind == "answer" and len(parsed_questions[lang]) < MIN_QUESTIONS[lang]:
            raise KnowledgeBaseError(
                f"{_where(path, questions[lang])}: entry '{entry_id}' needs at least "
                f"{MIN_QUESTIONS[lang]} {lang} questions, has {len(parsed_questions[lang])}"
            )
        for text in (answer[lang], article.get(lang, "")):
            for name in _PLACEHOLDER.findall(str(text)):
                if name not in PLACEHOLDERS:
                    raise KnowledgeBaseError(
                        f"{_where(path, text)}: entry '{entry_id}': unknown placeholder {{{name}}}"
                    )
    parsed_keywords = {
        lang: _strings(path, keywords.get(lang, []), f"entry '{entry_id}': keywords.{lang}")
        if keywords.get(lang)
        else ()
        for lang in LANGS
    }
    return FaqEntry(
        id=entry_id,
        category=category,
        questions=parsed_questions,
        keywords=parsed_keywords,
        answer={lang: str(answer[lang]) for lang in LANGS},
        kind=kind,
        source=_where(path, raw),
        title={lang: str(title[lang]).strip() for lang in LANGS},
        article={lang: str(article[lang]) for lang in article},
    )


def _check_unique(entries: Iterable[FaqEntry]) -> None:
    seen_ids: dict[str, str] = {}
    seen_questions: dict[str, tuple[str, str]] = {}
    for entry in entries:
        if entry.id in seen_ids:
            raise KnowledgeBaseError(f"{entry.source}: duplicate id '{entry.id}' (first at {seen_ids[entry.id]})")
        seen_ids[entry.id] = entry.source
        for lang in LANGS:
            for question in entry.questions[lang]:
                key = normalize(question)
                where = f"{entry.source.rsplit(':', 1)[0]}:{getattr(question, 'line', 0)}"
                other = seen_questions.get(key)
                if other and other[0] != entry.id:
                    raise KnowledgeBaseError(
                        f"{where}: question '{question}' of '{entry.id}' is also listed under '{other[0]}' ({other[1]})"
                    )
                seen_questions[key] = (entry.id, where)
