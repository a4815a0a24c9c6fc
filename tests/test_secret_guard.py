"""The secret scanner on its own: each kind caught in English and Chinese, and the look-alikes left alone."""

from __future__ import annotations

import hashlib
import io
import itertools
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import mnemonic
import pytest

from adapters.base import InMemoryChannel
from bot.app.config import Config
from bot.app.wiring import Core, Runtime, open_runtime
from bot.core.messages import Action, InboundMessage
from bot.core.router import RouterResult
from bot.security.log_redaction import install_log_redaction
from bot.security.secret_scanner import SecretKind, SecretScanner
from tests.fakes.wiring import with_store
from tests.test_secret_corpus import load_split_seeds

ENTROPY = bytes(range(16))
EN_SEED = mnemonic.Mnemonic("english").to_mnemonic(ENTROPY)
ZH_SEED = mnemonic.Mnemonic("chinese_simplified").to_mnemonic(ENTROPY)
HEX64 = hashlib.sha256(b"omnidesk").hexdigest()


def _wif() -> str:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    payload = b"\x80" + bytes(range(1, 33)) + b"\x01"
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number, out = int.from_bytes(data, "big"), ""
    while number:
        number, rest = divmod(number, 58)
        out = alphabet[rest] + out
    return out


@pytest.mark.parametrize(
    ("text", "secret", "kind"),
    [
        (EN_SEED, EN_SEED, SecretKind.SEED_PHRASE),
        (f"here is my seed: {EN_SEED}, can you check my wallet?", EN_SEED.split()[5], SecretKind.SEED_PHRASE),
        ("\n".join(f"{i}. {w}" for i, w in enumerate(EN_SEED.split(), 1)), EN_SEED.split()[3], SecretKind.SEED_PHRASE),
        (", ".join(EN_SEED.upper().split()), EN_SEED.split()[7].upper(), SecretKind.SEED_PHRASE),
        (f"助记词：{' '.join(ZH_SEED.split())}", ZH_SEED.replace(" ", "")[:4], SecretKind.SEED_PHRASE),
        ("我的助记词是 " + "，".join(ZH_SEED.split()), "，".join(ZH_SEED.split()[:3]), SecretKind.SEED_PHRASE),
        (f"my private key is {HEX64}", HEX64, SecretKind.PRIVATE_KEY),
        (f"私钥 0x{HEX64} 导入不了", HEX64, SecretKind.PRIVATE_KEY),
        (f"exported this: {_wif()}", _wif(), SecretKind.PRIVATE_KEY),
        ("my password is Tr0ub4dor&3", "Tr0ub4dor&3", SecretKind.PASSWORD),
        ("password: hunter2hunter2", "hunter2hunter2", SecretKind.PASSWORD),
        ("pwd=s3cr3tPass", "s3cr3tPass", SecretKind.PASSWORD),
        ("我的密码是abc12345，登录不上", "abc12345", SecretKind.PASSWORD),
        ("my 2fa code is 482913", "482913", SecretKind.OTP),
        ("谷歌验证码 739201 一直提示错误", "739201", SecretKind.OTP),
        (
            "api secret: 9f8e7d6c5b4a39281706f5e4d3c2b1a0ffee",
            "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffee",
            SecretKind.API_SECRET,
        ),
    ],
)
def test_each_kind_is_caught_and_removed(scanner: SecretScanner, text: str, secret: str, kind: SecretKind) -> None:
    result = scanner.scan(text)
    assert kind in result.kinds
    assert secret not in result.redacted_text
    assert "[REDACTED" in result.redacted_text


@pytest.mark.parametrize(
    "text",
    [
        f"my deposit is missing, txid {HEX64}",
        f"提币交易哈希 0x{HEX64} 还没到账",
        f"https://etherscan.io/tx/0x{HEX64}",
        "send to 0x52908400098527886E0F7030069857D2E4169EE7 please",
        "my btc address bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "my UID is 38291746 and order id 1234567890123",
        "I forgot my password",
        "my password is not working",
        "what is my password",
        "密码忘了怎么办",
        "should I back up my seed phrase?",
        "助记词丢了怎么办",
        "私钥怎么导出",
        "I deposited 123456 USDT yesterday, error code 10002",
        "我昨天充值了USDT，三个小时了还没有到账，请问是什么原因，需要提供什么信息给客服吗",
        "I have been waiting for my withdrawal for about three hours and the status still says processing, "
        "is there something wrong with the network or my account, thank you for any help you can give",
    ],
)
def test_look_alikes_and_questions_about_secrets_are_left_alone(scanner: SecretScanner, text: str) -> None:
    result = scanner.scan(text)
    assert not result.found, result
    assert result.redacted_text == text


def test_the_log_filter_redacts_records_of_child_loggers(scanner: SecretScanner) -> None:
    parent = logging.getLogger("omnidesk-test-parent")
    sink = io.StringIO()
    parent.addHandler(logging.StreamHandler(sink))
    install_log_redaction(scanner, parent)
    install_log_redaction(scanner, parent)  # installing twice adds no second filter
    assert len(parent.handlers[0].filters) == 1
    # Libraries log raw payloads from their own child loggers, with %-style arguments.
    logging.getLogger("omnidesk-test-parent.telegram.raw").warning("update: %s", {"text": f"my seed {EN_SEED}"})
    assert EN_SEED.split()[4] not in sink.getvalue()
    assert "[REDACTED:SEED_PHRASE]" in sink.getvalue()


