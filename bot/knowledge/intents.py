"""Escalation intents (a person, a security incident, money back) as phrasings, ranked like FAQ entries.

They live in `faq_data/intents/*.yaml`, outside the knowledge base's own files: they have no answer, and the
router escalates when one ranks first with enough confidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from bot.core.messages import Lang
from bot.knowledge.knowledge_base import LANGS, default_faq_dir
from bot.knowledge.textnorm import normalize

IntentKind = Literal["human", "security", "refund"]
INTENT_KINDS: tuple[IntentKind, ...] = ("human", "security", "refund")
INTENT_PREFIX = "intent:"


@dataclass(frozen=True, slots=True)
class Intent:
    """An escalation intent: its ranking id (`intent:<kind>`) and how users say it, per language."""

    kind: IntentKind
    questions: dict[Lang, tuple[str, ...]]

    @property
    def id(self) -> str:
        """The id it is ranked under, never an FAQ entry's id."""
        return INTENT_PREFIX + self.kind


def intent_kind(entry_id: str) -> IntentKind | None:
    """The intent an id ranks, or None for an FAQ entry."""
    if not entry_id.startswith(INTENT_PREFIX):
        return None
    kind = entry_id[len(INTENT_PREFIX) :]
    return next((k for k in INTENT_KINDS if k == kind), None)


def load_intents(faq_dir: Path | None = None) -> tuple[Intent, ...]:
    """Every `intents/*.yaml` under the knowledge base's directory (none when it has no such folder)."""
    folder = (faq_dir or default_faq_dir()) / "intents"
    intents: list[Intent] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in doc.get("intents", []):
            kind = intent_kind(INTENT_PREFIX + str(item["kind"]))
            if kind is None:
                raise ValueError(f"{path}: unknown intent kind {item['kind']!r} (expected one of {INTENT_KINDS})")
            questions = {lang: tuple(str(q) for q in item.get("questions", {}).get(lang, [])) for lang in LANGS}
            intents.append(Intent(kind, questions))
    return tuple(intents)


# Words that put a message on this exchange ("withdraw my usdt", "your support", 提币, 你们): a question that names
# another company's product and one of these is ours ("p2p merchant wants to talk on whatsapp"). Latin words may touch
# Chinese (买BTC), where \b sees no boundary.
_COIN_WORDS = r"btc|bitcoin|eth|ether|usdt|usdc|crypto|coins?|tokens?"
_OUR_CONTEXT = re.compile(
    rf"(?<![a-z0-9])({_COIN_WORDS}|p2p|futures|derivatives|partnership|spot|staking|withdraw\w*|deposit\w*|uid|"
    r"kyc|airdrop|exchange|(your|ur)\s+(app|team|support|site|website|exchange|platform|staff|admins?|company)|"
    r"(you|u)\s+guys|selfie|liveness|verification\s+page|face\s+scan|(outside|off)\s+(of\s+)?(the\s+)?platform|"
    # (session 26, tests/data/dev30: "pushed my api secret to a public github repo"; a code host's own keys are tokens)
    r"api\s+secrets?)(?![a-z0-9])"
    r"|币|提现|充值|合约|现货|你们|贵平台|交易所|风控|实名认证",
    re.IGNORECASE,
)


