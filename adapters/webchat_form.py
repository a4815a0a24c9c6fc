"""The help center's ticket pages for visitors who prefer a form to the chat: open a ticket, list one's tickets, read
one with its redacted history and reply to it. Plain HTML forms (POST, anti-forgery token): no JavaScript needed.

The visitor is the widget's visitor: the same signed session, kept in an HttpOnly cookie (`SESSION_COOKIE`). What is
submitted is a chat message like any other (`/newticket <topic>` and the description, as the widget's own form
sends it), handed to the same desk and router: the secret guard redacts it, the duplicate check offers the open
ticket, and the bot's replies (the warning, the ticket's number) are shown on the ticket page it leads to.
"""

from __future__ import annotations

import hmac
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.helpcenter import same_origin
from adapters.webchat_tickets import CHANNEL, LISTED, Transcripts, UserTickets, ticket_history, visitor_message
from bot.core.messages import InboundMessage, Lang
from bot.core.ports import StoredMessage
from bot.desk.domain import USER_STATUS

TICKET_FORM_COMMAND = "/newticket"  # what the router's TicketFormHandler answers (handlers.tickets)
OTHER_TOPIC = "other"
MAX_DESCRIPTION_CHARS = 1500  # as the widget's form
MAX_ANSWER_CHARS = 200
MAX_EMAIL_CHARS = 254
MAX_FILES = 3
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_REPLY_ERRORS = frozenset({"expired", "closed", "empty", "too_long", "rate_limited"})  # shown on the ticket page

UI: Mapping[Lang, Mapping[str, str]] = MappingProxyType(
    {
        "en": MappingProxyType(
            {
                "form_title": "Open a ticket",
                "form_intro": "Tell us what happened and an agent will answer on your ticket's page and in the chat.",
                "never_share": "Never enter your password, 2FA codes, seed phrase or private key: we never ask for them.",
                "topic": "Topic",
                "other": "Something else",
                "description": "What happened?",
                "details": "Details that help (optional)",
                "email": "Email for the answer (optional)",
                "files": "Screenshots (optional): PNG or JPEG, up to {files} files of {mb} MB each",
                "submit": "Open ticket",
                "error_title": "Please check the form:",
                "empty": "Please describe the problem.",
                "too_long": "Please keep it under {max} characters.",
                "bad_email": "This is not an email address.",
                "bad_topic": "Please choose a topic from the list.",
                "too_many_files": "Attach at most {files} screenshots.",
                "too_large": "{name}: screenshots can be at most {mb} MB.",
                "unsupported_type": "{name}: only PNG and JPEG screenshots can be attached.",
                "quota": "Screenshots cannot be accepted right now. Please try again later.",
                "rate_limited": "You are sending messages too quickly. Please wait a moment and send it again.",
                "expired": "This page had expired, so nothing was sent. Please send it again.",
                "not_opened": "The ticket could not be opened: {reply}",
                "ticket_title": "Ticket #{number}",
                "status": "Status",
                "updated": "Last update",
                "you": "You",
                "assistant": "{brand} assistant",
                "reply_label": "Reply to the agent",
                "reply_button": "Send",
                "closed": "This ticket is closed.",
                "new_ticket": "Open a new ticket",
                "my_tickets": "My tickets",
                "no_tickets": "You have no tickets in this browser yet.",
                "not_found": "No such ticket in this browser.",
                "number": "Ticket",
            }
        ),
        "zh": MappingProxyType(
            {
                "form_title": "提交工单",
                "form_intro": "请描述你遇到的问题，客服会在工单页面和在线客服中回复你。",
                "never_share": "切勿填写密码、谷歌验证码、助记词或私钥：我们绝不会索要。",
                "topic": "问题类型",
                "other": "其他",
                "description": "发生了什么？",
                "details": "补充信息（选填）",
                "email": "接收回复的邮箱（选填）",
                "files": "截图（选填）：PNG 或 JPEG，最多 {files} 张，每张不超过 {mb} MB",
                "submit": "提交工单",
                "error_title": "请检查以下内容：",
                "empty": "请填写问题描述。",
                "too_long": "请不要超过 {max} 个字符。",
                "bad_email": "邮箱地址格式不正确。",
                "bad_topic": "请从列表中选择问题类型。",
                "too_many_files": "最多上传 {files} 张截图。",
                "too_large": "{name}：截图不能超过 {mb} MB。",
                "unsupported_type": "{name}：仅支持 PNG 和 JPEG 截图。",
                "quota": "暂时无法接收截图，请稍后再试。",
                "rate_limited": "你发送得太快了，请稍等片刻再提交。",
                "expired": "页面已过期，内容未发送。请重新提交。",
                "not_opened": "工单未能创建：{reply}",
                "ticket_title": "工单 #{number}",
                "status": "状态",
                "updated": "最近更新",
                "you": "你",
                "assistant": "{brand} 客服助手",
                "reply_label": "回复客服",
                "reply_button": "发送",
                "closed": "该工单已关闭。",
                "new_ticket": "提交新工单",
                "my_tickets": "我的工单",
                "no_tickets": "此浏览器中还没有你的工单。",
                "not_found": "此浏览器中没有这个工单。",
                "number": "工单",
            }
        ),
    }
)


