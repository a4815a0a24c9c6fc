"""Secret scanner: each kind caught in English and Chinese, the look-alikes left alone, and properties on any text."""

from __future__ import annotations

import hashlib
import itertools
import random
import re
import string

import mnemonic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.security.secret_scanner import _CHAT_WORDS as CHAT_WORDS
from bot.security.secret_scanner import ScanResult, SecretKind, SecretScanner

EN = mnemonic.Mnemonic("english")
ZH = mnemonic.Mnemonic("chinese_simplified")
ZH_T = mnemonic.Mnemonic("chinese_traditional")
EN12 = EN.to_mnemonic(bytes(range(16))).split()
EN15 = EN.to_mnemonic(bytes(range(20, 40))).split()
EN18 = EN.to_mnemonic(bytes(range(40, 64))).split()
EN21 = EN.to_mnemonic(bytes(range(64, 92))).split()
EN24 = EN.to_mnemonic(bytes(range(100, 132))).split()
ZH12 = ZH.to_mnemonic(bytes(range(16))).split()
ZH18 = ZH.to_mnemonic(bytes(range(50, 74))).split()
ZH24 = ZH.to_mnemonic(bytes(range(1, 33))).split()
ZHT12 = ZH_T.to_mnemonic(bytes(range(16))).split()
HEX = hashlib.sha256(b"omnidesk test key").hexdigest()
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

SEED = SecretKind.SEED_PHRASE
KEY = SecretKind.PRIVATE_KEY
PASSWORD = SecretKind.PASSWORD
OTP = SecretKind.OTP
API = SecretKind.API_SECRET


def b58encode(data: bytes) -> str:
    number, out = int.from_bytes(data, "big"), ""
    while number:
        number, rest = divmod(number, 58)
        out = B58[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def b58check(payload: bytes) -> str:
    return b58encode(payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4])


WIF_COMPRESSED = b58check(b"\x80" + bytes(range(1, 33)) + b"\x01")
WIF_UNCOMPRESSED = b58check(b"\x80" + bytes(range(1, 33)))
WIF_BROKEN = WIF_COMPRESSED[:-1] + ("A" if WIF_COMPRESSED[-1] != "A" else "B")
# BIP-32 test vector 1, master key.
XPRV = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"
XPUB = "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8"
SOLANA_SECRET = b58encode(hashlib.sha512(b"omnidesk solana").digest())
PEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oJ4iYN4HtA2koAoGCCqGSM49\n-----END EC PRIVATE KEY-----"


def bad_checksum_phrase(words: list[str]) -> list[str]:
    """The phrase with its last word swapped for the first wordlist word that breaks the checksum."""
    for candidate in EN.wordlist:
        changed = [*words[:-1], candidate]
        if not EN.check(" ".join(changed)):
            return changed
    raise AssertionError("unreachable")


SHARED = SecretScanner()


def no_run_survives(redacted: str, words: list[str]) -> bool:
    """True when no two consecutive words of the phrase are still next to each other in the text."""
    tokens = re.findall(r"[a-z]+|[\u4e00-\u9fff]", redacted.lower())
    pairs = set(itertools.pairwise(words))
    return not any(pair in pairs for pair in itertools.pairwise(tokens))


# --- seed phrases: English -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (" ".join(EN12), EN12),
        (" ".join(EN15), EN15),
        (" ".join(EN18), EN18),
        (" ".join(EN21), EN21),
        (" ".join(EN24), EN24),
        (" ".join(EN12).upper(), EN12),
        (", ".join(EN12), EN12),
        ("\n".join(EN24), EN24),
        ("  ".join(EN12) + "\n", EN12),
        ("\t".join(EN12), EN12),
        (" ".join(f"{i}. {w}" for i, w in enumerate(EN12, 1)), EN12),
        ("\n".join(f"{i}) {w}" for i, w in enumerate(EN24, 1)), EN24),
        (" ".join(f"#{i} {w}" for i, w in enumerate(EN12, 1)), EN12),
        ("1-" + " 2-".join(EN12), EN12),
        (", ".join(EN12[:4]) + "\n" + " ".join(EN12[4:8]) + "; " + "\n".join(EN12[8:]), EN12),
        (f"here is my seed: {' '.join(EN12)}, can you help", EN12),
        (f"hi, my seed phrase is {' '.join(EN24)} please help me recover", EN24),
        (f"my recovery phrase {' '.join(EN12)}", EN12),
        (f"助记词：{' '.join(EN12)}，怎么导入", EN12),
        # Full-width letters and the ideographic space (NFKC).
        ("\u3000".join(w.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}) for w in EN12), EN12),
    ],
)
def test_english_seed_phrases_are_redacted(scanner: SecretScanner, text: str, words: list[str]) -> None:
    result = scanner.scan(text)
    assert result.kinds == {SEED}
    assert no_run_survives(result.redacted_text, words)


@pytest.mark.parametrize("strength", [128, 160, 192, 224, 256])
@pytest.mark.parametrize("lang", [EN, ZH, ZH_T])
def test_generated_phrases_of_every_length_are_redacted(
    scanner: SecretScanner, lang: mnemonic.Mnemonic, strength: int
) -> None:
    words = lang.generate(strength).split()
    result = scanner.scan(f"is this right? {' '.join(words)}")
    assert result.kinds == {SEED}
    assert result.redacted_text == "is this right? [REDACTED:SEED_PHRASE]"


def test_only_the_phrase_is_replaced_and_the_question_stays(scanner: SecretScanner) -> None:
    result = scanner.scan(f"here is my seed: {' '.join(EN12)}, can you help")
    assert result.redacted_text == "here is my seed: [REDACTED:SEED_PHRASE], can you help"
    numbered = scanner.scan("\n".join(f"{i}. {w}" for i, w in enumerate(EN12, 1)) + "\nthanks!")
    assert numbered.redacted_text == "1. [REDACTED:SEED_PHRASE]\nthanks!"
    # Without a valid checksum the list numbers tell where the phrase ends: the question after it stays.
    listed = " ".join(f"{i}. {w}" for i, w in enumerate(bad_checksum_phrase(EN12), 1)) + " can you check it"
    assert scanner.scan(listed).redacted_text == "1. [REDACTED:SEED_PHRASE] can you check it"


