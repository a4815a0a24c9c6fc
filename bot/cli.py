"""The `omnidesk` command: ask, classify, faq lint (and, with the web issue, run)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from bot.app import Core, build_core
from bot.config import Config, ConfigError, load_config
from bot.conversation import ConversationState, InMemoryConversationStates
from bot.faq_lint import lint_knowledge_base
from bot.knowledge_base import KnowledgeBaseError
from bot.log_redaction import install_log_redaction
from bot.messages import InboundMessage, Lang
from bot.router import RouterResult

DEFAULT_CONFIG = Path("config.yaml")
MAX_CLASSIFY_LINE = 100_000


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `omnidesk` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config if args.config else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None))
        handler = _COMMANDS[args.command if args.command != "faq" else "faq " + args.faq_command]
        return handler(config, args)
    except (ConfigError, KnowledgeBaseError) as exc:
        print(f"omnidesk: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omnidesk", description="One support bot behind every channel.")
    parser.add_argument("--config", type=Path, help="config file (default: ./config.yaml if present)")
    commands = parser.add_subparsers(dest="command", required=True)
    ask = commands.add_parser("ask", help="show the reply and decision for one message")
    ask.add_argument("text")
    ask.add_argument("--lang", choices=("en", "zh"), help="reply language (default: detected)")
    commands.add_parser("classify", help="JSON lines in ({text, lang?}), one decision per line out")
    faq = commands.add_parser("faq", help="knowledge-base tools")
    faq_commands = faq.add_subparsers(dest="faq_command", required=True)
    faq_commands.add_parser("lint", help="misrouted phrasings, near-duplicate entries, missing translations")
    return parser


def _build(config: Config) -> Core:
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
    findings = list(lint_knowledge_base(core.kb, core.matcher))
    for finding in findings:
        print(f"{finding.where}: {finding.kind}: {finding.message}")
    entries = sum(1 for e in core.kb.entries if e.kind == "answer")
    print(f"{len(findings)} findings in {entries} entries, {core.matcher.size} phrasings")
    return 1 if findings else 0


_COMMANDS = {"ask": _ask, "classify": _classify, "faq lint": _faq_lint}