# A provider tied to this exchange: money moved from or to it ("from binance", "to my new metamask", 从币安, 提到我小狐狸,
# 币安转过来, "my ledger address"), or "here"; 币安链 is a network, not the company.
_LINK_BEFORE = re.compile(
    r"(\b(from|to|into|via|through|using|with|on|off|onto|in|at|and|add)\s+(\w+\s+){0,2}|(从|到|往|转入|转去|提去|充去|转给)(?:我|自己)?的?)$",
    re.IGNORECASE,
)
_LINK_AFTER = re.compile(r"^\s*(address|addr|chain|地址|链|转过来|提过来|充过来|转来|提来|过来|转到|提到|充到|转给|提币到|到这|到你们)")
# (the user's deposit address is one here: "sent from metamask to my deposit address", 打到我的充值地址)
_HERE = re.compile(r"\bhere\b|这里|这边|\bmy\s+deposit\s+address\b|我的充值地址")
# A P2P trade: payment apps and banks are how its buyers and sellers pay each other ("paid the seller by alipay, no
# coins released", 支付宝付款后卖家不放币), so a provider named beside one is ours.
# (p2p, otc and c2c may touch Chinese, as in c2c交易, so only Latin letters bound them)
_P2P_TRADE = re.compile(r"(?<![a-z])(p2p|otc|c2c)(?![a-z])|\b(seller|buyer|merchant|released?)\b|卖家|买家|商家|放币|场外", re.IGNORECASE)
_OWN_P2P_MARKET = re.compile(r"^\s*的?\s*(p2p|otc|c2c|场外)", re.IGNORECASE)
# Someone on a provider's app claiming to speak for us ("discord mod says he is examplex staff, legit?", 微信群里的客服是真的吗),
# or a scam run there (微信群里投资被骗): the official-channels and scam answers are ours to give.
_CLAIMS_TO_BE_US = re.compile(
    r"\b(official|admin|admins|mod|mods|moderator|staff|legit|impersonat\w*|pretend\w*|fake|real\s+support)\b"
    r"|\bscam\w*|官方|客服|管理员|冒充|假的|真的吗|是真的|骗",
    re.IGNORECASE,
)
# The provider's own account or service is the subject: the message starts with it ("kraken withdrawal fee is
# insane", "my wells fargo app", 币安app闪退), or a word of its service follows it ("lost my metamask seed phrase").
_PROVIDER_SUBJECT = re.compile(r"^\W*((my|the|i\s+think|so|why\s+(is|does|did))\s+)?$", re.IGNORECASE)
_PROVIDER_FEATURE = re.compile(
    r"^\s*(\w+\s+)?(app|account|acc|support|customer|kyc|verification|withdrawals?|deposits?|fees?|password|pin|2fa|"
    r"code|extension|seed|refunds?|transfers?|card|login|balance|limits?|froze|frozen|locked|banned|charged|took|"
    r"limited|closed|suspended|rejected|declined|blocked|hacked|online|banking|wallet\s+(app|extension|password|seed))\b"
    r"|^\s*(?:怎么|如何|咋)?(?:换绑|解绑|改绑)|^\s*(app|账号|账户|帐号|客服|提现|提币|充值|手续费|闪退|冻结|实名|kyc|钱包|助记词|密码|验证码|登录|登不|被盗|封|退款|转账|卡|p2p|合约)",
    re.IGNORECASE,
)
# The mailbox's own account: its password, lock, recovery, storage ("gmail locked", "yahoo mail password reset",
# "recovery phone number on my gmail", 163邮箱密码忘了).
_MAILBOX_BEFORE = re.compile(r"\b(reset|recover|unlock|change|restore)\s+(\w+\s+){0,4}(on|of|for|in)\s+my\s+$", re.IGNORECASE)
# A security setting of the provider's or the mailbox's own ("2fa on discord", "two factor for my outlook").
_SETTING_OF = re.compile(
    r"\b(2fa|two[-\s]?factor|two[-\s]?step|2-?step|authenticator|password|passcode|pin)\s+(\w+\s+)?(on|for|in|of)\s+(my\s+|the\s+)?$",
    re.IGNORECASE,
)
# Something set up at a provider ("a sub-account on bybit for copy trading", "stake eth on lido"): theirs, like its own
# settings (session 24, from the tuning data: tests/data/dev8, dev22).
_SET_UP_AT = re.compile(
    r"\b(set\s+up|open|create|make|enable|register|stake|staking)\b[^.?!]{0,30}\b(on|at)\s+(my\s+)?$", re.IGNORECASE
)
# A feature asked about at a provider, with no money moved ("place a limit order on etoro", "the maker fee on kraken";
# session 25, from tests/data/dev25): theirs, as what is set up there.
_FEATURE_AT = re.compile(
    r"\b(fees?|orders?|leverage|margin|stop[-\s]?loss(es)?|interest|apy|apr|rates?|spreads?|trades?|trading|buy|buying|sell|selling)\b"
    r"[^.?!]{0,20}"
    r"\b(on|at|in)\s+(my\s+)?$",
    re.IGNORECASE,
)
# The provider named last as where it all happened ("… can the transfer be reversed? It went through Zelle", "… My
# broker is Robinhood", 是支付宝的账户; session 25, from tests/data/dev28): theirs. The text is normalised, so the
# provider must end the message; in Chinese its account must be named (not 收款方式是微信, a P2P payment).
_PLACE_NAMED = re.compile(
    r"\b(it\s?s|this\s+is|that\s?s|it\s+was|this\s+was|it\s+went\s+(through|via)|(it|this)\s+(is|was)\s+(for|on|with|at)(\s+my)?|"
    r"(my|the)\s+(broker|bank|wallet|app|exchange|platform|provider)\s+(is|was))\s+$",
    re.IGNORECASE,
)
_MESSAGE_END = re.compile(r"^\s*(app|account|acc|wallet)?\s*$", re.IGNORECASE)
_PLACE_NAMED_ZH = re.compile(r"(?:这是|都是|是)(?:我的|我在)?$")
# (session 27, tests/data/dev35: "… my limit order didnt fill … on Fidelity", 哦我说的是余额宝; a provider our users move
# money to may be named last too: "withdrew usdt to my account on kraken" is ours)
_MEANT_ZH = re.compile(r"(?:说的是|指的是|问的是)$")
_ON_LAST = re.compile(r"\bon\s+$", re.IGNORECASE)
# (its kind of account may be named too: 是富途牛牛的港股账户; session 26, tests/data/dev28)
_ITS_ACCOUNT_ZH = re.compile(r"^\s*的\s*(?:港股|美股|股票|证券|基金|理财)?(?:账户|账号|帐号|号|app|钱包)\s*$", re.IGNORECASE)
# (English only, as `_FEATURE_AT`'s words are)
_MONEY_MOVED = re.compile(
    r"\b(send|sent|sending|withdr\w*|deposit\w*|transfer\w*|mov(e|ed|ing)|arriv\w*|received?|credited|land(s|ed)?)\b", re.IGNORECASE
)
# Money moved between two outsiders ("from paypal to my bank", "from revolut to wise"), with no coin of ours named.
# (从支付宝提到银行卡 too: session 27, tests/data/dev35)
_FROM = re.compile(r"\bfrom\s+(my\s+|the\s+)?$|从(?:我的)?$", re.IGNORECASE)
_ONWARD = re.compile(
    r"^\s*(\w+\s+)?(to|into)\s+(my\s+|a\s+|the\s+)?|^\s*(?:提|转|充|打)?(?:到|去|进|入)了?(?:我的|自己的)?", re.IGNORECASE
)
_BANK_OR_CARD = re.compile(r"(bank|card)\b|银行|卡", re.IGNORECASE)
_COIN = re.compile(rf"(?<![a-z0-9])({_COIN_WORDS})(?![a-z0-9])|币", re.IGNORECASE)
_MAILBOX_AFTER = re.compile(
    r"^\s*(account\s+)?(\w+\s+)?(password|passcode|locked|lock|disabled|suspended|recovery|storage|full|banned|"
    r"two-?\s*step|2-?\s*step)\b"
    r"|^\s*(账号|帐号|账户)?的?(密码|被锁|锁了|封了|满了|找回|停用|两步验证|二步验证|二次验证)",
    re.IGNORECASE,
)
# Spoken to us ("your app", "you guys", 你们): a bare "you" is how users ask the bot for anything, so it is not enough.
_SPEAKS_TO_US = re.compile(
    r"\b(your|ur|yours|(you|u)\s+(guys|people|all)|y'?all|this\s+(app|exchange|platform|site))\b|\bi\s+(deposited|withdrew)\b"
    r"|你们|贵平台|本平台|咱们",
    re.IGNORECASE,
)

