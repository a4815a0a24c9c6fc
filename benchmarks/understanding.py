"""Whole-router quality on the development set's halves and on tests/data: answered right or wrong, offered,
escalation recall per kind, FAQ questions escalated, off-topic answered, multi-part messages.

Run: python -m benchmarks.understanding [--sets test,tune,dev2,...,dev13,heldout,offtopic_blind] [--cross-fit]
     [--encoder e5|use|none]
     [--answer X --clarify Y --escalate Z --self-caused W]   (threshold overrides, chosen on tuning data only)
With several sets, a last table pools them (thresholds are chosen on the tuning sets together).
Each message is routed in a fresh conversation, as `omnidesk classify` does. `tune` and the sets in TUNING_WHOLE_SETS
(benchmarks/devset.py) are the classifier's examples (faq_data/examples.jsonl), so their figures are in-sample and
flatter unless `--cross-fit` routes each question with a classifier fitted without its fold (as fit_ranker, fusion_cv
and thresholds do). Questions labelled with an entry the knowledge base does not have yet are counted apart ("new
entries") and left out of the FAQ figures.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.devset import (
    TUNING_WHOLE_SETS,
    WHOLE_SETS,
    DevQuestion,
    blind_offtopic_questions,
    heldout_questions,
    load_half,
    load_whole,
)
from benchmarks.fit_ranker import fold_of, fold_rankers
from bot.app.config import Config, load_config
from bot.app.wiring import Core, build_core
from bot.core.conversation import InMemoryConversationStates
from bot.core.messages import Action, Decision, InboundMessage, Priority
from bot.core.router import RouterResult
from handlers.pattern_decline import ADVICE_ENTRY_ID

ROOT = Path(__file__).resolve().parent.parent
TUNING_SETS = ("tune", *TUNING_WHOLE_SETS)  # the classifier's examples: in-sample unless cross-fitted
REASONS = {"human": "human_request", "security": "security_incident", "refund": "refund_request"}


async def route_alone(core: Core, text: str, counter: itertools.count[int]) -> RouterResult:
    """Route one message in a conversation of its own."""
    router = core.router.with_states(InMemoryConversationStates())
    number = str(next(counter))
    return await router.route(InboundMessage("bench", "user", number, number, text))


async def measure(core: Core, questions: list[DevQuestion], misses: list[dict[str, Any]] | None = None) -> Counter[str]:
    """Counts keyed `lang:what`; questions not answered or escalated as labelled are appended to `misses`."""
    counter = itertools.count()
    c: Counter[str] = Counter()
    for q in questions:
        d = (await route_alone(core, q.text, counter)).decision
        if misses is not None and not _as_labelled(q, d):
            misses.append({"text": q.text, "label": "+".join(q.labels), "action": d.action.value, "reason": d.reason,
                           "faq_id": d.faq_id, "suggestions": list(d.suggestions), "confidence": round(d.confidence, 3)})
        kind = q.file.split("_")[1].split(".")[0]
        lang = q.lang
        if kind == "faq":
            key = f"{lang}:new" if core.kb.entry(q.label) is None else f"{lang}:faq"
            c[f"{key}:n"] += 1
            if _replied_with(d, q.label):
                c[f"{key}:right"] += 1
            elif d.action is Action.ANSWER:
                c[f"{key}:wrong"] += 1
            elif d.action is Action.CLARIFY and q.label in d.suggestions:
                c[f"{key}:offered"] += 1
            elif d.action is Action.ESCALATE and d.reason in REASONS.values():
                c[f"{key}:escalated"] += 1
        elif kind == "escalation":
            c[f"{lang}:{q.label}:n"] += 1
            if d.action is Action.ESCALATE and d.reason == REASONS[q.label]:
                c[f"{lang}:{q.label}:recalled"] += 1
            elif d.action is Action.ESCALATE:
                c[f"{lang}:{q.label}:escalated_other"] += 1
            if q.label == "security" and d.priority is Priority.URGENT:
                c[f"{lang}:security:urgent"] += 1
        elif kind == "offtopic":
            c[f"{lang}:off:n"] += 1
            c[f"{lang}:off:{d.action.value}"] += 1
        elif kind == "multi":
            first, second = q.labels
            if first == "greeting":
                c[f"{lang}:greet:n"] += 1
                c[f"{lang}:greet:right"] += d.action is Action.ANSWER and d.faq_id == second
            else:
                c[f"{lang}:two:n"] += 1
                c[f"{lang}:two:first"] += d.action is Action.ANSWER and d.faq_id == first
                offered = d.action is Action.CLARIFY and second in d.suggestions
                c[f"{lang}:two:second"] += offered or (d.action is Action.ANSWER and second in d.suggestions)
    return c


async def measure_cross_fitted(
    core: Core, config: Config, questions: list[DevQuestion], misses: list[dict[str, Any]] | None = None
) -> Counter[str]:
    """`measure` with each tuning question routed by a router whose classifier did not learn its fold's examples
    (the classifier's examples are the tuning data): the tuning figures without the in-sample flattery."""
    if core.ranker.semantic is None:
        return await measure(core, questions, misses)
    total: Counter[str] = Counter()
    for fold, ranker in enumerate(fold_rankers(core.ranker)):
        mine = [q for q in questions if fold_of(q.text) == fold]
        total += await measure(build_core(config, core.kb, ranker), mine, misses)
    return total


def _as_labelled(q: DevQuestion, d: Decision) -> bool:
    if q.label == "off_topic":
        return d.action is not Action.ANSWER
    if q.label in REASONS:
        return d.action is Action.ESCALATE and d.reason == REASONS[q.label]
    return _replied_with(d, q.labels[-1 if q.label == "greeting" else 0])


# A decline's reason names its entry, except the advice handler's, which declines before any ranking.
_DECLINED_ENTRY = {"investment_advice": ADVICE_ENTRY_ID}


def _replied_with(d: Decision, entry_id: str) -> bool:
    """The reply is the entry's: answered with it, or declined in a decline entry's own words (investment or tax
    advice, small talk), which is how those entries are meant to be handled."""
    if d.action is Action.ANSWER:
        return d.faq_id == entry_id
    return d.action is Action.DECLINE and _DECLINED_ENTRY.get(d.reason or "", d.reason) == entry_id


def pct(c: Counter[str], part: str, whole: str) -> str:
    """`part` of `whole` as a percentage cell."""
    return f"{100 * c[part] / c[whole]:5.1f}%" if c[whole] else "  n/a"


def report(name: str, c: Counter[str]) -> None:
    """Print one set's table."""
    print(f"== {name}")
    print("  lang  FAQ n  answered-right  answered-wrong  offered  right-answered-or-offered  escalated | new-entry n right")
    for lang in ("en", "zh"):
        f = f"{lang}:faq"
        c[f"{f}:hit"] = c[f"{f}:right"] + c[f"{f}:offered"]
        print(
            f"  {lang}   {c[f + ':n']:5d}  {pct(c, f + ':right', f + ':n')}          {pct(c, f + ':wrong', f + ':n')}"
            f"          {pct(c, f + ':offered', f + ':n')}   {pct(c, f + ':hit', f + ':n')}                     "
            f"{pct(c, f + ':escalated', f + ':n')} | {c[lang + ':new:n']:4d} {pct(c, lang + ':new:right', lang + ':new:n')}"
        )
    print("  lang  escalation recall: human  security (urgent)  refund | off-topic n answered clarified declined escalated")
    for lang in ("en", "zh"):
        o = f"{lang}:off"
        print(
            f"  {lang}    {pct(c, lang + ':human:recalled', lang + ':human:n')} of {c[lang + ':human:n']:3d}"
            f"  {pct(c, lang + ':security:recalled', lang + ':security:n')} ({pct(c, lang + ':security:urgent', lang + ':security:n')}) of {c[lang + ':security:n']:3d}"
            f"  {pct(c, lang + ':refund:recalled', lang + ':refund:n')} of {c[lang + ':refund:n']:3d}"
            f" | {c[o + ':n']:3d} {pct(c, o + ':answer', o + ':n')} {pct(c, o + ':clarify', o + ':n')} "
            f"{pct(c, o + ':decline', o + ':n')} {pct(c, o + ':escalate', o + ':n')}"
        )
    for lang in ("en", "zh"):
        if c[f"{lang}:greet:n"] or c[f"{lang}:two:n"]:
            print(
                f"  {lang} multi: greeting+question answered right {pct(c, lang + ':greet:right', lang + ':greet:n')} of {c[lang + ':greet:n']};"
                f" two questions: first answered {pct(c, lang + ':two:first', lang + ':two:n')}, second offered"
                f" {pct(c, lang + ':two:second', lang + ':two:n')} of {c[lang + ':two:n']}"
            )


def main() -> None:
    """Print the tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="test,tune,heldout")
    parser.add_argument("--encoder", choices=["e5", "use", "none"])
    parser.add_argument("--answer", type=float)
    parser.add_argument("--clarify", type=float)
    parser.add_argument("--escalate", type=float)
    parser.add_argument("--self-caused", type=float)
    parser.add_argument("--misses", type=Path, help="write the questions not handled as labelled here (JSON lines)")
    parser.add_argument(
        "--cross-fit", action="store_true", help="tuning sets: route each question with a classifier that never learnt it"
    )
    args = parser.parse_args()
    config = load_config(ROOT / "config.yaml", env={"OMNIDESK_ENCODER": "e5"})
    overrides: dict[str, Any] = {
        k: v for k, v in (("encoder", args.encoder), ("answer", args.answer), ("clarify", args.clarify), ("escalate", args.escalate), ("self_caused", args.self_caused)) if v is not None
    }
    config = config.model_copy(update={"matcher": config.matcher.model_copy(update=overrides)})
    started = time.perf_counter()
    core = build_core(config)
    m = core.config.matcher
    print(f"router built in {time.perf_counter() - started:.2f} s; encoder={m.encoder} answer={m.answer} clarify={m.clarify} escalate={m.escalate} self_caused={m.self_caused}")
    names = args.sets.split(",")
    pooled: Counter[str] = Counter()
    for name in names:
        if name == "heldout":
            questions = heldout_questions()
        elif name == "offtopic_blind":
            questions = blind_offtopic_questions()
        elif name in WHOLE_SETS:
            questions = load_whole(WHOLE_SETS[name])
        else:
            questions = load_half(name)  # type: ignore[arg-type]
        misses: list[dict[str, Any]] = []
        if name in TUNING_SETS and args.cross_fit:
            counts = asyncio.run(measure_cross_fitted(core, config, questions, misses))
            report(f"{name} (cross-fitted)", counts)
        else:
            if name in TUNING_SETS:
                # faq_data/examples.jsonl is this data: the classifier learnt these very questions
                print(f"== {name}: IN-SAMPLE for the classifier (its examples; --cross-fit for fair figures)")
            counts = asyncio.run(measure(core, questions, misses))
            report(name, counts)
        pooled += counts
        if args.misses is not None:
            with args.misses.open("a", encoding="utf-8") as handle:
                handle.writelines(json.dumps({"set": name, **m}, ensure_ascii=False) + "\n" for m in misses)
    if len(names) > 1:  # thresholds are chosen on the tuning sets together
        report("all the sets above, pooled", pooled)


if __name__ == "__main__":
    main()
