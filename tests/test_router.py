"""The router end to end, with the shipped knowledge base and config."""

from __future__ import annotations

import itertools

import pytest

from bot.app.wiring import Core
from bot.core.conversation import InMemoryConversationStates
from bot.core.handler import Outcome, Turn
from bot.core.messages import Action, Decision, InboundMessage, Priority, Reply
from bot.core.router import Router, RouterResult
from bot.knowledge.texts import ReplyTexts
from handlers.commands import Command, CommandHandler
from handlers.pattern_decline import asks_for_advice, asks_for_scam_material
from handlers.secret_guard import SecretGuard

_ids = itertools.count()


@pytest.fixture
def router(core: Core) -> Router:
    """The shared router with fresh conversation state."""
    return core.router.with_states(InMemoryConversationStates())


async def say(router: Router, text: str, conversation: str = "c1") -> RouterResult:
    return await router.route(InboundMessage("test", "u1", conversation, str(next(_ids)), text))


def all_text(result: RouterResult) -> str:
    return "\n".join(
        [result.redacted_text]
        + [r.text for r in result.replies]
        + [s.label + s.payload for r in result.replies for s in r.suggestions]
    )


async def test_start_greets_with_the_standing_warning_and_topics(router: Router) -> None:
    result = await say(router, "/start")
    text = result.replies[-1].text
    assert "never ask for your password" in text and "example.com" in text
    payloads = [s.payload for s in result.replies[-1].suggestions]
    assert "/category deposits-withdrawals" in payloads and "/human" in payloads
    assert "/category off-topic" not in payloads


async def test_help_lists_categories_in_chinese_when_asked_in_chinese(router: Router) -> None:
    await say(router, "/lang zh")
    result = await say(router, "/help")
    assert result.decision.lang == "zh"
    assert "充值与提现" in [s.label for s in result.replies[-1].suggestions]


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
async def test_clear_questions_get_the_right_entry_first(router: Router, text: str, faq_id: str) -> None:
    """Lexical only (the suite's default): answered, or offered first when the lexical confidence is below the
    threshold chosen for the fused ranker; tests/test_understanding.py asks the same with the encoder: answered."""
    result = await say(router, text)
    assert result.decision.action in (Action.ANSWER, Action.CLARIFY)
    assert result.decision.faq_id == faq_id
    assert result.replies[-1].offer_human


async def test_reply_language_follows_the_message(router: Router) -> None:
    assert (await say(router, "how do I find my UID", "a")).decision.lang == "en"
    assert (await say(router, "我的UID在哪里看", "b")).decision.lang == "zh"


async def test_lang_choice_is_remembered_by_the_conversation(router: Router) -> None:
    await say(router, "/lang zh")
    result = await say(router, "how do I find my UID")
    assert result.decision.lang == "zh"
    assert result.decision.faq_id == "find-uid"


async def test_a_chosen_entry_is_answered_and_a_number_picks_a_choice(router: Router) -> None:
    result = await say(router, "/category trading")
    assert result.decision.action is Action.CLARIFY
    offered = result.replies[-1].suggestions
    picked = await say(router, "2")
    assert picked.decision.action is Action.ANSWER
    assert f"/faq {picked.decision.faq_id}" == offered[1].payload


async def test_the_second_miss_in_a_row_escalates(router: Router) -> None:
    first = await say(router, "qwzx vbnm plokij")
    assert first.decision.action is Action.DECLINE and first.decision.reason == "not_understood"
    assert "/human" in [s.payload for s in first.replies[-1].suggestions]
    second = await say(router, "zzkq mmpt")
    assert second.decision.action is Action.ESCALATE
    assert "never ask for your password" in second.replies[-1].text


@pytest.mark.parametrize(
    ("text", "priority", "reason"),
    [
        ("I want to talk to a real person", Priority.NORMAL, "human_request"),
        ("转人工", Priority.NORMAL, "human_request"),
        ("/human", Priority.NORMAL, "human_request"),
        ("my account was hacked and all my USDT is gone", Priority.URGENT, "security_incident"),
        ("someone withdrew my BTC, I did not make this withdrawal", Priority.URGENT, "security_incident"),
        ("我的账户被盗了，资产被转走了", Priority.URGENT, "security_incident"),
        ("I demand a refund of the fee", Priority.HIGH, "refund_request"),
        ("你们系统宕机导致我爆仓，要求赔偿", Priority.HIGH, "refund_request"),
        # money back without the words refund or compensation
        ("the app froze during the crash, I want my margin back", Priority.HIGH, "refund_request"),
        ("手续费多扣了，差额退给我", Priority.HIGH, "refund_request"),
    ],
)
async def test_escalations(router: Router, text: str, priority: Priority, reason: str) -> None:
    result = await say(router, text)
    assert result.decision.action is Action.ESCALATE
    assert result.decision.priority is priority
    assert result.decision.reason == reason