@pytest.mark.parametrize(
    "text",
    [
        # A list (numbered, one per line, comma separated) is redacted even when the checksum fails.
        ", ".join(bad_checksum_phrase(EN12)),
        "\n".join(bad_checksum_phrase(EN12)),
        " ".join(f"{i}. {w}" for i, w in enumerate(bad_checksum_phrase(EN12), 1)),
        # So is a run after a context word.
        "my seed phrase is " + " ".join(bad_checksum_phrase(EN12)),
        # One or two typos inside, when numbered or after a context word.
        " ".join(f"{i}. {w}" for i, w in enumerate([*EN12[:5], "abandun", *EN12[6:]], 1)),
        "my mnemonic: " + " ".join([*EN12[:3], "liarr", *EN12[4:9], "gathr", *EN12[10:]]),
        "助记词 " + " ".join([*EN12[:7], "kage", *EN12[8:]]),
        # Typos in a comma-separated list too (decided: a list of 11 wordlist words is no prose either).
        ", ".join([*EN12[:6], "ajdust", *EN12[7:]]),
    ],
)
def test_listed_or_announced_phrases_need_no_checksum(scanner: SecretScanner, text: str) -> None:
    result = scanner.scan(text)
    assert result.kinds == {SEED}
    assert no_run_survives(result.redacted_text, EN12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Part of a phrase (issue 13: a phrase is sent in two messages): six words or more on their own, ...
        (", ".join(EN12[:11]), "[REDACTED:SEED_PHRASE]"),
        (" ".join(f"{i}. {w}" for i, w in enumerate(EN12[:11], 1)), "1. [REDACTED:SEED_PHRASE]"),
        (" ".join(EN12[:6]), "[REDACTED:SEED_PHRASE]"),
        (f"{' '.join(EN12[:6])} sorry pressed enter too early", "[REDACTED:SEED_PHRASE] sorry pressed enter too early"),
        # ... three after a context word, or three that are the whole message and no words of a question.
        (f"recovery phrase pt1: {' '.join(EN12[:4])}", "recovery phrase pt1: [REDACTED:SEED_PHRASE]"),
        ("regret cabin basic", "[REDACTED:SEED_PHRASE]"),
        ("助记词 筹 返 悲 骨 预 多", "助记词 [REDACTED:SEED_PHRASE]"),
    ],
)
def test_parts_of_a_phrase_are_redacted(scanner: SecretScanner, text: str, expected: str) -> None:
    assert scanner.scan(text).redacted_text == expected


# A run of ten or more wordlist words with one or two other words inside is a phrase with a word mistyped or
# replaced: redacted whole (not from the outsider on), and nothing around it.
BITCOIN_RUN = "abandon ability able about above bitcoin absent absorb abstract absurd abuse access"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BITCOIN_RUN, "[REDACTED:SEED_PHRASE]"),
        (
            f"{BITCOIN_RUN} - can you check if my wallet is safe?",
            "[REDACTED:SEED_PHRASE] - can you check if my wallet is safe?",
        ),
        (f"is this ok? {BITCOIN_RUN}", "is this ok? [REDACTED:SEED_PHRASE]"),
        (" ".join([*EN12[:5], "abandun", *EN12[6:]]), "[REDACTED:SEED_PHRASE]"),
        # A short outsider that is no word of a sentence ("xx"), also after a context word.
        (BITCOIN_RUN.replace("bitcoin", "xx"), "[REDACTED:SEED_PHRASE]"),
        ("my seed: " + BITCOIN_RUN.replace("bitcoin", "xx"), "my seed: [REDACTED:SEED_PHRASE]"),
        # The outsider second, or two of them.
        (" ".join([EN12[0], "bitcoin", *EN12[2:]]) + " thanks", "[REDACTED:SEED_PHRASE] thanks"),
        (" ".join([*EN24[:7], "walet", *EN24[8:15], "qwerty", *EN24[16:]]), "[REDACTED:SEED_PHRASE]"),
        (
            "hi " + " ".join([*EN12[:3], "walett", *EN12[4:11]]) + ", is it safe?",
            "hi [REDACTED:SEED_PHRASE], is it safe?",
        ),
    ],
)
def test_a_bare_run_with_a_word_or_two_outside_the_wordlist_is_redacted_whole(
    scanner: SecretScanner, text: str, expected: str
) -> None:
    result = scanner.scan(text)
    assert result.kinds == {SEED}
    assert result.redacted_text == expected


@pytest.mark.parametrize(
    "text",
    [
        "I would like to know about the fee for withdrawal to my own wallet address please help",
        # Nine wordlist words around the outsider are too few.
        " ".join([*EN12[:4], "bitcoin", *EN12[5:10]]),
        # Three outsiders are too many.
        " ".join([*EN12[:3], "bitcoin", *EN12[4:7], "walett", *EN12[8:10], "qwerty", EN12[11]]),
        # Mostly chat words: a sentence, however many are in the wordlist.
        "can you please check again what else you can do about this wallet transfer today thanks",
        "spot margin future swap option stake earn launchpad bonus reward card loan account",
        "please help, I want to know where my deposit went since you said it would arrive today",
        # The short words of a sentence are no typos.
        " ".join([*EN12[:5], "to", *EN12[6:11]]),
    ],
)
def test_sentences_of_wordlist_words_with_an_outsider_are_left_alone(scanner: SecretScanner, text: str) -> None:
    assert not scanner.scan(text).found


