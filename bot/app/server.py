"""`omnidesk run`: one process and one port for the web widget, webhooks, Slack, `/healthz` and `/metrics`.

Starlette on uvicorn: the widget needs WebSockets and plain routes, nothing more, and Starlette is what both
slack-bolt's and our own adapters plug into without a framework of their own (FastAPI would add schema machinery
we do not use).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
import secrets
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import uvicorn
from prometheus_client import make_asgi_app
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from adapters.slack_desk import SlackAgentDesk
from bot.app.config import Config, ServerConfig
from bot.app.fanout import FanoutChannel
from bot.app.http_limits import BodyLimit
from bot.app.wiring import Runtime, open_runtime
from bot.core.ports import Channel, InboundSink
from bot.desk.domain import USER_STATUS, TicketStatus
from bot.knowledge.knowledge_base import LANGS, KnowledgeBase
from bot.knowledge.texts import ReplyTexts
from bot.security.log_redaction import AccessLogFilter, RedactingLogFilter, install_log_redaction
from bot.security.secret_scanner import SecretScanner
from bot.store import Leadership
from handlers.tickets import form_questions

if TYPE_CHECKING:
    from adapters.helpcenter import HelpCenter
    from adapters.webchat_form import FormChoices

log = logging.getLogger(__name__)
OUTBOX_FLUSH_SECONDS = 1.0
REMINDER_CHECK_SECONDS = 30.0
# Spelt out rather than imported: the channel adapters (and their client libraries) load only when configured.
WEBHOOK_PATHS = ("/telegram/webhook", "/twitter/webhook", "/slack/events", "/slack/interactivity")
UPLOAD_PATH = "/api/webchat/attachments"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024 + 64 * 1024  # a screenshot and its multipart framing (the widget checks the file)
# The help center's ticket form: its fields and up to three screenshots (adapters.webchat_form.MAX_FILES).
TICKET_FORM_PATHS = ("/help/ticket", "/en/help/ticket", "/zh/help/ticket")
MAX_TICKET_FORM_BYTES = 3 * 5 * 1024 * 1024 + 64 * 1024


def build_web_app(runtime: Runtime, routes: Sequence[BaseRoute], server: ServerConfig | None = None) -> Starlette:
    """The ASGI app: channel routes plus health and metrics (unless they have their own admin port), with every
    request body bounded while it is read."""
    server = server or ServerConfig()
    admin = [] if server.admin_port is not None else admin_routes(runtime, server)
    limits = {path: server.max_webhook_body_bytes for path in WEBHOOK_PATHS}
    limits[UPLOAD_PATH] = MAX_UPLOAD_BYTES
    limits |= {path: MAX_TICKET_FORM_BYTES for path in TICKET_FORM_PATHS}
    return Starlette(
        routes=[*routes, *admin],
        middleware=[Middleware(BodyLimit, default=server.max_body_bytes, limits=limits)],
    )


def build_admin_app(runtime: Runtime, server: ServerConfig) -> Starlette:
    """`/healthz` and `/metrics` alone, for the separate admin port."""
    return Starlette(
        routes=admin_routes(runtime, server), middleware=[Middleware(BodyLimit, default=server.max_body_bytes)]
    )


def admin_routes(runtime: Runtime, server: ServerConfig) -> list[BaseRoute]:
    """Health and metrics; with `admin_token`, metrics and the health details need `Authorization: Bearer`."""

    def authorized(request: Request) -> bool:
        if not server.admin_token:
            return True
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), server.admin_token.encode())

    async def healthz(request: Request) -> Response:
        try:
            await runtime.store.cursor_get("healthz")
        except Exception as exc:  # any store failure means unhealthy; say which (to the operator only)
            details = {"store": str(exc)} if authorized(request) else {}
            return JSONResponse({"status": "error", **details}, status_code=503)
        return JSONResponse({"status": "ok", "store": "ok"} if authorized(request) else {"status": "ok"})

    return [Route("/healthz", healthz), Route("/metrics", MetricsApp(runtime, authorized), methods=["GET"])]


class MetricsApp:
    """`/metrics`: prometheus-client's own ASGI app (content type, OpenMetrics, gzip), after the gauges read from
    the store (tickets by status, outbox depth) are brought up to date. A class, so Starlette serves it as ASGI."""

    def __init__(self, runtime: Runtime, authorized: Callable[[Request], bool]) -> None:
        self._runtime = runtime
        self._authorized = authorized
        self._exposition = make_asgi_app(runtime.desk.metrics.registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._authorized(Request(scope)):
            refused = JSONResponse({"error": "unauthorized"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
            await refused(scope, receive, send)
            return
        store = self._runtime.store
        counts = await store.ticket_status_counts()
        statuses = {status.value: counts.get(status.value, 0) for status in TicketStatus}
        self._runtime.desk.metrics.observe_store(statuses, await store.outbox_depth(), datetime.now(UTC))
        await self._exposition(scope, receive, send)


async def _every(seconds: float, work: Callable[[], Awaitable[object]], what: str) -> None:
    """Run `work` periodically until cancelled; a failure is logged and retried next time."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await work()
        except Exception:
            log.exception("%s failed", what)