CHINESE_INCIDENTS = [
    "有人用我的帳號把幣賣掉了",  # traditional characters read as simplified
    "别人知道我的密码，现在正在登录我的账号",
    "我的币被人转走了",
    "有人登录了我的账号",
    "我的USDT全没了",
    "账户里的钱突然少了很多",
    "我的谷歌验证器被人改了",
    "有陌生人在我的账户下单",
    "我的账号被别人登录了",
    "钱包被掏空了",
    "我的API被人拿去交易了",
    "我的账户出现了一笔我不知道的提现",
    "有一笔未经授权的转账",
    "有人用我的账号提币",
    "我没授权过这笔提币",
    "不是我下的单，账户里多了很多莫名其妙的交易",
    "账户余额变成0了",
    "我的资产被人卖掉了",
    "绑定的手机号被人换了",
]


@pytest.mark.parametrize("text", CHINESE_INCIDENTS)
async def test_chinese_incident_reports_are_urgent(router: Router, text: str) -> None:
    result = await say(router, text)
    assert (result.decision.action, result.decision.reason) == (Action.ESCALATE, "security_incident")


@pytest.mark.parametrize("text", ["如何防止账户被盗", "场外交易被骗了怎么办", "提现多久到账"])
async def test_chinese_how_to_questions_are_not_incidents(router: Router, text: str) -> None:
    result = await say(router, text)
    assert result.decision.reason != "security_incident"


async def test_a_security_incident_gets_the_immediate_safety_steps(router: Router) -> None:
    result = await say(router, "help my account got hacked")
    text = result.replies[-1].text
    # Freezing stops a theft in progress; a password change or 2FA reset comes after it.
    assert "Freeze" in text and text.index("Freeze") < text.index("change your password")
    assert "Reset your 2FA" not in text and "24 hours" not in text
    # Urgent tickets skip the intake questions, so the reply itself asks for what the security team needs.
    assert all(ask in text for ask in ("UID", "when you noticed", "TxID"))
    assert "recovery" in text


async def test_the_urgent_incident_reply_in_chinese_freezes_first(router: Router) -> None:
    text = (await say(router, "我的账户被盗了")).replies[-1].text
    assert text.index("冻结") < text.index("修改登录密码") and "UID" in text and "TxID" in text


@pytest.mark.parametrize(
    "text",
    [
        "should I buy bitcoin now?",
        "will ETH go up next week",
        "现在适合抄底吗",
        "比特币还会涨吗",
        "有啥快速赚钱的办法",
        # borrowing to buy
        "should I take out a loan to buy bitcoin",
        "要不要贷款买比特币",
        "借钱买币划算吗",
        # a leveraged position's timing, where the market goes next, a debt or investing, what to do with savings
        "这会儿开50倍空单好不好",
        "以太坊后市怎么走",
        "should i clear my student loans first or invest in btc",
        "what should i do with my money if the dollar crashes",
        # whether a coin is worth keeping for years
        "is sol worth holding till 2030",
        "这个币值得囤几年吗",
        # coins or projects to recommend
        "can you recommend some altcoins for this bull run",
        "最近有啥靠谱的项目推荐吗",
        # money multiplied fast; traditional characters
        "what's the fastest way to triple my savings with futures",
        "一个月怎么把本金翻五倍",
        "這個幣值得買嗎",
        # whether now is the time to go long or short
        "这时候开空合适吗",
        "现在能做多了吗",
    ],
)
async def test_investment_advice_is_declined(router: Router, text: str) -> None:
    result = await say(router, text)
    assert result.decision.action is Action.DECLINE
    assert result.decision.faq_id is None
    assert "advice" in result.replies[-1].text or "投资建议" in result.replies[-1].text


@pytest.mark.parametrize(
    "text",
    [
        "听说要涨 我就开了多单 结果爆仓了",
        "觉得会涨就加了仓 现在亏了一半",
        "邀请好友怎么赚钱",
        "理财怎么赚钱",
        "i lost 3x my deposit on fees, why",
        "做空的手续费怎么算",
        # what a scammer promised (session 27)
        "a lady on whatsapp offered to triple my savings, i paid her 500 usdt and now her number is dead",
    ],
)
def test_a_belief_told_in_a_story_is_no_request_for_advice(text: str) -> None:
    assert not asks_for_advice(text)


@pytest.mark.parametrize(
    "text",
    [
        "can you draft a phishing email for me",
        "帮我做个钓鱼网站",
        "where do people get fake ids that pass kyc",
        "哪里能买到能过KYC的身份证",
        "能不能给我p一张驾照",  # a licence made up (session 27)
        # money laundered, a scam's takings collected for a cut (session 27)
        "help me launder the profits from my shop through usdt",
        "帮人代收骗来的钱换成U犯法吗",
        # forged proof of funds or income for a review, in traditional characters too
        "can you photoshop a bank statement so compliance stops asking",
        "幫我弄一張假的收入證明",
        # an account opened or verified with another person's papers (session 25)
        "can i register using my roommate's passport, mine expired",
        "用我表哥的身份证开户行不行",
        "can you create a fake utility bill with my address on it",
        # stolen cards to buy with, money moved so that the bank does not report it
        "哪里能收到别人的银行卡 用来买u",
        "how do i send 50k abroad without the irs noticing",
        # card numbers bought (session 26)
        "any site to get credit card details cheap",
        "哪里收信用卡四件套",
    ],
)
async def test_a_request_to_make_scam_material_is_declined_as_illegal(router: Router, text: str) -> None:
    result = await say(router, text)
    assert (result.decision.action, result.decision.reason) == (Action.DECLINE, "illegal-request")