@pytest.mark.parametrize(
    "text",
    [
        "transfer fee limit",
        "deposit address network",
        "travel rule question",  # dev27: the words of a topic and "question" were redacted as a part of a phrase
        "grid copy history",
        "best bike under 300",
        # twelve wordlist characters that pass the checksum but read as a question in traditional characters
        "公司的錢包被人拿走怎麼辦",
        "can you check my account",
        "help please",
        "great service thank you",
        "my seed phrase do you know any jokes can you explain a good risk strategy to me",
        "AGENT AGENT AGENT",  # one word shouted again and again (a blind set's request for a person)
        "agent agent agent agent agent agent",
    ],
)
def test_short_questions_of_wordlist_words_are_no_parts_of_a_phrase(scanner: SecretScanner, text: str) -> None:
    assert not scanner.scan(text).found


@pytest.mark.parametrize(
    "text",
    [
        # Fewer than six wordlist words in a row, with a typo and no context.
        " ".join([*EN12[:5], "abandun", *EN12[6:10]]),
        # Three typos are too many.
        "seed: " + " ".join([*EN12[:2], "xx", *EN12[3:5], "yy", *EN12[6:8], "zz", *EN12[9:]]),
        "should I back up my seed phrase?",
        "where do I find my private key in MetaMask?",
        "I lost my 12 word recovery phrase, can I still get into my wallet?",
        "what happens if someone else gets my seed phrase, can they take all of my coins?",
        # Chatty English is mostly wordlist words; "a" and "me" are no typos of a phrase word.
        "my seed phrase do you know any jokes can you explain a good risk strategy to me",
        "about my recovery phrase: will you repeat what you just said tell me where you were born",
    ],
)
def test_english_near_misses_are_not_seed_phrases(scanner: SecretScanner, text: str) -> None:
    assert SEED not in scanner.scan(text).kinds


ENGLISH_QUESTIONS = [
    "Hello, I deposited 500 USDT to my account yesterday but it still has not arrived. Can you please check what "
    "happened and when it will arrive? I already sent the screenshot to your support team twice.",
    "I have been waiting for my withdrawal for about three hours and the status still says processing, is there "
    "something wrong with the network or my account, thank you for any help you can give",
    "Can you help me understand why my account was frozen after I tried to change the phone number, I did not do "
    "anything wrong and I really need access to my funds because I have to pay rent this week",
    "Please tell me how the trading fee works for spot and futures, and whether there is any discount when I hold "
    "your token or when my monthly volume is above a certain level, because the page is confusing",
    "I want to close my account and move all of my coins to another wallet, what is the process, how long does it "
    "take, and will there be any fee for each withdrawal or for closing the account itself?",
    "My friend told me you can earn interest on stablecoins here. Is that true, what is the rate, can I take the "
    "money out at any time, and what happens to my deposit if the market crashes next month?",
    "Why does the app keep asking me to verify my identity again when I already did the KYC level two last year? "
    "I uploaded my passport, a selfie and a utility bill and you approved all of them.",
    "The price chart on the mobile app is not loading, it just shows a blank screen, I tried to reinstall it, clear "
    "the cache, switch between wifi and mobile data, but nothing works. My phone is an older model.",
    "Someone logged into my account from another country last night and I got an email about a new device. I "
    "changed my password and turned on 2FA but I am still worried, what else should I do right now?",
    "Is it safe to keep my crypto on the exchange for a long time, or should I move it to a hardware wallet, and if "
    "I do that, what do I need to write down and where should I keep the backup so that I never lose access?",
    "I sent ETH on the wrong network, I chose BSC instead of Ethereum and the deposit never showed up, is there any "
    "way to recover it, I can provide the transaction details, the amount and the time I sent it.",
    "Could you explain the difference between a limit order, a market order and a stop limit order, and which one "
    "should a beginner use when the market is moving very fast and the spread is wide?",
    "what is the minimum amount for a withdrawal to my bank account and how many days will it take to arrive, "
    "also does the bank charge anything extra on their side or is it only your fee",
    "Thank you for the quick reply yesterday. One more question: when the staking period ends, does the reward go "
    "to my spot wallet automatically, or do I need to claim it by hand each time?",
]


@pytest.mark.parametrize("text", ENGLISH_QUESTIONS)
def test_ordinary_english_questions_are_left_alone(scanner: SecretScanner, text: str) -> None:
    result = scanner.scan(text)
    assert not result.found, result
    assert result.redacted_text == text


def test_a_long_english_message_of_many_questions_is_left_alone(scanner: SecretScanner) -> None:
    text = " ".join(ENGLISH_QUESTIONS * 3)
    assert not scanner.scan(text).found


# --- seed phrases: Chinese -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "chars"),
    [
        # (a) separated characters
        (" ".join(ZH12), ZH12),
        ("，".join(ZH12), ZH12),
        ("、".join(ZH24), ZH24),
        ("\n".join(ZH18), ZH18),
        (" ".join(f"{i}.{c}" for i, c in enumerate(ZH12, 1)), ZH12),
        (" ".join(ZHT12), ZHT12),
        ("请帮我看看这个：" + " ".join(ZH24) + "，是不是对的", ZH24),
        # (b) a whole message or a whole line
        ("".join(ZH12), ZH12),
        ("".join(ZHT12), ZHT12),
        ("".join(ZH24), ZH24),
        ("请帮我看看\n" + "".join(ZH18) + "\n谢谢", ZH18),
        # (c) after a context word
        ("我的助记词是" + "".join(ZH12), ZH12),
        ("助记词：" + "".join(ZH18) + "，怎么导入钱包", ZH18),
        ("私钥 " + "".join(ZHT12), ZHT12),
        ("恢复短语" + "".join(ZH24) + "。", ZH24),
        ("seed: " + "".join(ZH12), ZH12),
        ("mnemonic " + "".join(ZH12), ZH12),
        # A character outside the wordlists (a typo) inside a numbered list.
        (" ".join(f"{i}.{c}" for i, c in enumerate([*ZH12[:6], "龘", *ZH12[7:]], 1)), ZH12[:6]),
    ],
)
def test_chinese_seed_phrases_are_redacted(scanner: SecretScanner, text: str, chars: list[str]) -> None:
    result = scanner.scan(text)
    assert result.kinds == {SEED}
    assert no_run_survives(result.redacted_text, chars)