@dataclass(frozen=True, slots=True)
class FormChoices:
    """What the form offers: the knowledge base's topics and the intake questions the chat asks for them."""

    topics: tuple[tuple[str, Mapping[Lang, str]], ...]  # (slug, title by language)
    questions: tuple[tuple[str, Mapping[Lang, str]], ...]  # (text key, question by language), each asked once
    status_words: Mapping[str, Mapping[Lang, str]]  # a UserStatus -> its words, as "My tickets" and /tickets say
    brand: str


class PageRenderer(Protocol):
    """Pages in the help center's look (`HelpCenter`)."""

    def lang_of(self, request: Request) -> Lang: ...

    def page(
        self, request: Request, template: str, lang: Lang, *, title: str, status: int = 200, **values: object
    ) -> Response: ...


class Grant(Protocol):
    """A verified visitor session (`SessionGrant`)."""

    @property
    def session_id(self) -> str: ...

    @property
    def renewed_token(self) -> str | None: ...


class VisitorApi(Protocol):
    """What the pages share with the widget's API (`_WebchatApi`): the visitor's session, the rate limit, the
    screenshot checks and quotas, and handing a message to the desk."""

    async def cookie_session(self, request: Request) -> Grant | None: ...

    def new_session(self) -> tuple[str, str]: ...

    def set_session_cookie(self, request: Request, response: Response, token: str) -> None: ...

    def form_token(self, session_id: str) -> str: ...

    def check_rate(self, session_id: str) -> None: ...

    async def screenshot_type(self, data: bytes) -> str: ...

    async def add_screenshot(self, session_id: str, data: bytes, mime: str, lang: Lang | None) -> dict[str, Any]: ...

    async def handle(self, session_id: str, message: InboundMessage, client_id: str) -> dict[str, Any]: ...

    def message_json(self, session_id: str, message: StoredMessage) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class _Screenshot:
    name: str
    data: bytes
    mime: str


