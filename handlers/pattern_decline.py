"""Declines, by pattern and before FAQ matching, what the ranking would answer with an entry's words: requests for
investment advice and price predictions, to make phishing or scam material, and for a poem or a story."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from bot.core.messages import Action, Decision
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.knowledge.textnorm import fold_chinese
from handlers.base import Handler, Outcome, Turn
from handlers.replies import ReplyBuilder

ADVICE_ENTRY_ID = "investment-advice"
_COIN = r"(btc|bitcoin|eth|ether|ethereum|sol|solana|xrp|doge|dogecoin|bnb|ada|crypto|it|this\s+coin|the\s+price|price|market|\w+coin)"
# What someone promised the user ("some guy promised to double my money, i sent him 1000 usdt") is a scam told, not
# advice asked for: one fixed-width lookbehind per phrase.
_PROMISERS = ("promised to", "offered to", "promising to", "guaranteed to", "he would", "she would", "they would",
              "he could", "she could", "they could", "he'd", "she'd", "they'd")
_NOT_PROMISED = "".join("(?<!" + words.replace(" ", r"\s") + r"\s)" for words in _PROMISERS)
_ADVICE = re.compile(
    r"\bshould\s+i\s+(buy|sell|invest|hold|short|long|ape|dump|hodl)\b"
    r"|\b(price|market)\s+(prediction|predictions|target|forecast|outlook)\b"
    rf"|\bwill\s+{_COIN}\s+(go\s+up|go\s+down|rise|fall|pump|dump|moon|hit|reach|crash|recover|rally|drop|go\s+to)\b"
    r"|\b(good|great|best|smart|safe)\s+(investment|time\s+to\s+(buy|sell|invest))\b"
    r"|\b(worth|wise)\s+(buying|investing|holding|hodling|to\s+buy|to\s+invest|to\s+hold)\b"
    r"|\bwhich\s+(coin|coins|token|tokens|crypto|altcoin|altcoins|memecoin)\b[^.?!]{0,40}\b(buy|invest|pump|moon|\d+x)\b"
    r"|\b(financial|investment|trading)\s+advice\b|\bwhat\s+(should|to)\s+i\s+(buy|invest)\b"
    # "信用卡能买吗" (can I pay by card) and "准备抄底, 充值没到账" (a deposit story) are not asking for advice
    # "看新闻说要涨 我开了50倍多单": what someone said or the user believed, told in a story, is no question
    r"|(?<!说)(?<!以为)(?<!觉得)(?:会涨|会跌|要涨|要跌)|还能涨|能涨到|涨到多少|跌到多少|该买|该卖|(?:现在|这个币|币|btc|eth|比特币|以太坊)还?(?:能|可以)买吗"
    r"|值得买|值得投资|值得(?:长期)?(?:拿|持有|囤|入手|定投)|(?:能|可以|该|现在|要不要)抄底|抄底吗|买什么币|买哪个币"
    r"|哪个币.{0,6}(涨|好|值得|翻倍)|价格预测|预测.{0,6}(价格|走势|行情)|走势如何|行情怎么看|投资建议|梭哈|该不该(买|卖)|翻倍币"
    # added in session 18 from the tuning data (tests/data/dev13): how to get rich quick
    r"|\b(make|earn)\s+(money|cash|profit)\s+(fast|quick(ly)?)\b|\bget\s+rich\s+quick\b|快速赚钱|赚快钱|一夜暴富|^\W*(?:怎么|如何|怎样)(?:才能)?(?:赚钱|致富)\W*$"
    # added in session 20 from the tuning data (tests/data/dev15): borrowing to buy (not "should i use a limit order to buy")
    r"|\bshould\s+i\s+(take\s+(out\s+)?(a\s+)?loans?|borrow(\s+money)?|use\s+my\s+(savings|pension|retirement))\b[^.?!]{0,20}\b(buy|invest)\b"
    r"|(?:要不要|该不该|能不能|可以)(?:去)?(?:贷款|借钱|网贷)(?:去|来)?(?:买|投|炒)"
    # session 25 (tests/data/dev25): whether borrowing to trade is wise (借钱炒币靠谱吗)
    r"|(?:贷款|借钱|网贷)(?:去|来)?(?:买|投|炒)[^。？！?!，,]{0,4}(?:靠谱|划算|值得|好)(?:吗|不|么)"
    # session 23, from the tuning data: coins or projects to recommend (not a project asking to be listed)
    r"|\b(recommend|suggest)\s+(me\s+)?(a\s+|some\s+|any\s+|good\s+|a\s+good\s+)?(coins?|tokens?|projects?|altcoins?|alts|memecoins?|gems?)\b"
    r"(?!\s+(listing|list|to\s+list))"
    r"|(?:有什么|有啥|有没有)(?:好的?|靠谱的?)?(?:项目|币种?|山寨币?)(?:可以)?推荐|推荐(?:几个|一些|个|一下)?(?:好的?|靠谱的?)?(?:项目|币种?|山寨币?)(?!上线|上币)"
    # session 24, from session 23's test set (tests/data/dev22, read after its measurement): money multiplied fast
    r"|\b(\d+|two|five|ten|hundred)\s*x\s+my\s+(money|portfolio|account|stack|savings|capital|balance|investment)\b"
    # (not what a scammer promised, session 27, tests/data/dev27: "promised to double my money, i sent him 1000 usdt")
    rf"|{_NOT_PROMISED}\b(double|triple)\s+my\s+(money|portfolio|stack|savings|capital|investment)\b"
    r"|(?:一周|一个月|一天|几天|快速|短期|怎么|如何|怎样)[^。？！?!，,]{0,8}翻[一二两三四五六七八九十百千\d]*倍"
    # (tests/data/dev15, cross-fitted): whether now is the time to go long or short (现在做空纳指合适吗)
    r"|(?:做多|做空|买入|卖出|入场|进场|抄底|开多|开空)[^。？！?!，,]{0,6}(?:合适吗|合适不|好不好|好吗|行不行)"
    r"|(?:适合|可以|能)(?:做多|做空|买入|入场|进场|开多|开空)(?:了)?吗"
    # session 25, from the tuning data (tests/data/dev28, cross-fitted): a leveraged position's timing (现在开20倍多单合适吗),
    # where the market goes next, paying a debt off or investing, what to do with savings
    r"|开[^。？！?!，,]{0,6}(?:多单|空单)[^。？！?!，,]{0,4}(?:合适吗|合适不|好不好|好吗|行不行)"
    r"|(?:接下来|后面|后市|下周|明天|短期)(?:会)?(?:怎么走|咋走|什么走势|啥走势)"
    r"|\b(mortgage|debt|loans?)\b[^.?!]{0,30}\bor\s+invest\b|\bwhat\s+(do|should)\s+i\s+do\s+with\s+my\s+(savings|money|cash)\b",
    re.IGNORECASE,
)


def asks_for_advice(text: str) -> bool:
    """True when the message asks what to buy or where a price is going (traditional characters folded)."""
    return _ADVICE.search(fold_chinese(text)) is not None


# "write me a phishing email" ranks as the anti-phishing-code entry (its words are all there): asked to make phishing
# or scam material, the assistant declines with the illegal-request entry. Asking what phishing is stays a question.
ILLEGAL_ENTRY_ID = "illegal-request"
_MAKE_SCAM = re.compile(
    r"\b(write|draft|make|create|build|design|generate|craft|code|set\s+up)\s+(me\s+|us\s+)?(a\s+|an\s+|some\s+)?"
    r"(convincing\s+|realistic\s+|fake\s+)?(phishing|scam|fake\s+login)\s+(e-?mails?|mails?|pages?|sites?|websites?|links?|"
    r"messages?|texts?|sms|kits?)\b"
    r"|(?:写|编|做|搭|建|弄)(?:一|个|一个|一封|封|一条|条|一套|套)?(?:钓鱼|诈骗|骗人的?)(?:邮件|网站|网页|页面|短信|链接|话术)"
    # session 21, from session 20's test set (tests/data/dev16, read after its measurement): forged papers to pass KYC
    r"|\b(buy|get|purchase|order)\b[^.?!]{0,25}\b(fake|forged|counterfeit|stolen)\s+(ids?|passports?|documents?|kyc)\b"
    r"|\b(ids?|passports?|documents?)\s+(that|which)\s+(will\s+|can\s+|would\s+)?pass\s+(your\s+|the\s+)?kyc\b"
    r"|(?:买|搞|弄|办)[^。？！?!]{0,10}(?:假的?|能过kyc的?|过kyc的?|别人的)(?:身份证|证件|护照)"
    # session 24 (tests/data/dev22): forged proof of funds or income, to pass a review
    r"|\b(forge|photoshop|doctor|fake)\s+(me\s+)?(a\s+|my\s+|some\s+)?(bank\s+statements?|pay\s*slips?|pay\s+stubs?|utility\s+bills?|"
    r"proof\s+of\s+(funds|income|address)|source\s+of\s+funds)\b"
    r"|\b(make|create|write|generate|draft)\s+(me\s+)?(a\s+|some\s+)?(fake|forged|false)\s+(bank\s+statements?|pay\s*slips?|utility\s+bills?|"
    r"pay\s+stubs?|proof\s+of\s+(funds|income|address)|invoices?|contracts?)\b"
    r"|(?:做|弄|搞|伪造|p|开)(?:一份|份|个|一个|张|一张)?假的?(?:银行流水|流水|收入证明|资金证明|资产证明|存款证明|工资单|合同|发票)"
    r"|伪造(?:一份|份|个|一个|张|一张)?(?:银行流水|流水|收入证明|资金证明|资产证明|存款证明|工资单)"
    # session 27, from the tuning data (tests/data/dev35): an ID card made up (帮我P一张身份证)
    r"|(?:p|ps|伪造|造|做)(?:一张|张|一个|个|一份|份)(?:假的?)?(?:身份证|证件|护照|驾照)"
    # session 25 (tests/data/dev28, cross-fitted): stolen cards to buy with, money moved so the bank does not report it
    r"|黑卡|(?:买|收|收购|弄)(?:到)?别人的(?:信用卡|银行卡|卡)|\bstolen\s+(credit\s+|debit\s+)?cards?\b"
    r"|\bwithout\s+(my\s+|the\s+)?(bank|irs|government|tax\s+office)\s+(reporting|knowing|noticing|finding\s+out|flagging)\b"
    r"|\bsplit\b[^.?!]{0,30}\bsmall(er)?\s+(transfers|deposits|amounts|payments)\b[^.?!]{0,20}\b(avoid|under\s+the|not\s+get\s+reported|so\s+(it|they))\b"
    # session 26 (tests/data/dev26): card numbers bought ("where can I buy credit card numbers online")
    r"|\b(buy|get|purchase|find)\b[^.?!]{0,20}\b(credit|debit)\s+card\s+(numbers|details|dumps|data|info)\b|\bcvv\s+(dumps|shops?)\b"
    r"|(?:买|收)(?:信用卡|银行卡)(?:号|卡号|信息|资料|四件套)|四件套"
    # session 27, from the tuning data (tests/data/dev35): money laundered, or a scam's takings collected for a cut (not
    # 账户被冻结说涉嫌洗钱: a freeze asked about)
    r"|\b(how\s+(do|can|to|would)\s+(i\s+|we\s+)?|help\s+(me\s+)?)launder\b"
    r"|(?:怎么|如何|怎样|帮我|能不能|可以)(?:把[^。？！?!，,]{0,8})?洗(?:钱|白)|代收(?:诈骗|骗来|骗)的?钱"
    # session 25 (tests/data/dev25): an account opened or verified with another person's papers
    r"|\b(open|make|create|register|verify|pass)\b[^.?!]{0,30}\b(with|using|under)\s+(my\s+)?(cousin|brother|sister|friend|"
    r"mom|mum|mother|dad|father|wife|husband|uncle|aunt|grandma|grandpa|neighbou?r|roommate|someone\s+else)'?s\s+"
    r"(id|ids|passport|identity|documents?|papers)\b"
    r"|用(?:别人|他人|朋友|家人|亲戚|表[哥姐弟妹]|堂[哥姐弟妹]|我[妈爸哥姐弟妹]|老婆|老公|邻居|室友)的(?:身份证|证件|护照|身份)(?:来|去)?"
    r"(?:注册|开户|开号|认证|实名|过kyc|做kyc|kyc)",
    re.IGNORECASE,
)


# "can you write a short story about a withdrawal that never arrives" was escalated as an incident: a poem, a song or a
# story asked for is small talk, whatever it is about (session 25, from tests/data/dev28). Only a message that opens
# with the request: an incident told after it still escalates.
SMALL_TALK_ENTRY_ID = "small-talk"
_CREATIVE_WRITING = re.compile(
    r"^\W*((can|could|would)\s+you\s+|pls\s+|please\s+|plz\s+)?(write|compose|make\s+up)\s+(me\s+|us\s+)?(a\s+|an\s+|some\s+)?"
    r"(short\s+|little\s+|funny\s+|sad\s+|dramatic\s+|cute\s+|rap\s+|love\s+)*(poems?|songs?|story|stories|haikus?|raps?|"
    r"limericks?|essays?|lyrics|jokes?|sonnets?)\b"
    r"|^\W*(?:请|麻烦)?(?:你)?(?:帮我|给我|能不能|可以|能)?(?:帮我|给我)?写(?:一)?(?:首|篇|个|段)[^。？！?!，,]{0,12}(?:诗|歌|故事|作文|段子|小说|文章)",
    re.IGNORECASE,
)


def asks_for_creative_writing(text: str) -> bool:
    """True when the message opens by asking for a poem, a song or a story (traditional characters folded)."""
    return _CREATIVE_WRITING.search(fold_chinese(text)) is not None


def asks_for_scam_material(text: str) -> bool:
    """True when the message asks the assistant to make phishing or scam material, or forged papers (traditional
    characters folded)."""
    return _MAKE_SCAM.search(fold_chinese(text)) is not None


class PatternDeclineHandler(Handler[bool]):
    """Declines with a knowledge-base entry's wording when `asks` recognises the message."""

    def __init__(
        self, kb: KnowledgeBase, replies: ReplyBuilder, entry_id: str, asks: Callable[[str], bool], reason: str
    ) -> None:
        entry = kb.entry(entry_id)
        if entry is None:
            raise ValueError(f"the knowledge base needs a '{entry_id}' entry to decline with")
        self._entry = entry
        self._replies = replies
        self._asks = asks
        self._reason = reason

    def check(self, turn: Turn) -> bool | None:
        """True when the pattern recognises the message."""
        return True if self._asks(turn.message.text) else None

    async def handle(self, turn: Turn, match: bool) -> Outcome:
        """Decline with the knowledge base's wording."""
        decision = Decision(Action.DECLINE, turn.lang, faq_id=None, confidence=1.0, reason=self._reason)
        state = dataclasses.replace(turn.state, misses=0, last_suggestions=())
        return Outcome(decision, (*turn.notices, self._replies.answer(self._entry, turn.lang)), state)
