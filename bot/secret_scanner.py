"""Secret scanner: finds seed phrases, private keys, passwords, 2FA codes and API secrets in chat text.

Every message goes through `SecretScanner.scan` before it is stored or logged. Only the secret value is
replaced by a placeholder such as `[REDACTED:PASSWORD]`; the words around it stay so the rest of the
question can still be answered. All patterns are linear (no nested quantifiers) and every candidate
window is bounded, so arbitrary input is scanned in time proportional to its length.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from mnemonic import Mnemonic


class SecretKind(StrEnum):
    """What a redacted span was."""

    SEED_PHRASE = "seed_phrase"
    PRIVATE_KEY = "private_key"
    PASSWORD = "password"
    OTP = "otp"
    API_SECRET = "api_secret"


@dataclass(frozen=True, slots=True)
class SecretFinding:
    """One secret, as a half-open span of the original (unnormalised) text."""

    kind: SecretKind
    start: int
    end: int

    @property
    def placeholder(self) -> str:
        """The text that replaces the span, e.g. `[REDACTED:SEED_PHRASE]`."""
        return f"[REDACTED:{self.kind.name}]"


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


# --- shared character classes ------------------------------------------------------------------

_HAN_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_B58 = "1-9A-HJ-NP-Za-km-z"
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_VALID_LENGTHS = frozenset({12, 15, 18, 21, 24})

# When two findings overlap, the merged span takes the most specific kind (lowest number).
_PRIORITY = {
    SecretKind.SEED_PHRASE: 0,
    SecretKind.API_SECRET: 1,
    SecretKind.PRIVATE_KEY: 2,
    SecretKind.PASSWORD: 3,
    SecretKind.OTP: 4,
}
# Placeholders already in the text (a message redacted once and logged again) are no new secret.
_PLACEHOLDER = re.compile(r"\[REDACTED(?::[A-Z_]+)?\]")

# --- seed phrases ------------------------------------------------------------------------------

_WORD = re.compile(rf"[A-Za-z\u00c0-\u024f]+|[{_HAN_CHARS}]+")
_HAN_RUN = re.compile(rf"[{_HAN_CHARS}]+")
# A gap that still links two words of a listed phrase: separators and at most one list number
# ("1.", "2)", "#3", "(4)", "5、"). Anything else, such as ":" or ".", ends the run.
_GAP = re.compile(
    r"[\s,;|/、·•*-]*"
    r"(?:(?:#?(?P<n1>\d{1,2})(?!\d)[.):\]、-]?|[(\[](?P<n2>\d{1,2})[)\]])[\s,;|/、·•*-]*)?"
)
_GAP_SPACE, _GAP_LIST, _GAP_BREAK = 0, 1, 2
_MAX_GAP = 24
_MIN_SEED_WORDS = 12
_MIN_WORDS_WITH_TYPOS = 11
_MAX_TYPOS = 2
# Longer runs of wordlist words are redacted whole: some 12-word window of them passes the 4-bit
# checksum with near certainty anyway, and checking every window would make the scan quadratic.
_MAX_CHECKED_RUN = 48
_CONTEXT_BEFORE = 80
_SEED_CONTEXT = re.compile(
    r"\b(?:seed|mnemonic|recovery|phrase|passphrase|words|private\s*key)\b"
    r"|助记词|助記詞|助记|恢复短语|恢復短語|恢复词|种子|種子|私钥|私鑰",
    re.IGNORECASE,
)
# Context words that are themselves BIP-39 words, so may open a run ("seed phrase abandon ...").
_LEADING_CONTEXT_WORDS = frozenset({"seed", "phrase", "word", "private", "key"})
# What may sit between a Chinese context word and the characters ("助记词是：...").
_ZH_CONNECTOR = re.compile(r"[\s:=\"'“”「」]*(?:(?:是|为|為|如下)[\s:=\"'“”「」]*)?")

# --- private keys ------------------------------------------------------------------------------

_HEX64 = re.compile(r"(?<![0-9A-Za-z])(?:0[xX])?[0-9a-fA-F]{64}(?![0-9A-Za-z])")
_WIF = re.compile(rf"(?<![0-9A-Za-z])[5KL][{_B58}]{{50,51}}(?![0-9A-Za-z])")
_EXTENDED_KEY = re.compile(rf"(?<![0-9A-Za-z])[xyztuv]prv[{_B58}]{{20,200}}(?![0-9A-Za-z])")
_BASE58_SECRET = re.compile(rf"(?<![0-9A-Za-z])[{_B58}]{{86,88}}(?![0-9A-Za-z])")
_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?)-----")
_KEY_WINDOW_BEFORE = 60
_KEY_WINDOW_AFTER = 40
_SHORT_MESSAGE = 200
_KEY_CONTEXT = re.compile(
    r"\b(?:private\s*key|priv\s*key|privkey|secret\s*key|keystore|export\w*)\b|私钥|私鑰|密钥|秘钥|导出|導出",
    re.IGNORECASE,
)
_TX_CONTEXT = re.compile(
    r"\b(?:tx|txid|txn|txhash|hash|transaction|deposit\w*|withdraw\w*|sent|signature)\b"
    r"|etherscan|bscscan|tronscan|solscan|blockchair|mempool\.space|/tx/"
    r"|交易哈希|哈希|交易id|交易号|交易號|充值|提现|提現|提币|提幣|到账|到賬",
    re.IGNORECASE,
)
# A hash that is part of an explorer link is a transaction whatever else the message says.
_TX_URL_TAIL = re.compile(r"(?:/tx/|/txs/|/transaction/|/transactions/|[?&#]tx(?:id|hash)?=)$", re.IGNORECASE)

# --- passwords, 2FA codes, API secrets ---------------------------------------------------------

_IS = r"(?:is|was)(?:\s+now)?\b(?:\s*[:=])?"
_PASSWORD_EN = re.compile(
    rf"(?<![A-Za-z])(?:password|passwd|passcode|passphrase|pass|pwd|pw|pin)[\"']?\s*(?:{_IS}|:|=>?)[ \t]*",
    re.IGNORECASE,
)
_PASSWORD_ZH = re.compile(r"(?:密码|密碼|口令)[\"']?(?:[ \t]*(?:是|为|為)[ \t]*[:=]?|[ \t]*[:=]|[ \t])[ \t]*")
_API_LABEL = (
    r"(?<![A-Za-z])(?:api[ _-]?(?:secret(?:[ _-]?key)?|key)|apisecret|secret[ _-]?key|client[ _-]?secret"
    r"|access[ _-]?key(?:[ _-]?id)?|secret)(?![A-Za-z])|(?:api[ _-]?)?(?:密钥|秘钥|密鑰)"
)
_API = re.compile(rf"(?:{_API_LABEL})[\"']?\s*(?:{_IS}|:|=>?|是|为|為)[ \t]*", re.IGNORECASE)
_API_VALUE = re.compile(r"[A-Za-z0-9+/=_.~-]{8,256}")
_QUOTES = {'"': '"', "'": "'", "`": "`", "“": "”", "‘": "’", "「": "」", "『": "』"}
_VALUE = re.compile(rf"[^\s{_HAN_CHARS}]{{1,128}}")
_TRAILING_PUNCT = ",.;:?)]}>\"'`。、，；：？！”’」』"
_MIN_PASSWORD = 4
# Words that follow "password is" in ordinary questions ("my password is not working").
_NOT_A_VALUE = frozenset(
    [
        "not",
        "wrong",
        "incorrect",
        "correct",
        "too",
        "invalid",
        "expired",
        "forgotten",
        "forgot",
        "lost",
        "missing",
        "the",
        "same",
        "this",
        "that",
        "what",
        "which",
        "why",
        "how",
        "who",
        "where",
        "when",
        "working",
        "work",
        "works",
        "changed",
        "reset",
        "required",
        "needed",
        "locked",
        "blocked",
        "compromised",
        "leaked",
        "hacked",
        "stolen",
        "weak",
        "strong",
        "long",
        "short",
        "saved",
        "stored",
        "set",
        "ok",
        "okay",
        "fine",
        "right",
        "different",
        "old",
        "new",
        "also",
        "still",
        "already",
        "just",
        "always",
        "never",
        "only",
        "definitely",
        "probably",
        "really",
        "very",
        "being",
        "been",
        "none",
        "empty",
        "blank",
        "my",
        "your",
        "his",
        "her",
        "our",
        "their",
        "its",
        "it",
        "a",
        "an",
        "and",
        "or",
        "but",
        "in",
        "on",
        "for",
        "from",
        "with",
        "of",
        "to",
        "at",
        "by",
        "case-sensitive",
        "sensitive",
        "accepted",
        "rejected",
        "rejecting",
        "denied",
        "failing",
        "failed",
        "broken",
        "disabled",
        "enabled",
        "unknown",
        "hidden",
        "visible",
        "same?",
        "same.",
        "what?",
        "correct.",
        "wrong.",
        "asterisks",
        "stars",
        "dots",
        "characters",
        "chars",
        "digits",
        "letters",
    ]
)

_OTP_NUMBER = re.compile(r"(?<![0-9A-Za-z.,/#$\\-])(?:\d{6,8}|\d{3} \d{3})(?![0-9A-Za-z])(?![.,/:-]\d)")
_OTP_STRONG_EN = (
    r"2fa|2-fa|mfa|otp|totp|g2fa|two[- ]factor(?:\s+auth\w*)?|google\s+auth\w*|authenticator(?:\s+app)?"
    r"|one[- ]time\s+pass(?:word|code)"
)
_OTP_STRONG_ZH = (
    r"验证码|验證碼|驗證碼|动态码|動態碼|动态口令|動態口令|谷歌验证|谷歌驗證|身份验证器|二次验证|两步验证|双重验证"
)
_OTP_WEAK_EN = (
    r"sms|text|email|e-mail|verification|verify|security|auth|authentication|login|one[- ]time|ga|2-step|two[- ]step"
)
_OTP_WEAK_ZH = r"短信|邮箱|郵箱|手机|安全"
_CODE_WORD = r"(?:codes?\b|pin\b|token\b|码|碼)"
_CONNECTOR = r"(?:\b(?:is|was)\b(?:\s*[:=])?|[:=]|是|为|為)"
# A phrase naming a one-time code: "2fa", "google authenticator code", "sms code", "谷歌验证码".
_OTP_KEY = (
    rf"\b(?:{_OTP_STRONG_EN})\b(?:\s*{_CODE_WORD})?|\b(?:{_OTP_WEAK_EN})\s*{_CODE_WORD}"
    rf"|(?:{_OTP_STRONG_ZH})(?:\s*{_CODE_WORD})?|(?:{_OTP_WEAK_ZH})\s*{_CODE_WORD}"
)
# "my 2fa code is" / "谷歌验证码：" directly before the number.
_OTP_DIRECT = re.compile(rf"(?:{_OTP_KEY})\s*{_CONNECTOR}?\s*$", re.IGNORECASE)
_OTP_ANY = re.compile(_OTP_KEY, re.IGNORECASE)
# "... the code is" with a 2FA word earlier in the message.
_CODE_IS = re.compile(rf"(?:\bcodes?\b|码|碼)\s*{_CONNECTOR}?\s*$", re.IGNORECASE)
_CODE_BLOCKER = re.compile(
    r"(?:\b(?:error|err|referral|refer|invite|invitation|promo|promotion|coupon|voucher|discount|gift|zip|postal"
    r"|country|area|tracking|reference|ref|bonus|status|response|http|exit|reason|product|swift|bank)"
    r"|错误|邀请|推荐|优惠|兑换|邮编|国家|区号|返回)\s*$",
    re.IGNORECASE,
)
# "..., and the number is 123456" in the same clause as a 2FA word, unless it names something else.
_CLAUSE_CONNECTOR = re.compile(rf"{_CONNECTOR}\s*$", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[.,;!?。，；！？\n]")
_OTP_BLOCKER = re.compile(
    r"\b(?:uid|id|user\s*id|order|ticket|error|case|ref|reference|invoice|tx|txid|deposit\w*|withdraw\w*"
    r"|amount|balance|phone|mobile|tel|referral|invite|promo|zip|account\s*(?:number|no|id))\b"
    r"|订单|工单|错误|编号|金额|余额|充值|提现|手机号|电话|邀请|推荐|用户",
    re.IGNORECASE,
)
_UNIT_AFTER = re.compile(
    r"\s*(?:usdt|usdc|usd|busd|dai|btc|eth|bnb|trx|sol|xrp|doge|ada|cny|rmb|eur|coins?|tokens?|dollars?"
    r"|元|块|個|个|刀|u(?![a-z]))",
    re.IGNORECASE,
)
_OTP_WINDOW = 120


# --- normalisation -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Folded:
    """The NFKC form every detector reads, and where each of its characters came from."""

    text: str
    origin: tuple[int, ...] | None  # None: same as the original, character for character

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the folded span [start, end)."""
        if self.origin is None:
            return start, end
        return self.origin[start], self.origin[end - 1] + 1