class TicketPages:
    """`/help/ticket` (the form), `/help/tickets` (the visitor's tickets) and `/help/tickets/{number}` (one ticket
    with a reply box), in English and Chinese (`/en/...`, `/zh/...`)."""

    def __init__(
        self,
        api: VisitorApi,
        refused: type[Exception],
        tickets: UserTickets,
        transcripts: Transcripts,
        pages: PageRenderer,
        choices: FormChoices,
        *,
        max_text_chars: int,
        max_attachment_bytes: int,
        history_limit: int,
    ) -> None:
        self._api = api
        self._refused = refused  # the API's error type, whose `code` names the refusal
        self._tickets = tickets
        self._transcripts = transcripts
        self._pages = pages
        self._choices = choices
        self._topics = {slug for slug, _ in choices.topics} | {OTHER_TOPIC}
        self._brand = choices.brand
        self._max_text_chars = max_text_chars
        self._max_mb = max_attachment_bytes // (1024 * 1024)
        self._max_attachment_bytes = max_attachment_bytes
        self._history_limit = history_limit

    def routes(self) -> list[BaseRoute]:
        """The pages under `/help`, `/en/help` and `/zh/help`: listed before the help center's own `/help/{entry}`."""
        routes: list[BaseRoute] = []
        for prefix in ("", "/en", "/zh"):
            routes += [
                Route(f"{prefix}/help/ticket", self.form, methods=["GET"]),
                Route(f"{prefix}/help/ticket", self.submit, methods=["POST"]),
                Route(f"{prefix}/help/tickets", self.mine, methods=["GET"]),
                Route(f"{prefix}/help/tickets/{{number:int}}", self.show, methods=["GET"]),
                Route(f"{prefix}/help/tickets/{{number:int}}/reply", self.reply, methods=["POST"]),
            ]
        return routes

    # -- the form ----------------------------------------------------------------------------------------------

    async def form(self, request: Request) -> Response:
        """The empty form (its topic chosen by `?topic=`, as the article pages link to it)."""
        topic = request.query_params.get("topic", "")
        return await self._form_page(request, {"topic": topic if topic in self._topics else ""}, {})

    async def submit(self, request: Request) -> Response:
        """Check the form; send it to the desk as the visitor's message; then to the ticket it opened (or the open
        one it was added to), with the bot's replies on top. A refused form comes back with its values and why."""
        lang = self._pages.lang_of(request)
        grant = await self._api.cookie_session(request)
        try:
            form = await request.form(max_files=MAX_FILES + 1, max_fields=20)
        except Exception:  # a malformed body is the client's error, never a 500
            return await self._form_page(request, {}, {"form": UI[lang]["expired"]}, status=400)
        try:
            values = {key: str(form.get(key) or "") for key in ("topic", "description", "email")}
            values |= {key: str(form.get(key) or "") for key, _ in self._choices.questions}
            if grant is None or not self._genuine(request, form, grant.session_id):
                return await self._form_page(request, values, {"form": UI[lang]["expired"]}, status=403)
            errors = self._check(values, lang)
            screenshots = await self._screenshots(form.getlist("files"), errors, lang)
        finally:
            await form.close()  # the uploads' spooled files
        if errors:
            return await self._form_page(request, values, errors, status=400)
        session_id = grant.session_id
        try:
            self._api.check_rate(session_id)
        except self._refused:
            return await self._form_page(request, values, {"form": UI[lang]["rate_limited"]}, status=429)
        client_id = f"form-{uuid.uuid4().hex}"
        message = visitor_message(session_id, client_id, self._message_text(values, lang), lang)
        ack = await self._api.handle(session_id, message, client_id)
        latest = await self._tickets.of_conversation(CHANNEL, session_id, 1)
        if not latest or not latest[0].ticket.is_open:  # refused by the desk (e.g. slowed down): say what it said
            said = await self._replies_after(session_id, ack.get("message_id"))
            reply = " ".join(said) or UI[lang]["rate_limited"]
            return await self._form_page(request, values, {"form": UI[lang]["not_opened"].format(reply=reply)}, 400)
        number = latest[0].ticket.number
        for shot in screenshots:
            try:
                await self._api.add_screenshot(session_id, shot.data, shot.mime, lang)
            except self._refused:  # the disk quota filled meanwhile: the ticket stands, the agent can ask again
                break
        response = RedirectResponse(
            f"/{lang}/help/tickets/{number}?sent={ack.get('message_id') or 0}#notice", status_code=303
        )
        self._renew(request, response, grant)
        return response

    def _check(self, values: dict[str, str], lang: Lang) -> dict[str, str]:
        ui = UI[lang]
        errors: dict[str, str] = {}
        if values["topic"] not in self._topics:
            errors["topic"] = ui["bad_topic"]
        description = values["description"].strip()
        if not description:
            errors["description"] = ui["empty"]
        elif len(description) > MAX_DESCRIPTION_CHARS:
            errors["description"] = ui["too_long"].format(max=MAX_DESCRIPTION_CHARS)
        email = values["email"].strip()
        if email and (len(email) > MAX_EMAIL_CHARS or not _EMAIL.match(email)):
            errors["email"] = ui["bad_email"]
        for key, _ in self._choices.questions:
            if len(values[key].strip()) > MAX_ANSWER_CHARS:
                errors[key] = ui["too_long"].format(max=MAX_ANSWER_CHARS)
        return errors

    async def _screenshots(
        self, parts: Sequence[UploadFile | str], errors: dict[str, str], lang: Lang
    ) -> list[_Screenshot]:
        """The chosen files, each checked as the widget checks a screenshot; a refusal goes into `errors`."""
        ui = UI[lang]
        files = [p for p in parts if isinstance(p, UploadFile) and (p.filename or p.size)]  # no file chosen: a blank
        if len(files) > MAX_FILES:
            errors["files"] = ui["too_many_files"].format(files=MAX_FILES)
            return []
        checked: list[_Screenshot] = []
        for upload in files:
            name = (upload.filename or "file")[-80:]
            data = await upload.read(self._max_attachment_bytes + 1)
            try:
                checked.append(_Screenshot(name, data, await self._api.screenshot_type(data)))
            except self._refused as refusal:
                code = str(getattr(refusal, "code", ""))
                key = code if code in ("too_large", "unsupported_type") else "unsupported_type"
                errors["files"] = ui[key].format(name=name, mb=self._max_mb)
                return []
        return checked

    def _message_text(self, values: Mapping[str, str], lang: Lang) -> str:
        """The form as the widget's form sends it: the command and topic, the description, each detail given."""
        lines = [f"{TICKET_FORM_COMMAND} {values['topic']}", values["description"].strip()]
        for key, question in self._choices.questions:
            answer = values.get(key, "").strip()
            if answer:
                lines.append(f"{question[lang]} {answer}")
        email = values.get("email", "").strip()
        if email:
            lines.append(f"{UI[lang]['email']}: {email}")
        return "\n".join(lines)

    async def _form_page(
        self, request: Request, values: Mapping[str, str], errors: Mapping[str, str], status: int = 200
    ) -> Response:
        lang = self._pages.lang_of(request)
        session_id, token = await self._session(request)
        ui = _ui(lang, self._brand)
        response = self._pages.page(
            request,
            "ticket_form.html",
            lang,
            title=ui["form_title"],
            status=status,
            form=ui,
            values=values,
            errors=errors,
            csrf=self._api.form_token(session_id),
            topics=[(slug, titles[lang]) for slug, titles in self._choices.topics],
            questions=[(key, question[lang]) for key, question in self._choices.questions],
            files_label=ui["files"].format(files=MAX_FILES, mb=self._max_mb),
            max_description=MAX_DESCRIPTION_CHARS,
            max_answer=MAX_ANSWER_CHARS,
        )
        if token is not None:
            self._api.set_session_cookie(request, response, token)
        return response

    # -- the visitor's tickets ---------------------------------------------------------------------------------

    async def mine(self, request: Request) -> Response:
        """The visitor's tickets, newest first, with their status in words."""
        lang = self._pages.lang_of(request)
        ui = _ui(lang, self._brand)
        grant = await self._api.cookie_session(request)
        mine = await self._tickets.of_conversation(CHANNEL, grant.session_id, LISTED) if grant else []
        rows = [
            (t.ticket.number, self._status(USER_STATUS[t.ticket.status], lang), f"{t.updated_at:%Y-%m-%d %H:%M} UTC")
            for t in mine
        ]
        response = self._pages.page(request, "tickets.html", lang, title=ui["my_tickets"], form=ui, rows=rows)
        self._renew(request, response, grant)
        return response

    async def show(self, request: Request) -> Response:
        """One of the visitor's tickets: status, the redacted history, the bot's replies to what was just sent, and
        a reply box while it is open."""
        lang = self._pages.lang_of(request)
        ui = _ui(lang, self._brand)
        grant = await self._api.cookie_session(request)
        number = int(request.path_params["number"])
        found = (
            await ticket_history(self._tickets, self._transcripts, grant.session_id, number, self._history_limit)
            if grant
            else None
        )
        if grant is None or found is None:
            return self._pages.page(request, "tickets.html", lang, title=ui["not_found"], status=404, form=ui, rows=[])
        session_id = grant.session_id
        sent = _int(request.query_params.get("sent"))
        messages = [self._api.message_json(session_id, m) for m in found.messages]
        for message in messages:
            if message["direction"] == "in":
                message["text"] = _as_written(str(message["text"]))
        notice = [m["text"] for m in messages if sent and m["direction"] == "out" and m["id"] > sent][:3]
        error = request.query_params.get("error", "")
        problem = ui["closed"] if error == "closed" else ui.get(error) if error in _REPLY_ERRORS else None
        response = self._pages.page(
            request,
            "ticket.html",
            lang,
            title=ui["ticket_title"].format(number=number),
            form=ui,
            number=number,
            status_words=self._status(USER_STATUS[found.ticket.status], lang),
            updated=f"{found.updated_at:%Y-%m-%d %H:%M} UTC",
            is_open=found.ticket.is_open,
            summary=_as_written(found.ticket.summary),
            messages=messages,
            notice=notice,
            problem=(problem or "").format(max=self._max_text_chars),
            csrf=self._api.form_token(session_id),
            max_reply=self._max_text_chars,
        )
        self._renew(request, response, grant)
        return response

    async def reply(self, request: Request) -> Response:
        """The visitor's reply on their open ticket: a chat message like any other (relayed to the agent)."""
        lang = self._pages.lang_of(request)
        number = int(request.path_params["number"])
        grant = await self._api.cookie_session(request)
        try:
            form = await request.form(max_files=0, max_fields=4)
        except Exception:  # a malformed body is the client's error, never a 500
            return self._back(lang, number, error="expired")
        text = str(form.get("text") or "").strip()
        if grant is None or not self._genuine(request, form, grant.session_id):
            return self._back(lang, number, error="expired")
        found = await ticket_history(self._tickets, self._transcripts, grant.session_id, number, 1)
        if found is None or not found.ticket.is_open:
            return self._back(lang, number, error="closed")
        if not text:
            return self._back(lang, number, error="empty")
        if len(text) > self._max_text_chars:
            return self._back(lang, number, error="too_long")
        try:
            self._api.check_rate(grant.session_id)
        except self._refused:
            return self._back(lang, number, error="rate_limited")
        client_id = f"page-{uuid.uuid4().hex}"
        message = visitor_message(grant.session_id, client_id, text, lang)
        ack = await self._api.handle(grant.session_id, message, client_id)
        return self._back(lang, number, ack.get("message_id"))

    # -- helpers -----------------------------------------------------------------------------------------------

    async def _session(self, request: Request) -> tuple[str, str | None]:
        """The visitor's session id, and a token to set in the cookie when it is new or renewed."""
        grant = await self._api.cookie_session(request)
        if grant is not None:
            return grant.session_id, grant.renewed_token
        return self._api.new_session()

    def _genuine(self, request: Request, form: FormData, session_id: str) -> bool:
        """A form this server rendered for the session, posted from this site."""
        given = str(form.get("csrf") or "")
        expected = self._api.form_token(session_id)
        return same_origin(request) and hmac.compare_digest(given.encode(), expected.encode())

    def _renew(self, request: Request, response: Response, grant: Grant | None) -> None:
        if grant is not None and grant.renewed_token is not None:
            self._api.set_session_cookie(request, response, grant.renewed_token)

    def _status(self, status: str, lang: Lang) -> str:
        return self._choices.status_words[status][lang]

    async def _replies_after(self, session_id: str, message_id: object) -> list[str]:
        after = message_id if isinstance(message_id, int) else 0
        later = await self._transcripts.history(CHANNEL, session_id, self._history_limit, after)
        return [m.text for m in later if m.direction == "out"]

    def _back(self, lang: Lang, number: int, sent: object = None, error: str | None = None) -> Response:
        """To the ticket page: the replies to what was sent on top, or why nothing was sent by the reply box."""
        query = f"?sent={sent}#notice" if isinstance(sent, int) else f"?error={error}#reply" if error else "#reply"
        return RedirectResponse(f"/{lang}/help/tickets/{number}{query}", status_code=303)


def _ui(lang: Lang, brand: str) -> dict[str, str]:
    return {key: text.replace("{brand}", brand) for key, text in UI[lang].items()}


def _as_written(text: str) -> str:
    """A form's message as the visitor wrote it: without the command line the form adds."""
    return text.partition("\n")[2] if text.startswith(TICKET_FORM_COMMAND) else text


def _int(value: str | None) -> int:
    return int(value) if value is not None and value.isdigit() and len(value) < 19 else 0