def test_chinese_context_stays(scanner: SecretScanner) -> None:
    result = scanner.scan("助记词：" + "".join(ZH18) + "，怎么导入钱包")
    assert result.redacted_text == "助记词：[REDACTED:SEED_PHRASE]，怎么导入钱包"


CHINESE_QUESTIONS = [
    "助记词丢了怎么办",
    "私钥怎么导出",
    "我的助记词是不是要备份到安全的地方",
    "助记词是什么，为什么钱包一直让我写下来",
    "我昨天充值了USDT，三个小时了还没有到账，请问是什么原因，需要提供什么信息给客服吗",
    "提币要验证码但是手机一直收不到",
    "网商贷的额度是怎么提升的",
    "借贝怎么收不到短信验证码",
    "你好，我想问一下提现到银行卡一般需要多长时间，手续费是多少，有没有每天的限额",
    "为什么我的账户被冻结了，我什么都没有做，只是换了一个手机登录，请尽快帮我解冻，我急着用钱",
    "合约交易和现货交易有什么区别，新手应该先从哪个开始，杠杆倍数怎么设置比较安全",
    "我把币转错了链，本来应该用以太坊网络，结果选成了币安智能链，现在资产能找回来吗，"
    "我可以提供转账时间和金额，麻烦你们帮我查一下，非常感谢",
    "实名认证一直审核不通过，提示照片不清晰，我已经重新上传了三次，每次都是用手机后置摄像头拍的，光线也很好",
    "请问质押到期以后收益是自动发到现货账户，还是需要我自己手动领取，如果忘记领取会不会过期",
    "我想注销账户，把所有的币都转到自己的硬件钱包里，具体流程是怎样的，注销以后还能恢复吗",
    "昨天晚上有人在国外登录了我的账号，我收到了新设备登录的邮件，已经改了密码也开了谷歌验证，还需要做什么",
    "充值地址是不是每次都会变，我用以前的地址转进来会不会丢失，要不要每次都重新复制",
    "理财产品的年化收益率是固定的吗，中途可以赎回吗，赎回要等几天才能到账，有没有违约金",
    "客服你好，我在法币交易里买了币，付款以后卖家一直不放币，已经过了半个小时了，怎么申诉",
    "请帮我看看为什么我的限价单一直没有成交，价格明明已经到了，是不是系统出了问题",
    "手机丢了，谷歌验证器也在那个手机上，现在登录不了账号，怎么重置二次验证",
    "平台的手续费怎么计算，持有平台币能打折吗，每个月交易量达到多少可以升级会员等级",
    "我想了解一下新币上线的规则，项目方怎么申请上币，需要准备哪些材料",
    "你们有没有中文客服电话，我年纪大了不太会用在线聊天，能不能直接打电话给你们",
    "老师，我刚入门，想问问比特币和以太坊哪个更适合长期持有，你们平台有没有定投功能",
]


@pytest.mark.parametrize("text", CHINESE_QUESTIONS)
def test_ordinary_chinese_questions_are_left_alone(scanner: SecretScanner, text: str) -> None:
    result = scanner.scan(text)
    assert not result.found, result
    assert result.redacted_text == text


def test_a_long_chinese_message_is_left_alone(scanner: SecretScanner) -> None:
    assert not scanner.scan("".join(CHINESE_QUESTIONS) * 3).found
    assert not scanner.scan("\n".join(CHINESE_QUESTIONS)).found


@pytest.mark.parametrize(
    "text",
    [
        # Twelve unseparated wordlist characters whose checksum fails: a sentence or a typo, not redacted.
        "的一是在不了有和人这中大",
        # After a context word the characters must still form a valid phrase (decided: see the scanner).
        "助记词是的一是在不了有和人这中大",
        # Eleven separated characters are too few.
        " ".join(ZH12[:11]),
    ],
)
def test_chinese_near_misses_are_not_seed_phrases(scanner: SecretScanner, text: str) -> None:
    assert SEED not in scanner.scan(text).kinds


# Half of a phrase typed as unseparated characters with no context word (a phrase sent in two messages): a message
# of 6..24 wordlist characters that forms no word of the dictionary and holds no particle or pronoun.
ZH_HALF = "车以胜阿逮来"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ZH_HALF, "[REDACTED:SEED_PHRASE]"),
        (f"{ZH_HALF}\n", "[REDACTED:SEED_PHRASE]\n"),
        (f"前半：{ZH_HALF}", "前半：[REDACTED:SEED_PHRASE]"),
        # The same words in the traditional list.
        ("".join(ZH_T.wordlist[ZH.wordlist.index(c)] for c in ZH_HALF), "[REDACTED:SEED_PHRASE]"),
    ],
)
def test_half_a_chinese_phrase_sent_alone_is_redacted(scanner: SecretScanner, text: str, expected: str) -> None:
    result = scanner.scan(text)
    assert result.kinds == {SEED}
    assert result.redacted_text == expected


@pytest.mark.parametrize(
    "text",
    [
        # Short messages of wordlist characters only: each forms a word, or holds a particle or pronoun.
        "我的钱去哪了",
        "狗狗币还能拿吗",
        "你是男的女的",
        "帐户余额清零了",
        "信用卡被盜刷",
        "邮政储蓄借记卡",
        "扫付款码支付",
        "申请退货退款",
        "令牌手机丢了",
        "马上帮我冻结",
        "找个懂的人来",
        "火币欧易币安",  # exchanges: words the general dictionary lacks
        "下架前還能賣嗎",  # traditional: its particle is 嗎
        # Characters that form no word but follow other words: not a message of its own.
        f"{ZH_HALF}，帮我看看",
    ],
)
def test_short_chinese_messages_of_wordlist_characters_are_left_alone(scanner: SecretScanner, text: str) -> None:
    assert not scanner.scan(text).found


