"""FaqMatcher on the shipped knowledge base: robustness to how people type, and what its numbers mean."""

from __future__ import annotations

import pytest

from bot.app.wiring import Core
from bot.knowledge.features import FeatureExtractor
from bot.knowledge.language import detect_language
from bot.knowledge.matcher import FaqMatcher, Phrasing


@pytest.mark.parametrize(
    ("text", "lang", "faq_id"),
    [
        ("how do i reset my google authenticator", "en", "reset-2fa"),
        ("HOW DO I RESET MY GOOGLE AUTHENTICATOR???", "en", "reset-2fa"),
        ("how do i rest my googel authentcator", "en", "reset-2fa"),  # typos
        ("ｈｏｗ ｄｏ ｉ ｒｅｓｅｔ ｍｙ ２ＦＡ", "en", "reset-2fa"),  # full-width
        ("谷歌验证器丢了怎么重置", "zh", "reset-2fa"),
        ("穀歌驗證器丟了怎麼重置", "zh", "reset-2fa"),  # traditional characters
        ("充值没到账", "zh", "deposit-not-credited"),
        ("充值沒到賬", "zh", "deposit-not-credited"),
    ],
)
def test_typing_variations_reach_the_same_entry(core: Core, text: str, lang: str, faq_id: str) -> None:
    candidates = core.matcher.match(text, "en" if lang == "en" else "zh", limit=3)
    assert candidates[0].entry_id == faq_id


def test_candidates_are_ranked_with_confidences_in_range(core: Core) -> None:
    candidates = core.matcher.match("withdrawal pending for hours", "en", limit=5)
    assert len(candidates) == 5
    assert [c.score for c in candidates] == sorted((c.score for c in candidates), reverse=True)
    assert all(0.0 <= c.confidence <= 1.0 for c in candidates)
    assert candidates[0].confidence > candidates[1].confidence


def test_nonsense_and_empty_text_get_low_or_no_confidence(core: Core) -> None:
    assert core.matcher.match("", "en") == ()
    assert core.matcher.match("?!…", "en") == ()
    nonsense = core.matcher.match("qwzx vbnm plokij", "en")
    assert not nonsense or nonsense[0].confidence < core.config.matcher.clarify


def test_synonyms_join_languages_and_spellings() -> None:
    extractor = FeatureExtractor({"2fa": ("authenticator", "google authenticator", "谷歌验证器")})
    assert "s:2fa" in extractor.extract("Lost my Google Authenticator")
    assert "s:2fa" in extractor.extract("谷歌验证器丢了")
    assert "s:2fa" not in extractor.extract("authenticating the gas fee")


def test_a_small_index_still_matches_and_calibrates() -> None:
    phrasings = [Phrasing("a", "reset my password", "en"), Phrasing("b", "where is my deposit", "en")]
    matcher = FaqMatcher(phrasings, FeatureExtractor({}))
    assert matcher.match("password reset", "en")[0].entry_id == "a"
    with pytest.raises(ValueError):
        FaqMatcher([], FeatureExtractor({}))


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("how do I withdraw", "en"),
        ("怎么提币", "zh"),
        ("我的USDT提现还没到账", "zh"),
        ("my friend 小王 told me to ask about the withdrawal limit for my account", "en"),
        ("12345", None),
        ("🙂", None),
    ],
)
def test_language_detection(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang
