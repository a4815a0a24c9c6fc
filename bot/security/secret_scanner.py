"""Secret scanner: finds seed phrases, private keys, passwords, 2FA codes and API secrets in chat text.

Every message goes through `SecretScanner.scan` before it is stored or logged. Only the secret value is
replaced by a placeholder such as `[REDACTED:PASSWORD]`; the words around it stay, so the rest of the
question can still be answered.

Speed: patterns have no nested quantifiers and every window they read is bounded; the costly patterns run
only where a cheap literal trigger (or, for seed phrases, a dense run of wordlist words) points, so a scan
is linear in the text: about 20-40 ms of CPU for 100 KB, a few microseconds for a chat message.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from itertools import accumulate, pairwise
from operator import sub
from types import MappingProxyType
from typing import NamedTuple

from mnemonic import Mnemonic

from bot.security.chinese_words import ChineseWords


class SecretKind(StrEnum):
    """What a redacted span was."""

    SEED_PHRASE = "seed_phrase"
    PRIVATE_KEY = "private_key"
    PASSWORD = "password"
    OTP = "otp"
    API_SECRET = "api_secret"


@dataclass(frozen=True, slots=True)
class SecretFinding:
    """One secret, as a half-open span of the original text."""

    kind: SecretKind
    start: int
    end: int

    @property
    def placeholder(self) -> str:
        """The text that replaces the span, e.g. `[REDACTED:SEED_PHRASE]`."""
        return f"[REDACTED:{self.kind.name}]"


def without_placeholders(text: str) -> str:
    """Redacted text with its placeholders taken out: what the user said around the secrets, for reading (never to
    store: it no longer shows where a secret was)."""
    return " ".join(PLACEHOLDER.sub(" ", text).split())


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The text with every finding replaced by its placeholder, and the findings in text order."""

    redacted_text: str
    findings: tuple[SecretFinding, ...]

    @property
    def found(self) -> bool:
        """True when at least one secret was redacted."""
        return bool(self.findings)

    @property
    def kinds(self) -> frozenset[SecretKind]:
        """The kinds of secret found."""
        return frozenset(finding.kind for finding in self.findings)


_Span = tuple[int, int]

# --- shared ------------------------------------------------------------------------------------

_HAN_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_VALID_LENGTHS = (12, 15, 18, 21, 24)
# Kept as is: a Chinese comma ends a value ("密码是abc123，登录不上") and has no space after it.
_UNFOLDED = frozenset("，")
# Escapes of a JSON or repr body as libraries log it ("grid\\nafraid", "\\"Jk7&hh2Lq\\""): read as the character.
_ESCAPE = re.compile(r"\\+([nrt\"'])")
_ESCAPED = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "'": "'"}
# Beyond the Basic Multilingual Plane only these blocks fold to letters, digits or ideographs.
_COMPAT_RANGES = (range(0x80, 0x10000), range(0x1D400, 0x1D800), range(0x1F100, 0x1F200), range(0x2F800, 0x2FA20))
# When two findings overlap, the merged span takes the most specific kind (lowest number): an API
# secret or seed phrase is named by its label or wordlist, a private key often only by its shape.
_PRIORITY = {
    SecretKind.SEED_PHRASE: 0,
    SecretKind.API_SECRET: 1,
    SecretKind.PRIVATE_KEY: 2,
    SecretKind.PASSWORD: 3,
    SecretKind.OTP: 4,
}
# A placeholder already in the text (a message redacted once, then logged) is no new secret.
PLACEHOLDER = re.compile(r"\[REDACTED(?::[A-Z_]+)?\]")
_QUOTES = {'"': '"', "'": "'", "`": "`", "“": "”", "‘": "’", "「": "」", "『": "』"}

# --- seed phrases ------------------------------------------------------------------------------

_WORD = re.compile(rf"[A-Za-z\u00c0-\u024f]+|[{_HAN_CHARS}]+")
# One more than the longest phrase, so a longer run of characters is seen to be longer.
_HAN_PHRASE = re.compile(rf"[{_HAN_CHARS}]{{12,25}}")
# A whole run of characters of a phrase's length, on its own or between other text.
_HAN_RUN = re.compile(rf"(?<![{_HAN_CHARS}])[{_HAN_CHARS}]{{12,24}}(?![{_HAN_CHARS}])")
# Chinese characters at the start of a message, after an optional label ("后6个：", "第二段 ").
_HAN_LEADING = re.compile(rf"\s*(?:[^\s:：]{{1,8}}[:：]\s*)?([{_HAN_CHARS}]+)")
_HAN_TRAILING = re.compile(rf"([{_HAN_CHARS}]+)\s*$")
# A message that is nothing but unseparated characters (after an optional label): half of a phrase ("车以胜阿逮来").
_HAN_ALONE = re.compile(rf"\s*(?:[^\s:：]{{1,8}}[:：]\s*)?([{_HAN_CHARS}]{{6,24}})[\s.。!！]*")
# Almost every common character is in the Chinese wordlists, and a short sentence may hold no word of two characters
# ("我的钱去哪了"): but it holds one of these. A random half of a phrase holds none of them 19 times in 20.
_FUNCTION_CHARS = frozenset("了的吗吧呢啊么我你他她它们这那是在有不没" "嗎麼們這沒")  # and their traditional forms
# What may follow the last word of a part: "... naive better," or "... 阿逮来。".
_PART_END = " \t\n,，.。;；:：、-…"
# Characters typed in groups ("轮徒荡 从误朝 胺存裕 ..."), as a wallet shows them in a grid.
_HAN_GROUPS = re.compile(
    rf"(?<![{_HAN_CHARS}])[{_HAN_CHARS}]{{2,6}}(?:[ \t\u3000]+[{_HAN_CHARS}]{{2,6}}){{2,11}}(?![{_HAN_CHARS}])"
)
_CONTEXT_AROUND = 160
# A gap that still links two words of a listed phrase: separators and at most one list number
# ("1.", "2)", "#3", "(4)", "5、"). Anything else, such as ":" or ".", ends the run.
_GAP = re.compile(
    r"[\s,，;|/、·•*-]*"
    r"(?:(?:#?(?P<n1>\d{1,2})(?!\d)[.):\]、-]?|[(\[](?P<n2>\d{1,2})[)\]])[\s,，;|/、·•*-]*)?"
)
_LIST_SEPARATORS = "\n,，;|/、·•*-"
_GAP_SPACE, _GAP_LIST, _GAP_BREAK = 0, 1, 2
_MAX_GAP = 24
_MIN_SEED_WORDS = 12
_MIN_RUN_WITH_TYPOS = 11  # words in a run with one or two non-wordlist words inside
_MAX_TYPOS = 2
_MIN_BARE_RUN_WORDS = 10  # wordlist words in such a run with neither a list shape nor a context word
# Chatty English is mostly wordlist words ("can you tell me what ..."); the words in between that are not
# ("me", "a", "the", "was") are short or common, and never count as a typo of a phrase word.
_MIN_TYPO_LETTERS, _MAX_TYPO_LETTERS = 3, 12
# Shorter tokens are a typo ("xx", "ab") unless they are one of the short words of a sentence.
_SHORT_WORDS = (
    frozenset({"a", "i", "o", "u", "am", "an", "as", "at", "be", "by", "do", "go", "he", "hi", "if", "in", "is"})
    | frozenset({"it", "me", "my", "no", "of", "oh", "ok", "on", "or", "so", "to", "up", "us", "we", "ya", "yo"})
    | frozenset({"id", "pm"})
)
_COMMON_WORDS = (
    frozenset({"the", "and", "for", "are", "was", "were", "his", "her", "him", "she", "our", "not", "but", "how"})
    | frozenset({"why", "who", "its", "did", "does", "has", "had", "been", "from", "your", "yours", "they", "them"})
    | frozenset({"their", "than", "with", "could", "would", "should", "might", "may", "shall", "some", "each"})
    | frozenset({"every", "many", "most", "both", "even", "ever", "yet", "here", "which", "while", "whether"})
    | frozenset({"through", "after", "against", "along", "said", "says", "saw", "see", "get", "got", "gets"})
    | frozenset({"getting", "going", "gone", "went", "came", "made", "take", "took", "told", "tried", "think"})
    | frozenset({"thought", "let", "lets", "look", "really", "maybe", "thanks", "yes", "dont", "cant", "wont"})
    | frozenset({"didnt", "doesnt", "isnt", "wasnt", "ive", "youre", "thats", "whats", "theres", "money", "bank"})
    | frozenset({"app", "days", "times", "years", "things"})
)
# Longer stretches of wordlist words are redacted whole: some 12-word window of them passes the 4-bit
# checksum with near certainty anyway, and checking every window would make the scan quadratic.
_MAX_CHECKED_RUN = 48
_CONTEXT_BEFORE = 80
# Part of a phrase sent on its own (a phrase split over two messages): only short messages are searched for one.
_FRAGMENT_MAX_TEXT = 600
_MIN_FRAGMENT, _MIN_BARE_FRAGMENT = 6, 3
_FRAGMENT_LABEL = 24
# Wordlist words of support questions: a short message made of them ("transfer fee limit") is a question.
_DOMAIN_WORDS = frozenset(
    [
        "account",
        "address",
        "alert",
        "balance",
        "bonus",
        "cancel",
        "card",
        "cash",
        "chart",
        "coin",
        "crypto",
        "deposit",
        "email",
        "exchange",
        "fee",
        "fiat",
        "fund",
        "future",
        "interest",
        "level",
        "limit",
        "loan",
        "margin",
        "market",
        "network",
        "order",
        "phone",
        "price",
        "profit",
        "reward",
        "security",
        "spot",
        "stock",
        "swap",
        "system",
        "token",
        "trade",
        "transfer",
        "wallet",
    ]
)
# Wordlist words of the knowledge base's topics and of short questions: a message of only three or four wordlist
# words with one of these ("travel rule question", "best laptop under 1000") is a question, not a part of a phrase
# sent alone. (Only for such whole messages: beside other parts, or in a longer run, they may be a phrase's words.)
_SHORT_QUESTION_WORDS = frozenset(
    [
        "best",
        "change",
        "close",
        "code",
        "copy",
        "dust",
        "earn",
        "frozen",
        "grid",
        "history",
        "long",
        "number",
        "position",
        "question",
        "rate",
        "rule",
        "short",
        "submit",
        "tag",
        "ticket",
        "travel",
        "under",
        "upgrade",
        "verify",
        "wrong",
    ]
)
# The Chinese wordlists are in order of frequency: prose is made of the first few hundred characters, a random
# phrase draws evenly from all 2048 (mean rank 1024).
_MIN_MEAN_RANK_ZH = 600
_SEED_PLACEHOLDER = "[REDACTED:SEED_PHRASE]"
_SEED_CONTEXT = re.compile(
    r"\b(?:seed|mnemonic|recovery|phrase|passphrase|words|private\s*key)\b"
    r"|助记词|助記詞|助记|恢复短语|恢復短語|恢复词|种子|種子|私钥|私鑰",
    re.IGNORECASE,
)
_SEED_TRIGGER = re.compile("seed|mnemonic|recovery|phrase|words|private|助记|助記|恢复|恢復|种子|種子|私钥|私鑰")
# Context words that are BIP-39 words themselves, so may open a run ("seed phrase abandon ...").
_LEADING_CONTEXT_WORDS = frozenset({"seed", "phrase", "word", "private", "key"})
# Wordlist words common in chat next to a pasted phrase ("... can you check", "please find my ... thank you").
_CHAT_WORDS = frozenset(
    [
        "about",
        "above",
        "again",
        "all",
        "also",
        "always",
        "any",
        "can",
        "check",
        "come",
        "either",
        "else",
        "enter",
        "explain",
        "few",
        "find",
        "give",
        "have",
        "hello",
        "help",
        "into",
        "just",
        "keep",
        "know",
        "like",
        "make",
        "mean",
        "more",
        "much",
        "must",
        "need",
        "never",
        "next",
        "now",
        "okay",
        "once",
        "only",
        "other",
        "over",
        "please",
        "right",
        "same",
        "say",
        "since",
        "someone",
        "soon",
        "sorry",
        "still",
        "such",
        "sure",
        "tell",
        "thank",
        "that",
        "then",
        "there",
        "they",
        "this",
        "today",
        "together",
        "tomorrow",
        "try",
        "until",
        "upon",
        "use",
        "used",
        "very",
        "want",
        "what",
        "when",
        "where",
        "will",
        "wish",
        "you",
    ]
)
_EDGE_WORDS = _CHAT_WORDS | _LEADING_CONTEXT_WORDS
# Common words of Chinese questions. An unseparated run of wordlist characters that contains one is a
# sentence, not a phrase: about 1 in 3,000 random phrases contains one of these pairs by chance.
_ZH_PROSE = re.compile(
    "怎么|什么|为什|如何|怎样|可以|不能|没有|不了|不是|是不|能不|有没|多少|哪里|哪个|时候|现在|已经|还是|但是|因为|所以|"
    "如果|然后|或者|而且|一直|一下|一个|这个|那个|我的|我们|你们|他们|自己|需要|知道|请问|为啥|还没|不到|不上|收到|显示|"
    "提示|无法|失败|成功|账户|账号|手机|短信|验证|登录|充值|提现|提币|到账|转账|交易|钱包|地址|客服|问题|资金|余额|额度|"
    "银行|申请|开通|关闭|取消|使用|支付|还款"
)
# What may sit between a context word and the Chinese characters ("助记词是：...").
_ZH_CONNECTOR = re.compile(r"[\s:=\"'“”「」]*(?:(?:是|为|為|如下)[\s:=\"'“”「」]*)?")

