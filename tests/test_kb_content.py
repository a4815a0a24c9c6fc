"""What a support lead checks in the knowledge base and the bot's own texts: one Chinese terminology, chat-sized
answers with a link to the full article, titles for every choice, and safety texts that name every official channel.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
import zhconv

from bot.app.config import BrandConfig, Config
from bot.app.wiring import Core
from bot.core.conversation import InMemoryConversationStates
from bot.core.messages import InboundMessage
from bot.knowledge.knowledge_base import KnowledgeBase, article_url, render_answer, render_chat_answer
from bot.knowledge.texts import _TEMPLATES, ReplyTexts

# (what not to write, what to write instead): the terminology a Chinese-speaking support lead signs off on.
AVOID: tuple[tuple[str, str], ...] = (
    (r"两步验证|二次验证", "双重验证（2FA） for the feature"),
    (r"谷歌验证(?![器码])", "谷歌验证器 for the app, 谷歌验证码 for the code"),
    (r"(?<!双重验证（)2FA", "双重验证（2FA）, or 谷歌验证码 for a code"),
    (r"身份验证", "身份认证（实名认证/KYC）"),
    (r"(?<!（)实名认证|身份认证（KYC）", "身份认证, written out as 身份认证（实名认证/KYC）"),
    (r"计划委托", "止损限价（Stop-Limit）"),
    (r"备注名", "名称: users read 备注 as the memo"),
    (r"[「」『』]", "“…” around menu paths"),
    (r"> 安全(?!中心)|安全设置 >", "安全中心 in every menu path"),
    (r"[\u4e00-\u9fff]\s*,\s*[\u4e00-\u9fff]", "、 or ， between Chinese list items"),
)
# Crypto leaves by 提币; 提现 is cash to a bank, so only the fiat entries may say it.
FIAT_ENTRIES = frozenset({"fiat-withdrawal", "buy-crypto-fiat", "p2p-trading"})
NEW_ENTRIES = (
    "withdrawal-wrong-address",
    "deposit-unsupported-token",
    "fiat-withdrawal",
    "earn-staking",
    "convert-dust",
    "account-frozen-compliance",
    "scam-victim",
    "delisting-migration",
    "travel-rule",
    "outage-maintenance",
    "futures-basics",
    "margin-loans",
    "copy-trading-bots",
    "restricted-regions",
    "account-inheritance",
)
MAX_CHAT_CHARS = {"en": 600, "zh": 320}  # about one phone screen; Chinese says as much in about half the characters


def _chinese_texts(kb: KnowledgeBase) -> Iterator[tuple[str, str]]:
    """(where, text) for every Chinese text a user reads: answers, articles, titles and the bot's templates."""
    for entry in kb.entries:
        yield f"{entry.id} title", entry.title["zh"]
        yield f"{entry.id} answer", entry.answer["zh"]
        if entry.article:
            yield f"{entry.id} article", entry.article["zh"]
    for key, text in _TEMPLATES.items():
        yield f"texts.{key}", text["zh"]


def test_every_chinese_text_uses_the_one_terminology(kb: KnowledgeBase) -> None:
    wrong = []
    for where, text in _chinese_texts(kb):
        for avoid, use in AVOID:
            for found in re.finditer(avoid, text):
                wrong.append(f"{where}: '{found.group(0)}' -> {use}")
        if zhconv.convert(text, "zh-cn") != text:
            wrong.append(f"{where}: traditional characters -> simplified throughout")
        # A menu path is quoted as a whole: every "a > b" sits inside “…”.
        if " > " in re.sub(r"“[^”]*”", "", text):
            wrong.append(f"{where}: a menu path outside “…”")
        if "提现" in text and not any(where.startswith(entry) for entry in FIAT_ENTRIES):
            wrong.append(f"{where}: 提现 for crypto -> 提币")
    assert not wrong, "\n".join(wrong)


def test_the_terminology_check_catches_what_it_names() -> None:
    bad = "请在「个人中心 > 安全 > 两步验证」重置谷歌验证，完成身份验证，填写备注名，使用计划委托"
    caught = {use for avoid, use in AVOID if re.search(avoid, bad)}
    assert len(caught) == 7, caught


def test_chat_answers_fit_a_phone_screen_and_link_their_full_article(kb: KnowledgeBase, config: Config) -> None:
    brand = config.brand
    too_long = []
    for entry in kb.entries:
        for lang in ("en", "zh"):
            body = render_chat_answer(entry, lang, brand)
            if len(body) > MAX_CHAT_CHARS[lang]:
                too_long.append((entry.id, lang, len(body)))
            full = render_answer(entry, lang, brand)
            if entry.kind == "answer":
                assert full.startswith(body) and full.endswith(article_url(entry, brand)), (entry.id, lang)
                assert article_url(entry, brand) == brand.help_center_url.rstrip("/") + "/" + entry.id
    assert not too_long, too_long


def test_every_entry_has_a_short_title_in_both_languages(kb: KnowledgeBase) -> None:
    for entry in kb.entries:
        assert 3 <= len(entry.title["en"]) <= 48 and entry.title["en"][0].isupper(), entry.id
        assert 2 <= len(entry.title["zh"]) <= 20, entry.id