@contextlib.asynccontextmanager
async def running(config: Config) -> AsyncIterator[tuple[Runtime, Starlette, list[Channel]]]:
    """Open the store, build the channels that are configured and the ASGI app; close everything on exit."""
    runtime = await open_runtime(config)
    install_log_redaction(runtime.core.scanner, credentials=credentials(config))
    routes: list[BaseRoute] = []
    started: list[Channel] = []
    leader: PollerLeader | None = None
    slack = attach_slack(config, runtime)
    try:
        center = help_center(config, runtime)
        routes += await _configure_channels(config, runtime, center)
        routes += center.routes()
        if slack is not None:
            if config.agents.slack.socket_mode:
                await slack.start_socket_mode()
            else:
                routes += slack.asgi_routes()
        app = build_web_app(runtime, routes, config.server)
        pollers = {name for name in runtime.channels if _polls(config, name)}
        for name, channel in runtime.channels.items():
            if name not in pollers:
                await channel.start(runtime.desk.handle)
                started.append(channel)
        # Polling Telegram or X from two instances would fetch each update twice: only the leader polls.
        leader = PollerLeader(runtime.store.leadership("pollers"), [runtime.channels[n] for n in pollers], started)
        app.state.pollers_leader = leader
        await leader.start(runtime.desk.handle)
        yield runtime, app, started
    finally:
        # Half of the shutdown time is uvicorn's (open connections), half is this: a platform that does not answer
        # must not keep the process alive. What is cut short is not lost: unacknowledged messages are redelivered
        # and the outbox keeps what it did not send.
        budget = config.server.shutdown_timeout_seconds / 2
        try:
            async with asyncio.timeout(budget):
                if leader is not None:
                    await leader.stop()
                for channel in started:
                    with contextlib.suppress(Exception):
                        await channel.stop()
                if slack is not None:
                    await slack.stop()
                await runtime.outbox.flush()
        except TimeoutError:
            log.warning("shutdown: channels and outbox not finished within %g s; pending replies stay queued", budget)
        await runtime.close()


def credentials(config: Config) -> list[str]:
    """The bot's own tokens and secrets, which must never reach a log line (httpx logs request URLs)."""
    telegram, twitter, slack = config.channels.telegram, config.channels.twitter, config.agents.slack
    return [
        telegram.token,
        telegram.webhook_secret,
        twitter.consumer_key,
        twitter.consumer_secret,
        twitter.access_token,
        twitter.access_token_secret,
        slack.bot_token,
        slack.signing_secret,
        slack.app_token,
        config.channels.email.imap_password,
        config.channels.email.smtp_password,
        config.server.admin_token,
    ]