@pytest.mark.parametrize(
    "text",
    [
        "regret cabin",
        "regret cabin,",
        "olive stereo\n",
        "here it is: napkin three",
        "车以了阿逮来",
        "x" * 700 + " napkin three",
    ],
)
def test_a_message_that_may_be_the_first_part_of_a_phrase_is_told(scanner: SecretScanner, text: str) -> None:
    """No secret on its own, but the next message may complete a phrase: its relay to agents is held."""
    assert not scanner.scan(text).found and scanner.may_start_seed(text)


@pytest.mark.parametrize(
    "text",
    [
        "how long does a deposit take?",
        "ok thanks",
        "any update?",
        "好的谢谢",
        "我的钱去哪了",
        "transfer fee limit",
        "napkin three, how do I withdraw?",
        "我已经提交了截图",
    ],
)
def test_an_ordinary_follow_up_is_no_first_part(scanner: SecretScanner, text: str) -> None:
    assert not scanner.may_start_seed(text)


# --- private keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"my private key is {HEX}", HEX),
        (f"priv key: 0x{HEX}", HEX),
        (f"here is the secret key {HEX.upper()} for my wallet", HEX.upper()),
        (f"I exported it from metamask: {HEX}", HEX),
        (f"keystore says {HEX}", HEX),
        (f"私钥 0x{HEX} 导入不了", HEX),
        (f"我的私钥是{HEX}，转账的时候被盗了", HEX),
        # With no context at all a bare key is redacted, with or without 0x.
        (HEX, HEX),
        (f"0x{HEX}", HEX),
        (f"can you check this {HEX} please", HEX),
        # The private-key words win over the transaction words.
        (f"my private key {HEX} was used to send a transaction I did not make", HEX),
        (f"私钥{HEX}泄露了，有人提币", HEX),
        (f"WIF {WIF_COMPRESSED}", WIF_COMPRESSED),
        (f"old paper wallet: {WIF_UNCOMPRESSED} how to import?", WIF_UNCOMPRESSED),
        (f"my xprv is {XPRV}", XPRV),
        (XPRV[:60], XPRV[:60]),
        (f"phantom gave me {SOLANA_SECRET}", SOLANA_SECRET),
        (f"{PEM}\nwhat is this file?", "MHcCAQEEIBkg4LVWM9nu"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA (pasted only half", "b3BlbnNzaC1rZXktdjEAAAAA"),
    ],
)
def test_private_keys_are_redacted(scanner: SecretScanner, text: str, secret: str) -> None:
    result = scanner.scan(text)
    assert KEY in result.kinds
    assert secret not in result.redacted_text


SOLANA_SIGNATURE = b58encode(hashlib.sha512(b"omnidesk signature").digest())


@pytest.mark.parametrize(
    "text",
    [
        f"my deposit is missing, txid {HEX}",
        f"tx hash 0x{HEX} still pending",
        f"transaction {HEX} confirmed on chain but not credited",
        f"https://etherscan.io/tx/0x{HEX}",
        f"see https://bscscan.com/tx/0x{HEX} please",
        f"https://mempool.space/tx/{HEX}",
        f"https://blockchair.com/bitcoin/transaction/{HEX}",
        f"I withdrew yesterday, here is the hash: {HEX}",
        f"sent 0.5 BTC, {HEX}",
        f"提币交易哈希 0x{HEX} 还没到账",
        f"交易ID：{HEX}",
        f"充值记录里的哈希是{HEX}，一直没到账",
        f"https://solscan.io/tx/{SOLANA_SIGNATURE}",
        f"transaction signature {SOLANA_SIGNATURE}",
        # Addresses of several chains.
        "send to 0x52908400098527886E0F7030069857D2E4169EE7 please",
        "my btc address bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "taproot bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
        "old address 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa and 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        "tron TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7 and xrp rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh memo 12345",
        "solana 7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV",
        f"a public key is fine: {XPUB}",
        f"this WIF looks broken: {WIF_BROKEN}",
        "my UID is 38291746 and order id 1234567890123",
        "email me at trader.joe@example.com or see https://example.com/help/withdrawals?id=77",
        # an address shortened or an IP masked beside a password word (session 27)
        "资金密码被改了，然后提走2 ETH到0x9fA...e71",
        "my password was reset from IP 185.x.x.x and then 0.5 btc went to bc1q7...k3m",
    ],
)
def test_transactions_addresses_and_ids_are_left_alone(scanner: SecretScanner, text: str) -> None:
    result = scanner.scan(text)
    assert not result.found, result


# --- passwords -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("my password is hunter22, how do I reset 2fa?", "hunter22"),
        ("password: Tr0ub4dor&3", "Tr0ub4dor&3"),
        ("Password:S3cure!pass", "S3cure!pass"),
        ("pass: letmein99", "letmein99"),
        ("pwd=s3cr3tPass", "s3cr3tPass"),
        ("pw = qwerty123", "qwerty123"),
        ("my login password is Zx8#kLm2", "Zx8#kLm2"),
        ("my password was dragon2020 before I changed it", "dragon2020"),
        ('my password is "correct horse battery staple"', "correct horse battery staple"),
        ('{"email": "a@b.com", "password": "hunter2"}', "hunter2"),
        ("密码是abc12345", "abc12345"),
        ("我的密码是abc12345，登录不上", "abc12345"),
        ("密码：Qwer1234", "Qwer1234"),
        ("登录密码：Qwer1234 为什么登录不了", "Qwer1234"),
        ("我的密码 Pa55word", "Pa55word"),
        ("密碼是hello2024", "hello2024"),
        ("资金密码为 778899aa", "778899aa"),
        ("my PIN is 482913", "482913"),
    ],
)
def test_passwords_are_redacted(scanner: SecretScanner, text: str, secret: str) -> None:
    result = scanner.scan(text)
    assert PASSWORD in result.kinds
    assert secret not in result.redacted_text


