"""The understanding layer: the semantic ranker and its cache, the fusion, escalation intents, multi-part messages.

`core` here is the shipped config with the e5 encoder (OMNIDESK_ENCODER=e5), built once per session (its
embeddings cached on disk); the rest of the suite runs the shipped default, lexical only."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.app.config import Config, load_config
from bot.app.wiring import Core, build_core, build_ranker
from bot.core.conversation import ConversationState, InMemoryConversationStates
from bot.core.handler import Turn
from bot.core.messages import Action, InboundMessage, Priority
from bot.core.router import RouterResult
from bot.knowledge.examples import load_examples
from bot.knowledge.intents import INTENT_KINDS, intent_kind, load_intents, load_other_products
from bot.knowledge.knowledge_base import KnowledgeBaseError
from bot.knowledge.multipart import split_questions, strip_greeting
from bot.knowledge.ranker import Ranked, Ranking
from bot.knowledge.semantic import EmbeddingCache, Matrix, clip_question
from bot.knowledge.textnorm import normalize
from bot.knowledge.texts import ReplyTexts
from handlers.escalation import (
    REFUND_REQUEST,
    SECURITY_INCIDENT,
    EscalationMatch,
    decide_escalation,
    detect_escalation,
)
from handlers.faq_answer import FaqAnswerHandler
from handlers.replies import ReplyBuilder
from handlers.understanding import understand

_ids = itertools.count()
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def core() -> Core:
    """The router with the e5 encoder."""
    return build_core(load_config(ROOT / "config.yaml", env={"OMNIDESK_ENCODER": "e5"}))


async def route(core: Core, text: str) -> RouterResult:
    router = core.router.with_states(InMemoryConversationStates())
    number = str(next(_ids))
    return await router.route(InboundMessage("test", "u", number, number, text))


class CountingEncoder:
    """A deterministic stand-in for a sentence model (a hash of characters), counting how often it is called."""

    def __init__(self, name: str = "counting-1") -> None:
        self.name = name
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> Matrix:
        self.calls += 1
        out = np.zeros((len(texts), 16), dtype=np.float32)
        for row, text in enumerate(texts):
            for ch in text:
                out[row, ord(ch) % 16] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        result: Matrix = out / norms
        return result


def test_embeddings_are_cached_on_disk_and_rebuilt_when_a_phrasing_changes(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    encoder = CountingEncoder()
    first = cache.embed(encoder, ["how do i deposit", "reset 2fa"])
    again = cache.embed(encoder, ["how do i deposit", "reset 2fa"])
    assert encoder.calls == 1 and np.array_equal(first, again)
    cache.embed(encoder, ["how do i deposit", "reset my 2fa"])
    assert encoder.calls == 2
    cache.embed(CountingEncoder("another-model"), ["how do i deposit", "reset 2fa"])
    assert len(list(tmp_path.glob("*.npy"))) == 3


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    encoder = CountingEncoder()
    texts = ["withdrawal pending"]
    cache.path(encoder.name, texts).parent.mkdir(parents=True, exist_ok=True)
    cache.path(encoder.name, texts).write_bytes(b"not a numpy file")
    assert cache.embed(encoder, texts).shape == (1, 16) and encoder.calls == 1


def test_the_shipped_config_ranks_semantically_and_the_encoder_finds_a_paraphrase(core: Core) -> None:
    assert core.ranker.semantic is not None
    semantic = core.ranker.semantic
    for text, entry_id in (
        ("the coins i sent from another exchange still are not in my balance", "deposit-not-credited"),
        ("i cannot remember my login password", "reset-password"),
        ("想看一下我的交易记录在哪里", "transaction-history"),
    ):
        found = semantic.scores(semantic.embed(text))
        assert found.entry_ids[int(np.argmax(found.scores))] == entry_id


def test_fused_and_lexical_rankings_share_candidates_and_confidences_are_probabilities(core: Core) -> None:
    fused = core.ranker.rank("i changed phones and lost the google authenticator codes", "en", use_semantic=True)
    lexical = core.ranker.rank("i changed phones and lost the google authenticator codes", "en", use_semantic=False)
    assert fused.semantic_used and not lexical.semantic_used
    assert fused.top is not None and fused.top.entry_id == "reset-2fa"
    assert all(0.0 <= c.confidence <= 1.0 for c in fused.candidates)
    assert fused.top.confidence == max(c.confidence for c in fused.candidates)


def test_every_intent_kind_has_phrasings_in_both_languages() -> None:
    intents = load_intents()
    assert {i.kind for i in intents} == set(INTENT_KINDS)
    assert all(len(i.questions["en"]) >= 15 and len(i.questions["zh"]) >= 10 for i in intents)
    assert intent_kind("intent:refund") == "refund" and intent_kind("reset-2fa") is None


@pytest.mark.parametrize(
    ("text", "reason", "priority"),
    [
        ("hacked help", "security_incident", Priority.URGENT),
        (
            "someone made an api key on my account that i never created and is trading with it",
            "security_incident",
            Priority.URGENT,
        ),
        ("my sim got swapped last night and this morning my balance is empty", "security_incident", Priority.URGENT),
        ("帳號被盜了 快幫我凍結", "security_incident", Priority.URGENT),
        ("get me a human", "human_request", Priority.NORMAL),
        ("你们的系统宕机害我亏了钱，要求赔偿", "refund_request", Priority.HIGH),
        # money back said in so many words wins over a sure FAQ entry
        ("refund my withdrawal fee please", "refund_request", Priority.HIGH),
        ("你们的K线数据错了 导致我止损被打 这个损失要你们承担", "refund_request", Priority.HIGH),
        ("my gmail got hacked and then they withdrew all my usdt", "security_incident", Priority.URGENT),
        # the denial last, a passive "used by someone", a security setting changed that the user did not touch
        ("all my futures positions closed and the balance sent out. not me, i was at work", "security_incident", Priority.URGENT),
        ("my account is being used by someone else right now", "security_incident", Priority.URGENT),
        ("my whitelist got turned off and i never touched the settings", "security_incident", Priority.URGENT),
        ("我绑定的手机被换成了别人的号", "security_incident", Priority.URGENT),
        # a charge to cancel, a fee wanted returned beside the fee's own FAQ topic, a loss to make good
        ("cancel the charge", "refund_request", Priority.HIGH),
        ("i was charged the taker fee on a maker order. want it returned", "refund_request", Priority.HIGH),
        ("给个说法 把钱补上", "refund_request", Priority.HIGH),
        ("opreator", "human_request", Priority.NORMAL),
        # another company's product as the lure, not what was robbed
        ("clicked a link in a tiktok comment, entered my login on the fake app, balance now zero", "security_incident", Priority.URGENT),
        ("抖音上的客服让我把验证码告诉他，然后钱没了", "security_incident", Priority.URGENT),
        # a phone's own lock code handed to a repair shop, then the coins taken (session 27)
        ("手机拿去修，把开机密码告诉了师傅，第二天账户里的USDT被转走了", "security_incident", Priority.URGENT),
        # a bare login alert from abroad stays an incident; "i didn't touch a coin" is no "my coins are still there"
        ("got a login alert from a country i have never been to, its not me", "security_incident", Priority.URGENT),
        ("余额突然清零了 我一个币都没动过", "security_incident", Priority.URGENT),
    ],
)
async def test_escalations_by_pattern_or_intent(core: Core, text: str, reason: str, priority: Priority) -> None:
    decision = (await route(core, text)).decision
    assert (decision.action, decision.reason, decision.priority) == (Action.ESCALATE, reason, priority)


@pytest.mark.parametrize(
    "text",
    [
        "all my money is gone after liquidation",
        "合约爆仓了，钱全没了",
        "how do i protect my account from hackers",
        # a precaution, or what happened to someone else
        "my friend got hacked last week, which settings should i turn on",
        "just in case someone steals my phone, how do i lock my account",
        "同事的号被盗了 我想提前了解下怎么设置安全一点",
        "怕被盗 想把提币地址锁定成我自己的钱包",
        "if my account ever gets hacked what do i do first? freeze it?",
        # the loss explained by the user's own leveraged position, a story with what the news said
        "had a 50x short on btc overnight and woke up to a zero balance",
        "看新闻说要涨 就开了20倍多单 结果早上起来只剩几U了 怎么回事",
        # "changed" and a denial that are not an intruder's work
        "how do i change my email, i haven't changed it before",
        "not me though, i never got the email code",
    ],
)
async def test_a_loss_the_user_caused_or_a_how_to_is_not_an_incident(core: Core, text: str) -> None:
    decision = (await route(core, text)).decision
    assert decision.priority is not Priority.URGENT


@pytest.mark.parametrize(
    "text", ["i got scammed, sent 2000 usdt to a fake support agent", "我被骗了，转了5000U给一个假客服", "杀猪盘 钱没了"]
)
async def test_a_scam_the_user_paid_is_answered_not_an_account_incident(core: Core, text: str) -> None:
    # Nobody is in the account: the scam-victim entry (police report, then a person with the TxIDs) answers, or is
    # offered first.
    decision = (await route(core, text)).decision
    assert decision.action in (Action.ANSWER, Action.CLARIFY) and decision.faq_id == "scam-victim"


@pytest.mark.parametrize(
    "text",
    [
        "paypal refund not received after 10 days",
        "my instagram got hacked",
        "淘宝退款商家一直不处理",
        "how do i pay back what i borrowed",
    ],
)
async def test_another_companys_refund_or_incident_and_paying_back_a_loan_are_not_escalated(core: Core, text: str) -> None:
    decision = (await route(core, text)).decision
    assert decision.action is not Action.ESCALATE


@pytest.mark.parametrize(
    "text",
    ["我的USDT全没了", "balance vanished", "my funds gone", "a withdrawal of 2.1 eth to an address i dont recognize!!"],
)
async def test_a_bare_cry_or_an_unknown_address_stays_an_incident(core: Core, text: str) -> None:
    # a few words name no cause, and an address the user does not know is someone else's doing: however sure the
    # ranking is of a self-caused entry (liquidation, a wrong address), it is an incident
    decision = (await route(core, text)).decision
    assert (decision.action, decision.reason) == (Action.ESCALATE, "security_incident")


@pytest.mark.parametrize(
    ("text", "entry", "expected"),
    [
        ("balance vanished", "liquidation", SECURITY_INCIDENT),
        ("币全没了", "liquidation", SECURITY_INCIDENT),
        ("withdrawal of 0.8 btc to an address i dont recognize", "withdrawal-wrong-address", SECURITY_INCIDENT),
        # the cause named, nobody else: the entry answers
        ("got liquidated, balance vanished", "liquidation", None),
        ("my usdt is gone, i picked the wrong network", "deposit-wrong-network", None),
        # a position closed by the exchange's mechanism: "i didn't do it" is about the position, unless someone is named
        ("what is adl, my position got reduced and i didnt do it", "futures-basics", None),
        ("仓位被自动减仓平掉了，这是被黑了吗", "futures-basics", None),
        ("someone logged in and my positions got liquidated", "liquidation", SECURITY_INCIDENT),
        ("hackers got in, all my positions liquidated, i didnt do it", "liquidation", SECURITY_INCIDENT),
        # a position the user never opened, then liquidated: the intruder's position
        ("there was a 50x long i never opened and it already got liquidated", "liquidation", SECURITY_INCIDENT),
        ("合约里多了一个100倍多单不是我开的，已经爆仓了", "liquidation", SECURITY_INCIDENT),
    ],
)
def test_a_sure_self_caused_entry_overrules_an_incident_only_when_the_message_names_a_cause(
    text: str, entry: str, expected: EscalationMatch | None
) -> None:
    """The ranking is made sure of the self-caused entry here, so the rule itself is what decides (the shipped model
    may not rank these texts so)."""
    ranking = Ranking((Ranked(entry, 0.9, 0.0, 0.0, ""),), True)
    assert decide_escalation(text, ranking, escalate_at=0.5, self_caused_at=0.6) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i sent it to the tron network accidentally, can you undo it?", None),
        ("手滑选错了链，能帮我撤回来吗", None),
        # refund said in so many words, our fault, or someone else acting: still a demand
        ("i picked the wrong network, refund the fee at least", REFUND_REQUEST),
        ("i sent it by accident because your app lagged, reverse it", REFUND_REQUEST),
        ("i sent it on the wrong chain and you charged me 30 usdt to recover it, can you reverse it?", REFUND_REQUEST),
    ],
)
def test_money_back_for_the_users_own_mistake_is_the_faqs(text: str, expected: EscalationMatch | None) -> None:
    """The ranking is unsure of a wrong-network entry: the message decides (session 26, tests/data/dev26). Under
    another entry the demand stands ("paid for the premium plan by mistake, can i have the money back")."""
    ranking = Ranking((Ranked("deposit-wrong-network", 0.6, 0.0, 0.0, ""),), True)
    assert decide_escalation(text, ranking, escalate_at=0.5) == expected
    elsewhere = Ranking((Ranked("vip-fee-tiers", 0.6, 0.0, 0.0, ""),), True)
    assert decide_escalation(text, elsewhere, escalate_at=0.5) == detect_escalation(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("一天被扣了60U的资金费用，是bug吗", None),
        ("withdrew 50 and 49 arrived, where did the other dollar go", None),
        ("机器人一天成交几十次，手续费扣了一大笔，这个费是怎么算的", None),
        # a demand the patterns see stays one; a refund the ranking alone sees, with no question, too
        ("why was i charged twice? refund me", REFUND_REQUEST),
        ("the fee was way too high, i expect that back", REFUND_REQUEST),
    ],
)
def test_a_refund_only_the_ranking_sees_is_no_demand_when_the_message_asks_why(
    text: str, expected: EscalationMatch | None
) -> None:
    ranking = Ranking((Ranked("intent:refund", 0.9, 0.0, 0.0, ""),), True)
    assert decide_escalation(text, ranking, escalate_at=0.5) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("why are there internal transfers to a UID I don't know from my account? i didn't send anything", SECURITY_INCIDENT),
        ("别人从我账户转走了一笔 我不知道怎么回事", SECURITY_INCIDENT),
        # nobody else named: the leaning alone is not enough
        ("why are there internal transfers on my account history", None),
    ],
)
def test_another_person_acting_makes_an_incident_the_ranking_leans_to_enough(
    text: str, expected: EscalationMatch | None
) -> None:
    """The ranking leans to the security intent (below `escalate_at`); the message decides."""
    ranking = Ranking((Ranked("intent:security", 0.4, 0.0, 0.0, ""), Ranked("internal-transfer", 0.35, 0.0, 0.0, "")), True)
    assert decide_escalation(text, ranking, escalate_at=0.5, suspected_at=0.3) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my withdrawal has been stuck for 5 hours, i need the funds urgently", None),
        ("提现一直在审核中 急用钱", None),
        # a position that closed by itself, with no one named
        ("why did my position close by itself?? i didnt touch it", None),
        # a login the user says took nothing yet, with the intruder still inside
        ("login from an ip abroad, balance looks ok for now but they're in", SECURITY_INCIDENT),
        ("login from an ip abroad, my balance is still all there", None),
        # the first step asked for after a setting was changed
        ("一小时前绑定邮箱被改了，第一步该干啥", SECURITY_INCIDENT),
        # late, and something else that only an intruder explains
        ("my withdrawal is pending and my email was changed, not by me", SECURITY_INCIDENT),
        ("withdrawal still pending but half my balance is missing", SECURITY_INCIDENT),
        # a SIM swapped (换卡了 is no stuck transfer) with the intruder inside; the first step asked while the user
        # was asleep when things were done; a theft only thought of
        ("被补卡了，他们现在就在我账户里", SECURITY_INCIDENT),
        ("提币卡了一晚上了", None),
        ("半夜收到新设备登录和两笔提币的邮件，我当时在睡觉，第一步该干嘛", SECURITY_INCIDENT),
        ("我以为手机丢了就把账号冻结了，现在怎么解冻", None),
        # only asked whether the account is all right; with a login, a loss or someone named it stays an incident
        ("app has been frozen on a blank screen all morning, is my account still safe?", None),
        ("网页一直打不开，我的账号应该没事吧", None),
        ("there was a login from vietnam, is my account safe?", SECURITY_INCIDENT),
        ("有人改了我的密码，我的币还好吗", SECURITY_INCIDENT),
        # a setting the user changed themself and what followed; with money gone or someone named, an incident
        ("i switched my phone number last night, now the app says withdrawals are paused for a day", None),
        ("我前天换绑了邮箱 现在提现提示24小时内不能提", None),
        ("changed my email this morning and an hour later my eth was gone", SECURITY_INCIDENT),
        ("i reset my password and somebody still got in", SECURITY_INCIDENT),
        # less arrived than the user sent: a fee; with someone named acting, an incident
        ("moved 100 usdc to my ledger and only 98.5 landed, who took the rest", None),
        ("我提了300U 只到了299 谁拿走了1U", None),
        ("i withdrew 1000 usdt and only 10 arrived, a hacker changed my address", SECURITY_INCIDENT),
        # small amounts taken again and again while a position is held: the funding fee, even asked as a theft; with a
        # withdrawal named, an incident
        ("i have one long open and every 8 hours a couple usdt vanish. is someone skimming my balance?", None),
        ("多单一直拿着 每隔几个小时少一点U 是不是被盗了", None),
        ("i have a short open and every few hours usdt is withdrawn to an address i don't know", SECURITY_INCIDENT),
        # session 24 (the tuning data's kinds, in new words): a phone broken with the authenticator on it; a withdrawal
        # with no TxID yet; a check that nothing happened, a worry about what could; a setting moved to someone's own
        # device, with the balance still there, stays an incident, and so does a login named beside a worry
        ("my phone got smashed and the authenticator was on it, how do i get back in", None),
        ("手机摔坏了 验证器在里面 怎么登录", None),
        ("withdrew sol to my ledger 3h ago and still no txid", None),
        ("can i get a list of all my logins, just to be sure nothing suspicious happened", None),
        ("开了短信验证 会不会被人盗号 要不要再开谷歌验证", None),
        ("somebody moved my authenticator to their own device, balance still fine for now", SECURITY_INCIDENT),
        ("有人登录了我的账号 会不会被盗", SECURITY_INCIDENT),
        # session 26 (tests/data/dev26's kinds, in new words): less than was sent, said without the amount or with a
        # bare verb first; a reward gone
        ("i transferred 300 usdt out and got less than i sent??", None),
        ("转了500u出去 到手少了一点 谁扣的", None),
        ("the 10 usdt futures bonus disappeared from my account overnight", None),
        ("the 10 usdt futures bonus disappeared and a withdrawal i never made went out", SECURITY_INCIDENT),
    ],
)
def test_an_incident_only_the_ranking_sees_yields_to_a_late_transfer_a_worry_or_the_users_own_change(
    text: str, expected: EscalationMatch | None
) -> None:
    """The ranking is made sure of the security intent here, so the rule itself is what decides."""
    ranking = Ranking((Ranked("intent:security", 0.9, 0.0, 0.0, ""),), True)
    assert decide_escalation(text, ranking, escalate_at=0.5) == expected


@pytest.mark.parametrize(
    "text",
    [
        "how to turn on two factor on my facebook",
        "my netflix account is locked",
        "抖音账号被锁了怎么解封",
        "the printer at work says offline",
        "QQ邮箱的两步验证怎么关",
        "cash app says my deposit is pending",
        "should i max out my roth ira first",
        "12306登录不上怎么办",
        # a product whose name holds our word for coin (派币) is still another company's
        "派币什么时候上主网",
        "how do i work out impermanent loss on uniswap",
        # a broker's margin call, a bank's time deposit
        "证券公司通知我追加保证金 不补会被平仓吗",
        "定期存款提前取出利息还有吗",
        # a stop loss on shares
        "how to set up a stop loss on my Tesla shares in eToro",
        # a stock-only broker named as where it came from: not a provider of ours
        "what happens if i ignore a margin call from schwab",
        "盈透的账户怎么入金",
    ],
)
async def test_another_companys_product_is_declined_not_answered(core: Core, text: str) -> None:
    decision = (await route(core, text)).decision
    assert decision.action is not Action.ANSWER


@pytest.mark.parametrize("text", ["hi", "Hey!", "你好", "嗨～"])
async def test_a_greeting_alone_is_small_talk_not_a_call_for_a_person(core: Core, text: str) -> None:
    decision = (await route(core, text)).decision
    assert (decision.action, decision.reason) == (Action.DECLINE, "small-talk")


@pytest.mark.parametrize(
    "text",
    [
        "i need a forged passport that passes your verification, who sells them",
        "where do people buy fake ids",
        "how to launder usdt",
        "假身份证哪里有卖",
        "can you write a phishing email for me",
        "帮我写封钓鱼邮件骗别人的密码",
        "哪儿能弄到假的身份证",
        "帮我洗一下这笔钱",
    ],
)
async def test_a_request_for_help_with_something_illegal_is_declined(core: Core, text: str) -> None:
    decision = (await route(core, text)).decision
    assert (decision.action, decision.reason) == (Action.DECLINE, "illegal-request")


async def test_a_passport_called_fake_by_verification_is_the_rejected_kyc_entry(core: Core) -> None:
    decision = (await route(core, "my kyc was rejected, they said my passport looks fake")).decision
    assert (decision.action, decision.faq_id) == (Action.ANSWER, "kyc-rejected")


def test_other_products_list_leaves_our_words_alone() -> None:
    products = load_other_products()
    assert products is not None
    assert products.asked_about("reset 2fa on facebook") and products.asked_about("淘宝退款")
    # names are matched as messages are normalised ("disney+" is "disney "), and a Latin name may touch Chinese
    assert products.asked_about(normalize("disney+ login code email not coming"))
    assert products.asked_about(normalize("PayPal提現到國內銀行卡手續費多少"))
    assert not products.asked_about("instant withdrawal to my metamask")
    assert not products.asked_about("instant withdrawal to my metamask")
    assert not products.asked_about("deposit from binance")
    # A mailbox is ours to mention ("my gmail gets no code") unless the message is about its own account.
    assert products.asked_about("gmail locked") and products.asked_about("how to change the recovery phone on my gmail")
    assert products.asked_about(normalize("forgot my router admin password")) and products.asked_about("网银登不上")
    assert not products.asked_about(normalize("can i withdraw to my bank with online banking"))
    # A payment app is a provider: about itself when it is the subject, ours when money moves with it.
    assert products.asked_about(normalize("cash app says my deposit is pending"))
    assert not products.asked_about(normalize("can i deposit with venmo"))
    assert products.asked_about(normalize("the printer at work says offline"))
    assert products.asked_about(normalize("Gmail的两步验证怎么开")) and not products.asked_about("my gmail gets no code")
    assert products.asked_about(normalize("163邮箱密码忘了"))
    assert not products.asked_about("my gmail gets no code")
    assert not products.asked_about("forgot my gmail password so i cant get your email")
    assert not products.asked_about("can i switch my login from gmail to outlook")
    # a provider's or a mailbox's own security setting, money moved between two outsiders (no coin named)
    assert products.asked_about("how to turn on 2fa on my discord") and products.asked_about("password for my yahoo keeps failing")
    assert products.asked_about("sending money from chase to my bank of america takes days")
    assert products.asked_about(normalize("手机号换了 微信怎么解绑")) and products.asked_about(normalize("科目一怎么预约"))
    assert not products.asked_about("sent usdt from binance, still not here") and not products.asked_about("can i withdraw to my revolut")
    # travel, gyms, phone bills and games' accounts are theirs; app stores are where our app is found
    assert products.asked_about("my flight got cancelled and they won't pay me back") and products.asked_about(normalize("话费被多扣了"))
    assert not products.asked_about("is the app on the app store")
    assert not products.asked_about(normalize("这张卡网购都能用 买BTC却被拒"))  # a coin touching Chinese is ours
    # a futures broker and an insurer are theirs; a webcam beside our selfie check is ours
    assert products.asked_about(normalize("期货公司追加保证金是什么意思")) and products.asked_about("保险理赔款还没到")
    assert products.mentions_us(normalize("the verification page wants a selfie but my laptop has no webcam"))
    # a frozen bank account, a game, a freelance platform's payout
    assert products.asked_about(normalize("我的銀行帳戶被凍結了")) and products.asked_about("手机游戏一打开就闪退")
    assert products.asked_about("fiverr payout is late") and not products.asked_about("充值的币游戏里能用吗")
    assert not products.asked_about(normalize("我們是遊戲項目 想聯合辦交易賽 找誰談"))  # a partner, not a player
    assert products.asked_about(normalize("my ps4 account was locked after a few wrong passwords"))
    # a game's own top-up, an employer's account: theirs, though 充值 and 2FA are our words too
    assert products.asked_about(normalize("王者荣耀充值扣钱了没到")) and products.asked_about("steam deposit never showed up")
    assert not products.asked_about(normalize("王者荣耀的皮肤能用usdt买吗"))
    assert products.asked_about(normalize("how do i add my work account to the authenticator app, IT asked me to"))
    # paying a trader off the platform, our face scan, money sent on to the user's deposit address here: ours
    assert not products.asked_about(normalize("the buyer keeps pushing me to settle off the platform on whatsapp"))
    assert not products.asked_about(normalize("my laptop webcam is dead, can the face scan be done from my ipad"))
    assert not products.asked_about(normalize("trust wallet转eth选成了polygon，打到我的充值地址了"))
    # Another company named beside this exchange's own things: the question is ours.
    assert not products.asked_about("p2p merchant wants to talk on whatsapp")
    assert not products.asked_about("my card works on amazon but buying btc here is declined")
    assert not products.asked_about("有人在whatsapp冒充你们客服")
    # Exchanges, wallets and banks our users move money with: theirs when the message is about their service ...
    assert products.asked_about("kraken withdrawal fee is insane is that normal")
    assert products.asked_about("lost my metamask seed phrase can i recover it")
    assert products.asked_about("币安app闪退")
    # ... ours when the money moves between them and us, or the message speaks to us.
    assert not products.asked_about("withdrew to my old trust wallet and it never arrived")
    assert not products.asked_about("提bsc的u到我小狐狸 但我看的是以太坊")
    assert not products.asked_about("binance withdrawal to your exchange still not credited")
    assert not products.asked_about("币安链转到以太坊地址了")
    assert not products.asked_about("withdrew from here but kraken says no deposit")
    # ... and in a P2P trade, where payment apps are how buyer and seller pay each other.
    assert not products.asked_about(normalize("支付宝付款后卖家不放币"))
    assert not products.asked_about("paypal payment sent but p2p seller did not release")
    # Someone on a provider's app who claims to speak for us: the official-channels answer is ours.
    assert not products.asked_about(normalize("微信群里的客服是真的吗"))
    assert not products.asked_about("discord mod says he is examplex staff, legit?")
    # something set up at a provider is theirs; coins moved there from here are ours
    assert products.asked_about(normalize("how do i open a copy trading account on okx"))
    assert products.asked_about(normalize("can i stake my eth at lido instead"))
    assert not products.asked_about(normalize("can i move the eth i staked with you over to lido"))
    # a feature asked about at a provider is theirs, unless money moves (session 25)
    assert products.asked_about(normalize("is there a stop loss on robinhood"))
    assert products.asked_about(normalize("how high is the leverage at bybit"))
    assert not products.asked_about(normalize("the fee on my withdrawal to kraken was double"))
    assert not products.asked_about(normalize("what are the fees on binance chain"))
    # ... and so is a provider named last as where it happened
    assert products.asked_about(normalize("Payment bounced twice and they charged a fee. This is Revolut"))
    assert products.asked_about(normalize("忘记密码了怎么找回，是微信的账号"))
    assert not products.asked_about(normalize("paid the p2p seller, it went through revolut"))
    assert not products.asked_about(normalize("my usdt went to binance"))
    assert not products.asked_about(normalize("我用的收款方式是微信"))
    # databases, a disk, single sign-on named: theirs (session 25)
    assert products.asked_about(normalize("postgres says too many clients already"))
    assert products.asked_about(normalize("d盘满了怎么清理"))
    assert not products.asked_about(normalize("my usdt deposit from my ledger nano is missing"))
    # a streaming site, a credit card's bill (session 26)
    assert products.asked_about(normalize("twitch keeps asking for a code i never get"))
    assert products.asked_about(normalize("can i skip the minimum payment this month"))
    # a broker's account of a named kind, named last; a payment app named first (session 26)
    assert products.asked_about(normalize("交易被限制了，要补资料，是老虎证券的美股账户"))
    assert products.asked_about(normalize("街口支付的帳號登不進去"))
    assert not products.asked_about(normalize("是我的合约账户"))
    # an api secret is ours wherever it leaked; a code host's own api is theirs
    assert not products.asked_about(normalize("my api secret ended up in a github gist, how do i kill it"))
    assert products.asked_about(normalize("the github api keeps returning 403 for my script"))
    # forex is not ours; a wallet the user withdraws to is, said with 自己的 (session 27)
    assert products.asked_about(normalize("best forex broker for scalping gbp?"))
    assert not products.asked_about(normalize("转到自己的trust wallet要填受益人吗"))
    assert products.asked_about(normalize("coingecko keeps logging me out of my watchlist"))
    # money moved from a payment app on to a bank is theirs, in Chinese too; to us it is ours (session 27)
    assert products.asked_about(normalize("从微信零钱提到银行卡怎么要手续费"))
    assert not products.asked_about(normalize("从支付宝转到你们这里要多久"))
    # a provider named last after "on", or as what was meant (说的是); money moved on to one is ours (session 27)
    assert products.asked_about(normalize("why did my stop loss trigger so late on robinhood"))
    assert products.asked_about(normalize("利息怎么少了这么多，我说的是零钱通"))
    assert not products.asked_about(normalize("how long until my usdt lands on kraken"))
    # buying at a provider, a mortgage (session 27)
    assert products.asked_about(normalize("why is buying on kraken so expensive right now"))
    assert products.asked_about(normalize("车贷还剩两年，能不能一次还清"))


def test_our_own_name_makes_a_message_about_another_product_ours() -> None:
    """The brand named beside a wallet or an exchange puts the question on us, whatever else it names."""
    products = load_other_products(our_names=("ExampleX",))
    assert products is not None
    text = normalize("my ledger is fine but my ExampleX account is empty")
    assert products.mentions_us(text) and not products.asked_about(text)
    assert products.asked_about("lost my metamask seed phrase can i recover it")  # no brand: still theirs


async def test_a_message_naming_our_brand_is_not_declined_as_another_companys(core: Core) -> None:
    """The router gets the brand from the config (build_core), so the wallet named beside it does not turn us away."""
    decision = (await route(core, "my ledger is fine but my ExampleX account is empty")).decision
    assert decision.action is not Action.DECLINE


def test_a_long_question_is_clipped_to_its_start_and_end_for_the_encoder() -> None:
    story = "so yesterday i sent 500 usdt from my binance account over trc20 and waited " * 3 + "where is my deposit?"
    clipped = clip_question(story)
    assert len(clipped) < len(story) and clipped.startswith("so yesterday") and clipped.endswith("where is my deposit?")
    assert " … " in clipped and "accou …" not in clipped  # whole words
    assert clip_question("where is my deposit?") == "where is my deposit?"
    assert len(clip_question("我" * 300)) < 80


def test_greetings_are_set_aside_and_two_questions_split() -> None:
    assert strip_greeting("hi there! where do i find my uid") == "where do i find my uid"
    assert strip_greeting("在吗？充值没到账") == "充值没到账"
    assert strip_greeting("hello") == "hello"
    assert split_questions("how do i enable 2fa? also what are the withdrawal fees") == (
        "how do i enable 2fa?",
        "what are the withdrawal fees",
    )
    assert split_questions("怎么开启谷歌验证？另外提现手续费是多少") == ("怎么开启谷歌验证？", "提现手续费是多少")
    assert split_questions("where is my deposit?") == ("where is my deposit?",)
    assert split_questions("what is the withdrawal fee for usdt and how long does it take to reach my bank") == (
        "what is the withdrawal fee for usdt",
        "how long does it take to reach my bank",
    )
    assert split_questions("how do i deposit and withdraw") == ("how do i deposit and withdraw",)
    # A space between Chinese clauses ends one; a space beside a Latin word does not.
    assert split_questions("资金费率是啥 杠杆倍数又怎么调") == ("资金费率是啥", "杠杆倍数又怎么调")
    assert split_questions("实名认证被拒了 顺便问下我的UID在哪") == ("实名认证被拒了", "我的UID在哪")
    assert split_questions("充值USDT 没到账") == ("充值USDT 没到账",)
    # asked only: a space between Chinese clauses is context, a question mark or 顺便 marks a second question
    assert split_questions("资金费率是啥 杠杆倍数又怎么调", asked_only=True) == ("资金费率是啥 杠杆倍数又怎么调",)
    assert split_questions("实名认证被拒了 顺便问下我的UID在哪", asked_only=True) == ("实名认证被拒了", "我的UID在哪")
    assert split_questions("how do i enable 2fa? also what are the withdrawal fees", asked_only=True) == (
        "how do i enable 2fa?",
        "what are the withdrawal fees",
    )


@pytest.mark.parametrize(
    ("text", "faq_id"),
    [
        ("How do I reset my Google Authenticator?", "reset-2fa"),
        ("my deposit has not arrived yet", "deposit-not-credited"),
        ("我的充值还没到账", "deposit-not-credited"),
        ("谷歌验证器丢了怎么重置", "reset-2fa"),
        ("what is the funding rate", "funding-rate"),
    ],
)
async def test_clear_questions_are_answered_from_the_right_entry(core: Core, text: str, faq_id: str) -> None:
    decision = (await route(core, text)).decision
    assert (decision.action, decision.faq_id) == (Action.ANSWER, faq_id)
    assert decision.confidence >= core.config.matcher.answer


async def test_a_greeting_and_a_question_answers_the_question(core: Core) -> None:
    decision = (await route(core, "good morning! how do i reset my google authenticator")).decision
    assert (decision.action, decision.faq_id) == (Action.ANSWER, "reset-2fa")


async def test_two_questions_answer_the_first_and_offer_the_second(core: Core) -> None:
    result = await route(core, "How do I reset my Google Authenticator? also what is the funding rate")
    assert (result.decision.action, result.decision.faq_id) == (Action.ANSWER, "reset-2fa")
    payloads = [s.payload for r in result.replies for s in r.suggestions]
    assert "/faq funding-rate" in payloads
    assert result.decision.suggestions == ("reset-2fa", "funding-rate")


@pytest.mark.parametrize(
    ("text", "first", "second"),
    [
        ("where is my uid, also how do i enable google authenticator", "find-uid", "enable-2fa"),
        ("how do i close my account? and where do i find my referral code", "close-account", "referral"),
    ],
)
async def test_the_first_of_two_questions_is_answered_even_when_the_whole_message_is_unsure_or_ranks_the_second(
    core: Core, text: str, first: str, second: str
) -> None:
    whole = core.ranker.rank(text, "en").top
    # the case this test is about: the whole message alone would not answer the first question
    assert whole is not None and (whole.confidence < core.config.matcher.answer or whole.entry_id != first)
    decision = (await route(core, text)).decision
    assert (decision.action, decision.faq_id) == (Action.ANSWER, first)
    assert second in decision.suggestions


async def test_lexical_only_mode_still_answers(config: Config) -> None:
    lexical = config.model_copy(update={"matcher": config.matcher.model_copy(update={"encoder": "none"})})
    core = build_core(lexical)
    assert core.ranker.semantic is None
    decision = (await route(core, "How do I reset my Google Authenticator?")).decision
    assert (decision.action, decision.faq_id) == (Action.ANSWER, "reset-2fa")


def test_the_development_split_is_fixed_stratified_and_reproducible() -> None:
    import json

    from benchmarks.devset import SPLIT_FILE, draw_split, load_half

    committed = json.loads(SPLIT_FILE.read_text(encoding="utf-8"))
    assert committed == draw_split()
    tune, test = load_half("tune"), load_half("test")
    assert not {(q.file, q.line) for q in tune} & {(q.file, q.line) for q in test}
    per_label = Counter((q.file, q.labels) for q in tune)
    per_label.subtract(Counter((q.file, q.labels) for q in test))
    assert all(abs(difference) <= 1 for difference in per_label.values())


def test_the_shipped_embeddings_are_the_knowledge_bases_own(core: Core, tmp_path: Path) -> None:
    """faq_data/embeddings/ holds today's knowledge base's embeddings and classifier, so a fresh machine starts in a
    second instead of embedding it (after changing faq_data/, run `omnidesk faq embed` and commit the folder)."""
    config = core.config.model_copy(
        update={"matcher": core.config.matcher.model_copy(update={"cache_dir": str(tmp_path / "cache")})}
    )
    build_ranker(config, core.kb)
    written = list((tmp_path / "cache").glob("*")) if (tmp_path / "cache").exists() else []
    assert written == [], "faq_data/ changed since `omnidesk faq embed`: run it and commit faq_data/embeddings/"
    shipped = Counter(p.suffix for p in (ROOT / "faq_data" / "embeddings").iterdir())
    # the phrasings' and the examples' embeddings, and the classifier fitted on both
    assert shipped == {".npy": 2, ".npz": 1}, "stale files in faq_data/embeddings/: run `omnidesk faq embed`"


def test_the_classifier_examples_are_the_tuning_data_and_never_a_test_set(tmp_path: Path) -> None:
    """faq_data/examples.jsonl is what `python -m benchmarks.devset examples` writes today, and holds no question
    of any test set: a test question the classifier learnt from would flatter every held-out figure."""
    from benchmarks.devset import load_held_out, load_tuning, write_examples

    fresh = tmp_path / "examples.jsonl"
    write_examples(fresh)
    assert fresh.read_text(encoding="utf-8") == (ROOT / "faq_data" / "examples.jsonl").read_text(encoding="utf-8")
    texts = {e.text for e in load_examples(ROOT / "faq_data")}
    assert texts and texts <= {q.text for q in load_tuning()}
    assert not {normalize(t) for t in texts} & {normalize(q.text) for q in load_held_out()}
    # tests/data's own held-out sets count as test sets too ("human" and 转人工 are in a tuning set as well)
    assert {"human", "转人工"} <= {q.text for q in load_held_out()}


@pytest.mark.parametrize(
    ("small_talk", "support", "action"),
    [(0.5, 0.35, Action.CLARIFY), (0.5, 0.2, Action.DECLINE), (0.8, 0.15, Action.DECLINE)],
)
async def test_an_unsure_decline_offers_the_support_entry_ranked_close_behind_it(
    core: Core, small_talk: float, support: float, action: Action
) -> None:
    """Small talk ranked first below `answer`, a support entry at `clarify` or more behind it: the user is offered the
    entry rather than turned away; a sure decline, or one with nothing close, still declines."""
    replies = ReplyBuilder(core.kb, core.config.brand, ReplyTexts(core.config.brand))
    handler = FaqAnswerHandler(core.kb, core.ranker, core.config.matcher, replies)
    ranking = Ranking(
        (Ranked("small-talk", small_talk, 0.0, 0.0, ""), Ranked("withdrawal-pending", support, 0.0, 0.0, "")), True
    )
    message = InboundMessage("test", "u", "1", "1", "my withdrawal is late and my landlord is waiting")
    turn = Turn(message, "en", "en", ConversationState(), ranking=ranking)
    match = handler.check(turn)
    assert match is not None
    decision = (await handler.handle(turn, match)).decision
    assert decision.action is action
    if action is Action.CLARIFY:
        assert decision.suggestions == ("withdrawal-pending",)


@pytest.mark.parametrize(
    ("security", "share", "action"),
    [
        (0.7, 0.2, Action.CLARIFY),
        (0.4, 0.2, Action.CLARIFY),
        (0.1, 0.2, None),
        # sure of the incident (at `escalate` or more) yet set aside: its entries offered however low their share
        (0.9, 0.01, Action.CLARIFY),
        (0.45, 0.01, None),
    ],
)
async def test_entries_behind_an_incident_not_escalated_share_what_it_leaves(
    core: Core, security: float, share: float, action: Action | None
) -> None:
    """An incident ranked first, sure or not, yet not escalated (here: a how-to), leaves the FAQ entries its share:
    the entry behind it is offered, not lost below `clarify`, unless even its share stays below and the ranking was
    unsure of the incident. One it was sure of is about the account: "not understood" would be no answer."""
    replies = ReplyBuilder(core.kb, core.config.brand, ReplyTexts(core.config.brand))
    handler = FaqAnswerHandler(core.kb, core.ranker, core.config.matcher, replies)
    ranking = Ranking(
        (Ranked("intent:security", security, 0.0, 0.0, ""), Ranked("enable-2fa", share, 0.0, 0.0, "")), True
    )
    message = InboundMessage("test", "u", "1", "1", "how do i keep my account from being hacked")
    turn = Turn(message, "en", "en", ConversationState(), ranking=ranking)
    match = handler.check(turn)
    if action is None:
        assert match is None
        return
    assert match is not None
    decision = (await handler.handle(turn, match)).decision
    assert (decision.action, decision.suggestions[0]) == (action, "enable-2fa")
    assert decision.confidence == pytest.approx(share / (1.0 - security))


@pytest.mark.parametrize(
    ("text", "action"),
    [("my eth is late and my landlord is waiting", Action.CLARIFY), ("my landlord is waiting", Action.DECLINE)],
)
async def test_an_unsure_decline_of_a_message_naming_our_things_offers_the_entries(
    core: Core, text: str, action: Action
) -> None:
    """Small talk ranked first below `answer` with nothing close behind: a message naming a coin of ours is offered
    the support entries, one naming nothing of ours is declined."""
    replies = ReplyBuilder(core.kb, core.config.brand, ReplyTexts(core.config.brand))
    handler = FaqAnswerHandler(core.kb, core.ranker, core.config.matcher, replies, load_other_products())
    ranking = Ranking((Ranked("small-talk", 0.5, 0.0, 0.0, ""), Ranked("withdrawal-pending", 0.2, 0.0, 0.0, "")), True)
    turn = Turn(InboundMessage("test", "u", "1", "1", text), "en", "en", ConversationState(), ranking=ranking)
    match = handler.check(turn)
    assert match is not None
    assert (await handler.handle(turn, match)).decision.action is action


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "hi", "lang": "fr", "entry": "small-talk"}', "lang must be en or zh"),
        ('{"text": "hi", "lang": "en"}', "not an example"),
        ("not json", "not an example"),
    ],
)
def test_a_malformed_example_fails_with_its_line(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "examples.jsonl").write_text('{"text": "ok", "lang": "en", "entry": "find-uid"}\n' + line + "\n")
    with pytest.raises(KnowledgeBaseError, match=rf"examples.jsonl:2: .*{message}"):
        load_examples(tmp_path)


def test_no_examples_file_means_no_examples(tmp_path: Path) -> None:
    assert load_examples(tmp_path) == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an operation denied beside something done to the account, in either order
        ("orders i never placed are filling on my account", "security_incident"),
        ("can someone please stop the pending withdrawal, i didnt start it", "security_incident"),
        ("new login, new api key, then a withdrawal of 1.2 btc. none of it was me", "security_incident"),
        ("合约账户里多了个100倍的仓位已经爆了，我从来不玩合约，不是我开的", "security_incident"),
        ("刚刚收到短信说我的提现已完成？？我没提啊", "security_incident"),
        # access handed over (a remote-desktop tool, malware, a code given away), then money left the account
        ("a support guy told me to install anydesk to fix my verification and now the whole account is empty", "security_incident"),
        ("一个客服加我微信说帐户异常要验证，我把验证码给他了，然后钱就没了", "security_incident"),
        ("我电脑中了木马，今天打开交易所发现币都转出去了", "security_incident"),
        ("手机突然没信号，营业厅说我的卡被人补办了", "security_incident"),
        ("救命啊帐号让人给黑了", "security_incident"),
        # operations the user does not recognise or denies after naming them, a code read out, an app from a link
        ("there are three sell orders on my account i dont recognise", "security_incident"),
        ("a withdrawal i didnt do just went out", "security_incident"),
        ("the caller asked me to read the code i just got, i did, and there was a withdrawal of everything", "security_incident"),
        ("installed some apk a guy sent me and my wallet here is empty now", "security_incident"),
        ("my 2fa settings were updated this morning and i never touched that", "security_incident"),
        ("my coins are being sold right now and i am at work", "security_incident"),
        ("my position was closed by someone else", "security_incident"),
        ("api管理里多了一个key，我从来没创建过", "security_incident"),
        ("有人打电话说是风控的，我把验证码报给他了，币就没了", "security_incident"),
        ("i dont recognise this coin in my balance, is it an airdrop", None),
        # two settings changed in the passive, someone changing one, a coin's amount gone, a balance at zero
        ("my email was changed and my 2fa was turned off overnight", "security_incident"),
        ("身份验证器被关了，手机号也被换了", "security_incident"),
        ("登录密码被改了，现在登不上", "security_incident"),
        ("有人重置了我的资金密码", "security_incident"),
        ("someone reset the password on my account this morning", "security_incident"),
        ("help my 2.5k usdt is gone", "security_incident"),
        ("help my 300 trx just vanished", "security_incident"),  # a coin the older money-gone rule does not name
        ("typed my password into a fake login page and my balance is now zero", "security_incident"),
        ("i only use my iphone but the login history shows a windows pc", "security_incident"),  # caught before; as in:
        ("我只用手机，登录记录里有台windows电脑还在线", "security_incident"),
        ("i changed my email and phone number, how long until i can withdraw", None),
        ("how long after email changed and password reset can i withdraw", None),
        ("密码被重置后多久能提现", None),
        ("U没了 爆仓了", None),
        ("手机被关机了，联系不上", None),  # the phone itself, not its number: no setting changed
        # a freeze demanded now, someone else in the account, orders the user is not placing, a screen shared or a
        # login typed into a fake site and then money gone, a wallet (钱包) is not money (钱)
        ("pls lock my account right now", "security_incident"),
        ("马上帮我冻结账号", "security_incident"),
        ("how do i freeze my account", None),
        ("我的账户被冻结了怎么办", None),
        ("我刚充值你们就马上冻结了我的账户 为什么", None),  # a complaint about our freeze, not a demand
        ("is somebody else using my account? i see logins", "security_incident"),
        ("trades keep showing up that i am not making", "security_incident"),
        ("假客服让我屏幕共享，之后余额少了2000u", "security_incident"),
        ("在钓鱼网站输入了密码 币少了一半", "security_incident"),
        ("转到旧钱包了 私钥丢了 能找回吗", None),
        # money back without the words: owed, the price difference made good
        ("the chart lagged and my limit never filled, we're owed that trade", "refund_request"),
        ("成交价比显示的差太多了 给我补差价", "refund_request"),
        ("我的手机被换了新的", None),
        # a demand said as an order, beside a topic the FAQ knows
        ("liquidated because your mark price spiked for 1 second. thats your glitch. undo that liquidation", "refund_request"),
        ("stop loss executed at 51k because of your outage. cover the difference", "refund_request"),
        ("提现失败了手续费却没退", "refund_request"),
        ("your api went down for an hour and my bot couldn't close anything. that's on you, not me. you owe me", "refund_request"),
        # a person wanted, said indirectly
        ("does anyone from examplex even read these chats", "human_request"),
        ("别让机器人回我", "human_request"),
        ("ren gong", "human_request"),
        ("i need someone who can actually look at my account", "human_request"),
        ("is there someone working on the outage", None),
        # not incidents: a supposition, the user's own login, a denial about something else, a phishing mail not clicked
        ("if my account gets compromised what are the first steps", None),
        ("got an email saying new device logged in but it was me on my laptop", None),
        ("i didnt send the memo, where is my deposit", None),
        ("我没提错地址啊 提现怎么还没到", None),
        ("收到一封冒充你们的邮件，没有防钓鱼码，我没点，是假的吧", None),
        ("感覺帳號好像被盜了，第一步要先做什麼？", None),
        ("i never opened a futures account, how do i start", None),
        # draining in progress, a misspelt disappearance, money gone from the user's bank (a card purchase), a login
        # the user says took nothing, a relative's account with money gone
        ("help!! somebody is draining my wallet as we speak", "security_incident"),
        ("my usdt dissapeared overnight and i didnt withdraw", "security_incident"),
        ("bought btc with my card, the money is gone from my bank account but nothing arrived", None),
        ("new device login email, that wasnt me, but my balance is still all there. what now", None),
        ("someone logged in and reset my password, funds still there", "security_incident"),
        ("有陌生设备登录 不是我本人 资产没少 要怎么做", None),
        ("my sister's account got hacked yesterday and all her usdt is gone", "security_incident"),
        # a person wanted as live customer service; money demanded back without the words
        ("can i get live customer service here", "human_request"),
        ("your convert quoted 2410 and filled at 2380, pay me the difference", "refund_request"),
        ("我要回我的500u", "refund_request"),
        ("止盈单滑点太大 多扣的手续费退我", "refund_request"),
        ("我要我的钱怎么提出来", None),
        # a remote session with money leaving, a SIM reissued, a freeze demanded, a login from elsewhere and a password
        # that stopped working, a balance dropped while the user did not trade, a password reset then a withdrawal
        ("the remote support session is still open and my btc is leaving", "security_incident"),
        ("运营商说我的手机号被补卡了", "security_incident"),
        ("立刻冻结我的账号", "security_incident"),
        ("收到异地登入提醒 密码突然不对了", "security_incident"),
        ("余额从5000掉到3 我一个月没操作了", "security_incident"),
        ("刚收到重置密码的邮件 紧接着提币成功", "security_incident"),
        ("i got a password reset email and a minute later a withdrawal confirmation", "security_incident"),
        # a phone lost with the authenticator on it: how to reset 2FA, unless money is gone
        ("我的手机丢了 谷歌验证器在上面 怎么换绑", None),
        ("i lost my phone with the authenticator on it, how do i reset 2fa", None),
        ("手机丢了 谷歌验证器在上面 钱也被转走了", "security_incident"),
        # a person to look at it, staff to talk with
        ("can you have a real person look at my ticket", "human_request"),
        ("能不能请人看一下我的申诉", "human_request"),
        ("想跟工作人员聊聊提现的问题", "human_request"),
        # charged twice, an amount wanted back, a payout or a lost bonus demanded (owed, not stolen)
        ("the card got debited twice for one purchase", "refund_request"),
        ("the fee was 30 instead of 3, i want the 27 back", "refund_request"),
        ("my affiliate payout for october never came. send it", "refund_request"),
        ("my welcome voucher of 10 usdt vanished before the expiry date, restore it", "refund_request"),
        ("活动奖励一直没到 赶紧补发", "refund_request"),
        # a first step asked for, a login the user says took nothing ("money's all there", "balances look fine")
        ("what should i do first if my account gets compromised", None),
        ("login alert from a new device, not me, but my money's all there", None),
        ("got a login alert from abroad, i didnt log in, nothing was taken and balances look fine", None),
        # a withdrawal to an address the user does not know, part of the funds missing, a phishing site and then a
        # password that no longer works, someone moving and withdrawing, a coin gone after codes nobody asked for
        ("a withdrawal of 1.5 eth went to an address i dont recognize", "security_incident"),
        ("more than half of my funds are missing", "security_incident"),
        ("i typed my login into a phishing site and now my password doesnt work", "security_incident"),
        ("somebody shifted everything from futures to spot and then withdrew it all", "security_incident"),
        ("收到奇怪的验证码短信 接着usdt就没了", "security_incident"),
        # an account manager or supervisor, the bot skipped, a call back, 经理, 安排客服
        ("i need my account manager", "human_request"),
        ("transfer me to a supervisor please", "human_request"),
        ("skip the bot", "human_request"),
        ("can an agent call me back today", "human_request"),
        ("叫你们经理来", "human_request"),
        ("麻烦安排个客服联系我", "human_request"),
        ("跟单机器人出故障 亏损必须赔", "refund_request"),
        # operations "not done by me", a key leaked in public and then a loss, two settings "both changed", a setting
        # switched to the intruder's while money still leaves, a credit our support promised, a prize demanded
        ("two withdrawals last night not done by me", "security_incident"),
        ("my api key got leaked on github and someone traded with it, account is down 2k", "security_incident"),
        ("my phone number and email were both changed and i didnt touch them", "security_incident"),
        ("号被人登了 把我的邮箱改成他的了 钱还在往外转", "security_incident"),
        ("support promised me 30 usdt for the delay and it never came", "refund_request"),
        ("活动抽中的奖品一直没到账 给我发", "refund_request"),
        # a promise that is no credit, a code asked for again
        ("support promised to call me back yesterday", None),
        ("客服答应给我回电话", None),
        ("验证码一直收不到 再给我发", None),
        # 人工 by its initials; a review by staff is no request for a person
        ("转rg", "human_request"),
        ("为什么提现要人工审核", None),
        # a person to look into it, someone to talk to; a browser extension and then funds out; the platform to bear
        # the loss
        ("i followed the steps already. could a person look into my deposit", "human_request"),
        ("文章都看了没用 找谁能说得上话", "human_request"),
        ("installed a wallet extension from an ad and my account sent funds out overnight", "security_incident"),
        ("止损没触发 这个损失应该由平台承担", "refund_request"),
        ("how do i install the browser extension wallet", None),
        # an order made from the account by someone, a SIM moved in the passive, access by force, a withdrawal the user
        # says is not theirs, someone else opening the account, every alert denied before asking the first step
        ("somebody placed 20 sell orders from my account overnight", "security_incident"),
        ("no signal since noon, the carrier says my sim was ported to another phone", "security_incident"),
        ("i moved my sim to a new phone and the sms code never arrives", None),
        ("two men forced me to unlock my phone and open the app", "security_incident"),
        ("有一笔500U提到陌生地址 不是我的", "security_incident"),
        ("他打开我账户就点了提币", "security_incident"),
        ("他让我登录我的账号看看", None),
        ("新设备登录、提币确认，全都不是我，第一步该干嘛", "security_incident"),
        # a charge taken from a card, money back from a bank, someone named 客服管理员: no escalation
        ("bought eth with my card, the money was taken from my card but no eth", None),
        ("bank withdrawal failed and the money returned, why", None),
        ("出金失败钱退回来了", None),
        ("有个叫客服管理员的人私信我", None),
        # where the user was when it happened, beside something done; a leveraged position explains it by itself
        ("new api key created at 3am, i was asleep", "security_incident"),
        ("这段时间我在睡觉，账户被开了好几笔合约", "security_incident"),
        ("my 20x long got liquidated while i was asleep", None),
        # positions opened in the passive while the user slept: the leverage named is the intruder's; coins released
        # while the user was not even online
        ("eleven 100x positions were opened on my account while i was asleep", "security_incident"),
        ("我在睡觉的时候被开了5笔100倍合约", "security_incident"),
        ("买家点了已付款 币就放了 我根本没在线", "security_incident"),
        ("买家付款了我就放币了，对方说没收到", None),
        # a setting changed in the passive and money gone; a setting bound to someone else's phone; a rebinding denied
        ("my brother's email was changed and his btc withdrawn", "security_incident"),
        ("somebody already switched my 2fa to their own phone", "security_incident"),
        ("安全中心显示验证器重新绑定过，我没换绑啊", "security_incident"),
        ("设备列表多了一台安卓，我用的是苹果", "security_incident"),
        ("收到邮件说手机号已换绑，这号码我十年没换过", "security_incident"),
        # money out to an address the user never saw; "if it wasn't me" is a condition, unless a code was given
        ("the eth went out to an address i don't know an hour ago", "security_incident"),
        ("币被转到一个陌生地址了", "security_incident"),
        ("sms says a withdrawal was requested, call this number if it wasn't me. is it real?", None),
        ("the caller asked for my 2fa code and i gave it. balance now 0", "security_incident"),
        ("what are the warning signs that someone else has access to my account?", None),
        # a person asked for by "rep please", to review it, by initials or by phone; "you pay", the platform to advance
        ("support rep please", "human_request"),
        ("i need somebody to review it manually", "human_request"),
        ("is there a manual review for the selfie", None),
        ("rgkf", "human_request"),
        ("能不能给我打个电话", "human_request"),
        ("your lag cost me 400 usdt, you pay", "refund_request"),
        ("商家跑路了，这钱平台先垫给我", "refund_request"),
        ("why did you charge me twice", "refund_request"),
        # a theft only thought of, the mailbox hacked with the account here fine, a way back asked about
        ("i closed my account when i thought my phone was stolen, how do i reopen it", None),
        ("我的邮箱被盗了 交易所账号目前看着没事 要改哪些", None),
        ("不小心提到了合约地址上 有没有办法弄回来", None),
        # session 21: 人工 asked for as "is there", support asked whether it is there, a person to talk to; 赔付 and
        # 理赔 as words for compensation; "how would i even know if" is a how-to
        ("订单有问题，有没有人工帮我看看", "human_request"),
        ("客服在吗", "human_request"),
        ("找个能查我订单的人跟我聊聊", "human_request"),
        ("插针把我强平了，这个怎么申请赔付", "refund_request"),
        ("我要申请理赔", "refund_request"),
        ("how would i even know if someone had logged in to my account", None),
        # session 22: sick of the bot; a bare SIM swap; an address the user never added; a setting no longer theirs;
        # "they edited my"; an ad listed not by the user (挂); something switched on by someone; a fake link clicked
        # and money gone; the platform blamed ("on your side, not me") with money wanted back; a lag's loss borne
        ("honestly sick of chatting with this bot", "human_request"),
        ("sim swapped", "security_incident"),
        ("got a mail that a wallet was whitelisted to my address list, i never added one", "security_incident"),
        ("there's an api key i didnt create in my settings", "security_incident"),
        ("how do i delete an address i didn't add on purpose", None),
        ("the phone number on my acct is no longer mine and i never changed it, balance ok for now", "security_incident"),
        ("they modified my 2fa and withdrew everything", "security_incident"),
        ("市场里有我的广告单在卖币，不是我挂的", "security_incident"),
        ("网格机器人被人开启了，我自己没开过", "security_incident"),
        ("點開一個釣魚連結後，錢包裡的幣少了一半", "security_incident"),
        ("your exchange lagged and i got stopped out, that was the system, not me. i want the loss returned",
         "refund_request"),
        ("宕机导致的爆仓你们负责", "refund_request"),
        ("that transfer out? it's not me. i want it stopped", "security_incident"),
        ("我改了绑定的邮箱，旧的那个不是我的了", None),
        # session 23: staff put through, done talking to a program; the profit a closed position would have made
        # wanted, 补给我 said beside a sure FAQ topic
        ("别绕了，帮我转你们的工作人员", "human_request"),
        ("真的不想再跟机器人对话了", "human_request"),
        ("the system cut my long in half and i expect the gains it would have made", "refund_request"),
        ("插针扫了我的止损，差的那部分补给我", "refund_request"),
        # "didn't make it to": an arrival, not an operation denied; an operation the user never made still is one
        ("the sol i sent over never made it to my account, 2 hours already", None),
        ("your app didnt make it obvious which chain to pick so i lost my usdc", None),
        ("there's a transfer out of 800 usdt last night and i didn't make it", "security_incident"),
        ("three orders i never placed are sitting in my history", "security_incident"),
        # a bare order to undo or to pay out what was not paid; how to cancel or when it is reissued is a question
        ("划转怎么还收费了，撤销", "refund_request"),
        ("邀请返佣两个月没到账，补发", "refund_request"),
        ("挂单怎么撤销", None),
        ("验证码过期了 补发要多久", None),
        # a beneficiary named is no person asked for; others' thefts as the reason for a precaution; a phone stolen
        # on the way with the authenticator to reset
        ("how do i put my son down as the person who inherits my account", None),
        ("just put a real person on this, the bot is useless", "human_request"),
        ("so many people getting drained lately, how do i lock mine down", None),
        ("很多人的号被盗了 我该开哪些保护", None),
        ("手机昨天在地铁上被偷了，账户里的币都在，身份验证器怎么换到新手机", None),
        # session 23 (tests/data/dev24's kinds, in new words): a person asked for without the usual words
        ("STAFF. NOW.", "human_request"),
        ("can you escalate my case to a supervisor", "human_request"),
        ("is anyone with a pulse reading this", "human_request"),
        ("get me someone who knows what a memo is", "human_request"),
        ("别跟我绕了 换个人来跟我说", "human_request"),
        ("你们到底有没有真正的客服", "human_request"),
        ("I want to complain about one of your agents, he was rude", None),
        # money wanted back in other words; a question about it or a loss not blamed on us is none
        ("the outage ate my take profit, make it right", "refund_request"),
        ("so who's paying for this? your maintenance started early", "refund_request"),
        ("I expect the overcharge refunded, you billed maker as taker", "refund_request"),
        ("闪兑报价和成交价差了一截，这钱你们得出", "refund_request"),
        ("手续费多扣的部分给我吐出来", "refund_request"),
        ("昨晚爆仓了 不是要你们赔 就想问问强平价怎么算", None),
        ("提币被拒了，钱能撤回来不", None),
        # incidents told without the usual words
        ("somebody is inside my acct", "security_incident"),
        ("who logged into my account at 4am??", "security_incident"),
        ("hackers are draining my wallet right now", "security_incident"),
        ("my withdrawal whitelist was disabled by someone", "security_incident"),
        ("they're withdrawing as i type this", "security_incident"),
        ("a guy at knifepoint made me unlock my phone", "security_incident"),
        ("all my xrp vanished overnight", "security_incident"),
        ("withdrawl i never made, 300 usdt", "security_incident"),
        ("the email on my profile isn't mine, and there is a withdrawal pending", "security_incident"),
        ("a transfer to some UID went out at noon, no idea who that is", "security_incident"),
        ("my dad's account shows a withdrawal last week that he didn't make", "security_incident"),
        ("my dad's account shows an ETH withdrawal last week which he did not make", "security_incident"),
        ("there are futures positions opened at 20x, i only trade spot", "security_incident"),
        ("谁登了我的账号？半夜三点的记录", "security_incident"),
        ("有人进了我的账户，正在卖币", "security_incident"),
        ("陌生人从我的账户里转走了两千U", "security_incident"),
        ("被两个人拿刀逼着我解锁了手机", "security_incident"),
        ("谷歌验证突然绑到了别的手机上", "security_incident"),
        ("账户被人建了个api在乱买币", "security_incident"),
        ("我从来没建过这个api，它在下单", "security_incident"),
        ("合约里开了100倍的单，我只做现货", "security_incident"),
        # the platform named as what acted in a glitch, the user denying the order: money wanted back; a person named:
        # an incident
        ("during the outage the system sold my eth, i never placed that sell. give it back", "refund_request"),
        ("your app opened orders i never placed after the crash and someone logged in, put it back", "security_incident"),
        # a coin that disappeared after a migration is the delisting entry's question
        ("my old token disappeared and a new ticker showed up, what happened", None),
        # session 24 (tests/data/dev22's kinds, in new words): addresses the user never saved, a setting a notice says
        # changed with the user changing nothing, an API key handed over and money gone
        ("found strange addresses in my withdrawal list, i never saved them", "security_incident"),
        ("常用地址里出现一个新地址，我根本没存过", "security_incident"),
        ("收到短信说登录密码已更改，我啥都没动过", "security_incident"),
        ("我改了密码，提示密码已修改，为什么24小时不能提现", None),
        ("shared my api key with a copy trading group, my usdt is gone now", "security_incident"),
        ("把api密钥给了一个量化软件 现在余额少了一半", "security_incident"),
        ("how do i give my api key to a trading bot safely", None),
        # a chat agent named is none asked for; anyone at the company who can look, asked for; the exchange asked to
        # pay it back
        ("the chat agent i had yesterday was rude, where do i file a complaint", None),
        ("can i get a chat agent", "human_request"),
        ("is there someone on your team who can check my order", "human_request"),
        ("你们那边有没有人能处理一下", "human_request"),
        ("should the platform pay back the fees it took while the site was down?", "refund_request"),
        # a balance at zero said in a few words; a loss only asked about; "he's gone" is the scammer; an operation
        # denied after the noun ("one … that i never made")
        ("wallet shows zero, help", "security_incident"),
        ("我的余额怎么变0了", "security_incident"),
        ("wallet empty after the withdrawal fee?", None),
        ("sent usdt on the wrong chain. are my funds lost?", None),
        ("the buyer got my usdt and now she's gone", None),
        ("there's a transfer for 2k in my history that i never made", "security_incident"),
        # a card charged is the bank's to dispute ("they took … from my card"), money wanted back is a refund; a real
        # support person asked for as 有没有真的客服
        ("they took 80 euros off my card for nothing, i want it back", "refund_request"),
        ("someone took 2 btc from my account", "security_incident"),
        ("有木有真的客服啊", "human_request"),
        # session 25 (tests/data/dev25's kinds, in new words): a withdrawal denied with 根本/压根, transfers nobody on the
        # team made, money out to an address the user has no idea about; a manager of the user's own asked for, "still
        # gives me a bot" is no demand, "is the money coming back or not" is one; a cash-out to a card is no refund
        ("短信提示提币0.3BTC审核中，我压根没提", "security_incident"),
        ("there are two withdrawals on the business account which no one in our office approved", "security_incident"),
        ("a 2k usdt withdrawal just went out to some wallet i have no idea about", "security_incident"),
        ("找我的客户经理来处理", "human_request"),
        ("充了那么多还给我一个机器人回复", None),
        ("都一个月了 币到底还不还", "refund_request"),
        ("if i sell my btc can i get the money back to my bank?", None),
        ("i want my money back to my card", "refund_request"),
        ("my google auth is linked to a phone i don't own, somebody unbound it", "security_incident"),
        ("一直收到提币成功的短信 可我今天压根没打开过app", "security_incident"),
        ("商家跑路了，平台担保的交易，把钱给我", "refund_request"),
        ("怎么把钱给我朋友转过去", None),
        # session 26 (tests/data/dev26's kinds, in new words): a loss only asked (钱是丢了吗), the account moving money by
        # itself, P2P ads the user never posted, the fees ordered back whole, "made whole"; a reward gone is its terms'
        # matter; a login only suspected is secured, not escalated; a mistake of the user's own undone is the FAQ's
        ("链上查不到这笔提币，币是丢了吗", None),
        ("钱包自己在往外转u", "security_incident"),
        ("账户自己一直在卖币", "security_incident"),
        ("my account keeps withdrawing usdt on its own", "security_incident"),
        ("我从来没发布过广告，可是好多人说我挂单卖u", "security_incident"),
        ("服务器崩了一下午，这个月的利息全退", "refund_request"),
        ("the app crashed during the spike and i want to be made whole", "refund_request"),
        ("my 20 usdt trading voucher is gone and i never touched it", None),
        ("怀疑我的号被人登录过，要怎么保护", None),
        ("i suspect somebody has logged in to my account, how do i check", None),
        ("somebody has logged in to my account, how do i check", "security_incident"),
        ("i sent it to the tron network accidentally, can you undo it?", "refund_request"),  # decide_escalation yields
        # session 26, from the tuning data (tests/data/dev31's kinds, in new words): an operation denied as "not from
        # me", 不可能, 没借过, a mistyped password "changed not me", 我没提过啊; a bare "drained overnight"; someone "sold
        # all my"; an account at 0 said with 成; an IP 海外; money out to an unknown address, someone on the account (用我的
        # 号); away from the phone or offline on a train when it was done; a mailbox 变成 another while the user only
        # uses theirs; a robbery told with when, not a supposed one
        ("there's a 2 eth withdrawal pending and that's not from me", "security_incident"),
        ("合约账户显示我提前平仓了，我不可能平仓，我在开会", None),
        ("资金账户里多了一笔借款，我压根没借过", "security_incident"),
        ("my pasword got reset and it wasnt me", "security_incident"),
        ("有笔提币在审核，我没提过呀", "security_incident"),
        ("drained overnight, everything", "security_incident"),
        ("somebody sold all of my sol an hour ago", "security_incident"),
        ("钱包余额一下成0了", "security_incident"),
        ("账户登录历史里全是海外ip", "security_incident"),
        ("凌晨帐户往一个陌生的地址转了3000U", "security_incident"),
        ("有人用我的号在下单", "security_incident"),
        ("left my phone at home today and came back to find all my eth withdrawn", "security_incident"),
        ("我在火车上没信号，出站就看到提币成功的短信", "security_incident"),
        ("绑定的手机号变成了一个陌生号码，我只用163邮箱登录", "security_incident"),
        ("if they take my phone could they empty my account? two guys made me unlock it yesterday and now usdt is gone",
         "security_incident"),
        ("if i got mugged would they get into my account", None),
        # …a login alert that turned out to be the user's own, a new-login mail said with 的, an attack only possible, a
        # precaution "against this", nothing happened on the account
        ("new login email scared me but turns out it was my new phone, how do i see devices", None),
        ("收到新设备登录的短信，我刚换了手机，要不要改密码", None),
        ("谷歌验证会被黑吗，想换成硬件密钥", None),
        ("群里好多人被盗，怎么设置才能避免这种事", None),
        ("phone was stolen, it's locked and nothing has happened on my account, how do i move my 2fa", None),
        # …but a login alert stays an incident with the balance lower or the account taken over now
        ("a 'new login' notification from linux, i only use a mac, and my balance seems lower", "security_incident"),
        ("收到异地登录的通知，账号现在被人占用了", "security_incident"),
        # …a person: someone from support to take over, who to talk to, the agent switched, 真仁; a refund: topped back
        # up, "cover it.", 兜底, 认不认, 重新给我算
        ("can i get someone from your support team to look at this, the bot keeps looping", "human_request"),
        ("这问题我该找谁说", "human_request"),
        ("换个人工客服吧", "human_request"),
        ("有没有真仁", "human_request"),
        ("your promo said no loss. it lost 5%. top my account back up", "refund_request"),
        ("your feed glitched and took my margin. cover it.", "refund_request"),
        ("平台推荐的理财亏了，你们要兜底", "refund_request"),
        ("延迟到账害我错过行情，这损失你们认不认", "refund_request"),
        ("挂单卡住半天才成交，按我当时的价格重新给我算", "refund_request"),
        # session 27 (tests/data/dev27's kinds, in new words): a hack named in a few words beside money gone, even as a
        # question; money moved to a UID the user does not know (but "i don't know if it arrived" is no denial); what a
        # setting of the account is now, beside "i didn't change it"; a site posing as ours or an ad, then the account
        # typed in and the money gone; 清零; the assets said untouched (都在没动) after a phishing link
        ("stolen?? wallet empty", "security_incident"),
        ("my spot balance was moved to another uid i don't recognise", "security_incident"),
        ("sent 50 usdt to another uid i dont know if it arrived", None),
        ("the email on my account is now some yahoo address and i never touched anything", "security_incident"),
        ("the email on my account is now verified, i didn't change anything else, why is kyc still pending", None),
        ("在冒充你们的app里登录了一下，现在资产清零了", "security_incident"),
        ("刷视频点开一个领币广告，输入了账号密码，然后币全没了", "security_incident"),
        ("点了个钓鱼链接输了密码，不过资金都在没动，要改哪些设置", None),
        ("设备列表里有台没见过的电脑还在线，我没登录过，币暂时没动", "security_incident"),
        # session 27, from the tuning data (tests/data/dev34's kinds, in new words): a setting switched off that the user
        # never switched; a position opened on a flight; a machine never owned; an account emptied however spelt; a
        # setting that is "not mine"; an operation never asked for; a supposition that then "happened"; someone who sold
        # it all; a leverage raised while the app was not opened; a person who picks up; the difference wanted; "that's
        # on you guys, not me"
        ("2fa got disabled last night and 400 usdt left. i never turned it off", "security_incident"),
        ("i was on a 9 hour flight and came back to three short positions opened on my account", "security_incident"),
        ("a linux box in the device list, logged in 2 hours ago. i don't own a linux pc", "security_incident"),
        ("wallet got drained", "security_incident"),
        ("the email on my account says jk77@proton.me, mine is on gmail", "security_incident"),
        ("there's a transfer out of 2k pending, i never asked for it", "security_incident"),
        ("suppose somebody took my usdt, can it be frozen? it happened 20 minutes ago", "security_incident"),
        ("我出差那几天有人把我的ETH全卖掉了", "security_incident"),
        ("杠杆被改成100倍了，我今天也没登过账号", "security_incident"),
        ("is there a number to call where a human answers the phone", "human_request"),
        ("your mark price spiked, pay me the difference", "refund_request"),
        ("your servers froze and i lost 300. that's on you, not me", "refund_request"),
        # after the refit (dev34's cross-fitted misses, in new words): an SMS check switched off while the app was not
        # opened; the intruder still in there; "not my withdrawl"; 被人动过了; whoever took it; a permission switched on by
        # itself; a key never created; a fee that never came back; but someone stealing the account (被别人盗号) is no
        # hearsay
        ("短信提醒说已解绑短信验证，可我今天都没登过你们app", "security_incident"),
        ("the scammer already reset my password and they're still in there right now", "security_incident"),
        ("not my withdrawl!!", "security_incident"),
        ("我的理财被人动过了，少了一半", "security_incident"),
        ("whoever drained my wallet used a new device", "security_incident"),
        ("withdrawals got switched on by itself on my api key", "security_incident"),
        ("there are orders from a key i never created", "security_incident"),
        ("the card payment failed and the 4 usd fee never came back", "refund_request"),
        ("我的号被别人盗号了，钱都没了", "security_incident"),
        # …but not a fear before a how-to, a platform that lost a withdrawal (弄丢了), hearsay of SIM swaps, a theft on
        # another platform
        ("i'm worried about getting drained like my friend, how do i add a withdrawal whitelist", None),
        ("提币显示完成了，是不是你们把我的u搞丢了", None),
        ("听说好多人被补卡盗号，短信验证安全吗", None),
        ("同学在其他交易所被盗了，我要怎么设置防钓鱼码", None),
        ("my cousin's wallet got emptied last month so now i'm nervous, what's the best 2fa for mine", None),
    ],
)
def test_the_escalation_patterns(text: str, expected: str | None) -> None:
    found = detect_escalation(text)
    assert (found.reason if found else None) == expected


class _RankingsByText:
    """The ranker's two calls `understand` makes, answered from a table: the rule, not the model, is under test."""

    def __init__(self, rankings: dict[str, Ranking]) -> None:
        self._rankings = rankings

    def rank(self, text: str, lang: str, use_semantic: bool | None = None) -> Ranking:
        return self._rankings[text]

    def is_phrasing(self, text: str) -> bool:
        return False


@pytest.mark.parametrize(("first_entry", "top"), [("small-talk", ("small-talk", 0.45)), ("ticket-status", ("ticket-status", 0.8))])
def test_a_part_sure_only_of_small_talk_neither_decides_nor_is_offered(first_entry: str, top: tuple[str, float]) -> None:
    """A first part sure of small talk leaves the (unsure) whole message to decide, where the FAQ step offers the
    entry ranked close behind; a first part sure of an entry decides. Small talk in the second part is not offered."""
    text = "any word on my case 4410? nobody wrote back"
    ranker = _RankingsByText(
        {
            text: Ranking((Ranked("small-talk", 0.45, 0.0, 0.0, ""), Ranked("ticket-status", 0.4, 0.0, 0.0, "")), True),
            "any word on my case 4410?": Ranking((Ranked(first_entry, 0.8, 0.0, 0.0, ""),), True),
            "nobody wrote back": Ranking((Ranked("small-talk", 0.6, 0.0, 0.0, ""),), True),
        }
    )
    ranking = understand(ranker, text, "en", 0.3, 0.75, frozenset({"small-talk"}))  # type: ignore[arg-type]
    assert ranking.top is not None and (ranking.top.entry_id, ranking.top.confidence) == top
    assert ranking.also == ()