def test_choices_are_labelled_with_titles_not_phrasings(core: Core) -> None:
    async def run() -> tuple[str, ...]:
        router = core.router.with_states(InMemoryConversationStates())
        # A category lists its entries through the same choices() the clarify step uses.
        result = await router.route(InboundMessage("test", "u", "c", "1", "/category deposits-withdrawals"))
        return tuple(s.label for r in result.replies for s in r.suggestions if s.payload.startswith("/faq "))

    labels = asyncio.run(run())
    category = core.kb.category("deposits-withdrawals")
    assert category is not None
    titles = [entry.title["en"] for entry in map(core.kb.entry, category.entry_ids) if entry is not None]
    assert labels and set(labels) <= set(titles), labels


def test_the_new_topics_are_there_with_enough_phrasings(kb: KnowledgeBase) -> None:
    for entry_id in NEW_ENTRIES:
        entry = kb.entry(entry_id)
        assert entry is not None and entry.kind == "answer", entry_id
        assert len(entry.questions["en"]) >= 10 and len(entry.questions["zh"]) >= 8, entry_id


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_phishing_entry_names_every_official_domain_and_handle(kb: KnowledgeBase, lang: str) -> None:
    brand = BrandConfig(
        name="Acme",
        official_domains=("acme.test", "app.acme.test", "trade.acme.test"),
        official_handles=("@AcmeHelp (Telegram)", "@Acme (X)"),
    )
    entry = kb.entry("official-channels-phishing")
    assert entry is not None
    text = render_answer(entry, "en" if lang == "en" else "zh", brand)
    for name in (*brand.official_domains, *brand.official_handles):
        assert name in text, name
    separator = ", " if lang == "en" else "、"  # Chinese lists take 、
    assert separator.join(brand.official_domains) in text


def test_reply_times_come_from_config_per_channel(kb: KnowledgeBase) -> None:
    brand = BrandConfig()
    texts = ReplyTexts(brand)
    handoff = texts.render("handoff", "en")
    assert brand.reply_times.live_chat.en in handoff and brand.reply_time.en not in handoff
    urgent = texts.render("handoff_security", "en")
    assert brand.reply_times.urgent.en in urgent and brand.reply_time.en not in urgent
    contact = kb.entry("contact-support")
    assert contact is not None
    text = render_chat_answer(contact, "en", brand)
    for fact in (brand.reply_times.live_chat.en, brand.formal_reply_time.en, brand.support_email, "phone", "formal"):
        assert fact in text, fact


def test_no_answer_promises_a_confirmation_email_or_a_single_reply_time(kb: KnowledgeBase) -> None:
    for entry in kb.entries:
        for text in (entry.answer["en"], *entry.article.values()):
            assert "confirmation email" not in text, entry.id
            assert "within 24 hours" not in text, entry.id


def test_no_text_puts_an_article_before_the_brand(kb: KnowledgeBase) -> None:
    # "a {brand}" reads "a ExampleX" for a name starting with a vowel sound: templates must not need an article.
    before_brand = re.compile(r"\b(a|an)\s+\{brand\}", re.IGNORECASE)
    texts = [t["en"] for t in _TEMPLATES.values()]
    texts += [text for entry in kb.entries for text in (entry.answer["en"], entry.article.get("en", ""))]
    assert not [t for t in texts if before_brand.search(t)]


@pytest.mark.parametrize(("channel", "platform"), [("telegram", "Telegram"), ("twitter", "X"), ("webchat", None)])
def test_a_secret_warning_asks_to_delete_the_message_where_the_platform_keeps_it(
    channel: str, platform: str | None
) -> None:
    texts = ReplyTexts(BrandConfig())
    warning = texts.secret_warning(["secret_intro", "secret_seed_phrase"], "en", channel)
    assert ("Delete your message too" in warning) is (platform is not None)
    if platform:
        assert platform in warning
    assert "new seed phrase" in warning and "never import" in warning and "has no seed phrase" in warning


def test_a_secret_in_a_telegram_message_is_answered_with_the_delete_hint(core: Core) -> None:
    async def run(channel: str) -> str:
        router = core.router.with_states(InMemoryConversationStates())
        result = await router.route(InboundMessage(channel, "u", "c", "1", "my 2fa code is 492817"))
        return "\n".join(r.text for r in result.replies)

    assert "Delete your message too" in asyncio.run(run("telegram"))
    assert "Delete your message too" not in asyncio.run(run("webchat"))


def test_safety_texts_say_what_scammers_ask_for() -> None:
    texts = ReplyTexts(BrandConfig())
    assert "send funds" in texts.render("standing_warning", "en") and "share your screen" in texts.render(
        "standing_warning", "en"
    )
    assert texts.render("secret_otp", "en").startswith("If someone asked you for this code, it is a scam")
    assert "转账" in texts.render("standing_warning", "zh") and "共享屏幕" in texts.render("standing_warning", "zh")