def test_only_the_password_is_replaced(scanner: SecretScanner) -> None:
    result = scanner.scan("my password is hunter22, how do I reset 2fa?")
    assert result.redacted_text == "my password is [REDACTED:PASSWORD], how do I reset 2fa?"
    assert scanner.scan("密码：ａｂｃ１２３４５ 怎么办").redacted_text == "密码：[REDACTED:PASSWORD] 怎么办"


@pytest.mark.parametrize(
    "text",
    [
        "I forgot my password",
        "my password is not working",
        "my password is wrong",
        "my password is incorrect, what do I do",
        "password is too long",
        "my password is the same as before",
        "my password is expired",
        "my password was changed by someone",
        "what is my password?",
        "how do I reset my password?",
        "I don't know what my password is.",
        "I can't remember what my password is there were two charges",
        "my password is 8 characters",
        "the password: 123",
        "My PIN was entered wrong and now I am blocked",
        "Your password must be at least 8 characters",
        "密码忘了",
        "密码是什么",
        "密码忘了怎么办",
        "我的密码错误，登录不上",
        "密码是不是区分大小写",
        "密码 忘记了",
    ],
)
def test_talk_about_passwords_is_left_alone(scanner: SecretScanner, text: str) -> None:
    assert PASSWORD not in scanner.scan(text).kinds


# --- 2FA codes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("my 2fa code is 123456", "123456"),
        ("google auth code: 654321", "654321"),
        ("Google Authenticator code is 48291377", "48291377"),
        ("I turned on 2FA last week. The code is 482913 but it says invalid", "482913"),
        ("sms code 777123", "777123"),
        ("the verification code I got is 908172", "908172"),
        ("OTP: 112233", "112233"),
        ("authenticator 482 913", "482 913"),
        ("验证码是123456", "123456"),
        ("谷歌验证码 739201 一直提示错误", "739201"),
        ("短信验证码：20240115", "20240115"),
        ("动态码 556677", "556677"),
    ],
)
def test_one_time_codes_are_redacted(scanner: SecretScanner, text: str, secret: str) -> None:
    result = scanner.scan(text)
    assert OTP in result.kinds
    assert secret not in result.redacted_text


@pytest.mark.parametrize(
    "text",
    [
        "I deposited 123456 USDT",
        "my UID is 12345678",
        "order 12345678 is stuck",
        "ticket 123456",
        "error code 10002",
        "I got error code 100023 when I entered my 2fa",
        "my 2fa is broken, my uid is 12345678",
        "my 2fa stopped working. my balance is 123456",
        "since 20240115 my google authenticator shows the wrong code",
        "2fa reset request, phone 13812345678",
        "验证码收不到，订单号是12345678",
        "我的UID是38291746",
        "充值了123456个USDT",
    ],
)
def test_numbers_that_are_not_codes_are_left_alone(scanner: SecretScanner, text: str) -> None:
    assert OTP not in scanner.scan(text).kinds


# --- API secrets -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("api secret: 9f8e7d6c5b4a39281706f5e4d3c2b1a0ffee", "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffee"),
        ("secret key = NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN", "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN"),
        ("apiSecret=abcdEFGH1234", "abcdEFGH1234"),
        ('"apiKey": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"', "vmPUZE6mv9SD5VNHk4Hl"),
        ("api key: AbCdEfGhIjKlMnOp", "AbCdEfGhIjKlMnOp"),
        ("API密钥是 Zx9aQw8Er7Ty6Ui5", "Zx9aQw8Er7Ty6Ui5"),
        ("API secret是Zx9aQw8Er7Ty6Ui5Op", "Zx9aQw8Er7Ty6Ui5Op"),
        ("我的api key：7f3a9c2e1b8d4f6a0c5e", "7f3a9c2e1b8d4f6a0c5e"),
        # Only a space after the label: the value looks generated, so it is one.
        ("here is my api secret Kq8Zp2Lm9Xv4Rt7Wn1Bc6Hd3Jf5Gs0Ay8Ue2", "Kq8Zp2Lm9Xv4Rt7Wn1Bc6Hd3Jf5Gs0Ay8Ue2"),
        ("api key abc secret Kq8Zp2Lm9Xv4Rt7Wn1Bc6Hd3 does not work", "Kq8Zp2Lm9Xv4Rt7Wn1Bc6Hd3"),
        ("my secret key 7f3a9c2e1b8d4f6a0c5e9b2d, is it leaked?", "7f3a9c2e1b8d4f6a0c5e9b2d"),
    ],
)
def test_api_secrets_are_redacted(scanner: SecretScanner, text: str, secret: str) -> None:
    result = scanner.scan(text)
    assert API in result.kinds
    assert secret not in result.redacted_text


@pytest.mark.parametrize(
    "text",
    [
        "where do I find my api key?",
        "my api key is not working",
        "api key is invalid",
        "the api secret is incorrect",
        "how do I create an API key for my trading bot",
        "API密钥怎么创建",
        "secret key丢了怎么办",
        "my api key permissions are wrong for withdrawals",
        "the secret key 2fa backup page, where is it?",
        "api key ExampleX2024 shows invalid",
    ],
)
def test_talk_about_api_keys_is_left_alone(scanner: SecretScanner, text: str) -> None:
    assert not scanner.scan(text).found


# --- the result ------------------------------------------------------------------------------------------


