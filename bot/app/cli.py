"""The `omnidesk` command: ask, classify, faq lint (and, with the web issue, run)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from bot.app.config import Config, ConfigError, load_config
from bot.app.ticket_runtime import TicketRuntime, open_ticket_runtime
from bot.core.conversation import ConversationState, InMemoryConversationStates
from bot.core.messages import InboundMessage, Lang
from bot.security.log_redaction import install_log_redaction
from bot.store import StoredAttachment, StoreError, Ticket, TicketStatus, open_store
from bot.store.opening import redact_url

# The router, matcher and reports are imported by the commands that use them: `omnidesk tickets ...` starts without
# scipy, zhconv and the knowledge base (about 3 s on a busy machine).
if TYPE_CHECKING:
    from bot.app.wiring import Core
    from bot.core.router import RouterResult
    from bot.knowledge.faq_lint import LintFinding

DEFAULT_CONFIG = Path("config.yaml")
MAX_CLASSIFY_LINE = 100_000


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `omnidesk` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        chosen: Path | None = getattr(args, "config", None)
        config = load_config(chosen if chosen else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None))
        name = {"faq": f"faq {getattr(args, 'faq_command', '')}"}.get(args.command, args.command)
        return _COMMANDS[name](config, args)
    except Exception as exc:
        from bot.knowledge.knowledge_base import KnowledgeBaseError

        if not isinstance(exc, ConfigError | KnowledgeBaseError | StoreError):
            raise
        print(f"omnidesk: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    # --config is accepted before or after the subcommand; SUPPRESS keeps a subcommand's unset default from
    # overwriting a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", type=Path, default=argparse.SUPPRESS, help="config file (default: ./config.yaml if present)"
    )
    parser = argparse.ArgumentParser(
        prog="omnidesk", description="One support bot behind every channel.", parents=[common]
    )
    commands = _CommonSubparsers(parser.add_subparsers(dest="command", required=True), common)
    ask = commands.add_parser("ask", help="show the reply and decision for one message")
    ask.add_argument("text")
    ask.add_argument("--lang", choices=("en", "zh"), help="reply language (default: detected)")
    commands.add_parser("classify", help="JSON lines in ({text, lang?}), one decision per line out")
    faq = commands.add_parser("faq", help="knowledge-base tools")
    faq_commands = _CommonSubparsers(faq.add_subparsers(dest="faq_command", required=True), common)
    faq_commands.add_parser("lint", help="misrouted phrasings, near-duplicate entries, missing translations")
    faq_commands.add_parser(
        "embed", help="write the knowledge base's embeddings beside it (faq_data/embeddings/), for a fast first start"
    )
    tickets = commands.add_parser("tickets", help="work tickets without Slack")
    ticket_commands = _CommonSubparsers(tickets.add_subparsers(dest="tickets_command", required=True), common)
    listing = ticket_commands.add_parser("list", help="tickets, newest last")
    listing.add_argument("--status", choices=[s.value for s in TicketStatus])
    ticket_commands.add_parser("show", help="one ticket with its transcript and events").add_argument("number", type=int)
    claim = ticket_commands.add_parser("claim", help="take a ticket")
    claim.add_argument("number", type=int)
    claim.add_argument("--agent", required=True)
    reply = ticket_commands.add_parser("reply", help="answer the user on their channel")
    reply.add_argument("number", type=int)
    reply.add_argument("text")
    reply.add_argument("--agent", default=os.environ.get("USER", "agent"))
    resolve = ticket_commands.add_parser("resolve", help="close a ticket and ask the user for a rating")
    resolve.add_argument("number", type=int)
    resolve.add_argument("--agent", default=os.environ.get("USER", "agent"))
    commands.add_parser("run", help="serve the web widget and every configured channel")
    files = ticket_commands.add_parser("files", help="screenshots and documents the user sent on a ticket")
    files.add_argument("number", type=int)
    files.add_argument("--save", type=Path, help="copy or download them into this folder")
    sessions = commands.add_parser("sessions", help="web widget sessions")
    session_commands = _CommonSubparsers(sessions.add_subparsers(dest="sessions_command", required=True), common)
    session_commands.add_parser("list", help="widget sessions, most recently active first").add_argument(
        "--limit", type=int, default=50
    )
    session_commands.add_parser("revoke", help="refuse a widget session's tokens from now on").add_argument(
        "session", help="the session id, or a token of it (one that starts with '-' goes after --)"
    )
    report = commands.add_parser("report", help="the support lead's report")
    report.add_argument("--since", default="7d", type=_duration, help="e.g. 7d, 12h, 30m (default 7d)")
    migrate = commands.add_parser("migrate-store", help="copy the SQLite desk (store.path) into PostgreSQL")
    migrate.add_argument("--to", required=True, metavar="URL", help="postgresql://user:password@host:port/database")
    migrate.add_argument(
        "--attachments-dir", type=Path, help="copy widget screenshots into this shared directory (and point to it)"
    )
    return parser


class _CommonSubparsers:
    """Adds subcommands that all accept the common options (--config)."""

    def __init__(self, action: Any, common: argparse.ArgumentParser) -> None:
        self._action = action
        self._common = common

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self._action.add_parser(name, parents=[self._common], **kwargs)
        return parser


def _duration(text: str) -> timedelta:
    """'7d', '12h' or '30m' as a timedelta."""
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration like 7d, 12h or 30m")
    return timedelta(**{units[text[-1]]: int(text[:-1])})


def _build(config: Config) -> Core:
    from bot.app.wiring import build_core

    core = build_core(config)
    install_log_redaction(core.scanner)
    return core


async def _route(core: Core, text: str, lang: Lang | None, conversation: str) -> RouterResult:
    """Route one message in a conversation of its own."""
    states = InMemoryConversationStates()
    if lang is not None:
        await states.put(("cli", conversation), ConversationState(lang_choice=lang))
    router = core.router.with_states(states)
    return await router.route(InboundMessage("cli", "cli-user", conversation, conversation, text))


def _ask(config: Config, args: argparse.Namespace) -> int:
    core = _build(config)
    result = asyncio.run(_route(core, args.text, args.lang, "ask"))
    decision = result.decision
    for reply in result.replies:
        print(reply.text)
        for number, suggestion in enumerate(reply.suggestions, start=1):
            print(f"  [{number}] {suggestion.label}")
        print()
    print(
        f"-- action={decision.action.value} faq={decision.faq_id} confidence={decision.confidence:.2f} "
        f"lang={decision.lang} priority={decision.priority.value if decision.priority else '-'} "
        f"reason={decision.reason or '-'} secret={','.join(sorted(result.secret_kinds)) or '-'}"
    )
    return 0


def classify_record(result: RouterResult) -> dict[str, Any]:
    """The stable JSON shape of `omnidesk classify`."""
    decision = result.decision
    return {
        "action": decision.action.value,
        "faq_id": decision.faq_id,
        "suggestions": list(decision.suggestions),
        "confidence": round(decision.confidence, 4),
        "lang": decision.lang,
        "secret_detected": result.secret_detected,
        "redacted_text": result.redacted_text,
        "priority": decision.priority.value if decision.priority else None,
        "reply": "\n\n".join(reply.text for reply in result.replies),
    }


def _classify(
    config: Config, args: argparse.Namespace, stdin: IO[str] | None = None, stdout: IO[str] | None = None
) -> int:
    core = _build(config)
    source, sink = stdin or sys.stdin, stdout or sys.stdout

    async def run() -> int:
        errors = 0
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            record = _parse_classify_line(line)
            if isinstance(record, str):
                errors += 1
                sink.write(json.dumps({"error": f"line {number}: {record}"}, ensure_ascii=False) + "\n")
                continue
            text, lang = record
            result = await _route(core, text, lang, f"classify-{number}")
            sink.write(json.dumps(classify_record(result), ensure_ascii=False) + "\n")
            sink.flush()
        return 1 if errors else 0

    return asyncio.run(run())


def _parse_classify_line(line: str) -> tuple[str, Lang | None] | str:
    """(text, lang) or an error message."""
    if len(line) > MAX_CLASSIFY_LINE:
        return f"line longer than {MAX_CLASSIFY_LINE} characters"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"invalid JSON ({exc.msg})"
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        return 'expected an object with a string "text"'
    lang = record.get("lang")
    if lang not in (None, "en", "zh"):
        return '"lang" must be "en" or "zh"'
    return record["text"], lang


def _faq_lint(config: Config, args: argparse.Namespace) -> int:
    core = _build(config)
    from bot.knowledge.faq_lint import lint_knowledge_base

    findings = list(lint_knowledge_base(core.kb, core.ranker))
    for finding in findings:
        print(f"{finding.where}: {finding.kind}: {finding.message}")
    entries = sum(1 for e in core.kb.entries if e.kind == "answer")
    print(format_lint_summary(findings))
    print(f"{len(findings)} findings in {entries} entries, {core.matcher.size} phrasings")
    return 1 if findings else 0


def _faq_embed(config: Config, args: argparse.Namespace) -> int:
    """Embed the knowledge base into the folder shipped with it, replacing what was there."""
    from bot.app.wiring import build_ranker, shipped_embeddings
    from bot.knowledge.knowledge_base import load_knowledge_base

    if config.matcher.encoder == "none":
        print("omnidesk: matcher.encoder is none: there is nothing to embed", file=sys.stderr)
        return 2
    faq_dir = Path(config.faq_path) if config.faq_path else None
    folder = shipped_embeddings(faq_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in [*folder.glob("*.npy"), *folder.glob("*.npz")]:
        stale.unlink()
    # The folder is both the cache written to and the shipped one, so exactly today's files end up in it.
    matcher = config.matcher.model_copy(update={"cache_dir": str(folder)})
    build_ranker(config.model_copy(update={"matcher": matcher}), load_knowledge_base(faq_dir))
    written = sorted(p.name for p in folder.iterdir() if p.suffix in (".npy", ".npz"))
    print(f"wrote {len(written)} files to {folder}: {', '.join(written)}")
    return 0


def format_lint_summary(findings: Sequence[LintFinding]) -> str:
    """A table of findings per entry and kind, the entry with most findings first."""
    kinds = ("misrouted", "near-duplicate", "translation")
    per_entry: dict[str, Counter[str]] = {}
    for finding in findings:
        per_entry.setdefault(finding.entry_id, Counter())[finding.kind] += 1
    lines = ["", f"{'entry':32s} {'total':>5s} " + " ".join(f"{kind:>14s}" for kind in kinds)]
    for entry_id, counts in sorted(per_entry.items(), key=lambda item: (-item[1].total(), item[0])):
        lines.append(f"{entry_id:32s} {counts.total():5d} " + " ".join(f"{counts[kind]:14d}" for kind in kinds))
    if not per_entry:
        lines.append("(no findings)")
    return "\n".join(lines)


def _existing_database(config: Config) -> str:
    """The store's file (or PostgreSQL URL, password hidden), said on stderr; a missing file is an error, not a new
    empty desk (PostgreSQL: an unreachable database fails when the store opens)."""
    if config.store.url:
        print(f"omnidesk: database {redact_url(config.store.url)}", file=sys.stderr)
        return config.store.path
    path = Path(config.store.path).resolve()
    if not path.exists():
        raise ConfigError(
            f"no database at {path} (config key 'store.path'): run this where `omnidesk run` keeps its database, "
            "or pass --config with the store's path"
        )
    print(f"omnidesk: database {path}", file=sys.stderr)
    return str(path)


def _tickets(config: Config, args: argparse.Namespace) -> int:
    _existing_database(config)

    async def run() -> int:
        # What the CLI changes reaches the user and Slack through the outbox: the running OmniDesk delivers it.
        runtime = await open_ticket_runtime(config)
        try:
            return await _ticket_command(runtime, args)
        finally:
            await runtime.close()

    return asyncio.run(run())


async def _ticket_command(runtime: TicketRuntime, args: argparse.Namespace) -> int:
    tickets, store = runtime.tickets, runtime.store
    command = args.tickets_command
    if command == "list":
        status = TicketStatus(args.status) if args.status else None
        listed = await store.list_tickets(status)
        print(TICKET_HEADER)
        for ticket in listed:
            print(_ticket_line(ticket))
        if not listed:
            print(f"no {status.value} tickets" if status else "no tickets")
        return 0
    if command == "show":
        ticket = await store.get_ticket(args.number)
        print(_ticket_line(ticket))
        print(f"  reason: {ticket.reason or '-'}  category: {ticket.category or '-'}  lang: {ticket.lang}")
        print(f"  summary: {ticket.summary}")
        print("  transcript:")
        for message in await store.transcript(ticket.conversation_key, limit=100):
            who = "user" if message.direction == "in" else "bot "
            print(f"    {message.created_at:%Y-%m-%d %H:%M} {who} {message.text}")
        print("  events:")
        for event in await store.ticket_events(ticket.number):
            print(f"    {event.created_at:%Y-%m-%d %H:%M} {event.kind} by {event.actor} {event.detail or ''}".rstrip())
        return 0
    if command == "files":
        return await _ticket_files(runtime, args.number, args.save)
    if command == "claim":
        print(_ticket_line(await tickets.claim(args.number, args.agent)))
    elif command == "reply":
        ticket = await tickets.reply(args.number, args.agent, args.text)
        print(f"{_ticket_line(ticket)}\n  reply queued: the running OmniDesk delivers it on {ticket.channel}")
    elif command == "resolve":
        print(_ticket_line(await tickets.resolve(args.number, args.agent)))
    return 0


async def _ticket_files(runtime: TicketRuntime, number: int, save: Path | None) -> int:
    """List a ticket's attachments; with `save`, copy widget uploads and download Telegram files."""
    attachments = await runtime.store.attachments(number)
    failed = 0
    for attachment in attachments:
        where = ""
        if save is not None:
            try:
                data = await _attachment_bytes(runtime, attachment)
            except OSError as exc:
                failed += 1
                where = f"  (not saved: {exc})"
            else:
                save.mkdir(parents=True, exist_ok=True)
                suffix = {
                    "image/png": ".png",
                    "image/jpeg": ".jpg",
                    "image/gif": ".gif",
                    "image/webp": ".webp",
                    "application/pdf": ".pdf",
                }.get(attachment.mime_type or "", "")
                target = save / f"ticket-{number}-{attachment.id}{suffix}"
                target.write_bytes(data)
                where = f"  -> {target}"
        print(
            f"{attachment.id:5d} {attachment.created_at:%Y-%m-%d %H:%M} {attachment.channel:8s} {attachment.kind:8s} "
            f"{attachment.mime_type or '-':12s} {attachment.ref}{where}"
        )
    if not attachments:
        print(f"ticket #{number} has no attachments")
    return 1 if failed else 0


