"""Telegram channel: python-telegram-bot over real HTTP to a fake Bot API, with the real runtime on a SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from mnemonic import Mnemonic
from starlette.applications import Starlette
from telegram import Update
from telegram.error import RetryAfter

from adapters.telegram import (
    CALLBACK_KEY_PREFIX,
    MAX_CALLBACK_DATA_BYTES,
    OFFSET_CURSOR,
    SECRET_HEADER,
    BotIdentity,
    TelegramChannel,
    button_rows,
    callback_key,
    convert_update,
    default_file_url,
    lang_hint,
    retry_after_seconds,
    split_text,
    utf16_length,
)
from bot.app.config import Config, TelegramConfig
from bot.app.wiring import Core, Runtime, open_runtime
from bot.core.messages import Attachment, InboundMessage, Reply, Suggestion
from bot.core.ports import DeliveryError
from bot.core.router import RouterResult
from bot.knowledge.texts import ReplyTexts
from bot.store import TicketStatus
from tests.fakes.telegram_api import FakeTelegramApi, JsonObject, SentMessage

USER = 501
OTHER_USER = 502
GROUP = -1001234567890
ME = BotIdentity(123456, "OmniDeskBot")
WEBHOOK_SECRET = "s3cret-Webhook_token"
WEBHOOK_URL = "https://bot.example.com/telegram/webhook"


# -- fixtures ---------------------------------------------------------------------------------------------------


@dataclass
class Bench:
    """A running Telegram channel on the real runtime, and what reached the desk."""

    fake: FakeTelegramApi
    runtime: Runtime
    channel: TelegramChannel
    config: Config
    seen: list[InboundMessage] = field(default_factory=list)
    fail_inbound: int = 0  # how many of the next messages the desk "crashes" on

    async def sink(self, message: InboundMessage) -> RouterResult | None:
        self.seen.append(message)
        if self.fail_inbound:
            self.fail_inbound -= 1
            raise RuntimeError("the desk crashed")
        return await self.runtime.desk.handle(message)

    async def say(self, text: str, chat: JsonObject | None = None, sender: JsonObject | None = None) -> JsonObject:
        """A user writes; returns the Message JSON once the bot has confirmed the update."""
        message = self.fake.message(chat or self.fake.private_chat(USER), sender or self.fake.user(USER), text)
        await self.deliver(self.fake.message_update(message))
        return message

    async def deliver(self, update: JsonObject) -> int:
        update_id = self.fake.push_update(update)
        await self.fake.wait_confirmed(update_id)
        return update_id

    async def tap(self, sent: SentMessage, data: str, sender: JsonObject | None = None) -> str:
        """The user taps a button of a message the bot sent; returns the callback query id."""
        update = self.fake.callback_update(sender or self.fake.user(USER), self.fake.sent_message_json(sent), data)
        await self.deliver(update)
        return str(update["callback_query"]["id"])


def telegram_config(fake: FakeTelegramApi, **changes: Any) -> TelegramConfig:
    return TelegramConfig(token=fake.token, base_url=fake.base_url, **changes)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi(bot_id=ME.id, bot_username=ME.username) as api:
        yield api


async def _bench(fake: FakeTelegramApi, db_config: Config, core: Core, tg: TelegramConfig, **kw: Any) -> Bench:
    runtime = await open_runtime(db_config, core_parts=core)
    texts = ReplyTexts(db_config.brand)
    channel = TelegramChannel(
        tg,
        runtime.store,
        scanner=runtime.core.scanner,
        group_warning=lambda lang: texts.render("group_secret_deleted", lang),
        poll_timeout=1,
        error_backoff=0.05,
        **kw,
    )
    runtime.channels["telegram"] = channel
    bench = Bench(fake, runtime, channel, db_config)
    await channel.start(bench.sink)
    return bench


@pytest.fixture
async def bench(fake: FakeTelegramApi, db_config: Config, core: Core) -> AsyncIterator[Bench]:
    b = await _bench(fake, db_config, core, telegram_config(fake))
    yield b
    await b.channel.stop()
    await b.runtime.close()


@pytest.fixture
async def hook(fake: FakeTelegramApi, db_config: Config, core: Core) -> AsyncIterator[tuple[Bench, httpx.AsyncClient]]:
    tg = telegram_config(fake, mode="webhook", webhook_secret=WEBHOOK_SECRET, webhook_url=WEBHOOK_URL)
    b = await _bench(fake, db_config, core, tg)
    app = Starlette(routes=[b.channel.webhook_route()])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://omnidesk.test") as client:
        yield b, client
    await b.channel.stop()
    await b.runtime.close()


# -- conversion (pure) ------------------------------------------------------------------------------------------


def update(data: JsonObject) -> Update:
    parsed = Update.de_json(data, None)
    assert parsed is not None
    return parsed


def test_a_private_text_message_becomes_an_inbound_message() -> None:
    api = FakeTelegramApi()
    message = api.message(api.private_chat(USER), api.user(USER, language_code="en-US"), "where is my UID?")
    raw = api.message_update(message)
    converted = convert_update(update(raw), ME)
    assert converted is not None and not converted.is_group and converted.callback_query_id is None
    inbound = converted.message
    assert (inbound.channel, inbound.user_id, inbound.conversation_id) == ("telegram", "501", "501")
    assert inbound.text == "where is my UID?" and inbound.lang_hint == "en"
    assert inbound.message_id == f"{raw['update_id']}:{USER}:{message['message_id']}"
    assert inbound.sent_at.tzinfo is not None
    assert converted.user_message_id == message["message_id"]


@pytest.mark.parametrize(
    ("code", "hint"), [("zh-hans", "zh"), ("zh-TW", "zh"), ("zh", "zh"), ("en-GB", "en"), ("ru", "en"), (None, None)]
)
def test_language_hint_from_the_users_app_language(code: str | None, hint: str | None) -> None:
    assert lang_hint(code) == hint


def test_an_edited_message_is_routed_as_a_new_one_with_the_edit_date_in_its_id() -> None:
    api = FakeTelegramApi()
    message = api.message(api.private_chat(USER), api.user(USER), "how do I reset 2FA")
    raw = api.message_update({**message, "text": "how do I reset my 2FA?"}, edited=True)
    converted = convert_update(update(raw), ME)
    assert converted is not None
    edit_date = raw["edited_message"]["edit_date"]
    assert converted.message.message_id == f"{raw['update_id']}:{USER}:{message['message_id']}:edited:{edit_date}"
    assert converted.message.text == "how do I reset my 2FA?"
    assert converted.message.sent_at == datetime.fromtimestamp(edit_date, UTC)


def test_a_callback_query_becomes_its_data_as_text() -> None:
    api = FakeTelegramApi()
    bot_message = {**api.message(api.private_chat(USER), api.bot_user(), "Did you mean"), "from": api.bot_user()}
    raw = api.callback_update(api.user(USER, language_code="zh-hans"), bot_message, "/faq reset-2fa")
    converted = convert_update(update(raw), ME)
    assert converted is not None
    assert converted.message.text == "/faq reset-2fa" and converted.message.conversation_id == str(USER)
    assert converted.callback_query_id == raw["callback_query"]["id"] and converted.user_message_id is None
    assert converted.message.lang_hint == "zh"


def test_photos_and_documents_become_attachments() -> None:
    api = FakeTelegramApi()
    photo = api.message(api.private_chat(USER), api.user(USER), photo_file_id="PHOTO-L", caption="my deposit screen")
    converted = convert_update(update(api.message_update(photo)), ME)
    assert converted is not None
    assert converted.message.attachments == (Attachment("photo", "PHOTO-L", "image/jpeg", "my deposit screen"),)
    assert converted.message.text == "my deposit screen"
    document = {
        "file_id": "DOC-1",
        "file_unique_id": "d1",
        "file_name": "statement.pdf",
        "mime_type": "application/pdf",
    }
    doc = api.message(api.private_chat(USER), api.user(USER), document=document)
    converted = convert_update(update(api.message_update(doc)), ME)
    assert converted is not None
    assert converted.message.attachments == (Attachment("document", "DOC-1", "application/pdf", None),)
    assert converted.message.text == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("how do I reset my 2FA?", None),  # not addressed to the bot
        ("@OmniDeskBot how do I reset my 2FA?", "how do I reset my 2FA?"),
        ("hey @omnideskbot, where is my UID", "hey where is my UID"),
        ("/help@OmniDeskBot", "/help"),
        ("/lang@OmniDeskBot zh", "/lang zh"),
        ("/help", "/help"),
        ("/help@OtherBot", None),  # another bot's command
        ("mail me at support@OmniDeskBot.example", None),
        ("@OmniDeskBotFan hello", None),
    ],
)
def test_group_messages_only_when_addressed_with_the_mention_stripped(text: str, expected: str | None) -> None:
    api = FakeTelegramApi()
    raw = api.message_update(api.message(api.group_chat(GROUP), api.user(USER), text))
    converted = convert_update(update(raw), ME)
    if expected is None:
        assert converted is None
    else:
        assert converted is not None and converted.is_group
        assert converted.message.text == expected and converted.message.conversation_id == f"{GROUP}:{USER}"


def test_a_group_reply_to_the_bot_is_addressed_to_it() -> None:
    api = FakeTelegramApi()
    bots = api.message(api.group_chat(GROUP), api.bot_user(), "Did you mean one of these?")
    reply = api.message(api.group_chat(GROUP), api.user(USER), "the second one", reply_to=bots)
    converted = convert_update(update(api.message_update(reply)), ME)
    assert converted is not None and converted.message.text == "the second one"
    someone = api.message(api.group_chat(GROUP), api.user(OTHER_USER), "hi")
    to_someone = api.message(api.group_chat(GROUP), api.user(USER), "hi back", reply_to=someone)
    assert convert_update(update(api.message_update(to_someone)), ME) is None


def test_bots_stickers_and_unknown_updates_are_not_routed() -> None:
    api = FakeTelegramApi()
    other_bot = {"id": 999, "is_bot": True, "first_name": "Spam", "username": "SpamBot"}
    assert convert_update(update(api.message_update(api.message(api.private_chat(USER), other_bot, "hi"))), ME) is None
    sticker = api.message(api.private_chat(USER), api.user(USER))
    sticker["sticker"] = {
        "file_id": "S",
        "file_unique_id": "s",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    assert convert_update(update(api.message_update(sticker)), ME) is None
    assert convert_update(update({"update_id": 7, "some_future_update": {"x": 1}}), ME) is None


def test_split_text_prefers_paragraphs_then_lines_then_anywhere() -> None:
    assert split_text("short") == ["short"]
    assert split_text("") == []
    paragraphs = "a" * 3000 + "\n\n" + "b" * 1999
    assert split_text(paragraphs) == ["a" * 3000, "b" * 1999]
    lines = "a" * 3000 + "\n" + "b" * 3000
    assert split_text(lines) == ["a" * 3000, "b" * 3000]
    assert split_text("x" * 9000) == ["x" * 4096, "x" * 4096, "x" * 808]
    emoji = "😀" * 3000  # two UTF-16 units each, as Telegram counts
    parts = split_text(emoji)
    assert [utf16_length(p) for p in parts] == [4096, 1904] and "".join(parts) == emoji


def test_buttons_add_the_human_choice_once_and_in_the_replys_language() -> None:
    choices = (Suggestion("2FA", "/faq reset-2fa"), Suggestion("Talk to a human", "/human"))
    assert button_rows(Reply("Did you mean", choices, offer_human=True)) == [
        ("2FA", "/faq reset-2fa"),
        ("Talk to a human", "/human"),
    ]
    english = Reply("Answer.", offer_human=True, lang="en", human_label="Talk to a human")
    assert button_rows(english) == [("Talk to a human", "/human")]
    chinese = Reply("请按以下步骤操作。", offer_human=True, lang="zh", human_label="转人工客服")
    assert button_rows(chinese) == [("转人工客服", "/human")]
    # The label is the desk's, never guessed here: a reply without one (an old outbox row) shows the command.
    assert button_rows(Reply("请按以下步骤操作。", offer_human=True)) == [("/human", "/human")]
    assert button_rows(Reply("Answer.")) == []


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
@pytest.mark.parametrize("timedelta_mode", ["true", "false"])
def test_retry_after_in_seconds_whichever_type_ptb_gives(timedelta_mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", timedelta_mode)
    assert retry_after_seconds(RetryAfter(7)) == 7.0


def test_callback_keys_only_for_payloads_too_long_for_telegram() -> None:
    assert callback_key("/faq reset-2fa") is None
    key = callback_key("/faq " + "x" * 80)
    assert key is not None and key.startswith(CALLBACK_KEY_PREFIX) and len(key.encode()) <= MAX_CALLBACK_DATA_BYTES
    assert callback_key("/category 交易" * 6) is not None  # 64 bytes, not 64 characters
    assert default_file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert default_file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert default_file_url("http://tg.local/bot{token}") == "http://tg.local/file/bot{token}"


# -- round trips over HTTP --------------------------------------------------------------------------------------


async def test_a_question_is_answered_in_plain_text_with_a_human_button(bench: Bench) -> None:
    await bench.say("how do I reset my 2FA?")
    [answer] = bench.fake.sent
    assert answer.chat_id == USER and "authenticator" in answer.text
    assert "parse_mode" not in answer.params
    assert answer.buttons == [("Talk to a human", "/human")]
    assert await bench.runtime.store.cursor_get(OFFSET_CURSOR) == str(bench.fake.confirmed_offset)


async def test_a_clarify_choice_is_tapped_answered_and_routed(bench: Bench) -> None:
    await bench.say("code")
    [choices] = bench.fake.sent
    labels = [label for label, _ in choices.buttons]
    assert "Talk to a human" in labels and labels.count("Talk to a human") == 1
    _, payload = choices.buttons[0]
    assert payload.startswith("/faq ")
    query_id = await bench.tap(choices, payload)
    assert query_id in bench.fake.answered_callbacks
    assert bench.seen[-1].text == payload
    assert len(bench.fake.sent) == 2 and "Did you mean" not in bench.fake.sent[-1].text


async def test_a_long_payload_goes_through_a_stored_key(bench: Bench) -> None:
    payload = "/faq " + "withdrawal-fees-limits-" * 4
    await bench.channel.send(str(USER), Reply("Pick one", (Suggestion("Fees", payload),)))
    [sent] = bench.fake.sent
    [(_, data)] = sent.buttons
    assert data.startswith(CALLBACK_KEY_PREFIX) and len(data.encode()) <= MAX_CALLBACK_DATA_BYTES
    await bench.tap(sent, data)
    assert bench.seen[-1].text == payload


async def test_a_secret_in_a_group_is_redacted_the_message_deleted_and_a_warning_posted(bench: Bench) -> None:
    phrase = Mnemonic("english").generate(128)
    group = bench.fake.group_chat(GROUP)
    message = await bench.say(f"@OmniDeskBot my seed phrase is {phrase}", chat=group)
    assert (GROUP, message["message_id"]) in bench.fake.deleted
    warning = bench.fake.texts(GROUP)[-1]
    assert "seed" in warning.lower() or "recovery" in warning.lower()
    assert phrase not in warning and " ".join(phrase.split()[:3]) not in warning
    transcript = "\n".join(m.text for m in await bench.runtime.desk.history("telegram", f"{GROUP}:{USER}"))
    assert "[REDACTED" in transcript and phrase not in transcript


async def test_a_secret_in_a_group_the_bot_cannot_delete_still_gets_the_warning(bench: Bench) -> None:
    group = bench.fake.group_chat(GROUP)
    pending = bench.fake.message(group, bench.fake.user(USER), "@OmniDeskBot my password is Hunter2-Secret!")
    bench.fake.undeletable.add((GROUP, pending["message_id"]))
    await bench.deliver(bench.fake.message_update(pending))
    assert bench.fake.deleted == [] and len(bench.fake.texts(GROUP)) == 1
    assert "Hunter2-Secret" not in bench.fake.texts(GROUP)[0]
    await bench.say("@OmniDeskBot where is my UID?", chat=group)  # the loop carried on
    assert len(bench.fake.texts(GROUP)) == 2


async def test_a_secret_in_a_private_chat_is_warned_about_and_not_deleted(bench: Bench) -> None:
    await bench.say("my password is Hunter2-Secret!")
    assert bench.fake.deleted == [] and "Hunter2-Secret" not in bench.fake.texts(USER)[-1]


async def test_group_messages_without_a_mention_are_ignored(bench: Bench) -> None:
    group = bench.fake.group_chat(GROUP)
    await bench.say("how do I reset my 2FA?", chat=group)
    assert bench.fake.sent == [] and bench.seen == []
    await bench.say("/help@OmniDeskBot", chat=group)
    assert bench.seen[-1].text == "/help" and len(bench.fake.texts(GROUP)) == 1
    bots = bench.fake.sent[-1]
    await bench.say("where is my UID", chat=group, sender=bench.fake.user(OTHER_USER))
    assert len(bench.fake.sent) == 1
    reply = bench.fake.message(
        group, bench.fake.user(USER), "where is my UID", reply_to=bench.fake.sent_message_json(bots)
    )
    await bench.deliver(bench.fake.message_update(reply))
    assert len(bench.fake.texts(GROUP)) == 2


async def test_an_escalation_opens_a_ticket_and_the_agents_reply_is_delivered(bench: Bench) -> None:
    await bench.say("my USDT deposit never arrived, I want to talk to a real person")
    store = bench.runtime.store
    for _ in range(3):
        if await store.open_ticket_for("telegram", str(USER)) is not None:
            break
        await bench.say("skip")
    ticket = await store.open_ticket_for("telegram", str(USER))
    assert ticket is not None and ticket.status is TicketStatus.OPEN
    assert f"#{ticket.number}" in bench.fake.texts(USER)[-1]
    await bench.runtime.tickets.reply(ticket.number, "alice", "Can you send the TxID?")
    assert bench.fake.sent[-1].chat_id == USER
    assert bench.fake.sent[-1].text.startswith("alice (ExampleX support): Can you send the TxID?")


async def test_an_edited_message_is_answered_again(bench: Bench) -> None:
    first = await bench.say("how do I reset my 2FA?")
    await bench.deliver(bench.fake.message_update({**first, "text": "where is my UID?"}, edited=True))
    assert len(bench.fake.sent) == 2 and bench.seen[-1].text == "where is my UID?"


async def test_the_same_update_delivered_twice_is_answered_once(bench: Bench) -> None:
    raw = bench.fake.message_update(bench.fake.message(bench.fake.private_chat(USER), bench.fake.user(USER), "fees"))
    bench.fake.push_update(raw)
    await bench.deliver(raw)  # Telegram hands the same update out again (e.g. after a lost confirmation)
    assert len(bench.seen) == 2 and bench.seen[0].message_id == bench.seen[1].message_id
    assert len(bench.fake.sent) == 1


async def test_a_restart_resumes_at_the_saved_offset_without_loss_or_repeat(
    bench: Bench, core: Core, fake: FakeTelegramApi
) -> None:
    first = bench.fake.message_update(bench.fake.message(fake.private_chat(USER), fake.user(USER), "where is my UID?"))
    first_id = await bench.deliver(first)
    assert await bench.runtime.store.cursor_get(OFFSET_CURSOR) == str(first_id + 1)
    await bench.channel.stop()
    await bench.runtime.close()
    # Written while OmniDesk is down; and the confirmation of the first update never reached Telegram.
    fake.confirmed_offset = 0
    fake.push_update(first)
    second = fake.message_update(fake.message(fake.private_chat(USER), fake.user(USER), "how do I reset my 2FA?"))
    second_id = fake.push_update(second)
    calls_before = len(fake.record.get_updates_offsets)

    restarted = await _bench(fake, bench.config, core, telegram_config(fake))
    bench.runtime, bench.channel = restarted.runtime, restarted.channel  # the fixture closes these
    await fake.wait_confirmed(second_id)
    assert fake.record.get_updates_offsets[calls_before] == first_id + 1
    assert [m.text for m in restarted.seen] == ["how do I reset my 2FA?"]
    assert len(fake.texts(USER)) == 2


async def test_a_desk_failure_does_not_lose_the_update(bench: Bench) -> None:
    bench.fail_inbound = 1
    await bench.say("where is my UID?")
    assert len(bench.seen) == 2 and bench.seen[0].message_id == bench.seen[1].message_id
    assert len(bench.fake.sent) == 1


async def test_stop_waits_for_the_update_in_hand(bench: Bench) -> None:
    in_hand, release = asyncio.Event(), asyncio.Event()
    handled: list[str] = []

    async def slow(message: InboundMessage) -> RouterResult | None:
        in_hand.set()
        await release.wait()
        handled.append(message.message_id)
        return None

    await bench.channel.stop()
    await bench.channel.start(slow)
    raw = bench.fake.message_update(bench.fake.message(bench.fake.private_chat(USER), bench.fake.user(USER), "hi"))
    update_id = bench.fake.push_update(raw)
    await asyncio.wait_for(in_hand.wait(), 10)
    stopping = asyncio.create_task(bench.channel.stop())
    await asyncio.sleep(0.1)
    assert not stopping.done()
    release.set()
    await stopping
    assert len(handled) == 1
    assert await bench.runtime.store.cursor_get(OFFSET_CURSOR) == str(update_id + 1)


# -- webhook ----------------------------------------------------------------------------------------------------


async def test_webhook_mode_registers_the_url_with_the_secret_and_refuses_updates_once_stopped(
    hook: tuple[Bench, httpx.AsyncClient],
) -> None:
    b, client = hook
    assert b.fake.webhook is not None
    assert b.fake.webhook["url"] == WEBHOOK_URL and b.fake.webhook["secret_token"] == WEBHOOK_SECRET
    assert b.fake.calls_of("getUpdates") == []
    await b.channel.stop()
    raw = b.fake.message_update(b.fake.message(b.fake.private_chat(USER), b.fake.user(USER), "where is my UID?"))
    response = await client.post("/telegram/webhook", json=raw, headers={SECRET_HEADER: WEBHOOK_SECRET})
    assert response.status_code == 503 and b.seen == []  # stopped: Telegram will deliver it again


async def test_webhook_requests_need_the_secret(hook: tuple[Bench, httpx.AsyncClient]) -> None:
    b, client = hook
    raw = b.fake.message_update(b.fake.message(b.fake.private_chat(USER), b.fake.user(USER), "where is my UID?"))
    missing = await client.post("/telegram/webhook", json=raw)
    wrong = await client.post("/telegram/webhook", json=raw, headers={SECRET_HEADER: WEBHOOK_SECRET + "x"})
    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert b.seen == [] and b.fake.sent == []
    right = await client.post("/telegram/webhook", json=raw, headers={SECRET_HEADER: WEBHOOK_SECRET})
    assert right.status_code == 200
    again = await client.post("/telegram/webhook", json=raw, headers={SECRET_HEADER: WEBHOOK_SECRET})
    assert again.status_code == 200
    assert len(b.fake.sent) == 1 and "UID" in b.fake.sent[0].text


async def test_webhook_rejects_malformed_json_and_skips_unknown_updates(hook: tuple[Bench, httpx.AsyncClient]) -> None:
    b, client = hook
    headers = {SECRET_HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"}
    assert (await client.post("/telegram/webhook", content=b"{not json", headers=headers)).status_code == 400
    assert (await client.post("/telegram/webhook", json=[1, 2], headers=headers)).status_code == 400
    future = {"update_id": 77, "some_future_update": {"x": 1}}
    assert (await client.post("/telegram/webhook", json=future, headers=headers)).status_code == 200
    post = {"message_id": 5, "date": 1, "chat": {"id": -1009, "type": "channel", "title": "News"}, "text": "hello"}
    assert (
        await client.post("/telegram/webhook", json={"update_id": 78, "channel_post": post}, headers=headers)
    ).status_code == 200
    assert b.seen == [] and b.fake.sent == []


# -- delivery errors --------------------------------------------------------------------------------------------


async def test_flood_control_becomes_a_retry_after_and_the_reply_is_sent_later(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB's coming behaviour (the int form is unit-tested below)
    bench.fake.rate_limit_next_send(7)
    with pytest.raises(DeliveryError) as error:
        await bench.channel.send(str(USER), Reply("hello"))
    assert error.value.retry_after == 7 and not error.value.permanent
    bench.fake.rate_limit_next_send(1)
    await bench.say("where is my UID?")  # through the desk: the outbox keeps it for later
    assert bench.fake.sent == []
    await asyncio.sleep(1.1)
    assert await bench.runtime.outbox.flush() == 1
    assert "UID" in bench.fake.sent[0].text


async def test_a_user_who_blocked_the_bot_is_a_permanent_failure_recorded_once(bench: Bench) -> None:
    bench.fake.block_next_send()
    with pytest.raises(DeliveryError) as error:
        await bench.channel.send(str(USER), Reply("hello"))
    assert error.value.permanent
    assert await bench.runtime.store.cursor_get(f"telegram_inactive:{USER}") is not None
    bench.fake.block_next_send()
    await bench.say("where is my UID?")
    assert await bench.runtime.outbox.flush() == 0  # given up on, not retried in a loop
    assert len(bench.fake.calls_of("sendMessage")) == 2


async def test_chat_not_found_is_permanent_and_server_errors_are_temporary(bench: Bench) -> None:
    bench.fake.missing_chats.add(777)
    with pytest.raises(DeliveryError) as gone:
        await bench.channel.send("777", Reply("hello"))
    assert gone.value.permanent
    assert await bench.runtime.store.cursor_get("telegram_inactive:777") is not None
    bench.fake.fail_next("sendMessage", 502, "Bad Gateway")
    with pytest.raises(DeliveryError) as busy:
        await bench.channel.send(str(USER), Reply("hello"))
    assert not busy.value.permanent and busy.value.retry_after is None


async def test_an_attachment_is_fetched_through_get_file(bench: Bench) -> None:
    assert await bench.channel.fetch_attachment("PHOTO-L") == b"fake file: files/PHOTO-L"
    assert bench.fake.calls_of("getFile") == [{"file_id": "PHOTO-L"}]
    bench.fake.fail_next("getFile", 400, "Bad Request: invalid file_id")
    with pytest.raises(OSError):
        await bench.channel.fetch_attachment("nope")


async def test_a_long_reply_is_split_on_a_paragraph_boundary(bench: Bench) -> None:
    first, second = "A" * 3000, "B" * 1999
    text = f"{first}\n\n{second}"
    assert len(text) > 5000
    await bench.channel.send(str(USER), Reply(text, (Suggestion("More", "/help"),)))
    assert [m.text for m in bench.fake.sent] == [first, second]
    assert bench.fake.sent[0].buttons == [] and bench.fake.sent[1].buttons == [("More", "/help")]


# -- groups: secrets, members, supergroups; malformed updates ---------------------------------------------------

BASIC_GROUP = -4012345
SUPERGROUP = -1009876543210
INCIDENT = "my account was hacked, someone withdrew all my USDT"


async def test_a_secret_posted_in_a_group_without_mentioning_the_bot_is_deleted_with_a_short_warning(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    phrase = Mnemonic("english").generate(128)
    group = bench.fake.group_chat(GROUP)
    message = await bench.say(f"guys is this my seed phrase? {phrase}", chat=group)
    assert (GROUP, message["message_id"]) in bench.fake.deleted
    (warning,) = bench.fake.texts(GROUP)
    assert "deleted a message" in warning
    assert " ".join(phrase.split()[:3]) not in warning
    # Not addressed to the bot: not routed, not stored, not logged.
    assert bench.seen == []
    assert await bench.runtime.desk.history("telegram", f"{GROUP}:{USER}") == []
    assert " ".join(phrase.split()[:3]) not in caplog.text
    # Nothing else unaddressed is answered.
    await bench.say("anyone know the BTC withdrawal fee?", chat=group)
    assert len(bench.fake.sent) == 1 and bench.seen == []


async def test_an_unaddressed_secret_the_bot_cannot_delete_still_gets_the_warning(bench: Bench) -> None:
    group = bench.fake.group_chat(GROUP)
    pending = bench.fake.message(group, bench.fake.user(USER), "my password is Hunter2-Secret!")
    bench.fake.undeletable.add((GROUP, pending["message_id"]))
    await bench.deliver(bench.fake.message_update(pending))
    assert bench.fake.deleted == []
    assert len(bench.fake.texts(GROUP)) == 1 and "Hunter2-Secret" not in bench.fake.texts(GROUP)[0]


async def test_in_a_group_each_member_is_a_conversation_and_ticket_of_their_own_and_replies_quote(
    bench: Bench,
) -> None:
    group = bench.fake.group_chat(GROUP)
    ann = await bench.say(f"@OmniDeskBot {INCIDENT}", chat=group)
    bob = await bench.say(f"@OmniDeskBot {INCIDENT}", chat=group, sender=bench.fake.user(OTHER_USER, "Bob"))
    store = bench.runtime.store
    ann_ticket = await store.open_ticket_for("telegram", f"{GROUP}:{USER}")
    bob_ticket = await store.open_ticket_for("telegram", f"{GROUP}:{OTHER_USER}")
    assert ann_ticket is not None and bob_ticket is not None and ann_ticket.number != bob_ticket.number
    quoted = [m.params.get("reply_parameters", {}).get("message_id") for m in bench.fake.sent]
    assert quoted == [ann["message_id"], bob["message_id"]]
    # An agent's answer quotes the member's message too, and goes to the group.
    await bench.runtime.tickets.reply(bob_ticket.number, "alice", "Bob, please freeze your account now.")
    last = bench.fake.sent[-1]
    assert last.chat_id == GROUP and last.params["reply_parameters"]["message_id"] == bob["message_id"]
    # Private chats do not quote.
    await bench.say("where is my UID?")
    assert "reply_parameters" not in bench.fake.sent[-1].params


async def test_a_reply_quoting_a_deleted_message_is_still_sent(bench: Bench) -> None:
    group = bench.fake.group_chat(GROUP)
    message = await bench.say("@OmniDeskBot my password is Hunter2-Secret! how do I reset 2FA?", chat=group)
    assert (GROUP, message["message_id"]) in bench.fake.deleted  # the reply quotes a message that is gone
    assert bench.fake.sent and bench.fake.sent[0].params["reply_parameters"]["allow_sending_without_reply"]


async def test_a_group_upgraded_to_a_supergroup_moves_its_conversations_and_tickets_and_the_reply_is_resent(
    bench: Bench,
) -> None:
    group = bench.fake.group_chat(BASIC_GROUP)
    await bench.say(f"@OmniDeskBot {INCIDENT}", chat=group)
    store = bench.runtime.store
    ticket = await store.open_ticket_for("telegram", f"{BASIC_GROUP}:{USER}")
    assert ticket is not None
    bench.fake.migrated[BASIC_GROUP] = SUPERGROUP
    await bench.runtime.tickets.reply(ticket.number, "alice", "We froze your account.")
    assert bench.fake.texts(SUPERGROUP) == ["alice (ExampleX support): We froze your account."]
    moved = await store.get_ticket(ticket.number)
    assert moved.conversation_id == f"{SUPERGROUP}:{USER}" and moved.is_open
    assert await store.cursor_get(f"telegram_inactive:{BASIC_GROUP}:{USER}") is None
    assert await store.outbox_pending() == []
    # The member writes on in the supergroup: the same conversation and ticket.
    await bench.say("@OmniDeskBot thanks, what now?", chat=bench.fake.group_chat(SUPERGROUP))
    assert bench.fake.texts(SUPERGROUP)[-1].startswith("Added to your ticket #" + str(ticket.number))
    # A reply still queued for the old id goes to the supergroup.
    await bench.channel.send(f"{BASIC_GROUP}:{USER}", Reply("late reply"))
    assert bench.fake.texts(SUPERGROUP)[-1] == "late reply"


async def test_the_upgrade_announcement_moves_the_groups_conversations_at_once(bench: Bench) -> None:
    group = bench.fake.group_chat(BASIC_GROUP)
    await bench.say(f"@OmniDeskBot {INCIDENT}", chat=group)
    ticket = await bench.runtime.store.open_ticket_for("telegram", f"{BASIC_GROUP}:{USER}")
    assert ticket is not None
    service = bench.fake.message(group, bench.fake.user(USER))
    service["migrate_to_chat_id"] = SUPERGROUP
    await bench.deliver(bench.fake.message_update(service))
    assert (await bench.runtime.store.get_ticket(ticket.number)).conversation_id == f"{SUPERGROUP}:{USER}"
    await bench.runtime.tickets.reply(ticket.number, "alice", "Moved with you.")
    assert bench.fake.texts(SUPERGROUP) == ["alice (ExampleX support): Moved with you."]
    # No bounce off the old id first: the only message to it is the acknowledgement from before the upgrade.
    assert [c["chat_id"] for c in bench.fake.calls_of("sendMessage")] == [BASIC_GROUP, SUPERGROUP]


@pytest.mark.parametrize("field", ["text", "caption"])
async def test_a_non_string_text_is_skipped_with_a_log_line_not_a_traceback(
    bench: Bench, caplog: pytest.LogCaptureFixture, field: str
) -> None:
    raw = bench.fake.message(bench.fake.private_chat(USER), bench.fake.user(USER))
    raw[field] = {"not": "a string"} if field == "text" else 12345
    update_id = await bench.deliver(bench.fake.message_update(raw))
    skipped = [r for r in caplog.records if f"update {update_id} skipped" in r.getMessage()]
    assert skipped and all(r.exc_info is None for r in skipped)
    assert bench.seen == [] and bench.fake.sent == []
    await bench.say("where is my UID?")  # the loop carried on
    assert len(bench.fake.sent) == 1


async def test_the_rating_is_an_inline_keyboard(bench: Bench) -> None:
    await bench.say("/human")
    await bench.say("skip")
    store = bench.runtime.store
    ticket = await store.open_ticket_for("telegram", str(USER))
    assert ticket is not None
    await bench.runtime.tickets.resolve(ticket.number, "alice")
    rating = bench.fake.sent[-1]
    stars = [(label, data) for label, data in rating.buttons if data != "/human"]
    assert stars == [("★" * n, str(n)) for n in range(1, 6)]
    await bench.tap(rating, "4")
    assert await store.rating(ticket.number) == 4