def help_center(config: Config, runtime: Runtime) -> HelpCenter:
    """The help center's pages (`/help`), searched with the router's own ranker, with the widget and the ticket form
    when the widget is served."""
    from adapters.helpcenter import HelpCenter

    core = runtime.core
    served = config.channels.webchat.enabled
    return HelpCenter(
        core.kb, core.matcher, config.brand, runtime.store, runtime.desk.metrics, widget=served, ticket_form=served
    )


def ticket_form_choices(kb: KnowledgeBase, texts: ReplyTexts, brand: str) -> FormChoices:
    """The help center's ticket form: the knowledge base's topics, and every intake question the chat would ask for
    one of them (once each: a page without script cannot show only the chosen topic's)."""
    from adapters.webchat_form import FormChoices

    keys = [key for category in kb.browsable_categories for key in form_questions(category.slug)]
    keys += list(form_questions(None))
    return FormChoices(
        topics=tuple((category.slug, dict(category.title)) for category in kb.browsable_categories),
        questions=tuple((key, {lang: texts.render(key, lang) for lang in LANGS}) for key in dict.fromkeys(keys)),
        status_words={
            status: {lang: texts.render(f"user_status_{status}", lang) for lang in LANGS}
            for status in USER_STATUS.values()
        },
        brand=brand,
    )


def ticket_form(kb: KnowledgeBase, texts: ReplyTexts) -> dict[str, Any]:
    """The widget's ticket form: each category with the intake questions the chat would ask for it."""
    return {
        "categories": [
            {
                "slug": category.slug,
                "title": dict(category.title),
                "questions": [{lang: texts.render(key, lang) for lang in LANGS} for key in form_questions(category.slug)],
            }
            for category in kb.browsable_categories
        ]
    }


def attach_slack(config: Config, runtime: Runtime) -> SlackAgentDesk | None:
    """The Slack agent desk, announcing the runtime's tickets, when a bot token is configured."""
    if not config.agents.slack.bot_token:
        return None
    slack = SlackAgentDesk(config.agents.slack, runtime.store, runtime.tickets, config.brand.name)
    runtime.agents.notifiers.append(slack)
    return slack


async def _configure_channels(config: Config, runtime: Runtime, pages: HelpCenter | None = None) -> list[BaseRoute]:
    """Register every channel that has credentials (the widget always, unless disabled); return their routes. With
    the help center's `pages`, the widget's visitors also get the ticket form and ticket pages there."""
    routes: list[BaseRoute] = []
    if config.channels.webchat.enabled:
        from adapters.webchat import SessionTokens, WebchatChannel, load_session_secret, webchat_routes

        webchat = WebchatChannel()
        # Visitors may be connected to any instance: replies are also announced to the others (LISTEN/NOTIFY).
        runtime.channels[webchat.name] = FanoutChannel(webchat, runtime.store)
        attachments = config.store.attachments_path()
        web = config.channels.webchat
        # Instances starting together must sign with one secret: the first one saved is everybody's.
        await runtime.store.cursor_setdefault("webchat_session_secret", secrets.token_bytes(32).hex())
        tokens = SessionTokens(
            await load_session_secret(runtime.store),
            ttl_seconds=web.session_ttl_hours * 3600,
            renew_after_seconds=web.session_renew_after_minutes * 60,
        )
        routes += webchat_routes(
            webchat,
            runtime.desk,
            tokens,
            web,
            attachments_dir=attachments,
            store=runtime.store,
            tickets=runtime.tickets,
            ticket_form=ticket_form(runtime.core.kb, ReplyTexts(config.brand)),
            pages=pages,
            form_choices=ticket_form_choices(runtime.core.kb, ReplyTexts(config.brand), config.brand.name),
        )
    telegram = config.channels.telegram
    if telegram.token:
        from adapters.telegram import TelegramChannel

        texts = ReplyTexts(config.brand)
        tg_channel = TelegramChannel(
            telegram,
            runtime.store,
            scanner=runtime.core.scanner,
            group_warning=lambda lang: texts.render("group_secret_deleted", lang),
        )
        runtime.channels[tg_channel.name] = tg_channel
        if telegram.mode == "webhook":
            routes.append(tg_channel.webhook_route())
    twitter = config.channels.twitter
    if all((twitter.consumer_key, twitter.consumer_secret, twitter.access_token, twitter.access_token_secret)):
        from adapters.twitter import TwitterChannel

        x_channel = TwitterChannel(twitter, runtime.store)
        runtime.channels[x_channel.name] = x_channel
        if twitter.mode == "webhook":
            routes += x_channel.webhook_routes()
    if config.channels.email.enabled:
        runtime.channels["email"] = email_channel(config, runtime)
    return routes


