"""`omnidesk run`: one process and one port for the web widget, webhooks, Slack, `/healthz` and `/metrics`.

Starlette on uvicorn: the widget needs WebSockets and plain routes, nothing more, and Starlette is what both
slack-bolt's and our own adapters plug into without a framework of their own (FastAPI would add schema machinery
we do not use).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client import make_asgi_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from adapters.slack_desk import SlackAgentDesk
from bot.app.config import Config
from bot.app.wiring import Runtime, open_runtime
from bot.core.ports import Channel
from bot.desk.domain import TicketStatus
from bot.knowledge.knowledge_base import LANGS, KnowledgeBase
from bot.knowledge.texts import ReplyTexts
from bot.security.log_redaction import install_log_redaction
from handlers.tickets import form_questions

log = logging.getLogger(__name__)
OUTBOX_FLUSH_SECONDS = 1.0
REMINDER_CHECK_SECONDS = 30.0


def build_web_app(runtime: Runtime, routes: Sequence[BaseRoute]) -> Starlette:
    """The ASGI app: channel routes plus health and metrics."""

    async def healthz(request: Request) -> Response:
        try:
            await runtime.store.cursor_get("healthz")
        except Exception as exc:  # any store failure means unhealthy; say which
            return JSONResponse({"status": "error", "store": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "store": "ok"})


    return Starlette(routes=[*routes, Route("/healthz", healthz), Route("/metrics", MetricsApp(runtime), methods=["GET"])])


class MetricsApp:
    """`/metrics`: prometheus-client's own ASGI app (content type, OpenMetrics, gzip), after the gauges read from
    the store (tickets by status, outbox depth) are brought up to date. A class, so Starlette serves it as ASGI."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._exposition = make_asgi_app(runtime.desk.metrics.registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
    slack = attach_slack(config, runtime)
    try:
        routes += await _configure_channels(config, runtime)
        routes += help_center_routes(config, runtime)
        if slack is not None:
            if config.agents.slack.socket_mode:
                await slack.start_socket_mode()
            else:
                routes += slack.asgi_routes()
        app = build_web_app(runtime, routes)
        for channel in runtime.channels.values():
            await channel.start(runtime.desk.handle)
            started.append(channel)
        yield runtime, app, started
    finally:
        for channel in started:
            with contextlib.suppress(Exception):
                await channel.stop()
        if slack is not None:
            await slack.stop()
        await runtime.outbox.flush()
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
    ]


def help_center_routes(config: Config, runtime: Runtime) -> list[BaseRoute]:
    """The help center's pages (`/help`), searched with the router's own ranker, with the widget when it is served."""
    from adapters.helpcenter import HelpCenter

    core = runtime.core
    center = HelpCenter(
        core.kb, core.matcher, config.brand, runtime.store, runtime.desk.metrics, widget=config.channels.webchat.enabled
    )
    return center.routes()


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
    runtime.tickets.notifiers.append(slack)
    return slack


async def _configure_channels(config: Config, runtime: Runtime) -> list[BaseRoute]:
    """Register every channel that has credentials (the widget always, unless disabled); return their routes."""
    routes: list[BaseRoute] = []
    if config.channels.webchat.enabled:
        from adapters.webchat import SessionTokens, WebchatChannel, load_session_secret, webchat_routes

        webchat = WebchatChannel()
        runtime.channels[webchat.name] = webchat
        attachments = Path(config.store.path).resolve().parent / "attachments"
        tokens = SessionTokens(await load_session_secret(runtime.store))
        routes += webchat_routes(
            webchat,
            runtime.desk,
            tokens,
            config.channels.webchat,
            attachments_dir=attachments,
            tickets=runtime.tickets,
            ticket_form=ticket_form(runtime.core.kb, ReplyTexts(config.brand)),
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


def email_channel(config: Config, runtime: Runtime) -> Channel:
    """The support mailbox, its mails' footer and refusals in the brand's words."""
    from adapters.email import EmailChannel

    texts = ReplyTexts(config.brand)
    return EmailChannel(
        config.channels.email,
        runtime.store,
        runtime.core.scanner,
        Path(config.store.path).resolve().parent / "attachments",
        footer=lambda lang: texts.render("standing_warning", lang),
        refusal=lambda lang, names, max_mb: texts.render(
            "email_attachment_refused", lang, names=names, max_mb=str(max_mb)
        ),
        brand=config.brand.name,
    )


class _Server(uvicorn.Server):
    """uvicorn re-raises the stop signal once it has served, which would end the process before our own
    shutdown (stop the channels, flush the outbox, close the store): keep its graceful stop, drop the re-raise."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


async def serve(config: Config, announce: Callable[[str], None] = print) -> None:
    """Run until SIGTERM or SIGINT: stop taking messages, finish what is in flight, flush the outbox."""
    async with running(config) as (runtime, app, _):
        web = config.channels.webchat
        server = _Server(
            uvicorn.Config(
                app,
                host=web.host,
                port=web.port,
                log_level="info",
                lifespan="off",
                ws_max_size=64 * 1024,
                # Chat frames are small: compressing them cost about a fifth of the server's CPU per question.
                ws_per_message_deflate=False,
            )
        )
        reminder_age = timedelta(minutes=config.agents.slack.reannounce_after_minutes)
        loops = [
            asyncio.create_task(_every(OUTBOX_FLUSH_SECONDS, runtime.outbox.flush, "outbox flush")),
            asyncio.create_task(
                _every(
                    REMINDER_CHECK_SECONDS,
                    lambda: runtime.tickets.remind_unclaimed(datetime.now(UTC) - reminder_age),
                    "unclaimed-ticket reminder",
                )
            ),
        ]
        # What start-up built (knowledge base, matcher index, modules: some 80,000 objects) lives as long as the
        # process: taking it out of the collector's view makes each full collection under traffic a fraction of a
        # millisecond instead of 15-30 ms of stopped event loop.
        gc.collect()
        gc.freeze()
        announce(
            f"OmniDesk is running: http://{web.host}:{web.port}/ (channels: {', '.join(runtime.channels) or 'none'}; "
            f"help center: http://{web.host}:{web.port}/help)"
        )
        try:
            await server.serve()
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
