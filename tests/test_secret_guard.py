"""The secret scanner on its own: each kind caught in English and Chinese, and the look-alikes left alone."""

from __future__ import annotations

import hashlib
import io
import logging

import mnemonic
import pytest

from bot.security.log_redaction import install_log_redaction
from bot.security.secret_scanner import SecretKind, SecretScanner

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
        ("api secret: 9f8e7d6c5b4a39281706f5e4d3c2b1a0ffee", "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffee", SecretKind.API_SECRET),
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