# A product's own top-up or payout, named right after it (原神充值没到账, "steam deposit failed"): that product's money.
_OWN_MONEY_WORD = re.compile(r"\s*的?\s*(充值|储值|提现|deposits?|withdrawals?|top[-\s]?ups?)(?![a-z])", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class OtherProducts:
    """Other companies' products, from `intents/other_products.yaml`: `names` are never about us unless the message
    also names something of ours; `providers` (other exchanges, wallets, banks, payment apps, email) are where our
    users move money and mail, so a message about one is ours only when it ties the provider to us; `email_services`
    are ours unless the message is about the mailbox's own account (its password, lock, recovery); `ours` is this
    exchange's own name (the config's brand), which makes any message ours ("my ledger is fine but my examplex
    account is empty")."""

    names: re.Pattern[str]
    providers: re.Pattern[str] | None = None
    email_services: re.Pattern[str] | None = None
    ours: re.Pattern[str] | None = None

    def mentions_us(self, text: str) -> bool:
        """True when the (normalised) text names something of this exchange (a coin, a withdrawal, "your app", its
        name)."""
        # (the names are cut out only when our words are there at all: the cut is a scan of every name)
        ours = _OUR_CONTEXT.search(text) is not None and _OUR_CONTEXT.search(self._without_names(text)) is not None
        return ours or self._speaks_to_us(text)

    def _without_names(self, text: str) -> str:
        """The text with the products' names cut out: a name's own coin word (派币, pi币) names nothing of ours, nor
        does the top-up or payout word right after it (原神充值, "steam deposit")."""
        kept, start = [], 0
        for mention in self.names.finditer(text):
            own = _OWN_MONEY_WORD.match(text, mention.end())
            kept.append(text[start : mention.start()])
            start = own.end() if own else mention.end()
        return " ".join([*kept, text[start:]])

    def _speaks_to_us(self, text: str) -> bool:
        return _SPEAKS_TO_US.search(text) is not None or (self.ours is not None and self.ours.search(text) is not None)

    def asked_about(self, text: str) -> bool:
        """True when the (normalised) text is about another company's product, not this exchange."""
        if self._speaks_to_us(text):
            return False
        if self.email_services is not None and _OUR_CONTEXT.search(text) is None:
            for mention in self.email_services.finditer(text):
                before, after = text[: mention.start()], text[mention.end() :]
                if _MAILBOX_AFTER.match(after) or _MAILBOX_BEFORE.search(before) or _SETTING_OF.search(before):
                    return True
        if self.names.search(text) is not None and _OUR_CONTEXT.search(self._without_names(text)) is None:
            return True
        if self.providers is None or _HERE.search(text) is not None or _CLAIMS_TO_BE_US.search(text) is not None:
            return False
        return any(self._about_provider(text, m) for m in self.providers.finditer(text))

    def _about_provider(self, text: str, mention: re.Match[str]) -> bool:
        before, after = text[: mention.start()], text[mention.end() :]
        if _SETTING_OF.search(before) or _SET_UP_AT.search(before) or (_FROM.search(before) and self._to_outsider(after) and not _COIN.search(text)):
            return True
        if _FEATURE_AT.search(before) and not _LINK_AFTER.match(after) and not _MONEY_MOVED.search(text):
            return True
        at_end = _MESSAGE_END.match(after) is not None
        named_last = (
            (_PLACE_NAMED.search(before) and at_end)
            or (_PLACE_NAMED_ZH.search(before) and _ITS_ACCOUNT_ZH.match(after))
            or (_MEANT_ZH.search(before) and at_end)
            or (_ON_LAST.search(before) and at_end and not _MONEY_MOVED.search(text))
        )
        if named_last and not _P2P_TRADE.search(text):
            return True
        if _LINK_BEFORE.search(before) or _LINK_AFTER.search(after):
            return False
        if _OWN_P2P_MARKET.match(after):  # "binance p2p", 火币的P2P: that exchange's own market
            return True
        if _P2P_TRADE.search(text):
            return False
        return _PROVIDER_SUBJECT.match(before) is not None or _PROVIDER_FEATURE.match(after) is not None

    def _to_outsider(self, after: str) -> bool:
        """The money goes on to a bank, a card or another provider ("… to my bank", "… to wise")."""
        onward = _ONWARD.match(after)
        if onward is None:
            return False
        if _BANK_OR_CARD.match(after, onward.end()):
            return True
        return self.providers is not None and self.providers.match(after, onward.end()) is not None


def _alternation(names: list[str]) -> re.Pattern[str] | None:
    """One pattern of the names, normalised as messages are ("disney+" is "disney"), longest first. ASCII names
    must not touch another Latin letter or digit ("insta" is not "instant") but may touch Chinese (paypal提现);
    Chinese names are matched as they are."""
    ordered = sorted({normalize(n) for n in names} - {""}, key=len, reverse=True)
    if not ordered:
        return None
    return re.compile(
        "|".join(rf"(?<![a-z0-9]){re.escape(n)}(?![a-z0-9])" if n.isascii() else re.escape(n) for n in ordered),
        re.IGNORECASE,
    )


def load_other_products(faq_dir: Path | None = None, our_names: Sequence[str] = ()) -> OtherProducts | None:
    """The lists in `intents/other_products.yaml`, to match against normalised text (the caller's), or None when
    there is no product list; `our_names` are this exchange's own (its brand)."""
    path = (faq_dir or default_faq_dir()) / "intents" / "other_products.yaml"
    if not path.exists():
        return None
    doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    names = _alternation([str(n) for n in doc.get("other_products", [])])
    if names is None:
        return None
    providers = _alternation([str(n) for n in doc.get("providers", [])])
    email_services = _alternation([str(n) for n in doc.get("email_services", [])])
    return OtherProducts(names, providers, email_services, _alternation(list(our_names)))