def test_overlapping_findings_merge_into_one(scanner: SecretScanner) -> None:
    # The hex detector and the API-secret label both see the value; one placeholder is left.
    result = scanner.scan(f"api secret: {HEX}")
    assert [f.kind for f in result.findings] == [API]
    assert result.redacted_text == "api secret: [REDACTED:API_SECRET]"
    merged = scanner.scan(f"private key: {HEX}")
    assert [(f.kind, f.start, f.end) for f in merged.findings] == [(KEY, 13, 13 + 64)]


def test_several_secrets_in_one_message(scanner: SecretScanner) -> None:
    text = f"password: hunter22 and my 2fa code is 123456, seed {' '.join(EN12)}"
    result = scanner.scan(text)
    assert result.kinds == {PASSWORD, OTP, SEED}
    assert [text[f.start : f.end] for f in result.findings] == ["hunter22", "123456", " ".join(EN12)]
    assert result.found


def test_spans_index_the_original_text(scanner: SecretScanner) -> None:
    text = "密码：ａｂｃ１２３４５ 怎么办"
    finding = scanner.scan(text).findings[0]
    assert text[finding.start : finding.end] == "ａｂｃ１２３４５"


def test_an_already_redacted_text_is_left_as_it_is(scanner: SecretScanner) -> None:
    for text in ["my password is [REDACTED:PASSWORD], how", "seed: [REDACTED:SEED_PHRASE]", "验证码是[REDACTED:OTP]"]:
        assert not scanner.scan(text).found


@pytest.mark.parametrize("text", ["", " ", "\x00", "\ud800", "\udfff abc", "😀" * 20, "\x00\ud800 \U0001f600" * 1000])
def test_odd_input_never_raises(scanner: SecretScanner, text: str) -> None:
    result = scanner.scan(text)
    assert result.redacted_text == text and not result.found


# --- properties ------------------------------------------------------------------------------------------


def expected_redaction(text: str, result: ScanResult) -> str:
    """What the redacted text must be: each finding's span replaced by its placeholder."""
    out, pos = [], 0
    for finding in result.findings:
        out += [text[pos : finding.start], f"[REDACTED:{finding.kind.name}]"]
        pos = finding.end
    return "".join([*out, text[pos:]])


def check_result(text: str, result: ScanResult) -> None:
    end = 0
    for finding in result.findings:
        assert end <= finding.start < finding.end <= len(text)  # in order, not overlapping
        end = finding.end
    assert result.redacted_text == expected_redaction(text, result)
    assert result.found == bool(result.findings)


ANY_CHAR = st.characters(exclude_categories=())  # surrogates and NUL included


@settings(max_examples=300, deadline=None)
@given(st.text(ANY_CHAR, max_size=600))
def test_scan_never_raises_on_arbitrary_text(text: str) -> None:
    check_result(text, SHARED.scan(text))


PIECES = [
    *EN.wordlist[:300],
    *ZH.wordlist[:200],
    " ",
    ", ",
    "\n",
    "1. ",
    "、",
    "，",
    "0x",
    HEX[:32],
    "123456",
    "password: ",
    "密码是",
    "my 2fa code is ",
    "api secret: ",
    "seed: ",
    "\ud800",
    "😀",
    "\x00",
]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.integers(0, 2**32), st.sampled_from(["pieces", "chars", "ascii"]))
def test_scan_never_raises_on_100_kb(seed: int, flavour: str) -> None:
    rnd = random.Random(seed)
    if flavour == "pieces":
        text = "".join(rnd.choice(PIECES) for _ in range(40_000))[:100_000]
    elif flavour == "chars":
        text = "".join(chr(rnd.randrange(0x110000)) for _ in range(100_000))
    else:
        text = "".join(rnd.choice(string.printable) for _ in range(100_000))
    check_result(text, SHARED.scan(text))


# Fillers hold no digits and no transaction words, so each secret stays the only one of its kind.
FILLERS = [
    "",
    "hi, ",
    "please help. ",
    "谢谢！",
    "how do I reset my 2FA? ",
    "请帮我看看，",
    "thanks a lot",
    "我该怎么办",
]
ALNUM = string.ascii_letters + string.digits
Secret = tuple[str, list[str], SecretKind]  # the text to insert, the parts that must not survive, the kind


@st.composite
def seed_phrases(draw: st.DrawFn) -> Secret:
    lang, separators = draw(st.sampled_from([(EN, [" ", ", ", "\n", "  "]), (ZH, [" ", "，", "、", "\n"])]))
    size = draw(st.sampled_from([16, 20, 24, 28, 32]))
    words = lang.to_mnemonic(draw(st.binary(min_size=size, max_size=size))).split()
    context = draw(st.sampled_from(["", "my seed phrase is ", "助记词："]))
    return context + draw(st.sampled_from(separators)).join(words), words, SEED


@st.composite
def labelled_values(draw: st.DrawFn) -> Secret:
    kind, contexts, values = draw(
        st.sampled_from(
            [
                (KEY, ["my private key is ", "私钥：", "0x", ""], st.binary(min_size=32, max_size=32).map(bytes.hex)),
                (
                    PASSWORD,
                    ["my password is ", "password: ", "密码是", "pwd="],
                    st.text(ALNUM + "!@#$%^&*", min_size=8, max_size=20).filter(lambda v: any(map(str.isdigit, v))),
                ),
                (
                    OTP,
                    ["my 2fa code is ", "验证码是", "google auth code: ", "OTP "],
                    st.integers(10**5, 10**8 - 1).map(str),
                ),
                (
                    API,
                    ["api secret: ", "apiSecret=", "API密钥是", "api key: "],
                    st.text(ALNUM, min_size=20, max_size=40),
                ),
            ]
        )
    )
    value = draw(values)
    return draw(st.sampled_from(contexts)) + value, [value], kind