# --- private keys ------------------------------------------------------------------------------

_ALNUM_RUN = re.compile(r"[0-9A-Za-z]{24,}")
_HEX64 = re.compile(r"(?:0[xX])?[0-9a-fA-F]{64}")
_BASE58 = re.compile(r"[1-9A-HJ-NP-Za-km-z]+")
_EXTENDED_PREFIXES = ("xprv", "yprv", "zprv", "tprv", "uprv", "vprv")
_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?)-----")
_KEY_WINDOW_BEFORE = 60
_KEY_WINDOW_AFTER = 40
_SHORT_MESSAGE = 200
# Any "key" names a key ("this is my wallet's key <hex>, why can't I withdraw"): a transaction is never called one.
_KEY_CONTEXT = re.compile(
    r"(?<![A-Za-z])(?:keys?|priv\s*key|privkey|keystore|export\w*)(?![A-Za-z])|私钥|私鑰|密钥|秘钥|密鑰|导出|導出",
    re.IGNORECASE,
)
_TX_CONTEXT = re.compile(
    r"(?<![A-Za-z])(?:tx|txid|txn|txhash|hash|transactions?|deposit\w*|withdr[ae]w\w*|sent|signature|explorer"
    r"|confirm\w*)(?![A-Za-z])"
    r"|etherscan|bscscan|tronscan|solscan|blockchair|blockchain\.com|mempool\.space|/tx/"
    r"|交易|哈希|充值|提现|提現|提币|提幣|到账|到賬|区块浏览器|區塊瀏覽器|浏览器|瀏覽器|确认|確認|转账|轉賬",
    re.IGNORECASE,
)
# A hash that is part of an explorer link is a transaction whatever else the message says.
_TX_URL_TAIL = re.compile(r"(?:/tx/|/txs/|/transaction/|/transactions/|[?&#]tx(?:id|hash)?=)$", re.IGNORECASE)
# Any path of a link: keys are not put in URLs, transaction hashes are (".../transactions/btc/<hash>").
_IN_URL = re.compile(r"https?://[^\s]*/$", re.IGNORECASE)

# --- passwords and API secrets -----------------------------------------------------------------

_IS = r"(?:is|was)(?:\s+now)?(?:\s*[:=]|(?=\s))"
_PASSWORD_EN = re.compile(
    rf"(?<![A-Za-z])(?P<label>password|passwd|passcode|passphrase|pass|pwd|pw|pin)[\"']?\s*(?:{_IS}|:|=>?)[ \t]*",
    re.IGNORECASE,
)
_PASSWORD_ZH = re.compile(r"(?:密码|密碼|口令)[\"']?(?:[ \t]*(?:是|为|為)[ \t]*[:=]?|[ \t]*[:=]|[ \t])[ \t]*")
_PASSWORD_HINTS = ("pass", "pw", "pin", "密码", "密碼", "口令")
_API_LABEL = (
    r"(?<![A-Za-z])(?:api[ _-]?(?:secret(?:[ _-]?key)?|key)|apisecret|secret[ _-]?key|client[ _-]?secret"
    r"|access[ _-]?key(?:[ _-]?id)?|secret)(?![A-Za-z])"
)
_API = re.compile(
    rf"(?:{_API_LABEL}|(?:api[ _-]?)?(?:密钥|秘钥|密鑰))"
    rf"[\"']?\s*(?:{_IS}|:|=>?|是|为|為)[ \t]*",
    re.IGNORECASE,
)
# "here is my api secret Kq8Zp2Lm9Xv4...": a label and only a space before the value, which then has to look
# generated (long, letters and digits), not like a word of the sentence ("api key permissions").
_API_BARE = re.compile(rf"{_API_LABEL}[ \t]+", re.IGNORECASE)
_MIN_BARE_LABELLED_SECRET = 16
_API_TRIGGER = re.compile("api|secret|access|密钥|秘钥|密鑰")
_API_VALUE = re.compile(r"[A-Za-z0-9+/=_.~-]{8,256}")
_VALUE = re.compile(rf"[^\s，{_HAN_CHARS}]{{1,128}}")
_TRAILING_PUNCT = ",.;:?)]}>\"'`。、，；：？！”’」』"
_MIN_PASSWORD = 4
_MIN_BARE_API_SECRET = 16
# "I don't know what my password is": a question about the password, not the password.
_EMBEDDED_QUESTION = re.compile(
    r"\b(?:what|whether|where)\s+(?:(?:my|the|your|our|his|her|their|new|old|current|login|account)\s+){0,3}$",
    re.IGNORECASE,
)
# Words that follow "password is" in ordinary questions ("my password is not working").
_NOT_A_VALUE = (
    frozenset({"not", "wrong", "incorrect", "correct", "invalid", "expired", "forgotten", "forgot", "lost", "missing"})
    | frozenset({"working", "work", "works", "changed", "reset", "required", "needed", "locked", "blocked", "set"})
    | frozenset({"compromised", "leaked", "hacked", "stolen", "weak", "strong", "long", "short", "saved", "stored"})
    | frozenset({"accepted", "rejected", "denied", "failing", "failed", "broken", "disabled", "enabled", "unknown"})
    | frozenset({"ok", "okay", "fine", "right", "different", "same", "old", "new", "empty", "blank", "none", "hidden"})
    | frozenset({"too", "also", "still", "already", "just", "always", "never", "only", "really", "very", "probably"})
    | frozenset({"the", "this", "that", "what", "which", "why", "how", "who", "where", "when", "being", "been"})
    | frozenset({"my", "your", "his", "her", "our", "their", "its", "it", "a", "an", "and", "or", "but", "in", "on"})
    | frozenset(
        {"for", "from", "with", "of", "to", "at", "by", "there", "here", "visible", "sensitive", "case-sensitive"}
    )
    | frozenset({"definitely", "asterisks", "stars", "dots", "characters", "chars", "digits", "letters"})
    | frozenset({"gone", "useless", "dead", "suddenly", "somehow", "apparently"})
)