# --- issue 13: warn AND answer; a phrase sent in parts ------------------------------------------------------------


@pytest.fixture
async def runtime(config: Config, core: Core, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A desk on a real SQLite file, replying into memory."""
    rt = await open_runtime(with_store(config, tmp_path / "omnidesk.db"), core_parts=core)
    rt.channels["webchat"] = InMemoryChannel(name="webchat")
    yield rt
    await rt.close()


_ids = itertools.count()


async def say(rt: Runtime, conversation: str, text: str) -> RouterResult | None:
    return await rt.desk.handle(InboundMessage("webchat", conversation, conversation, f"m{next(_ids)}", text))


@pytest.mark.parametrize(
    ("text", "secret", "faq"),
    [
        ("my 2fa code is 492817 please help me withdraw", "492817", "withdraw"),
        ("my password is Hunter2!xyz, how do I reset my 2FA?", "Hunter2!xyz", "reset-2fa"),
        ("谷歌验证码是 552917，提币一直没到账怎么办", "552917", "withdraw"),
    ],
)
async def test_a_secret_with_a_question_gets_the_warning_then_the_answer(
    runtime: Runtime, text: str, secret: str, faq: str
) -> None:
    result = await say(runtime, "warn-and-answer", text)
    assert result is not None and result.secret_detected
    assert result.decision.action in (Action.ANSWER, Action.CLARIFY), result.decision
    sent = runtime.channels["webchat"]
    assert isinstance(sent, InMemoryChannel)
    replies = sent.texts("warn-and-answer")
    assert len(replies) >= 2, replies
    assert "never" in replies[0].lower() or "不要" in replies[0] or "切勿" in replies[0], replies[0]
    # The question after the secret is answered (or its entries offered), not dropped with the secret.
    assert faq in " ".join([result.decision.faq_id or "", *result.decision.suggestions]), result.decision
    stored = await runtime.store.transcript(("webchat", "warn-and-answer"))
    assert all(secret not in m.text for m in stored) and all(secret not in r for r in replies)


def _runs(words: list[str], run: int) -> re.Pattern[str]:
    """Any `run` consecutive words of the phrase, with anything but letters between them (nothing, for Chinese)."""
    is_han = words[0] >= "\u3400"
    gap = r"[^\w\u3400-\u9fff]{0,8}" if is_han else r"[^a-zA-Z]{1,8}"
    windows = {gap.join(re.escape(w) for w in words[i : i + run]) for i in range(len(words) - run + 1)}
    return re.compile("|".join(sorted(windows)), re.IGNORECASE)


@pytest.mark.parametrize(
    ("sample_id", "parts", "words"), load_split_seeds(), ids=lambda v: v if isinstance(v, str) else ""
)
async def test_a_phrase_sent_in_parts_is_redacted_in_every_part_as_stored(
    runtime: Runtime, sample_id: str, parts: list[str], words: list[str]
) -> None:
    """Each part goes through the desk into one conversation; afterwards no 3 words (Chinese: 2 characters) of the
    phrase are left together in the stored transcript, its ticket events, or the replies; the user was warned."""
    conversation = f"split-{sample_id}"
    results = [await say(runtime, conversation, part) for part in parts]
    assert all(r is not None for r in results)
    assert any(r.secret_detected for r in results if r is not None)
    pattern = _runs([w.lower() for w in words], 2 if words[0] >= "\u3400" else 3)
    stored = await runtime.store.transcript(("webchat", conversation))
    assert len(stored) >= len(parts)
    leaks = [m.text for m in stored if pattern.search(m.text.lower())]
    assert leaks == [], leaks


async def test_an_earlier_part_is_redacted_in_the_open_ticket_too(runtime: Runtime) -> None:
    conversation = "split-ticket"
    await say(runtime, conversation, "my account was hacked, someone withdrew all my USDT")
    assert await runtime.store.open_ticket_for("webchat", conversation) is not None
    await say(runtime, conversation, "车以胜阿逮来")
    await say(runtime, conversation, "旁屏毕喊秀和 这是后半部分")
    ticket = await runtime.store.open_ticket_for("webchat", conversation)
    assert ticket is not None
    details = [e.detail or "" for e in await runtime.store.ticket_events(ticket.number)]
    transcript = [m.text for m in await runtime.store.transcript(("webchat", conversation))]
    for text in details + transcript:
        assert "车以胜" not in text and "旁屏毕" not in text, text
    assert "[REDACTED:SEED_PHRASE]" in transcript[-3] or any("[REDACTED:SEED_PHRASE]" in t for t in transcript[:-1])


async def test_an_ordinary_conversation_is_not_rewritten(runtime: Runtime) -> None:
    conversation = "no-split"
    texts = [
        "deposit address network",
        "transfer fee limit",
        "how long does a withdrawal take?",
        "你好在吗",  # two short Chinese messages of 4 + 8 characters: no phrase split in two
        "充值地址在哪里看到",
        "麻烦尽快帮我处理",
    ]
    for text in texts:
        result = await say(runtime, conversation, text)
        assert result is not None and not result.secret_detected and not result.redact_earlier
    stored = [m.text for m in await runtime.store.transcript(("webchat", conversation)) if m.direction == "in"]
    assert stored == texts