@pytest.mark.parametrize(
    "text",
    [
        "what does a phishing email look like",
        "i got a phishing email, what now",
        "怎么识别钓鱼网站",
        "收到钓鱼短信了",
        "which bank statement do you accept as proof of funds",
        "资金来源审查要交银行流水吗",
        "my son wants to open an account with his own id, is 16 old enough",
        # a freeze for suspected laundering asked about (session 27)
        "账户被冻结了，说我涉嫌洗钱，怎么解冻",
        "my account got flagged for money laundering, how do i appeal",
    ],
)
def test_asking_about_phishing_is_no_request_to_make_it(text: str) -> None:
    assert not asks_for_scam_material(text)


@pytest.mark.parametrize(
    "text",
    [
        "could you write me a sad song about a deposit that never came",
        "pls write a haiku about my account getting frozen",
        "帮我写个关于提币卡住的小故事",
    ],
)
async def test_a_poem_or_a_story_asked_for_is_small_talk_whatever_it_is_about(router: Router, text: str) -> None:
    result = await say(router, text)
    assert (result.decision.action, result.decision.reason) == (Action.DECLINE, "small-talk")


@pytest.mark.parametrize("text", ["what's the weather in Paris today", "tell me a joke", "讲个笑话吧"])
async def test_small_talk_is_never_answered_with_an_entry(router: Router, text: str) -> None:
    result = await say(router, text)
    assert result.decision.action is not Action.ANSWER


async def test_a_secret_is_redacted_warned_about_and_the_question_still_answered(router: Router) -> None:
    result = await say(router, "my password is Hunter2!xyz, how do I reset my 2FA?")
    assert result.secret_detected and "password" in result.secret_kinds
    assert "Hunter2!xyz" not in all_text(result)
    assert "[REDACTED" in result.redacted_text
    assert "Change that password" in result.replies[0].text
    assert result.decision.action is Action.ANSWER and result.decision.faq_id == "reset-2fa"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("someone hacked me, my password was Tiger#2024 and they took all my btc", "Tiger#2024"),
        ("they got in and changed my password to Qw3rty!x9", "Qw3rty!x9"),
        ("有人盗了我的号，密码是Abc#12345，币全被转走了", "Abc#12345"),
    ],
)
async def test_an_incident_told_around_a_secret_is_warned_about_and_escalated(
    router: Router, text: str, secret: str
) -> None:
    """The secret is redacted and warned about, and the incident told before it in its clause still escalates."""
    result = await say(router, text)
    assert result.secret_detected and secret not in all_text(result) and secret not in result.redacted_text
    assert (result.decision.action, result.decision.reason) == (Action.ESCALATE, "security_incident")


async def test_a_seed_phrase_alone_gets_only_the_warning_in_chinese(router: Router) -> None:
    phrase = "的 一 是 在 不 了 有 和 人 这 中 大"
    result = await say(router, f"助记词：{phrase}")
    assert result.secret_detected
    assert "的 一 是 在" not in all_text(result)
    assert "助记词" in result.replies[0].text
    assert result.decision.action is Action.DECLINE and result.decision.reason == "secret_redacted"


async def test_a_command_runs_by_the_name_it_is_registered_under_inside_the_secret_guard(core: Core) -> None:
    """Commands register by name (a mapping, not a chain of compares); the guard, a middleware, has redacted the
    message before the command sees it, and its warning goes first."""
    texts = ReplyTexts(core.config.brand)

    async def echo(turn: Turn, command: Command) -> Outcome:
        reply = Reply(f"echo: {command.argument}")
        return Outcome(Decision(Action.ANSWER, turn.lang, reason="echo"), (*turn.notices, reply), turn.state)

    router = Router(
        [SecretGuard(core.scanner, texts)],
        [CommandHandler({"echo": echo}, texts)],
        InMemoryConversationStates(),
    )
    plain = await say(router, "/echo hello there")
    assert plain.decision.reason == "echo" and plain.replies[-1].text == "echo: hello there"
    unknown = await say(router, "/nope")
    assert unknown.decision.reason == "unknown_command"
    secret = await say(router, "/echo hello, my password is Hunter2-Secret!")
    assert "Hunter2" not in all_text(secret) and secret.secret_detected
    assert len(secret.replies) == 2 and secret.replies[-1].text.startswith("echo: ")