# A credential-shaped token: printable ASCII, letters with digits or symbols ("Tiger#2024", "5201314aa").
_CREDENTIAL_TOKEN = re.compile(r"[!-~]{6,64}")
_TOKEN_EDGES = "\"'`([{<>)]}.,;:!?"
_SYMBOLS = frozenset("!@#$%^&*_+=~?-.")
# Words that name a password in prose: "the pass I always use is X", "X is my password", "密码改成了X".
_PASSWORD_WORD = re.compile(
    r"(?<![A-Za-z])(?:password|passwd|passcode|pass|pwd|pw|log\s*in|login|sign\s*in)(?![A-Za-z])|密码|密碼|口令",
    re.IGNORECASE,
)
_PASSWORD_WORD_REACH = 60
# Cheap literal triggers (on lower-cased text) for the regexes above: see `_near`.
_PASSWORD_TRIGGER = re.compile("pass|pw|log|sign|密码|密碼|口令")
_VERB_TRIGGER = re.compile("try|use|type|with|用")
_LOGIN_TRIGGER = re.compile("user|login|mail")
# What may be typed as a password with no password word: "try X", "log in with X", "I use X".
_PASSWORD_VERB = re.compile(r"(?<![A-Za-z])(?:(?:try|use|typed|type|with)(?![A-Za-z])[ \t]+|用[ \t]*)", re.IGNORECASE)
# A token after these is an identifier, not a password.
_IDENTIFIER_BEFORE = re.compile(
    r"(?:(?<![A-Za-z])(?:user(?:name)?|uid|id|e-?mail|account|acct|referral|invite|promo|code|order|ticket|version"
    r"|address|memo|tag|device|called|named)\s*(?:is|:|=|#|no\.?)?|邀请码|推荐码|订单|工单号?|单号|编号|用户名|用戶名|账号|帐号|帳號|賬號|地址)\s*$",
    re.IGNORECASE,
)
# "user: alice77 / S3cret!": the second of a login pair.
_LOGIN_PAIR = re.compile(r"(?<![A-Za-z])(?:user(?:name)?|login|e-?mail)\s*[:=]\s*\S+\s*[/|]\s*(\S+)", re.IGNORECASE)
_EMAIL_OR_URL = re.compile(r"^(?:[^@\s]+@[^@\s]+\.[A-Za-z]{2,}|[a-z]+://.*|www\..*)$", re.IGNORECASE)
# API secrets named anywhere near: "my secret key for the API, if it helps: X", "X <- that's my api secret".
_API_SECRET_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{20,128}(?![A-Za-z0-9+/=_-])")
_API_WORD = re.compile(
    r"(?<![A-Za-z])(?:api|secret|hmac|apikey|apisecret|api[_-]?key|api[_-]?secret)(?![A-Za-z])|密钥|秘钥|密鑰|接口",
    re.IGNORECASE,
)
_API_REACH_BEFORE, _API_REACH_AFTER = 120, 80
_SENTENCE_END = re.compile(r"[.!?。！？\n](?:\s|$)|[。！？\n]")
# Two words joined by a hyphen (lower case or a brand's capitals: "T-Mobile", "Wi-Fi"), a site's name and a service
# with a plus are prose near a password word ("after fat-fingering my password", "blockchain.com wallet password",
# "disney+ login code"), unless the sentence names it the password ("blue-sky is my password", "my password
# blue-sky"). Three or more words stay suspect: that is how passphrases are chosen.
_COMPOUND_WORD = re.compile(r"(?:[A-Z]|[A-Z]?[a-z]+)(?:-[A-Z]?[a-z]+|(?:\.[a-z]{2,})+|\+)")
_NAMED_AS_PASSWORD = re.compile(r"[ \t]*(?:is|was|=|:)(?![A-Za-z])")

# --- 2FA codes ---------------------------------------------------------------------------------

# 6-8 digits, also typed in groups or one by one ("482 913", "4320 73", "9 3 5 0 7 1").
_OTP_NUMBER = re.compile(r"\d(?: ?\d){5,7}(?![0-9A-Za-z])(?![.,/:-]\d)")
_NOT_BEFORE_NUMBER = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,/#$-\\")
_OTP_STRONG_EN = (
    r"authy|\d[- ]?digit\s+code|(?:my|the|this|that)\s+code(?=\s*(?:is|was|:))|2fa|2-fa|mfa|otp|totp|g2fa|two[- ]factor(?:\s+auth\w*)?|google\s+auth\w*|authenticator(?:\s+app)?"
    r"|one[- ]time\s+pass(?:word|code)"
)
_OTP_STRONG_ZH = (
    r"验证码|验證碼|驗證碼|动态码|動態碼|动态口令|動態口令|谷歌验证|谷歌驗證|身份验证器|二次验证|两步验证|双重验证"
)
_OTP_WEAK_EN = r"google|sms|text|email|e-mail|verification|verify|security|auth|authentication|login|one[- ]time|ga|2-step|two[- ]step"
_OTP_WEAK_ZH = r"短信|邮箱|郵箱|手机|安全"
_CODE_WORD = r"(?:codes?\b|pin\b|token\b|码|碼)"
_CONNECTOR = r"(?:\b(?:is|was)\b(?:\s*[:=])?|[:=]|是|为|為)"
# A phrase naming a one-time code: "2fa", "google authenticator code", "sms code", "谷歌验证码".
_OTP_KEYWORD = re.compile(
    rf"\b(?:{_OTP_STRONG_EN})\b(?:\s*{_CODE_WORD})?|\b(?:{_OTP_WEAK_EN})\s*{_CODE_WORD}"
    rf"|(?:{_OTP_STRONG_ZH})(?:\s*{_CODE_WORD})?|(?:{_OTP_WEAK_ZH})\s*{_CODE_WORD}",
    re.IGNORECASE,
)
# Between "my 2fa code" and the number: nothing but "is", ":" or "是".
_DIRECT_GAP = re.compile(
    rf"\s*(?:{_CONNECTOR}|(?:says|said|shows|showed|showing|is\s+showing|reads|displays|gives|gave|generated)\b)?"
    rf"(?:\s*(?:right\s+now|now|currently)\b)?\s*[:=]?\s*",
    re.IGNORECASE,
)
# A code named after it: "931281 from the SMS", "344169 thats the google code", "976088 这个是刚收到的短信验证码".
_OTP_NAMED_AFTER = re.compile(
    rf"[ \t]*(?:(?:is\s+)?(?:from|on|in)\s+(?:the\s+|my\s+)?|,?\s*(?:that'?s|this\s+is|it'?s)\s+(?:the\s+|my\s+)?"
    rf"|[ \t，,]*(?:这个?是|这就是|是)?[{_HAN_CHARS}]{{0,8}}?)(?:{_OTP_STRONG_EN}|{_OTP_WEAK_EN}|{_OTP_STRONG_ZH}|{_OTP_WEAK_ZH})"
    rf"(?:\s*{_CODE_WORD})?",
    re.IGNORECASE,
)
# A message that is nothing but a code (the answer to "what code do you see?"): six digits, the authenticator's
# length. Not seven or eight: a bare UID or order id is the answer to the intake's own question and must reach agents.
_BARE_CODE = re.compile(r"\s*(\d(?: ?\d){5})\s*")
# The same message inside a logged JSON body: {"text": "314817"}.
_BARE_CODE_FIELD = re.compile(
    r"[\"'](?:text|caption|message|body|content)\s?[\"']\s*:\s*[\"']\s*(\d(?: ?\d){5})\s*[\"']"
)
# "... the code is 482913" with a 2FA word earlier in the message.
_CODE_IS = re.compile(rf"(?:\bcodes?\b|码|碼)\s*{_CONNECTOR}?\s*$", re.IGNORECASE)
_CODE_BLOCKER = re.compile(
    r"(?:\b(?:error|err|referral|refer|invite|invitation|promo|promotion|coupon|voucher|discount|gift|zip|postal"
    r"|country|area|tracking|reference|ref|bonus|status|response|http|exit|reason|product|swift|bank|ticket|order|case)"
    r"|错误|邀请|推荐|优惠|兑换|邮编|国家|区号|返回)\s*$",
    re.IGNORECASE,
)
# "... and the one I got is 123456" in the same clause as a 2FA word, unless something else is named.
_CLAUSE_CONNECTOR = re.compile(rf"{_CONNECTOR}\s*$", re.IGNORECASE)
_CLAUSE_ENDS = ".,;!?。，；！？\n"
_OTP_BLOCKER = re.compile(
    r"\b(?:uid|id|user\s*id|order|ticket|error|case|ref|reference|invoice|tx|txid|deposit\w*|withdraw\w*"
    r"|amount|balance|phone|mobile|tel|referral|invite|promo|zip|account\s*(?:number|no|id))\b"
    r"|订单|工单|错误|编号|金额|余额|充值|提现|手机号|电话|邀请|推荐|用户",
    re.IGNORECASE,
)
_UNITS = (
    r"(?:usdt|usdc|usd|busd|dai|btc|eth|bnb|trx|sol|xrp|doge|ada|cny|rmb|eur|coins?|tokens?|dollars?"
    r"|元|块|個|个|刀|u(?![a-z]))"
)
_UNIT_AFTER = re.compile(rf"[ \t]{{0,3}}{_UNITS}", re.IGNORECASE)
_OTP_WINDOW = 120
# How far past a trigger word a label, context word or connector may reach.
_TRIGGER_REACH = 64
_CODE_TAIL = 24