def _polls(config: Config, channel: str) -> bool:
    """True for a channel that fetches its messages (rather than being called by its platform)."""
    return (
        (channel == "telegram" and config.channels.telegram.mode == "polling")
        or (channel == "twitter" and config.channels.twitter.mode == "polling")
        or channel == "email"  # IMAP: one instance watches the mailbox
    )


class PollerLeader:
    """Starts the polling channels, and the periodic jobs only one instance may run, once this instance is elected
    (at once with SQLite; with PostgreSQL when the leader lock is free, i.e. when the previous leader died)."""

    def __init__(self, leadership: Leadership, pollers: list[Channel], started: list[Channel]) -> None:
        self._leadership = leadership
        self._pollers = pollers
        self._started = started
        self._waiting: asyncio.Task[None] | None = None
        self.leading = asyncio.Event()

    @property
    def lost(self) -> asyncio.Event:
        """Set when the leader can no longer be sure it leads (its database connection failed)."""
        return self._leadership.lost

    async def start(self, inbound: InboundSink) -> None:
        """Lead now if the lock is free, else wait for it in the background."""
        if await self._leadership.try_acquire():
            await self._lead(inbound)
        else:
            self._waiting = asyncio.create_task(self._wait_then_lead(inbound), name="pollers-election")

    async def _wait_then_lead(self, inbound: InboundSink) -> None:
        await self._leadership.acquire()
        await self._lead(inbound)

    async def _lead(self, inbound: InboundSink) -> None:
        log.info("this instance leads: it runs the pollers and the reminders")
        for channel in self._pollers:
            await channel.start(inbound)
            self._started.append(channel)
        self.leading.set()

    async def stop(self) -> None:
        """Stop waiting for the lock, and give it back."""
        if self._waiting is not None:
            self._waiting.cancel()
            await asyncio.gather(self._waiting, return_exceptions=True)
        await self._leadership.release()



def email_channel(config: Config, runtime: Runtime) -> Channel:
    """The support mailbox, its mails' footer and refusals in the brand's words."""
    from adapters.email import EmailChannel

    texts = ReplyTexts(config.brand)
    return EmailChannel(
        config.channels.email,
        runtime.store,
        runtime.core.scanner,
        config.store.attachments_path(),
        footer=lambda lang: texts.render("standing_warning", lang),
        refusal=lambda lang, names, max_mb: texts.render(
            "email_attachment_refused", lang, names=names, max_mb=str(max_mb)
        ),
        brand=config.brand.name,
    )


class _Server(uvicorn.Server):
    """uvicorn re-raises the stop signal once it has served, which would end the process before our own
    shutdown (stop the channels, flush the outbox, close the store): keep its graceful stop, drop the re-raise.

    `on_shutdown` runs as the shutdown begins, before uvicorn waits for open connections: the widget's sockets and
    held long-polls would otherwise keep it waiting (for ever, for a socket accepted just as the shutdown began).
    """

    def __init__(
        self, config: uvicorn.Config, on_shutdown: Callable[[], Awaitable[None]] | None = None, signals: bool = True
    ) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown
        self._signals = signals

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if not self._signals:  # the admin server stops with the main one
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._on_shutdown is not None:
            try:
                async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                    await self._on_shutdown()
            except Exception:  # the shutdown goes on whatever happened to the sockets
                log.exception("closing the open connections failed")
        await super().shutdown(sockets)


