"""Held-out quality of the whole router on tests/data: answer accuracy, clarify hits, out-of-scope false answers.

Run: python -m benchmarks.heldout   (prints a table; the figures in README.md come from here)
Each message is routed in a fresh conversation, as `omnidesk classify` does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bot.app.config import load_config
from bot.app.wiring import Core, build_core
from bot.core.conversation import InMemoryConversationStates
from bot.core.messages import Action, InboundMessage
from bot.core.router import RouterResult

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def load_jsonl(name: str) -> list[dict[str, Any]]:
    """One held-out file as a list of records."""
    with (DATA / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


async def route_alone(core: Core, text: str, counter: itertools.count[int]) -> RouterResult:
    """Route one message in a conversation of its own."""
    router = core.router.with_states(InMemoryConversationStates())
    number = str(next(counter))
    return await router.route(InboundMessage("bench", "user", number, number, text))


async def measure(core: Core) -> dict[str, Any]:
    """Every figure, by language."""
    counter = itertools.count()
    figures: dict[str, Any] = {}
    for lang, name in (("en", "heldout_en.jsonl"), ("zh", "heldout_zh.jsonl")):
        outcome: Counter[str] = Counter()
        rows = load_jsonl(name)
        for row in rows:
            result = await route_alone(core, row["text"], counter)
            decision = result.decision
            if decision.action is Action.ANSWER:
                outcome["answer_right" if decision.faq_id == row["faq_id"] else "answer_wrong"] += 1
            elif decision.action is Action.CLARIFY:
                outcome["clarify_hit" if row["faq_id"] in decision.suggestions else "clarify_miss"] += 1
            else:
                outcome[decision.action.value] += 1
        figures[f"faq_{lang}"] = (len(rows), outcome)
    for kind_file in ("out_of_scope.jsonl", "escalation.jsonl"):
        by_lang: dict[str, Counter[str]] = {"en": Counter(), "zh": Counter()}
        for row in load_jsonl(kind_file):
            result = await route_alone(core, row["text"], counter)
            by_lang[row["lang"]][f"{row['kind']}:{result.decision.action.value}"] += 1
            by_lang[row["lang"]][f"{row['kind']}:total"] += 1
            if result.decision.action is Action.ESCALATE and result.decision.priority is not None:
                by_lang[row["lang"]][f"{row['kind']}:priority:{result.decision.priority.value}"] += 1
        figures[kind_file.split(".")[0]] = by_lang
    return figures


def calibration(core: Core) -> dict[str, dict[int, tuple[int, int]]]:
    """Per language, confidence decile of the matcher's top entry -> (questions, top entry right)."""
    table: dict[str, dict[int, tuple[int, int]]] = {}
    for lang, name in (("en", "heldout_en.jsonl"), ("zh", "heldout_zh.jsonl")):
        bins: dict[int, tuple[int, int]] = {}
        for row in load_jsonl(name):
            top = core.matcher.match(row["text"], "en" if lang == "en" else "zh", limit=1)
            if not top:
                continue
            decile = min(9, int(top[0].confidence * 10))
            total, right = bins.get(decile, (0, 0))
            bins[decile] = (total + 1, right + (top[0].entry_id == row["faq_id"]))
        table[lang] = bins
    return table


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "  n/a"


def main() -> None:
    """Print the held-out figures."""
    started = time.perf_counter()
    core = build_core(load_config(ROOT / "config.yaml", env={}))
    built = time.perf_counter() - started
    figures = asyncio.run(measure(core))
    print(
        f"router built in {built:.2f} s; thresholds answer={core.config.matcher.answer} clarify={core.config.matcher.clarify}"
    )
    print("FAQ paraphrases        n   answered-right  answered-wrong  clarify-hit  clarify-miss  not-understood/other")
    for lang in ("en", "zh"):
        total, c = figures[f"faq_{lang}"]
        other = total - c["answer_right"] - c["answer_wrong"] - c["clarify_hit"] - c["clarify_miss"]
        print(
            f"  {lang}                 {total:4d}   {_pct(c['answer_right'], total)}          {_pct(c['answer_wrong'], total)}"
            f"          {_pct(c['clarify_hit'], total)}       {_pct(c['clarify_miss'], total)}        {_pct(other, total)}"
        )
        print(f"  {lang} right entry answered or offered: {_pct(c['answer_right'] + c['clarify_hit'], total)}")
    print("Out of scope           n   answered (false)  declined  clarified  escalated")
    for lang, c in figures["out_of_scope"].items():
        for kind in ("chitchat", "advice"):
            n = c[f"{kind}:total"]
            print(
                f"  {lang} {kind:9s}      {n:4d}   {_pct(c[f'{kind}:answer'], n)}            {_pct(c[f'{kind}:decline'], n)}"
                f"    {_pct(c[f'{kind}:clarify'], n)}     {_pct(c[f'{kind}:escalate'], n)}"
            )
    print("Escalation             n   escalated  (urgent)")
    for lang, c in figures["escalation"].items():
        for kind in ("human", "security", "refund"):
            n = c[f"{kind}:total"]
            print(
                f"  {lang} {kind:9s}      {n:4d}   {_pct(c[f'{kind}:escalate'], n)}     {_pct(c[f'{kind}:priority:urgent'], n)}"
            )

    print("Calibration: matcher confidence of the top entry -> share of questions where it is the right entry")
    for lang, bins in calibration(core).items():
        cells = [f"{d / 10:.1f}-{(d + 1) / 10:.1f}: {_pct(r, n).strip()} of {n}" for d, (n, r) in sorted(bins.items())]
        print(f"  {lang}  " + "; ".join(cells))


if __name__ == "__main__":
    main()