def _fold(text: str) -> _Folded:
    """NFKC character by character, so full-width letters and punctuation match and spans map back."""
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return _Folded(text, None)
    parts: list[str] = []
    origin: list[int] = []
    cache: dict[str, str] = {}
    for index, char in enumerate(text):
        folded = cache.get(char)
        if folded is None:
            folded = unicodedata.normalize("NFKC", char) or char
            cache[char] = folded
        parts.append(folded)
        origin.extend([index] * len(folded))
    return _Folded("".join(parts), tuple(origin))


# --- small helpers -----------------------------------------------------------------------------


def _checksum_ok(indices: Sequence[int]) -> bool:
    """BIP-39 checksum of word indices; same answer as `Mnemonic.check` without its list scans."""
    count = len(indices)
    if count not in _VALID_LENGTHS:
        return False
    bits = 0
    for index in indices:
        bits = (bits << 11) | index
    checksum_bits = count // 3
    entropy = (bits >> checksum_bits).to_bytes(count * 4 // 3, "big")
    digest_head = hashlib.sha256(entropy).digest()[0] >> (8 - checksum_bits)
    return digest_head == bits & ((1 << checksum_bits) - 1)


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


def _is_text_value(token: str) -> bool:
    """False for words that follow "password is" in ordinary questions."""
    return token.lower() not in _NOT_A_VALUE


def _value_span(s: str, pos: int) -> tuple[int, int] | None:
    """The value starting at pos: a quoted string, or one token without spaces and trailing punctuation."""
    if pos >= len(s):
        return None
    closing = _QUOTES.get(s[pos])
    if closing is not None:
        end = s.find(closing, pos + 1, pos + 130)
        if end > pos + 1 and "\n" not in s[pos + 1 : end]:
            return pos + 1, end
    match = _VALUE.match(s, pos)
    if match is None:
        return None
    token = match.group().rstrip(_TRAILING_PUNCT)
    return (pos, pos + len(token)) if token else None


def _looks_secret(value: str) -> bool:
    """An API secret value: long, or at least mixing letters and digits."""
    if not _is_text_value(value):
        return False
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    return len(value) >= 16 or (has_digit and has_alpha)


def _context(s: str, start: int, end: int) -> str:
    """The text a key's context is read from: the whole message if short, else a window around it."""
    if len(s) <= _SHORT_MESSAGE:
        return s[:start] + " " + s[end:]
    return s[max(0, start - _KEY_WINDOW_BEFORE) : start] + " " + s[end : end + _KEY_WINDOW_AFTER]


def _is_transaction(s: str, start: int, end: int) -> bool:
    """True when a hash-shaped string is a transaction (or block) id rather than a key."""
    if _TX_URL_TAIL.search(s, max(0, start - 16), start) is not None:
        return True
    around = _context(s, start, end)
    return _TX_CONTEXT.search(around) is not None and _KEY_CONTEXT.search(around) is None


def _gap_kind(gap: str) -> tuple[int, int]:
    """How a gap links two words (a space, a list separator, or not at all), and its list number if any."""
    if gap == " ":
        return _GAP_SPACE, 0
    match = _GAP.fullmatch(gap) if len(gap) <= _MAX_GAP else None
    if match is None:
        return _GAP_BREAK, 0
    number = int(match.group("n1") or match.group("n2") or 0)
    if number or any(c in gap for c in "\n,;|/、·•*-"):
        return _GAP_LIST, number
    return _GAP_SPACE, 0


def _numbered_items(tokens: Sequence[_Token]) -> Sequence[_Token]:
    """In a numbered list, only the numbered items: drops words before "1." and after the last item."""
    numbered = [i for i, token in enumerate(tokens) if token.number]
    if not numbered or 2 * len(numbered) < len(tokens) - 1:
        return tokens
    first, last = numbered[0], numbered[-1]
    # The number of the first item is often before the run (at the start of the message).
    if tokens[first].number == 2 and first > 0:
        first -= 1
    return tokens[first : last + 1]


@dataclass(frozen=True, slots=True)
class _Token:
    """A word of a candidate seed run: a Latin word or a single Chinese character."""

    start: int
    end: int
    word: str  # lower-cased
    good: bool  # in the run's wordlist
    gap: int  # how it is linked to the previous token of its run
    number: int  # the list number in that gap, 0 if none


@dataclass(frozen=True, slots=True)
class _Wordlists:
    """BIP-39 word -> index, for English and both Chinese scripts."""

    english: Mapping[str, int]
    chinese: tuple[Mapping[str, int], ...]

    def is_chinese_word(self, char: str) -> bool:
        """True for a character of either Chinese list."""
        return any(char in table for table in self.chinese)

    def chinese_checksum_ok(self, chars: str) -> bool:
        """True when the characters are a valid phrase in one of the Chinese lists."""
        return any(all(c in table for c in chars) and _checksum_ok([table[c] for c in chars]) for table in self.chinese)


def _load_wordlists() -> _Wordlists:
    """Read the wordlists shipped with the `mnemonic` package."""

    def table(lang: str) -> Mapping[str, int]:
        return MappingProxyType({word: i for i, word in enumerate(Mnemonic(lang).wordlist)})

    return _Wordlists(table("english"), (table("chinese_simplified"), table("chinese_traditional")))


# --- the scanner -------------------------------------------------------------------------------

_Span = tuple[int, int]


class SecretScanner:
    """Finds secrets in a message and redacts them; one instance is shared and safe across threads."""

    def __init__(self) -> None:
        self._words = _load_wordlists()

    def scan(self, text: str) -> ScanResult:
        """Redact every secret in text; never raises."""
        if not text:
            return ScanResult(text, ())
        folded = _fold(text)
        s = folded.text
        found: list[tuple[SecretKind, _Span]] = []
        found += [(SecretKind.SEED_PHRASE, span) for span in self._seed_spans(s)]
        found += [(SecretKind.PRIVATE_KEY, span) for span in _private_key_spans(s)]
        found += [(SecretKind.PASSWORD, span) for span in _password_spans(s)]
        found += [(SecretKind.OTP, span) for span in _otp_spans(s)]
        found += [(SecretKind.API_SECRET, span) for span in _api_spans(s)]
        original = [SecretFinding(kind, *folded.span(*span)) for kind, span in found if span[0] < span[1]]
        findings = _merge(_outside_placeholders(text, original))
        return ScanResult(_redact(text, findings), findings)

    # seed phrases

    def _seed_spans(self, s: str) -> list[_Span]:
        """Runs of wordlist words (English) and characters (Chinese) that make a seed phrase."""
        spans = self._chinese_context_spans(s)
        run: list[_Token] = []
        good_count = 0
        run_is_han = False
        for match in _WORD.finditer(s):
            start, end = match.span()
            word = match.group()
            is_han = word[0] >= "\u3400"
            if is_han and len(word) in _VALID_LENGTHS and self._is_line_phrase(s, start, end):
                spans.append((start, end))
            gap, number = _gap_kind(s[run[-1].end : start]) if run and is_han == run_is_han else (_GAP_BREAK, 0)
            if gap == _GAP_BREAK:
                if good_count >= _MIN_WORDS_WITH_TYPOS:
                    spans += self._run_spans(s, run, run_is_han)
                run, good_count, run_is_han = [], 0, is_han
            if is_han:
                good = len(word) == 1 and self._words.is_chinese_word(word)
            else:
                word = word.lower()
                good = word in self._words.english
            run.append(_Token(start, end, word, good, gap, number))
            good_count += good
        if good_count >= _MIN_WORDS_WITH_TYPOS:
            spans += self._run_spans(s, run, run_is_han)
        return spans

    def _is_line_phrase(self, s: str, start: int, end: int) -> bool:
        """A line (or the message) that is nothing but a valid Chinese phrase."""
        line_start = s.rfind("\n", 0, start) + 1
        line_end = s.find("\n", end)
        line_end = len(s) if line_end < 0 else line_end
        alone = s[line_start:start].strip() == "" and s[end:line_end].strip() == ""
        return alone and self._words.chinese_checksum_ok(s[start:end])

    def _chinese_context_spans(self, s: str) -> list[_Span]:
        """Chinese characters right after 助记词/私钥/seed... that make exactly one valid phrase."""
        spans: list[_Span] = []
        for context in _SEED_CONTEXT.finditer(s):
            after = _ZH_CONNECTOR.match(s, context.end())
            starts = {context.end(), after.end() if after else context.end()}
            for start in starts:
                chars = _HAN_RUN.match(s, start)
                if (
                    chars is not None
                    and len(chars.group()) in _VALID_LENGTHS
                    and self._words.chinese_checksum_ok(chars.group())
                ):
                    spans.append(chars.span())
        return spans

    def _run_spans(self, s: str, run: Sequence[_Token], is_han: bool) -> list[_Span]:
        """Seed phrases in one run of linked tokens: stretches of wordlist words with at most two typos."""
        spans: list[_Span] = []
        bad = [i for i, token in enumerate(run) if not token.good]
        bounds = [-1, *bad, len(run)]
        for first in range(len(bounds) - 1):
            for typos in range(min(_MAX_TYPOS, len(bounds) - 2 - first) + 1):
                lo, hi = bounds[first] + 1, bounds[first + typos + 1] - 1
                if lo > hi or not (run[lo].good and run[hi].good):
                    continue
                tokens = run[lo : hi + 1]
                if typos == 0 and not is_han and len(tokens) >= _MIN_SEED_WORDS:
                    # A valid checksum marks exactly where the phrase starts and ends.
                    windows = self._valid_windows(tokens)
                    if windows:
                        spans += windows
                        continue
                span = self._shaped_span(s, tokens, is_han)
                if span is not None:
                    spans.append(span)
        return spans

    def _shaped_span(self, s: str, tokens: Sequence[_Token], is_han: bool) -> _Span | None:
        """The span of tokens when their shape or context says they are a phrase even without a checksum."""
        tokens = _numbered_items(tokens)
        context = False
        while not is_han and len(tokens) > 1 and tokens[0].word in _LEADING_CONTEXT_WORDS:
            tokens, context = tokens[1:], True
        if not (tokens and tokens[0].good and tokens[-1].good):
            return None
        typos = sum(not token.good for token in tokens)
        if len(tokens) - typos < (_MIN_SEED_WORDS if typos == 0 else _MIN_WORDS_WITH_TYPOS):
            return None
        start = tokens[0].start
        context = context or _SEED_CONTEXT.search(s, max(0, start - _CONTEXT_BEFORE), start) is not None
        gaps = [token.gap for token in tokens[1:]]
        listed = 2 * sum(gap == _GAP_LIST for gap in gaps) >= len(gaps)
        if (is_han and typos == 0) or listed or context:
            return start, tokens[-1].end
        return None

    def _valid_windows(self, stretch: Sequence[_Token]) -> list[_Span]:
        """Every 12..24-word window of the stretch whose checksum is valid (all of a very long stretch)."""
        if len(stretch) > _MAX_CHECKED_RUN:
            return [(stretch[0].start, stretch[-1].end)]
        indices = [self._words.english[token.word] for token in stretch]
        spans: list[_Span] = []
        for first in range(len(stretch) - _MIN_SEED_WORDS + 1):
            for length in sorted(_VALID_LENGTHS):
                last = first + length
                if last <= len(stretch) and _checksum_ok(indices[first:last]):
                    spans.append((stretch[first].start, stretch[last - 1].end))
        return spans


# --- other detectors ---------------------------------------------------------------------------


def _private_key_spans(s: str) -> list[_Span]:
    """Hex keys (unless a transaction), WIF, extended keys, Solana secrets and PEM blocks."""
    spans = [m.span() for m in _HEX64.finditer(s) if not _is_transaction(s, *m.span())]
    spans += [m.span() for m in _WIF.finditer(s) if _is_wif(m.group())]
    spans += [m.span() for m in _EXTENDED_KEY.finditer(s)]
    spans += [
        m.span()
        for m in _BASE58_SECRET.finditer(s)
        if len(_b58decode(m.group())) == 64 and not _is_transaction(s, *m.span())
    ]
    return spans + _pem_spans(s)


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
        span = _value_span(s, match.end())
        if span is None:
            continue
        value = s[span[0] : span[1]]
        quoted = span[0] == match.end() + 1
        if quoted or (len(value) >= _MIN_PASSWORD and _is_text_value(value)):
            spans.append(span)
    return spans


def _api_spans(s: str) -> list[_Span]:
    """Values given as an API key or secret: "api secret: X", "apiSecret=X", "API密钥是X"."""
    spans: list[_Span] = []
    for match in _API.finditer(s):
        pos = match.end()
        if pos < len(s) and s[pos] in _QUOTES:
            pos += 1
        value = _API_VALUE.match(s, pos)
        if value is None:
            continue
        token = value.group().rstrip(".")
        if _looks_secret(token):
            spans.append((pos, pos + len(token)))
    return spans


def _otp_spans(s: str) -> list[_Span]:
    """6-8 digit codes given as a 2FA/OTP/SMS/verification code."""
    spans: list[_Span] = []
    for match in _OTP_NUMBER.finditer(s):
        start, end = match.span()
        if _UNIT_AFTER.match(s, end) is None and _is_otp_context(s[max(0, start - _OTP_WINDOW) : start]):
            spans.append((start, end))
    return spans


def _is_otp_context(before: str) -> bool:
    """True when the text before a number says the number is a one-time code."""
    if _OTP_DIRECT.search(before) is not None:
        return True
    code_is = _CODE_IS.search(before)
    if code_is is not None:
        head = before[: code_is.start()]
        return _CODE_BLOCKER.search(head) is None and _OTP_ANY.search(head) is not None
    clause = before[max((m.end() for m in _CLAUSE_END.finditer(before)), default=0) :]
    return (
        _CLAUSE_CONNECTOR.search(clause) is not None
        and _OTP_ANY.search(clause) is not None
        and _OTP_BLOCKER.search(clause) is None
    )


# --- merging and redaction ---------------------------------------------------------------------


def _outside_placeholders(text: str, findings: Iterable[SecretFinding]) -> list[SecretFinding]:
    """Drop findings that lie inside an existing placeholder (text that was redacted before)."""
    placeholders = [m.span() for m in _PLACEHOLDER.finditer(text)] if "[REDACTED" in text else []
    return [f for f in findings if not any(a <= f.start and f.end <= b for a, b in placeholders)]


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