@settings(max_examples=300, deadline=None)
@given(st.one_of(seed_phrases(), labelled_values()), st.sampled_from(FILLERS), st.sampled_from(FILLERS))
def test_a_secret_never_survives_redaction(secret: Secret, before: str, after: str) -> None:
    snippet, parts, kind = secret
    text = f"{before} {snippet} {after}"
    result = SHARED.scan(text)
    check_result(text, result)
    assert kind in result.kinds
    for finding in result.findings:
        assert text[finding.start : finding.end] not in result.redacted_text
    if kind is SEED:
        assert no_run_survives(result.redacted_text, parts)
    else:
        assert all(part not in result.redacted_text for part in parts)
    # Redacting again changes nothing: placeholders are not secrets.
    assert SHARED.scan(result.redacted_text).redacted_text == result.redacted_text


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(st.sampled_from(EN.wordlist), min_size=12, max_size=12), st.binary(min_size=16, max_size=16)))
def test_twelve_bare_words_are_redacted_whatever_the_checksum(words: list[str] | bytes) -> None:
    phrase = EN.to_mnemonic(words) if isinstance(words, bytes) else " ".join(words)
    # Issue 13: a mistyped word breaks the checksum but the phrase is still a phrase. Only a run that reads as
    # chat (a third or more of common chat words such as "can", "you", "please") and has no valid checksum is left.
    chatty = 3 * sum(w in CHAT_WORDS for w in phrase.split()) >= 12
    if EN.check(phrase) or not chatty:
        assert SHARED.scan(phrase).redacted_text == "[REDACTED:SEED_PHRASE]"


# --- issue 13: what the independent test found ------------------------------------------------------------------

# A wordlist word swapped for another: the checksum fails, nothing else tells.
EN12_TYPO = bad_checksum_phrase(EN12)
EN24_TYPO = [*EN24[:7], "zoo" if EN24[7] != "zoo" else "zone", *EN24[8:]]
EN_BAD = " ".join(EN12_TYPO)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (EN_BAD, "[REDACTED:SEED_PHRASE]"),
        (" ".join(EN24_TYPO), "[REDACTED:SEED_PHRASE]"),
        (
            f"{EN_BAD} - can you check if my wallet is safe?",
            "[REDACTED:SEED_PHRASE] - can you check if my wallet is safe?",
        ),
        (
            f"here is my recovery phrase {EN_BAD} can you check my wallet",
            "here is my recovery phrase [REDACTED:SEED_PHRASE] can you check my wallet",
        ),
        (f"hello {EN_BAD} please help", "hello [REDACTED:SEED_PHRASE] please help"),
        (f"{EN_BAD}\nis this right?", "[REDACTED:SEED_PHRASE]\nis this right?"),
        (f"{' '.join(EN12)} can you check", "[REDACTED:SEED_PHRASE] can you check"),
    ],
)
def test_a_run_of_twelve_wordlist_words_is_a_phrase_whatever_its_checksum(
    scanner: SecretScanner, text: str, expected: str
) -> None:
    assert scanner.scan(text).redacted_text == expected


@pytest.mark.parametrize(
    ("text", "secret", "kind"),
    [
        (f"this is my wallet's key {HEX}, why can't I withdraw", HEX, KEY),
        (f"my wallet key {HEX} can I withdraw with it?", HEX, KEY),
        ("the pass I always use is Tiger#2024", "Tiger#2024", PASSWORD),
        ("Login pwd — Qw3rty!x", "Qw3rty!x", PASSWORD),
        ("I set my password to Blue!Sky77 last week", "Blue!Sky77", PASSWORD),
        ("密码改成了 abc@8899", "abc@8899", PASSWORD),
        ("the code from google auth is 770412", "770412", OTP),
        ("authenticator says 248613 right now", "248613", OTP),
        ("谷歌验证码是 ５５２９１７", "５５２９１７", OTP),
        ("my secret key for the API, if it helps: Hx8kQ2mZr7TnW4pLv9sD", "Hx8kQ2mZr7TnW4pLv9sD", API),
        ("my 2fa code is 492817 please help me withdraw", "492817", OTP),
        # an amount named as the password is still the password
        ("my password is 250usdt", "250usdt", PASSWORD),
    ],
)
def test_secrets_said_in_prose_are_redacted(scanner: SecretScanner, text: str, secret: str, kind: SecretKind) -> None:
    result = scanner.scan(text)
    assert kind in result.kinds, result
    assert secret not in result.redacted_text


@pytest.mark.parametrize(
    "text",
    [
        f"my withdrawal has not arrived, tx {HEX}",
        f"withdrawal hash {HEX} still pending",
        f"I sent USDT to you, here it is: https://etherscan.io/tx/0x{HEX}",
        "order 770412 was filled twice",
        "I withdrew 248613 USDT and the authenticator was fine",
        "the code from google auth does not work, my uid is 770412",
        "I set my password to something new last week but forgot it",
        "密码改成了什么我忘了",
        "my secret key for the API is lost, how do I make a new one",
        # an amount with its coin near a password word (session 25: a phishing story lost to the redaction)
        "typed my password into a fake page and 0.75BTC left within minutes",
        "输错网站登了密码，半小时后3.2ETH就没了",
    ],
)
def test_the_prose_look_alikes_are_left_alone(scanner: SecretScanner, text: str) -> None:
    result = scanner.scan(text)
    assert not result.found, result


def test_a_bare_six_digit_message_is_a_code_but_a_bare_uid_or_order_id_is_kept(scanner: SecretScanner) -> None:
    # Six digits alone answer "what code do you see?"; eight to ten digits alone answer the intake's "your UID?".
    assert scanner.scan("314817").kinds
    assert scanner.scan("  482 913 ").kinds
    for kept in ("12345678", "1234567", "8812345670", "UID 12345678"):
        result = scanner.scan(kept)
        assert not result.kinds and result.redacted_text == kept, kept