async def _attachment_bytes(runtime: TicketRuntime, attachment: StoredAttachment) -> bytes:
    if attachment.channel in ("webchat", "email"):  # kept on disk beside the store when received
        return Path(attachment.ref).read_bytes()
    if attachment.channel == "telegram" and runtime.config.channels.telegram.token:
        from adapters.telegram import TelegramChannel

        channel = TelegramChannel(runtime.config.channels.telegram, runtime.store)
        try:
            return await channel.fetch_attachment(attachment.ref)
        finally:
            await channel.stop()
    raise OSError(f"files from {attachment.channel} cannot be fetched here (is its token configured?)")


TICKET_HEADER = f"{'number':7s} {'status':12s} {'priority':7s} {'channel':8s} {'assignee':12s} {'created':16s} summary"


def _ticket_line(ticket: Ticket) -> str:
    return (
        f"{'#' + str(ticket.number):7s} {ticket.status.value:12s} {ticket.priority.value:7s} {ticket.channel:8s} "
        f"{ticket.assignee or '-':12s} {ticket.created_at:%Y-%m-%d %H:%M} {ticket.summary.splitlines()[0][:60]}"
    )


def _report(config: Config, args: argparse.Namespace) -> int:
    database = _existing_database(config)

    async def run() -> str:
        store = await open_store(config.store.url, database)
        try:
            from bot.desk.report import build_report, format_report

            return format_report(await build_report(store, datetime.now(UTC) - args.since))
        finally:
            await store.close()

    print(asyncio.run(run()))
    return 0