def _uvicorn_config(app: Starlette, host: str, port: int, server: ServerConfig) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        lifespan="off",
        ws_max_size=64 * 1024,
        # Chat frames are small: compressing them cost about a fifth of the server's CPU per question.
        ws_per_message_deflate=False,
        # A connection still open after this is cancelled, so SIGTERM ends the process in bounded time.
        timeout_graceful_shutdown=max(1, round(server.shutdown_timeout_seconds / 2)),
    )


def redact_uvicorn_logs(scanner: SecretScanner, secrets: Sequence[str]) -> None:
    """Put the redacting filter on the handlers uvicorn has just created (its loggers do not propagate to the root's
    handlers, and uvicorn configures them when its Config is built, after our own set-up), and keep query strings
    and control characters out of the access log."""
    access = logging.getLogger("uvicorn.access")
    # The path is redacted by the access filter itself: uvicorn's access formatter needs the record's five arguments,
    # which the redacting filter would fold into the message if it had to redact them.
    redact = RedactingLogFilter(scanner, secrets).redact
    for handler in access.handlers:
        if not any(isinstance(f, AccessLogFilter) for f in handler.filters):
            handler.addFilter(AccessLogFilter(redact=redact))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        install_log_redaction(scanner, logging.getLogger(name), credentials=secrets)


async def serve(config: Config, announce: Callable[[str], None] = print) -> bool:
    """Run until SIGTERM or SIGINT: stop taking messages, finish what is in flight, flush the outbox.

    False when it stopped because, leading the pollers, it lost its database connection: another instance may
    lead by now, so this one must not poll on; its supervisor restarts it."""
    async with running(config) as (runtime, app, _):
        leader: PollerLeader = app.state.pollers_leader
        web = config.channels.webchat
        webchat = runtime.channels.get("webchat")
        server = _Server(
            _uvicorn_config(app, web.host, web.port, config.server),
            on_shutdown=webchat.stop if webchat is not None else None,
        )
        admin: _Server | None = None
        if config.server.admin_port is not None:
            admin_app = build_admin_app(runtime, config.server)
            admin = _Server(
                _uvicorn_config(admin_app, config.server.admin_host, config.server.admin_port, config.server),
                signals=False,
            )
        redact_uvicorn_logs(runtime.core.scanner, credentials(config))
        reminder_age = timedelta(minutes=config.agents.slack.reannounce_after_minutes)

        async def remind() -> None:
            if leader.leading.is_set():  # one instance reminds agents, or they would hear it once per instance
                await runtime.tickets.remind_unclaimed(datetime.now(UTC) - reminder_age)

        async def step_down() -> None:
            await leader.lost.wait()
            log.error("lost the pollers' leader lock with the database connection: stopping")
            server.should_exit = True

        loops = [
            asyncio.create_task(_every(OUTBOX_FLUSH_SECONDS, runtime.outbox.flush, "outbox flush")),
            asyncio.create_task(_every(REMINDER_CHECK_SECONDS, remind, "unclaimed-ticket reminder")),
            asyncio.create_task(step_down()),
        ]
        if admin is not None:
            loops.append(asyncio.create_task(admin.serve()))
        # What start-up built (knowledge base, matcher index, modules: some 80,000 objects) lives as long as the
        # process: taking it out of the collector's view makes each full collection under traffic a fraction of a
        # millisecond instead of 15-30 ms of stopped event loop.
        gc.collect()
        gc.freeze()
        admin_note = f", admin on http://{config.server.admin_host}:{config.server.admin_port}/" if admin else ""
        announce(
            f"OmniDesk is running: http://{web.host}:{web.port}/ "
            f"(channels: {', '.join(runtime.channels) or 'none'}; help center: http://{web.host}:{web.port}/help)"
            f"{admin_note}"
        )
        try:
            await server.serve()
        finally:
            if admin is not None:
                admin.should_exit = True
            for task in loops[:3]:  # the periodic jobs and the step-down watch; the admin server stops by itself
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
        return not leader.lost.is_set()
