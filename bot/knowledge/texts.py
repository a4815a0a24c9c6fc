"""Everything the bot says that is not an FAQ answer, in English and Chinese, with the brand filled in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.app.config import BrandConfig
from bot.core.messages import Lang

# Between the items of a list in running text (official domains, handles); Chinese takes the enumeration comma.
LIST_SEPARATOR: Mapping[Lang, str] = {"en": ", ", "zh": "、"}

_TEMPLATES: Mapping[str, Mapping[Lang, str]] = {
    "standing_warning": {
        "en": "Stay safe: {brand} staff will never ask for your password, 2FA codes, seed phrase or private key, "
        "or ask you to send funds or share your screen. Our only official channels are {domains} and {handles}.",
        "zh": "安全提醒：{brand} 工作人员绝不会向你索要密码、谷歌验证码、助记词或私钥，也绝不会要求你转账或共享屏幕。"
        "我们的官方渠道只有 {domains} 以及 {handles}。",
    },
    "greeting": {
        "en": "Hi, I'm the {brand} support assistant. Ask me anything about your account, deposits, withdrawals or "
        "trading, in English or Chinese, or pick a topic below.",
        "zh": "你好，我是 {brand} 客服助手。账户、充值、提币、交易相关的问题都可以直接问我（中文或英文），也可以选择下面的主题。",
    },
    "help": {
        "en": "Pick a topic, or just type your question. Commands: /human to talk to a person, /tickets to list your "
        "tickets, /lang en|zh to change the language.",
        "zh": "请选择主题，或直接输入你的问题。命令：/human 转人工客服，/tickets 查看你的工单，/lang en|zh 切换语言。",
    },
    "category": {"en": "Questions about {title}:", "zh": "关于“{title}”的常见问题："},
    "clarify": {"en": "Did you mean one of these?", "zh": "你想问的是下面哪个问题？"},
    "not_understood": {
        "en": "Sorry, I didn't understand that. Could you rephrase it, pick a topic, or talk to a person?",
        "zh": "抱歉，我没有理解你的问题。可以换个说法、选择一个主题，或者转人工客服。",
    },
    "handoff": {
        "en": "I'm passing your conversation to {brand} support. In live chat an agent usually replies "
        "{reply_time_chat}.",
        "zh": "正在为你转接 {brand} 人工客服。在线客服{reply_time_chat}回复。",
    },
    "handoff_security": {
        "en": "This is urgent: our security team has it now. Do this first: 1. Freeze your account: Profile > "
        "Security Center > Disable Account (if you cannot log in, say so here and we will freeze it). 2. Then change "
        "your password and your email's password. 3. Remove devices and API keys you do not recognise.\n"
        "Reply here with: your UID, when you noticed it, and the TxID of any withdrawal you did not make. A security "
        "agent replies here {reply_time_urgent}. Ignore anyone offering paid \"recovery\" of your funds: that is "
        "a second scam.",
        "zh": "这是紧急情况，已立即转交安全团队。请先这样做：1. 冻结账户：“个人中心 > 安全中心 > 禁用账户”"
        "（无法登录请在此告诉我们，我们为你冻结）；2. 再修改登录密码和邮箱密码；3. 删除不认识的设备和 API。\n"
        "请在此回复：你的 UID、发现异常的时间、非本人提币的 TxID。安全专员会在{reply_time_urgent}在此回复你。"
        "任何声称可以付费“追回资金”的人都是骗子，请勿理会。",
    },
    "lang_set": {"en": "OK, I'll reply in English.", "zh": "好的，之后我会用中文回复。"},
    "lang_usage": {"en": "Usage: /lang en or /lang zh", "zh": "用法：/lang en 或 /lang zh"},
    "unknown_command": {
        "en": "I don't know that command. Type /help to see what I can do.",
        "zh": "无法识别该命令。输入 /help 查看可用功能。",
    },
    "unknown_entry": {
        "en": "That topic is no longer available. Type /help to browse the topics.",
        "zh": "该主题已不存在，输入 /help 浏览全部主题。",
    },
    "human_button": {"en": "Talk to a human", "zh": "转人工客服"},
    "secret_intro": {
        "en": "I removed the sensitive information from your message and did not store it. Never share it with "
        "anyone: {brand} staff will never ask for it.",
        "zh": "你的消息中包含敏感信息，我已将其删除且不会保存。请勿向任何人透露这些信息，{brand} 工作人员绝不会索要。",
    },
    # On platforms that keep the user's own message (the bot's redaction does not reach it there).
    "secret_delete_message": {
        "en": "Delete your message too: {platform} keeps it in this chat.",
        "zh": "请同时删除你发出的那条消息：{platform} 会在聊天记录中保留它。",
    },
    "secret_seed_phrase": {
        "en": "A seed phrase that has been shared must be treated as compromised: create a new wallet with a new "
        "seed phrase and move your funds to it now; never import the old phrase. Your {brand} exchange account has "
        "no seed phrase, so nobody from {brand} needs one.",
        "zh": "已泄露的助记词应视为不再安全：请立即创建一个使用新助记词的新钱包并把资产转移过去，切勿导入旧助记词。"
        "{brand} 交易所账户没有助记词，{brand} 的任何人都不需要它。",
    },
    "secret_private_key": {
        "en": "A private key that has been shared must be treated as compromised: move your funds now to a new "
        "wallet with a new seed phrase; never import the old key.",
        "zh": "已泄露的私钥应视为不再安全：请立即把资产转移到使用新助记词的新钱包，切勿导入旧私钥。",
    },
    "secret_password": {
        "en": "Change that password now (Profile > Security Center > Login Password), and anywhere else you use it.",
        "zh": "请立即修改该密码（“个人中心 > 安全中心 > 登录密码”），其他使用相同密码的地方也要修改。",
    },
    "secret_otp": {
        "en": "If someone asked you for this code, it is a scam: stop replying to them. Never share 2FA codes. If "
        "someone may have your authenticator, reset your 2FA now (Profile > Security Center).",
        "zh": "如果有人向你索要这个验证码，那就是诈骗，请停止与其联系。谷歌验证码不要告诉任何人。"
        "如果怀疑谷歌验证器已泄露，请立即在“个人中心 > 安全中心”重置双重验证（2FA）。",
    },
    "secret_api_secret": {
        "en": "Delete that API key now (Profile > API Management) and create a new one.",
        "zh": "请立即删除该 API 密钥（“个人中心 > API 管理”）并重新创建。",
    },
    "intake_intro": {
        "en": "I'll pass this to {brand} support. A couple of details help the agent answer faster (type 'skip' to skip).",
        "zh": "我会把问题转给 {brand} 人工客服。补充几个信息能让客服更快处理（可输入“跳过”）。",
    },
    "intake_coin_network": {
        "en": "Which coin and network was it (for example USDT on TRC20)?",
        "zh": "是哪个币种、哪个网络（例如 USDT TRC20）？",
    },
    "intake_txid": {
        "en": "Do you have the transaction hash (TxID)? Paste it here.",
        "zh": "有交易哈希（TxID）吗？请直接粘贴。",
    },
    "intake_pair": {"en": "Which trading pair (for example BTC/USDT)?", "zh": "是哪个交易对（例如 BTC/USDT）？"},
    "intake_order_id": {"en": "What is the order ID?", "zh": "订单号是多少？"},
    "intake_uid": {
        "en": "What is your UID (Profile > UID)? Never send your password or a 2FA code.",
        "zh": "你的 UID 是多少（“个人中心 > UID”）？请勿发送密码或验证码。",
    },
    "ticket_opened": {
        "en": "Your ticket #{number} is open. {brand} support usually replies {reply_time}, right here in this chat. "
        "Type /ticket for its status or /cancel to close it.",
        "zh": "已为你创建工单 #{number}。{brand} 客服通常会在{reply_time}在此对话中回复。"
        "输入 /ticket 查看进度，输入 /cancel 关闭工单。",
    },
    "ticket_opened_urgent": {
        "en": "Your ticket #{number} is open and marked urgent. Type /ticket for its status.",
        "zh": "已为你创建紧急工单 #{number}。输入 /ticket 查看进度。",
    },
    "formal_ticket_opened_urgent": {
        "en": "We opened ticket #{number} for you and marked it urgent. To add anything, reply to this email and "
        "keep [#{number}] in the subject.",
        "zh": "我们已为你创建紧急工单 #{number}。如需补充，请直接回复本邮件并保留主题中的 [#{number}]。",
    },
    "group_secret_deleted": {
        "en": "I deleted a message here because it contained a secret (a seed phrase, private key, password or "
        "code). Never post these anywhere: {brand} staff will never ask for them. If it was yours, secure your "
        "account now.",
        "zh": "我删除了这里的一条消息，因为其中包含敏感信息（助记词、私钥、密码或验证码）。请勿在任何地方发布这些信息，"
        "{brand} 工作人员绝不会索要。如果是你发的，请立即保护好你的账户。",
    },
    "formal_ticket_opened": {
        "en": "Thank you for writing to {brand} support. We opened ticket #{number} for your request; an agent "
        "replies by email {formal_reply_time}. To add anything, reply to this email and keep [#{number}] in the "
        "subject.",
        "zh": "感谢你联系 {brand} 客服。我们已为你的请求创建工单 #{number}，客服会在{formal_reply_time}通过邮件回复。"
        "如需补充，请直接回复本邮件并保留主题中的 [#{number}]。",
    },
    "related_articles": {
        "en": "While you wait, these help-center articles may already answer your question:",
        "zh": "在等待期间，以下帮助中心文章也许已经能解答你的问题：",
    },
    "email_attachment_refused": {
        "en": "We could not accept these attachments: {names}. We accept images (PNG, JPEG, GIF, WebP) and PDF files "
        "up to {max_mb} MB each. Your message itself was received.",
        "zh": "以下附件无法接收：{names}。我们仅接收每个不超过 {max_mb} MB 的图片（PNG、JPEG、GIF、WebP）和 PDF 文件。"
        "你的邮件正文已收到。",
    },
    "ticket_followup": {
        "en": "Added to your ticket #{number}. The agent will reply here.",
        "zh": "已补充到工单 #{number}，客服会在此回复。",
    },
    "ticket_status": {
        "en": "Ticket #{number}: {status}.",
        "zh": "工单 #{number}：{status}。",
    },
    "ticket_none": {"en": "You have no open ticket.", "zh": "你当前没有处理中的工单。"},
    "ticket_cancelled": {
        "en": "Ticket #{number} is closed. Ask me anything else, or type /human if you need a person again.",
        "zh": "工单 #{number} 已关闭。还有其他问题可以继续问我，需要人工时输入 /human。",
    },
    "intake_cancelled": {"en": "OK, no ticket was opened.", "zh": "好的，未创建工单。"},
    "ticket_resolved": {
        "en": "Ticket #{number} has been resolved. How did we do? Reply with a rating from 1 (poor) to 5 (excellent).",
        "zh": "工单 #{number} 已处理完毕。请为本次服务打分：回复 1（很差）到 5（很好）。",
    },
    "internal_error": {
        "en": "Sorry, something went wrong on our side with that message. Please try again, or talk to a person.",
        "zh": "抱歉，处理这条消息时出了问题。请重试，或转人工客服。",
    },
    "slow_down": {
        "en": "You're sending messages very fast, so please slow down: I'll answer again in a few seconds.",
        "zh": "你发送消息太快了，请慢一点，几秒后我会继续回复。",
    },
    "rating_thanks": {"en": "Thank you for your feedback!", "zh": "感谢你的评价！"},
    "agent_reply": {"en": "{agent} ({brand} support): {text}", "zh": "{agent}（{brand} 客服）：{text}"},
    "attachment_needs_ticket": {
        "en": "You can attach screenshots once a ticket is open. Type /human to open one.",
        "zh": "创建工单后才能上传截图。输入 /human 创建工单。",
    },
    "attachment_added": {
        "en": "Screenshot added to ticket #{number}.",
        "zh": "截图已添加到工单 #{number}。",
    },
    "status_open": {"en": "waiting for an agent", "zh": "等待客服处理"},
    "status_claimed": {"en": "an agent is on it", "zh": "客服处理中"},
    "status_waiting_user": {"en": "the agent is waiting for your answer", "zh": "客服在等你的回复"},
    "status_resolved": {"en": "resolved", "zh": "已解决"},
    "status_cancelled": {"en": "cancelled", "zh": "已取消"},
    # The words "My tickets" and /tickets use (bot.desk.domain.USER_STATUS).
    "user_status_submitted": {"en": "submitted", "zh": "已提交"},
    "user_status_in_progress": {"en": "in progress", "zh": "处理中"},
    "user_status_waiting_for_you": {"en": "waiting for you", "zh": "等待你回复"},
    "user_status_resolved": {"en": "resolved", "zh": "已解决"},
    "user_status_cancelled": {"en": "cancelled", "zh": "已取消"},
    "tickets_header": {"en": "Your tickets:", "zh": "你的工单："},
    "ticket_form_duplicate": {
        "en": "You already have ticket #{number} open ({status}), so I added this to it instead of opening a second "
        "one. The agent will reply here.",
        "zh": "你已有处理中的工单 #{number}（{status}），已将此内容补充到该工单，不会重复创建。客服会在此回复。",
    },
    "ticket_form_empty": {
        "en": "Please describe your problem so an agent can help.",
        "zh": "请描述你遇到的问题，方便客服处理。",
    },
    "tickets_line": {"en": "#{number} {status} (updated {updated})", "zh": "#{number} {status}（更新于 {updated}）"},
    "tickets_none": {
        "en": "You have no tickets. Type /human to open one.",
        "zh": "你还没有工单。输入 /human 创建工单。",
    },
    "tickets_footer": {
        "en": "Type /ticket for the open one's status.",
        "zh": "输入 /ticket 查看处理中工单的进度。",
    },
}


# The platforms that keep a user's message after the bot redacts its copy, by channel name.
_KEEPS_USER_MESSAGES: Mapping[str, str] = {"telegram": "Telegram", "twitter": "X"}


class ReplyTexts:
    """Renders the bot's own messages for one brand."""

    def __init__(self, brand: BrandConfig) -> None:
        self._brand = brand

    def render(self, key: str, lang: Lang, **values: str) -> str:
        """The text `key` in `lang` with the brand and `values` filled in."""
        brand = self._brand
        fields = {
            "brand": brand.name,
            "domains": LIST_SEPARATOR[lang].join(brand.official_domains),
            "handles": LIST_SEPARATOR[lang].join(brand.official_handles),
            "reply_time": getattr(brand.reply_time, lang),
            "reply_time_chat": getattr(brand.reply_times.live_chat, lang),
            "reply_time_urgent": getattr(brand.reply_times.urgent, lang),
            "formal_reply_time": getattr(brand.formal_reply_time, lang),
            **values,
        }
        return _TEMPLATES[key][lang].format_map(fields)

    def join(self, keys: Iterable[str], lang: Lang) -> str:
        """Several texts as one message, a line apart."""
        return "\n\n".join(self.render(key, lang) for key in keys)

    def secret_warning(self, keys: Iterable[str], lang: Lang, channel: str) -> str:
        """The secret warnings `keys`, plus "delete your message too" where `channel` keeps the user's copy."""
        text = self.join(keys, lang)
        platform = _KEEPS_USER_MESSAGES.get(channel)
        if platform:
            text += "\n\n" + self.render("secret_delete_message", lang, platform=platform)
        return text