def _run(config: Config, args: argparse.Namespace) -> int:
    from bot.app.server import serve  # the web stack is only needed here

    logging.getLogger().setLevel(logging.INFO)
    return 0 if asyncio.run(serve(config)) else 1


def _migrate_store(config: Config, args: argparse.Namespace) -> int:
    from bot.store.migrate_store import all_ok, migrate_store  # asyncpg is loaded only here

    if not args.to.startswith(("postgresql://", "postgres://")):
        raise StoreError(f"--to must be a postgresql://user:password@host:port/database URL, not {args.to[:40]!r}")
    source = Path(_existing_database(config))
    print(f"copying {source} into {redact_url(args.to)}")
    counts = asyncio.run(
        migrate_store(source, args.to, config.store.attachments_path(), args.attachments_dir)
    )
    if all_ok(counts):
        print("verified: every table has as many rows in PostgreSQL as in SQLite")
        return 0
    for count in counts:
        if not count.ok:
            print(f"omnidesk: {count.table}: {count.source} rows in SQLite, {count.target} in PostgreSQL", file=sys.stderr)
    print("omnidesk: the copy does not match; run it again to resume, or copy into an empty database", file=sys.stderr)
    return 1


def _sessions(config: Config, args: argparse.Namespace) -> int:
    path = _existing_database(config)

    async def run() -> int:
        store = await open_store(config.store.url, path)
        try:
            if args.sessions_command == "list":
                listed = await store.webchat_sessions(max(1, args.limit))
                print("session\tstarted\tlast active\trevoked")
                for session in listed:
                    revoked = session.revoked_at.isoformat(timespec="seconds") if session.revoked_at else "-"
                    started = session.created_at.isoformat(timespec="seconds")
                    print(f"{session.session_id}\t{started}\t{session.last_active_at.isoformat(timespec='seconds')}\t{revoked}")
                if not listed:
                    print("no widget sessions")
                return 0
            # A token is `<session id>.<issued at>.<signature>`: the session is what is revoked, all its tokens with it.
            session_id = args.session.strip().split(".", 1)[0]
            if not session_id:
                print("omnidesk: give a session id or a token", file=sys.stderr)
                return 2
            newly = await store.revoke_webchat_session(session_id)
            print(f"session {session_id} revoked" if newly else f"session {session_id} was already revoked")
            return 0
        finally:
            await store.close()

    return asyncio.run(run())


_COMMANDS = {
    "run": _run,
    "migrate-store": _migrate_store,
    "sessions": _sessions,
    "ask": _ask,
    "classify": _classify,
    "faq lint": _faq_lint,
    "faq embed": _faq_embed,
    "tickets": _tickets,
    "report": _report,
}
