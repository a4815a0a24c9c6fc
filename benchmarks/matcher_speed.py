"""Matcher speed and memory at 100 / 1,000 / 10,000 / 50,000 phrasings, next to the two baselines, on one core.

Run: python -m benchmarks.matcher_speed [--quick] [--sizes 100,1000,10000,50000] [--repeats 3] [--profile 50000]

The 50,000-phrasing pool: CLINC150 train+val (18,000, en), Banking77 train (10,003, en) and 21,997 unique AFQMC
sentences (zh; the sentences joined by a same-meaning pair are one entry), shuffled once with a fixed seed; a
smaller index is the pool's first N, so every size has the same language mix. Questions: CLINC150 and Banking77
test utterances and AFQMC sentences outside the pool, in the same proportions, each asked in its own language.

Each (size, method) runs in a fresh subprocess pinned to one CPU (sched_setaffinity; BLAS/OpenMP threads = 1), so
build time and RSS (VmRSS / VmHWM from /proc) are that index's alone; each measurement is repeated (`--repeats`) on
the same questions after a warm-up, and the median repeat is reported with the spread across repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks import public_data
from bot.core.messages import Lang

SIZES = (100, 1_000, 10_000, 50_000)
METHODS = ("ours", "wratio", "tfidf")
TARGET_P99_MS = {1_000: 1.0, 50_000: 10.0}
TARGET_RSS_MB_AT_50K = 200.0
CHILD_TIMEOUT_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Item:
    """A phrasing or a question."""

    text: str
    label: str
    lang: Lang


def _afqmc_groups(pairs: public_data.Pairs) -> dict[str, str]:
    """Sentence -> entry id: sentences linked by same-meaning pairs share an entry (union-find)."""
    parent: dict[str, str] = {}

    def find(s: str) -> str:
        parent.setdefault(s, s)
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    for a, b, label in zip(pairs.first, pairs.second, pairs.labels, strict=True):
        ra, rb = find(a), find(b)
        if label == 1 and ra != rb:
            parent[ra] = rb
    return {s: find(s) for s in parent}


def build_pool(size: int = 50_000, questions: int = 1_000) -> tuple[list[Item], list[Item]] | None:
    """(phrasings, questions) as described in the module docstring; None when a data set is missing."""
    clinc, banking, pairs = public_data.clinc150(), public_data.banking77(), public_data.afqmc()
    if clinc is None or banking is None or pairs is None:
        return None
    assert clinc.val is not None
    english = [Item(t, f"clinc:{label}", "en") for t, label in _zip(clinc.train + clinc.val)]
    english += [Item(t, f"b77:{label}", "en") for t, label in _zip(banking.train)]
    groups = _afqmc_groups(pairs)
    sentences = list(dict.fromkeys(s for pair in zip(pairs.first, pairs.second, strict=True) for s in pair))
    chinese_needed = size - len(english)
    chinese = [Item(s, f"afqmc:{groups[s]}", "zh") for s in sentences[:chinese_needed]]
    pool = english + chinese
    random.Random(0).shuffle(pool)
    english_questions = [Item(t, f"clinc:{label}", "en") for t, label in _zip(clinc.test)]
    english_questions += [Item(t, f"b77:{label}", "en") for t, label in _zip(banking.test)]
    chinese_questions = [Item(s, f"afqmc:{groups[s]}", "zh") for s in sentences[chinese_needed:]]
    rng = random.Random(1)
    zh_count = round(questions * len(chinese) / len(pool))
    asked = rng.sample(english_questions, questions - zh_count) + rng.sample(chinese_questions, zh_count)
    rng.shuffle(asked)
    return pool[:size], asked


def _zip(utterances: public_data.Utterances) -> list[tuple[str, str]]:
    return list(zip(utterances.texts, utterances.labels, strict=True))


def _proc_status() -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of this process in MB."""
    figures: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                figures[key] = int(value.split()[0]) / 1024
    return figures


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    k = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def _questions_for(method: str, size: int, quick: bool) -> int:
    """Enough questions for a p99, within a sane time (WRatio scans every phrasing)."""
    count = max(100, min(1_000, 2_000_000 // size)) if method == "wratio" else 1_000
    return count // 4 if quick else count


def child(size: int, method: str, repeats: int, quick: bool) -> dict[str, Any]:
    """Build one index and time its questions; runs in its own process."""
    import gc

    from benchmarks.methods import Ours, Tfidf, WRatio

    built = build_pool(max(size, 50_000))
    assert built is not None
    pool, questions = built
    phrasings = pool[:size]
    asked = questions[: _questions_for(method, size, quick)]
    del pool, built
    gc.collect()
    before = _proc_status()
    factory = {"ours": Ours, "wratio": WRatio, "tfidf": Tfidf}[method]()
    started = time.perf_counter()
    index = factory.build([p.text for p in phrasings], [p.label for p in phrasings], [p.lang for p in phrasings])
    build_seconds = time.perf_counter() - started
    after = _proc_status()
    for item in asked[:20]:  # warm-up: caches, lazy imports
        index.top1(item.text, item.lang)
    runs: list[dict[str, float]] = []
    right = 0
    for _ in range(repeats):
        latencies: list[float] = []
        right = 0
        run_started = time.perf_counter()
        for item in asked:
            t0 = time.perf_counter_ns()
            label, _score = index.top1(item.text, item.lang)
            latencies.append((time.perf_counter_ns() - t0) / 1e6)
            right += label == item.label
        elapsed = time.perf_counter() - run_started
        latencies.sort()
        runs.append(
            {
                "p50": _percentile(latencies, 50),
                "p99": _percentile(latencies, 99),
                "max": latencies[-1],
                "qps": len(asked) / elapsed,
            }
        )
    return {
        "size": size,
        "method": method,
        "questions": len(asked),
        "build_seconds": build_seconds,
        "rss_before_mb": before["VmRSS"],
        "rss_after_mb": after["VmRSS"],
        "rss_peak_mb": _proc_status()["VmHWM"],
        "runs": runs,
        "top1_right": right / len(asked),
    }


def run_child(size: int, method: str, repeats: int, quick: bool, cpu: int) -> dict[str, Any]:
    """`child` in a fresh interpreter pinned to `cpu` with one BLAS/OpenMP thread."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[var] = "1"
    command = [sys.executable, "-m", "benchmarks.matcher_speed", "--child", f"{size}:{method}:{cpu}"]
    command += ["--repeats", str(repeats)] + (["--quick"] if quick else [])
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=CHILD_TIMEOUT_SECONDS, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child {size}:{method} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _spread(runs: list[dict[str, float]], key: str) -> str:
    values = [r[key] for r in runs]
    return f"{min(values):.2f}-{max(values):.2f}"


def print_table(results: list[dict[str, Any]]) -> None:
    """Latency, throughput, build time and memory, one row per (size, method)."""
    names = {"ours": "FaqMatcher (ours)", "wratio": "rapidfuzz WRatio extractOne", "tfidf": "TF-IDF NN (sklearn)"}
    print(
        "| phrasings | method | p50 ms | p99 ms (spread) | queries/s | build s | RSS before MB | RSS after build MB "
        "| index MB | peak MB | n questions |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        runs = r["runs"]
        print(
            f"| {r['size']:,} | {names[r['method']]} | {_median(runs, 'p50'):.3f} | {_median(runs, 'p99'):.3f} "
            f"({_spread(runs, 'p99')}) | {_median(runs, 'qps'):,.0f} | {r['build_seconds']:.2f} | "
            f"{r['rss_before_mb']:.0f} | {r['rss_after_mb']:.0f} | {r['rss_after_mb'] - r['rss_before_mb']:.0f} | "
            f"{r['rss_peak_mb']:.0f} | {r['questions']} |"
        )


def print_targets(results: list[dict[str, Any]]) -> None:
    """Our figures against the targets."""
    ours = {r["size"]: r for r in results if r["method"] == "ours"}
    for size, target in TARGET_P99_MS.items():
        if size in ours:
            p99 = _median(ours[size]["runs"], "p99")
            print(f"target p99 <= {target:g} ms at {size:,}: {p99:.3f} ms -> {'met' if p99 <= target else 'MISSED'}")
    if 1_000 in ours and 50_000 in ours:
        growth = _median(ours[50_000]["runs"], "p50") / _median(ours[1_000]["runs"], "p50")
        print(
            f"p50 growth 1,000 -> 50,000 phrasings (x50): x{growth:.1f} -> {'sub-linear' if growth < 50 else 'NOT sub-linear'}"
        )
    if 50_000 in ours:
        rss = ours[50_000]["rss_after_mb"]
        peak = ours[50_000]["rss_peak_mb"]
        verdict = "met" if max(rss, peak) < TARGET_RSS_MB_AT_50K else "MISSED"
        print(
            f"target RSS < {TARGET_RSS_MB_AT_50K:g} MB at 50,000: {rss:.0f} MB after build, peak {peak:.0f} MB -> {verdict}"
        )


def profile(size: int, quick: bool) -> None:
    """Where our matcher's time goes at `size` phrasings (pyinstrument when installed, else cProfile)."""
    from benchmarks.methods import Ours

    built = build_pool(max(size, 50_000))
    assert built is not None
    pool, questions = built
    phrasings = pool[:size]
    index = Ours().build([p.text for p in phrasings], [p.label for p in phrasings], [p.lang for p in phrasings])
    asked = questions[: 250 if quick else 1_000]
    try:
        from pyinstrument import Profiler
    except ImportError:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for item in asked:
            index.top1(item.text, item.lang)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        return
    with Profiler(interval=0.0002) as p:
        for item in asked:
            index.top1(item.text, item.lang)
    print(p.output_text(unicode=True, color=False, show_all=False))


def main(argv: Sequence[str] | None = None) -> None:
    """Measure every (size, method) in its own process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the questions")
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the questions per index")
    parser.add_argument("--cpu", type=int, default=None, help="the CPU to pin to (default: the last one allowed)")
    parser.add_argument("--profile", type=int, metavar="SIZE", help="profile our matcher at SIZE phrasings instead")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        size, method, cpu = args.child.split(":")
        os.sched_setaffinity(0, {int(cpu)})
        print(json.dumps(child(int(size), method, args.repeats, args.quick)))
        return
    if build_pool(50_000, 10) is None:
        print(f"skipped: CLINC150, Banking77 or AFQMC not found under {public_data.DATASETS}")
        return
    if args.profile:
        profile(args.profile, args.quick)
        return
    cpu = args.cpu if args.cpu is not None else max(os.sched_getaffinity(0))
    methods = [m for m in args.methods.split(",") if m in METHODS]
    if "tfidf" in methods:
        from benchmarks.methods import have_sklearn

        if not have_sklearn():
            print("TF-IDF baseline skipped: scikit-learn is not installed")
            methods.remove("tfidf")
    print(f"pinned to CPU {cpu} of {os.cpu_count()}; {args.repeats} timed passes per index; median pass reported")
    results: list[dict[str, Any]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        for method in methods:
            results.append(run_child(size, method, args.repeats, args.quick, cpu))
            r = results[-1]
            print(
                f"  {size:>6,} {method:7s} p99 {_median(r['runs'], 'p99'):.3f} ms  build {r['build_seconds']:.2f} s",
                flush=True,
            )
    print()
    print_table(results)
    print()
    print_targets(results)


if __name__ == "__main__":
    main()