# --- helpers -----------------------------------------------------------------------------------


def _checksum_ok(indices: Sequence[int]) -> bool:
    """BIP-39 checksum of word indices: `Mnemonic.check` without its linear wordlist look-ups."""
    count = len(indices)
    if count not in _VALID_LENGTHS:
        return False
    bits = 0
    for index in indices:
        bits = (bits << 11) | index
    checksum_bits = count // 3
    entropy = (bits >> checksum_bits).to_bytes(count * 4 // 3, "big")
    return hashlib.sha256(entropy).digest()[0] >> (8 - checksum_bits) == bits & ((1 << checksum_bits) - 1)


def _b58decode(text: str) -> bytes:
    """Base58 to bytes (leading '1's are zero bytes)."""
    number = 0
    for char in text:
        number = number * 58 + _B58_ALPHABET.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def _is_wif(text: str) -> bool:
    """Base58check with the mainnet private-key version byte (and the compression flag when 52 chars)."""
    raw = _b58decode(text)
    payload, checksum = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != checksum:
        return False
    return payload[:1] == b"\x80" and (len(payload) == 33 or (len(payload) == 34 and payload[-1] == 1))


def _near(pattern: re.Pattern[str], s: str, hits: Iterable[int], before: int, after: int) -> list[re.Match[str]]:
    """Matches of a costly pattern, looked for only in windows around the (ascending) hits of a cheap trigger.

    A literal alternation on lower-cased text runs many times faster than a case-insensitive pattern of
    word boundaries and alternatives, which then only reads the few places the trigger points at.
    """
    matches: list[re.Match[str]] = []
    low = high = -1
    for hit in hits:
        start, end = max(0, hit - before), min(len(s), hit + after)
        if start > high:
            if high >= 0:
                matches += pattern.finditer(s, low, high)
            low = start
        high = max(high, end)
    if high >= 0:
        matches += pattern.finditer(s, low, high)
    return matches


def _has_any(text: str, hints: Iterable[str]) -> bool:
    """Cheap gate before a detector's regexes: does any trigger word occur at all?"""
    return any(hint in text for hint in hints)


def _is_text_value(token: str) -> bool:
    """False for words that follow "password is" in ordinary questions ("not", "wrong", "expired", "working")."""
    participle = token.isalpha() and token.islower() and token.endswith(("ed", "ing"))
    return not participle and token.lower() not in _NOT_A_VALUE


def _value_span(s: str, pos: int) -> tuple[_Span, bool] | None:
    """The value at pos, and whether it was quoted: a quoted string, or one token without trailing punctuation."""
    if pos >= len(s) or s[pos] in ".,;?":
        return None
    closing = _QUOTES.get(s[pos])
    if closing is not None:
        end = s.find(closing, pos + 1, pos + 130)
        if end > pos + 1 and "\n" not in s[pos + 1 : end]:
            return (pos + 1, end), True
    match = _VALUE.match(s, pos)
    token = match.group().rstrip(_TRAILING_PUNCT) if match else ""
    return ((pos, pos + len(token)), False) if token else None


def _looks_like_api_secret(value: str) -> bool:
    """An API key or secret: long, or at least mixing letters and digits."""
    if not _is_text_value(value):
        return False
    mixed = any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
    return len(value) >= _MIN_BARE_API_SECRET or mixed


def _is_transaction(s: str, start: int, end: int) -> bool:
    """True when a hash-shaped string is named a transaction rather than a key by the words around it."""
    if _TX_URL_TAIL.search(s, max(0, start - 16), start) is not None:
        return True
    if _IN_URL.search(s, max(0, start - 200), start) is not None:
        return True
    if len(s) <= _SHORT_MESSAGE:
        around = s[:start] + " " + s[end:]
    else:
        around = s[max(0, start - _KEY_WINDOW_BEFORE) : start] + " " + s[end : end + _KEY_WINDOW_AFTER]
    # The private-key words win: "I exported my private key and sent it" is still a key.
    return _TX_CONTEXT.search(around) is not None and _KEY_CONTEXT.search(around) is None


def _gap_kind(gap: str) -> tuple[int, int]:
    """How a gap links two words (a space, a list separator, or not at all), and its list number if any."""
    if gap == " ":
        return _GAP_SPACE, 0
    match = _GAP.fullmatch(gap) if len(gap) <= _MAX_GAP else None
    if match is None:
        return _GAP_BREAK, 0
    number = int(match.group("n1") or match.group("n2") or 0)
    if number or any(c in gap for c in _LIST_SEPARATORS):
        return _GAP_LIST, number
    return _GAP_SPACE, 0


class _Token(NamedTuple):
    """A word of a candidate seed run: a Latin word or a Chinese character (cluster)."""

    start: int
    end: int
    word: str  # lower-cased
    good: bool  # in the run's wordlist (for Chinese: a single wordlist character)
    gap: int  # how it is linked to the previous token of its run
    number: int  # the list number in that gap, 0 if none


def _could_be_typo(token: _Token, is_han: bool) -> bool:
    """Whether a non-wordlist token inside a run may be a mistyped word rather than ordinary prose."""
    if is_han:
        return len(token.word) == 1
    if len(token.word) < _MIN_TYPO_LETTERS:
        return token.word not in _SHORT_WORDS
    return len(token.word) <= _MAX_TYPO_LETTERS and token.word not in _COMMON_WORDS


def _numbered_items(tokens: Sequence[_Token]) -> Sequence[_Token]:
    """In a numbered list, only the numbered items: drops words before the first item and after the last."""
    numbered = [i for i, token in enumerate(tokens) if token.number]
    if not numbered or 2 * len(numbered) < len(tokens) - 1:
        return tokens
    first, last = numbered[0], numbered[-1]
    # The number of the first item is often before the run ("1." at the start of the message, "7." after "the rest").
    if (first > 0 and tokens[first].number == tokens[first - 1].number + 2) or (
        first > 0 and tokens[first].number >= 2 and tokens[first - 1].number == 0 and first == 1
    ):
        first -= 1
    return tokens[first : last + 1]


def _dense_ranges(good: Sequence[bool]) -> list[_Span]:
    """Token index ranges where some 11 consecutive tokens hold at least 9 wordlist words.

    Any phrase found later (12 wordlist words, or 11+ words with up to two typos) lies inside such a
    range, so the costly per-token work is done there only.
    """
    width, need = _MIN_RUN_WITH_TYPOS, _MIN_RUN_WITH_TYPOS - _MAX_TYPOS
    totals = list(accumulate(good, initial=0))
    if totals[-1] < need:
        return []
    if len(good) <= width:
        return [(0, len(good))]
    dense = [i for i, n in enumerate(map(sub, totals[width:], totals[:-width])) if n >= need]
    if not dense:
        return []
    # Windows that overlap or touch belong to one range.
    cuts = [k for k in range(1, len(dense)) if dense[k] - dense[k - 1] > width]
    firsts = [dense[0], *(dense[k] for k in cuts)]
    lasts = [*(dense[k - 1] for k in cuts), dense[-1]]
    return [(first, last + width) for first, last in zip(firsts, lasts, strict=True)]


@dataclass(frozen=True, slots=True)
class _Wordlists:
    """BIP-39 word -> index, for English and both Chinese scripts."""

    english: Mapping[str, int]
    chinese: tuple[Mapping[str, int], ...]
    chinese_chars: frozenset[str]
    simplified: tuple[str, ...]  # the simplified list in order: the traditional list is the same words, index by index

    @classmethod
    def load(cls) -> _Wordlists:
        """Read the wordlists shipped with the `mnemonic` package."""
        english, simplified, traditional = (
            MappingProxyType({word: i for i, word in enumerate(Mnemonic(lang).wordlist)})
            for lang in ("english", "chinese_simplified", "chinese_traditional")
        )
        chars = frozenset(simplified) | frozenset(traditional)
        return cls(english, (simplified, traditional), chars, tuple(simplified))

    def chinese_checksum_ok(self, chars: str) -> bool:
        """True when the characters are a valid phrase in one of the Chinese lists."""
        return any(all(c in table for c in chars) and _checksum_ok([table[c] for c in chars]) for table in self.chinese)

    def as_simplified(self, chars: str) -> str | None:
        """The characters in the simplified list's script (traditional ones by their index); None unless all of them
        are in one list."""
        for table in self.chinese:
            if all(c in table for c in chars):
                return "".join(self.simplified[table[c]] for c in chars)
        return None


@dataclass(frozen=True, slots=True)
class _CompatFold:
    """NFKC for the characters that fold to exactly one character (full-width forms, ideographic space).

    One character for one keeps every offset valid in the original text; the few characters that
    expand (ligatures, "㍻") cannot be part of a key, a number or a wordlist word anyway.
    """

    table: Mapping[int, str]

    @classmethod
    def build(cls) -> _CompatFold:
        """Tabulate the one-to-one NFKC mappings."""
        table: dict[int, str] = {}
        for block in _COMPAT_RANGES:
            for code in block:
                folded = unicodedata.normalize("NFKC", chr(code))
                if len(folded) == 1 and folded != chr(code) and chr(code) not in _UNFOLDED:
                    table[code] = folded
        return cls(table)

    def fold(self, text: str) -> str:
        """The text with those characters replaced; same length, same offsets."""
        return text if text.isascii() else text.translate(self.table)


# --- the scanner -------------------------------------------------------------------------------


class SecretScanner:
    """Finds secrets in a message and redacts them; build one and share it (it holds no per-scan state)."""

    def __init__(self) -> None:
        self._words = _Wordlists.load()
        self._fold = _CompatFold.build()

    @cached_property
    def _chinese_words(self) -> ChineseWords:
        # Read (about 0.3 s) when first needed, not with every scanner: `omnidesk tickets` never needs it.
        return ChineseWords.load(self._words.simplified)

    def load_chinese_words(self) -> None:
        """Read the Chinese dictionary now (start-up), not in the event loop on the first message that needs it."""
        _ = self._chinese_words

    def scan(self, text: str) -> ScanResult:
        """Redact every secret in text; never raises."""
        if not text:
            return ScanResult(text, ())
        s = self._fold.fold(text)
        if "\\" in s:  # same length: every offset stays valid in the original text
            s = _ESCAPE.sub(lambda m: " " * (len(m.group()) - 1) + _ESCAPED[m.group(1)], s)
        # "İ" is the one character whose lower case is two characters long; offsets must not move.
        lowered = s.replace("\u0130", "i").lower()
        found: list[tuple[SecretKind, _Span]] = []
        found += [(SecretKind.SEED_PHRASE, span) for span in self._seed_spans(s, lowered)]
        found += [(SecretKind.SEED_PHRASE, span) for span in self._fragment_spans(s, lowered, alone=True)]
        found += [(SecretKind.PRIVATE_KEY, span) for span in _private_key_spans(s)]
        if _has_any(lowered, _PASSWORD_HINTS):
            found += [(SecretKind.PASSWORD, span) for span in _password_spans(s)]
        found += [(SecretKind.PASSWORD, span) for span in _prose_password_spans(s, lowered)]
        found += [(SecretKind.OTP, span) for span in _otp_spans(s)]
        found += [(SecretKind.API_SECRET, span) for span in _api_spans(s, lowered)]
        if _API_TRIGGER.search(lowered) or "hmac" in lowered or "接口" in lowered:
            found += [(SecretKind.API_SECRET, span) for span in _prose_api_spans(s)]
        findings = _merge(_outside_placeholders(text, found))
        return ScanResult(_redact(text, findings), findings)

    def scan_continuing(self, text: str, earlier: Sequence[str]) -> tuple[ScanResult, tuple[str | None, ...]]:
        """Scan `text` as the next message after `earlier` (the conversation's last messages, oldest first, as
        stored): a phrase split over several messages is redacted in each of them. Returns the scan of `text` and,
        for each earlier message, its text redacted again (None when it is unchanged)."""
        result = self.scan(text)
        if not earlier or not text:
            return result, tuple(None for _ in earlier)
        texts = [*earlier, text]
        extra: list[list[_Span]] = [[] for _ in texts]
        # A phrase across the messages: the messages as one text, one per line.
        joined = "\n".join(texts)
        starts = list(accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
        folded = self._fold.fold(joined)
        for start, end in self._seed_spans(folded, folded.replace("\u0130", "i").lower()):
            first, last = bisect_right(starts, start) - 1, bisect_right(starts, end - 1) - 1
            if first != last:
                for i in range(first, last + 1):
                    extra[i].append(
                        (max(start, starts[i]) - starts[i], min(end, starts[i] + len(texts[i])) - starts[i])
                    )
        # Unseparated Chinese parts ("车以胜阿逮来", then "旁屏毕喊秀和 ..."): the last characters of the message before
        # and the first of this one.
        tail, head = _HAN_TRAILING.search(earlier[-1]), _HAN_LEADING.match(text)
        if tail is not None and head is not None:
            chars = tail.group(1) + head.group(1)
            # Two short Chinese messages in a row pass a checksum one time in 16: the characters must be drawn like
            # a phrase's too.
            if len(chars) in _VALID_LENGTHS and not _ZH_PROSE.search(chars) and self._rare_enough(chars):
                extra[-2].append(tail.span(1))
                extra[-1].append(head.span(1))
        # The rest of a phrase whose first part was redacted already: every fragment of this message.
        if any(_SEED_PLACEHOLDER in t for t in earlier[-2:]):
            current = self._fold.fold(text)
            extra[-1] += self._fragment_spans(current, current.replace("\u0130", "i").lower(), alone=False)
        rescanned = [
            self._with_seed_spans(t, spans, self.scan(t) if i < len(earlier) else result)
            for i, (t, spans) in enumerate(zip(texts, extra, strict=True))
        ]
        changed = tuple(
            new.redacted_text if extra[i] and new.redacted_text != earlier[i] else None
            for i, new in enumerate(rescanned[:-1])
        )
        return rescanned[-1], changed

    def may_continue_seed(self, text: str) -> bool:
        """Cheap test: could this message be part of a phrase split over messages (worth reading the last ones)?"""
        if not text or len(text) > _FRAGMENT_MAX_TEXT:
            return False
        s = self._fold.fold(text)
        return bool(self._fragment_spans(s, s.lower(), alone=False))

    def may_start_seed(self, text: str) -> bool:
        """Could this message, no secret on its own, be the first part of a phrase that the next message completes?
        It ends with wordlist words that read as no sentence, or with unseparated characters that form no word."""
        if not text:
            return False
        s = self._fold.fold(text[-_FRAGMENT_MAX_TEXT:])  # a part is at the end, however long the message
        end = len(s.rstrip(_PART_END))
        if any(stop == end for _, stop in self._fragment_spans(s, s.lower(), alone=False)):
            return True
        tail = _HAN_TRAILING.search(s[:end])
        if tail is None or not 3 <= len(tail.group(1)) < _MIN_SEED_WORDS or _ZH_PROSE.search(tail.group(1)):
            return False
        chars = self._words.as_simplified(tail.group(1))
        return chars is not None and not self._chinese_words.has_word(chars)

    def _with_seed_spans(self, text: str, spans: Sequence[_Span], result: ScanResult) -> ScanResult:
        """`result` (a scan of text) with more seed-phrase spans redacted."""
        if not spans:
            return result
        found = [(f.kind, (f.start, f.end)) for f in result.findings] + [(SecretKind.SEED_PHRASE, sp) for sp in spans]
        findings = _merge(_outside_placeholders(text, found))
        return ScanResult(_redact(text, findings), findings)

    def _fragment_spans(self, s: str, lowered: str, alone: bool) -> list[_Span]:
        """Parts of a phrase: runs of 2+ wordlist words (or separated characters) that read as no sentence.

        With `alone` (nothing is known of the messages before) a part must be long (6 words), announced by a
        context word ("seed (part 1) ..."), or the whole message with no word of a question ("regret cabin basic").
        """
        if len(s) > _FRAGMENT_MAX_TEXT:
            return []
        spans: list[_Span] = []
        for run, is_han in self._good_runs(s):
            tokens = list(run if is_han else _numbered_items(run))
            while not is_han and tokens and not tokens[0].number and tokens[0].word in _EDGE_WORDS:
                tokens.pop(0)
            while not is_han and tokens and not tokens[-1].number and tokens[-1].word in _CHAT_WORDS:
                tokens.pop()
            if len(tokens) < 2:
                continue
            start, end = tokens[0].start, tokens[-1].end
            common = sum(t.word in _CHAT_WORDS or t.word in _DOMAIN_WORDS for t in tokens) if not is_han else 0
            if 3 * common >= len(tokens) or (is_han and not self._rare_enough("".join(t.word for t in tokens))):
                continue
            if not alone:
                spans.append((start, end))
                continue
            if not is_han and len({t.word for t in tokens}) == 1:  # "AGENT AGENT AGENT" is shouting, not a key
                continue
            # Announced: a context word right before ("recovery phrase pt1: ...", "助记词前6个：...").
            context = _SEED_CONTEXT.search(s, max(0, start - _FRAGMENT_LABEL), start) is not None
            whole = not _WORD.search(s, 0, start) and not _WORD.search(s, end)
            if (
                len(tokens) >= _MIN_FRAGMENT
                or (context and len(tokens) >= _MIN_BARE_FRAGMENT)
                or (whole and len(tokens) >= _MIN_BARE_FRAGMENT and not common and not self._short_question(tokens))
            ):
                spans.append((start, end))
        if alone:
            spans += self._unworded_han_spans(s)
        # After a redacted part, the characters at the start of the message ("旁屏毕喊秀和 这是后半部分"). Alone, an
        # unseparated run of a few characters cannot be told from a short Chinese message.
        han = _HAN_LEADING.match(s)
        leading = han.group(1) if han is not None and not alone else ""
        if 2 <= len(leading) < _MIN_SEED_WORDS and not _ZH_PROSE.search(leading) and self._rare_enough(leading):
            spans.append(han.span(1) if han is not None else (0, 0))
        return spans

    def _reads_as_prose(self, chars: str) -> bool:
        """Chinese characters with a pair common in questions, in either script (怎麼辦 is 怎么办)."""
        if _ZH_PROSE.search(chars):
            return True
        simplified = self._words.as_simplified(chars)
        return simplified is not None and _ZH_PROSE.search(simplified) is not None

    @staticmethod
    def _short_question(tokens: Sequence[_Token]) -> bool:
        """Wordlist words that name a topic or ask a short question ("travel rule question")."""
        return any(t.word in _SHORT_QUESTION_WORDS for t in tokens)

    def _unworded_han_spans(self, s: str) -> list[_Span]:
        """A message of 6..24 unseparated wordlist characters that form no word: half of a phrase, sent alone."""
        alone = _HAN_ALONE.fullmatch(s)
        if alone is None or self._reads_as_prose(alone.group(1)) or _FUNCTION_CHARS.intersection(alone.group(1)):
            return []
        chars = self._words.as_simplified(alone.group(1))
        return [] if chars is None or self._chinese_words.has_word(chars) else [alone.span(1)]

    def _rare_enough(self, chars: str) -> bool:
        """Chinese characters drawn like a phrase's (evenly from the list), not like prose (the most frequent)."""
        for table in self._words.chinese:
            if all(c in table for c in chars):
                return sum(table[c] for c in chars) >= _MIN_MEAN_RANK_ZH * len(chars)
        return False

    def _good_runs(self, s: str) -> list[tuple[list[_Token], bool]]:
        """Runs of wordlist tokens (English words, or single separated Chinese characters) linked by list gaps."""
        matches = list(_WORD.finditer(s))
        english, chinese = self._words.english, self._words.chinese_chars
        words = [match.group() for match in matches]
        good = [(len(w) == 1 and w in chinese) if w[0] >= "\u3400" else w.lower() in english for w in words]
        if not any(a and b for a, b in pairwise(good)):
            return []  # no two wordlist tokens side by side: no run (most messages)
        runs: list[tuple[list[_Token], bool]] = []
        run: list[_Token] = []
        prev_end, prev_is_han = -1, False
        for match, word, ok in zip(matches, words, good, strict=True):
            is_han = word[0] >= "\u3400"
            gap, number = _GAP_BREAK, 0
            if ok and prev_end >= 0 and is_han == prev_is_han:
                gap, number = _gap_kind(s[prev_end : match.start()])
            if gap == _GAP_BREAK or not ok:
                if run:
                    runs.append((run, prev_is_han))
                run = []
            if ok:
                run.append(_Token(match.start(), match.end(), word if is_han else word.lower(), True, gap, number))
            prev_end, prev_is_han = match.end(), is_han
        if run:
            runs.append((run, prev_is_han))
        return runs

    # seed phrases

    def _seed_spans(self, s: str, lowered: str) -> list[_Span]:
        """Seed phrases: runs of English wordlist words, Chinese wordlist characters, or whole-line phrases."""
        # A run between other text must also be drawn like a phrase: a clause of 12 common characters passes the
        # checksum one time in 16.
        spans = [
            m.span()
            for m in _HAN_RUN.finditer(s)
            if self._is_chinese_phrase(m.group()) and (_is_whole_line(s, *m.span()) or self._rare_enough(m.group()))
        ]
        spans += self._chinese_group_spans(s)
        spans += self._chinese_context_spans(s, lowered)
        matches = list(_WORD.finditer(s))
        english, chinese = self._words.english, self._words.chinese_chars
        good = [
            (len(word) == 1 and word in chinese) if word[0] >= "\u3400" else word.lower() in english
            for word in (match.group() for match in matches)
        ]
        for first, last in _dense_ranges(good):
            spans += self._range_spans(s, matches[first:last], good[first:last])
        return spans

    def _is_chinese_phrase(self, chars: str, checksum: bool = True) -> bool:
        """A 12..24-character Chinese phrase (valid, unless `checksum` is False) that does not read as a sentence."""
        if len(chars) not in _VALID_LENGTHS or self._reads_as_prose(chars):
            return False
        if not checksum:
            return any(all(c in table for c in chars) for table in self._words.chinese)
        return self._words.chinese_checksum_ok(chars)

    def _chinese_group_spans(self, s: str) -> list[_Span]:
        """Characters in equal groups separated by spaces: a phrase with a valid checksum or a context word."""
        spans: list[_Span] = []
        for match in _HAN_GROUPS.finditer(s):
            groups = match.group().split()
            if len({len(group) for group in groups[:-1]}) != 1 or len(groups[-1]) > len(groups[0]):
                continue
            start, end = match.span()
            context = _SEED_CONTEXT.search(s, max(0, start - _CONTEXT_AROUND), end + _CONTEXT_AROUND) is not None
            if self._is_chinese_phrase("".join(groups), checksum=not context):
                spans.append(match.span())
        return spans

    def _chinese_context_spans(self, s: str, lowered: str) -> list[_Span]:
        """Chinese characters right after 助记词/私钥/seed... that are exactly one valid phrase."""
        spans: list[_Span] = []
        hits = (m.start() for m in _SEED_TRIGGER.finditer(lowered))
        # "passphrase" is found by its "phrase": the window starts a few characters before the trigger.
        for context in _near(_SEED_CONTEXT, s, hits, 8, _TRIGGER_REACH):
            after = _ZH_CONNECTOR.match(s, context.end())
            # "是" is both a connector and a wordlist character: try the phrase with and without it.
            for start in {context.end(), after.end() if after else context.end()}:
                chars = _HAN_PHRASE.match(s, start)
                # After a context word a mistyped character (a failing checksum) leaves a phrase a phrase.
                if chars is not None and self._is_chinese_phrase(chars.group(), checksum=False):
                    spans.append(chars.span())
        return spans

    def _range_spans(self, s: str, matches: Sequence[re.Match[str]], good: Sequence[bool]) -> list[_Span]:
        """Split a dense range of tokens into runs linked by list-like gaps, and find phrases in each."""
        spans: list[_Span] = []
        run: list[_Token] = []
        gap_kinds: dict[str, tuple[int, int]] = {}
        prev_end, prev_is_han = -1, False
        for match, ok in zip(matches, good, strict=True):
            start, end = match.span()
            word = match.group()
            is_han = word[0] >= "\u3400"
            gap, number = _GAP_BREAK, 0
            if is_han == prev_is_han and prev_end >= 0:
                text = s[prev_end:start]
                kind = gap_kinds.get(text)
                if kind is None:
                    kind = gap_kinds[text] = _gap_kind(text)
                gap, number = kind
            if gap == _GAP_BREAK:
                spans += self._run_spans(s, run, prev_is_han)
                run = []
            run.append(_Token(start, end, word if is_han else word.lower(), ok, gap, number))
            prev_end, prev_is_han = end, is_han
        return spans + self._run_spans(s, run, prev_is_han)

    def _run_spans(self, s: str, run: Sequence[_Token], is_han: bool) -> list[_Span]:
        """Seed phrases in one run: stretches of wordlist words with at most two typos inside."""
        spans: list[_Span] = []
        if sum(token.good for token in run) < _MIN_RUN_WITH_TYPOS - _MAX_TYPOS:
            return spans
        bounds = [-1, *(i for i, token in enumerate(run) if not token.good), len(run)]
        for first in range(len(bounds) - 1):
            for typos in range(min(_MAX_TYPOS, len(bounds) - 2 - first) + 1):
                if typos and not _could_be_typo(run[bounds[first + typos]], is_han):
                    break
                lo, hi = bounds[first] + 1, bounds[first + typos + 1] - 1
                if lo > hi or not (run[lo].good and run[hi].good):
                    continue
                tokens = run[lo : hi + 1]
                if typos == 0 and not is_han and len(tokens) >= _MIN_SEED_WORDS:
                    # Twelve or more wordlist words in a row are a phrase whatever the checksum says.
                    span = self._best_window(s, tokens)
                else:
                    span = self._shaped_span(s, tokens, is_han)
                if span is not None:
                    spans.append(span)
        return spans

    def _shaped_span(self, s: str, tokens: Sequence[_Token], is_han: bool) -> _Span | None:
        """The span of tokens when their shape (a list) or context says they are a phrase, checksum or not."""
        tokens = _numbered_items(tokens)
        context = False
        while not is_han and len(tokens) > 1 and tokens[0].word in _LEADING_CONTEXT_WORDS:
            tokens, context = tokens[1:], True
        # Chat words around a typed phrase ("... can you check") are not part of it.
        while not is_han and len(tokens) > _MIN_SEED_WORDS and tokens[-1].word in _CHAT_WORDS:
            tokens = tokens[:-1]
        if not (tokens and tokens[0].good and tokens[-1].good):
            return None
        typos = sum(not token.good for token in tokens)
        if len(tokens) < (_MIN_SEED_WORDS if typos == 0 else _MIN_RUN_WITH_TYPOS):
            return None
        start = tokens[0].start
        context = context or _SEED_CONTEXT.search(s, max(0, start - _CONTEXT_BEFORE), start) is not None
        listed = 2 * sum(token.gap == _GAP_LIST for token in tokens[1:]) >= len(tokens) - 1
        # A bare run of English words with a word or two mistyped ("... above bitcoin absent ..."): ten wordlist words
        # in a row are no sentence unless many of them are chat or support words ("can you check", "spot margin").
        common = sum(token.word in _EDGE_WORDS or token.word in _DOMAIN_WORDS for token in tokens)
        bare = not is_han and len(tokens) - typos >= _MIN_BARE_RUN_WORDS and 3 * common < len(tokens)
        # Separated Chinese characters are never prose; English words need a list shape, a context word or length.
        if (is_han and typos == 0) or listed or context or bare:
            return start, tokens[-1].end
        return None

    def _best_window(self, s: str, stretch: Sequence[_Token]) -> _Span | None:
        """Where the phrase lies in a stretch of 12+ English wordlist words (None when it reads as a sentence).

        A stretch often carries chat words before or after the phrase ("phrase abandon ... zoo can you check").
        Each window of a valid length (and the whole stretch) is scored: a valid checksum counts for it, seed-like
        words left outside and chat words taken inside count against it, and so does a boundary that is not a
        change of separator or an end of the stretch.
        """
        stretch = _numbered_items(stretch)
        if len(stretch) > _MAX_CHECKED_RUN:
            return stretch[0].start, stretch[-1].end
        indices = [self._words.english[token.word] for token in stretch]
        chat = [token.word in _CHAT_WORDS or token.word in _LEADING_CONTEXT_WORDS for token in stretch]
        inner_gap = max((0, 1, 2), key=[token.gap for token in stretch[1:]].count)
        count = len(stretch)
        best: tuple[int, int, int, int, bool] | None = None
        windows = {(first, first + length) for length in _VALID_LENGTHS for first in range(count - length + 1)}
        seedlike = list(accumulate((not c for c in chat), initial=0))
        for first, last in windows | {(0, count)}:
            outside = seedlike[first] + seedlike[count] - seedlike[last]
            inside = (last - first) - (seedlike[last] - seedlike[first])
            edges = (first == 0 or stretch[first].gap != inner_gap) + (last == count or stretch[last].gap != inner_gap)
            score = edges - 3 * outside - 3 * inside
            if best is not None and score + 4 < best[0]:
                continue  # not even a valid checksum would make it the best
            valid = last - first in _VALID_LENGTHS and _checksum_ok(indices[first:last])
            score += 4 * valid
            candidate = (score, last - first, -first, last, valid)
            if best is None or candidate > best:
                best = candidate
        assert best is not None
        _, _, minus_first, last, valid = best
        first = -minus_first
        window = stretch[first:last]
        start = window[0].start
        # Reads as chat: a third of it chat words ("seed" or "key" among them is no sign of chat).
        if not valid and 3 * sum(token.word in _CHAT_WORDS for token in window) >= len(window):
            listed = 2 * sum(token.gap == _GAP_LIST for token in window[1:]) >= len(window) - 1
            context = _SEED_CONTEXT.search(s, max(0, start - _CONTEXT_BEFORE), start) is not None
            if not (listed or context):
                return None
        return start, window[-1].end


# --- other detectors ---------------------------------------------------------------------------


def _private_key_spans(s: str) -> list[_Span]:
    """Hex keys (unless named a transaction), WIF, extended keys, Solana secrets and PEM blocks."""
    spans: list[_Span] = []
    for match in _ALNUM_RUN.finditer(s):
        token, (start, end) = match.group(), match.span()
        if _HEX64.fullmatch(token):
            key = not _is_transaction(s, start, end)
        elif _BASE58.fullmatch(token) is None:
            key = False
        elif token.startswith(_EXTENDED_PREFIXES):
            key = True
        elif len(token) in (51, 52) and token[0] in "5KL":
            key = _is_wif(token)
        else:
            # A Solana secret key and a Solana transaction signature are both 64 bytes in base58.
            key = 86 <= len(token) <= 88 and len(_b58decode(token)) == 64 and not _is_transaction(s, start, end)
        if key:
            spans.append((start, end))
    return spans + _pem_spans(s) if "-----BEGIN" in s else spans


def _pem_spans(s: str) -> list[_Span]:
    """PEM private-key blocks; one without its END line runs to the end of the message."""
    spans: list[_Span] = []
    pos = 0
    while (begin := _PEM_BEGIN.search(s, pos)) is not None:
        footer = f"-----END {begin.group(1)}-----"
        end = s.find(footer, begin.end())
        if end < 0:
            spans.append((begin.start(), len(s)))
            break
        spans.append((begin.start(), end + len(footer)))
        pos = end + len(footer)
    return spans


def _password_spans(s: str) -> list[_Span]:
    """Values given as a password: "password: X", "my password is X", "密码是X"."""
    spans: list[_Span] = []
    for match in [*_PASSWORD_EN.finditer(s), *_PASSWORD_ZH.finditer(s)]:
        value = _value_span(s, match.end())
        if value is None:
            continue
        (start, end), quoted = value
        if _EMBEDDED_QUESTION.search(s, max(0, match.start() - 40), match.start()):
            continue
        # A PIN is digits: "my PIN was entered wrong" names none.
        if match.groupdict().get("label", "").lower() == "pin" and not s[start:end].isdigit():
            continue
        if quoted or (end - start >= _MIN_PASSWORD and _is_text_value(s[start:end])):
            spans.append((start, end))
    return spans


def _api_spans(s: str, lowered: str) -> list[_Span]:
    """Values given as an API key or secret: "api secret: X", "apiSecret=X", "API密钥是X"."""
    spans: list[_Span] = []
    # "client secret": the label may start a few characters before the trigger word.
    for match in _near(_API, s, (m.start() for m in _API_TRIGGER.finditer(lowered)), 8, _TRIGGER_REACH):
        pos = match.end()
        if s[pos : pos + 1] in _QUOTES:
            pos += 1
        value = _API_VALUE.match(s, pos)
        token = value.group().rstrip(".") if value else ""
        if _looks_like_api_secret(token):
            spans.append((pos, pos + len(token)))
    for match in _near(_API_BARE, s, (m.start() for m in _API_TRIGGER.finditer(lowered)), 8, _TRIGGER_REACH):
        value = _API_VALUE.match(s, match.end())
        token = value.group().rstrip(".") if value else ""
        generated = any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
        # A 64-digit hex value is the private-key detector's ("here is the secret key <hex> for my wallet").
        if len(token) >= _MIN_BARE_LABELLED_SECRET and generated and not _HEX64.fullmatch(token):
            spans.append((match.end(), match.end() + len(token)))
    return spans


def _credential_tokens(s: str, low: int = 0, high: int | None = None) -> Iterable[tuple[int, int, str]]:
    """Credential-shaped tokens in s[low:high]: letters with digits or symbols, without surrounding punctuation."""
    for match in _CREDENTIAL_TOKEN.finditer(s, low, len(s) if high is None else high):
        start, end = match.span()
        while start < end and s[start] in _TOKEN_EDGES:
            start += 1
        # Trailing punctuation is the sentence's, unless the token goes on ("abc123!这个密码") or it is a run
        # ("Aa112233.. is my password").
        if s[end : end + 1].isspace() or end == len(s):
            stripped = len(s[start:end].rstrip(_TOKEN_EDGES))
            if end - (start + stripped) < 2 or not s[end + 1 : end + 2].islower():
                end = start + stripped
        elif not ("\u3400" <= s[end : end + 1] <= "\u9fff"):
            end = start + len(s[start:end].rstrip(_TOKEN_EDGES))
        token = s[start:end]
        if len(token) < 6 or _EMAIL_OR_URL.match(token) or not any(c.isalpha() for c in token):
            continue
        core = token.rstrip(_TOKEN_EDGES)
        if any(c.isdigit() for c in core) or any(c in _SYMBOLS for c in core):
            yield start, end, token


def _is_strong(token: str) -> bool:
    """Shaped like a chosen password: a symbol, or upper and lower case letters with digits."""
    has_cases = any(c.isupper() for c in token) and any(c.islower() for c in token)
    return any(c.isdigit() for c in token) and (has_cases or any(c in _SYMBOLS for c in token[1:-1]))


def _prose_password_spans(s: str, lowered: str) -> list[_Span]:
    """Passwords said in prose: a credential-shaped token in the same sentence as a password word, or a strong one
    right after "try", "use", "log in with"."""
    pairs = _near(_LOGIN_PAIR, s, (m.start() for m in _LOGIN_TRIGGER.finditer(lowered)), 4, 200)
    spans = [m.span(1) for m in pairs]
    # Only tokens near a password word are read (a scan of 100 KB must stay linear and cheap).
    reach = _PASSWORD_WORD_REACH + 64
    hits = (m.start() for m in _PASSWORD_TRIGGER.finditer(lowered))
    words = (m.start() for m in _near(_PASSWORD_WORD, s, hits, 2, 16))
    for low, high in _windows(words, reach, reach, len(s)):
        for start, end, token in _credential_tokens(s, low, high):
            if (
                _IDENTIFIER_BEFORE.search(s, max(0, start - 16), start)
                or _is_transaction_like(token)
                or _NUMBER_IN_PROSE.fullmatch(token)
                or _ELIDED.fullmatch(token)
            ):
                continue
            before = s[max(0, start - _PASSWORD_WORD_REACH) : start]
            after = s[end : end + _PASSWORD_WORD_REACH]
            word_before = _last(_PASSWORD_WORD, before)
            if _COMPOUND_WORD.fullmatch(token) and not _NAMED_AS_PASSWORD.match(s, end):
                right_after_word = word_before is not None and not before[word_before.end() :].strip(" \t\"'")
                if not right_after_word:  # "my password blue-sky stopped working" names it
                    continue
            word_after = _PASSWORD_WORD.search(after)
            # The password word must be in the same sentence as the token.
            if (word_before is not None and not _SENTENCE_END.search(before, word_before.end())) or (
                word_after is not None and not _SENTENCE_END.search(after, 0, word_after.start())
            ):
                spans.append((start, end))
    for verb in _near(_PASSWORD_VERB, s, (m.start() for m in _VERB_TRIGGER.finditer(lowered)), 2, 16):
        for start, end, token in _credential_tokens(s, verb.end(), verb.end() + 65):
            if start == verb.end() and _is_strong(token) and not _is_transaction_like(token):
                spans.append((start, end))
            break
    return spans


def _windows(hits: Iterable[int], before: int, after: int, size: int) -> list[_Span]:
    """Merged windows [hit - before, hit + after) around ascending hits, clipped to [0, size)."""
    windows: list[_Span] = []
    for hit in hits:
        low, high = max(0, hit - before), min(size, hit + after)
        if windows and low <= windows[-1][1]:
            windows[-1] = (windows[-1][0], high)
        else:
            windows.append((low, high))
    return windows


def _prose_api_spans(s: str) -> list[_Span]:
    """API secrets introduced in prose: a long random token with an API word near it."""
    spans: list[_Span] = []
    for match in _API_SECRET_TOKEN.finditer(s):
        token, (start, end) = match.group(), match.span()
        letters = sum(c.isalpha() for c in token)
        digits = sum(c.isdigit() for c in token)
        if not (letters and digits) or not (any(c.isupper() for c in token) and any(c.islower() for c in token)):
            continue
        around = s[max(0, start - _API_REACH_BEFORE) : start] + " " + s[end : end + _API_REACH_AFTER]
        hex_like = all(c in "0123456789abcdefABCDEFx" for c in token)
        if _API_WORD.search(around) and not (hex_like and _TX_CONTEXT.search(around)):
            spans.append((start, end))
    return spans


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The last match of pattern in text."""
    matches = list(pattern.finditer(text))
    return matches[-1] if matches else None


def _is_whole_line(s: str, start: int, end: int) -> bool:
    """Nothing but spaces around s[start:end] on its line."""
    line_start = s.rfind("\n", 0, start) + 1
    line_end = s.find("\n", end)
    return not s[line_start:start].strip() and not s[end : len(s) if line_end < 0 else line_end].strip()


def _is_transaction_like(token: str) -> bool:
    """Hex hashes and 0x addresses are never passwords."""
    body = token[2:] if token[:2].lower() == "0x" else token
    return len(body) >= 32 and all(c in "0123456789abcdefABCDEF" for c in body)


# A value shown with its middle left out ("to 7xKX...f9Qm", "0xab3…9c1") or an IP address masked ("91.x.x.x"): an
# address or a hash told in a story, never a whole password.
_ELIDED = re.compile(r"[0-9A-Za-z]{2,12}(?:\.{2,4}|…)[0-9A-Za-z]{2,12}|\d{1,3}(?:\.(?:\d{1,3}|x|\*)){3}", re.IGNORECASE)
# A time, a date, a counted word or an amount in a story ("password reset email at 2:14am", "since 2024-08-12", "the
# 2-step screen", "1.4ETH gone"): when, what or how much, not a credential (one named as the password is still caught).
_NUMBER_IN_PROSE = re.compile(
    r"\d{1,2}:\d{2}(?::\d{2})?(?:am|pm)?|\d{1,2}(?:am|pm)|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|\d+-(?:step|factor|digit|day|hour|minute|week|month|year|time)s?"
    rf"|\d+(?:[.,]\d+)*{_UNITS}",
    re.IGNORECASE,
)


def _otp_spans(s: str) -> list[_Span]:
    """6-8 digit codes given as a 2FA/OTP/SMS/verification code (named before or after), or sent on their own."""
    bare = _BARE_CODE.fullmatch(s)
    if bare is not None:
        return [bare.span(1)]
    spans = [m.span(1) for m in _BARE_CODE_FIELD.finditer(s)] if '"' in s or "'" in s else []
    numbers = [
        m
        for m in _OTP_NUMBER.finditer(s)
        if not (m.start() and s[m.start() - 1] in _NOT_BEFORE_NUMBER) and not _UNIT_AFTER.match(s, m.end())
    ]
    # Keywords are looked for only before the numbers: a keyword regex over the whole text costs more.
    keyword_ends = [m.end() for m in _near(_OTP_KEYWORD, s, (m.start() for m in numbers), _OTP_WINDOW + 30, 0)]
    for match in numbers:
        start, end = match.span()
        nearest = bisect_right(keyword_ends, start) - 1
        near = nearest >= 0 and keyword_ends[nearest] >= start - _OTP_WINDOW
        if (near and _is_otp_context(s, keyword_ends[nearest], start)) or _OTP_NAMED_AFTER.match(s, end):
            spans.append((start, end))
    return spans


def _is_otp_context(s: str, keyword_end: int, start: int) -> bool:
    """Whether the words between the last 2FA keyword and a number say the number is that code."""
    if _DIRECT_GAP.fullmatch(s, keyword_end, start):
        return True
    tail_start = max(keyword_end, start - _CODE_TAIL)
    code_is = _CODE_IS.search(s, tail_start, start)
    if code_is is not None:
        return _CODE_BLOCKER.search(s, max(0, code_is.start() - _CODE_TAIL), code_is.start()) is None
    between = s[keyword_end:start]
    return (
        not any(c in between for c in _CLAUSE_ENDS)
        and _CLAUSE_CONNECTOR.search(s, keyword_end, start) is not None
        and _OTP_BLOCKER.search(s, keyword_end, start) is None
    )


# --- merging and redaction ---------------------------------------------------------------------


def _outside_placeholders(text: str, found: Iterable[tuple[SecretKind, _Span]]) -> list[SecretFinding]:
    """Findings, less those that lie inside a placeholder already in the text."""
    placeholders = [m.span() for m in PLACEHOLDER.finditer(text)] if "[REDACTED" in text else []
    starts = [start for start, _ in placeholders]
    findings: list[SecretFinding] = []
    for kind, (start, end) in found:
        inside = bisect_right(starts, start) - 1
        if start < end and not (inside >= 0 and end <= placeholders[inside][1]):
            findings.append(SecretFinding(kind, start, end))
    return findings


def _merge(findings: Iterable[SecretFinding]) -> tuple[SecretFinding, ...]:
    """Sort findings and merge overlapping ones; the merged span keeps the most specific kind."""
    merged: list[SecretFinding] = []
    for finding in sorted(findings, key=lambda f: (f.start, f.end)):
        if merged and finding.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, finding.kind, key=_PRIORITY.__getitem__)
            merged[-1] = SecretFinding(kind, last.start, max(last.end, finding.end))
        else:
            merged.append(finding)
    return tuple(merged)


def _redact(text: str, findings: Sequence[SecretFinding]) -> str:
    """Replace each finding's span by its placeholder."""
    parts: list[str] = []
    pos = 0
    for finding in findings:
        parts += [text[pos : finding.start], finding.placeholder]
        pos = finding.end
    parts.append(text[pos:])
    return "".join(parts)
