"""Speed of the semantic stage and of the whole message with it, on one core.

Run: python -m benchmarks.semantic_speed [--questions 300]

- start-up: `build_core` with the knowledge base's embeddings already cached on disk (run it twice: the first run
  embeds and caches them), and the idle RSS after it;
- the encoder call per question (the part of the semantic stage that does not depend on the index size), and the
  semantic stage's added latency per question with the cascade (the ranking's time minus the lexical stage's: no
  encoder where the lexical stage is sure);
- the semantic scoring at 1,000 and 50,000 phrasings: `SemanticRanker.scores` over that many unit vectors of the
  model's width (random: the cost of a matrix-vector product and the per-entry maximum does not depend on the
  values, and embedding 50,000 real phrasings takes most of an hour on one core), with the classifier's product;
- the whole message through the router (fresh conversation each, tests/data questions), p50 and p99, and the share
  of messages for which the encoder ran (and its calls: a two-question message may call it more than once).
The process pins itself to CPU 0; the machine is shared, so figures vary between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from bot.app.config import load_config
from bot.app.wiring import build_core
from bot.core.conversation import InMemoryConversationStates
from bot.core.messages import InboundMessage, Lang
from bot.knowledge.entry_classifier import EntryClassifier
from bot.knowledge.semantic import SemanticRanker

ROOT = Path(__file__).resolve().parent.parent


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _FixedEncoder:
    """Stands in for the model when only the index size matters: returns precomputed vectors."""

    def __init__(self, matrix: np.ndarray, name: str) -> None:
        self._matrix = matrix
        self.name = name

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._matrix[: len(texts)]


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=300)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    os.environ["OMP_NUM_THREADS"] = "1"
    started = time.perf_counter()
    core = build_core(load_config(ROOT / "config.yaml", env={"OMNIDESK_ENCODER": "e5"}))
    startup = time.perf_counter() - started
    print(f"start-up {startup:.2f} s (embeddings cached), idle RSS {_rss_mb():.0f} MB, encoder {core.config.matcher.encoder}")
    texts: list[tuple[str, Lang]] = []
    for name, lang in (("heldout_en.jsonl", "en"), ("heldout_zh.jsonl", "zh")):
        for line in (ROOT / "tests" / "data" / name).read_text(encoding="utf-8").splitlines():
            texts.append((json.loads(line)["text"], lang))  # type: ignore[arg-type]
    texts = texts[:: max(1, len(texts) // args.questions)][: args.questions]
    semantic = core.ranker.semantic
    if semantic is None:
        raise SystemExit("the config's matcher.encoder is none: nothing semantic to time")
    encode_ms = []
    for text, _ in texts:
        t = time.perf_counter()
        vector = semantic.embed(text)
        encode_ms.append(1000 * (time.perf_counter() - t))
    print(f"encoder call: p50 {statistics.median(encode_ms):.1f} ms, p99 {_pct(encode_ms, 0.99):.1f} ms ({len(texts)} questions)")
    added_ms, skipped = [], 0
    for text, lang in texts:
        t = time.perf_counter()
        core.ranker.rank(text, lang, use_semantic=False)
        lexical = time.perf_counter() - t
        t = time.perf_counter()
        ranking = core.ranker.rank(text, lang)
        added_ms.append(1000 * max(0.0, time.perf_counter() - t - lexical))
        skipped += not ranking.semantic_used
    print(
        f"semantic stage with the cascade, added per question: p50 {statistics.median(added_ms):.1f} ms, "
        f"p99 {_pct(added_ms, 0.99):.1f} ms; the encoder was skipped for {skipped} of {len(texts)}"
    )
    rng = np.random.default_rng(0)
    for size in (1_000, 50_000):
        matrix = rng.standard_normal((size, len(vector))).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        entries = [f"e{i % max(1, size // 20)}" for i in range(size)]
        # The classifier's weights are random too: its cost per question (one product with a width x classes
        # matrix) does not depend on them, and fitting it on 50,000 random rows would only time the fit.
        labels = tuple(dict.fromkeys(entries))
        weights = rng.standard_normal((len(vector) + 1, len(labels)))
        classifier = EntryClassifier(labels, weights)
        ranker = SemanticRanker(_FixedEncoder(matrix, "fixed"), [""] * size, entries, classifier=classifier)
        score_ms = []
        for _ in range(200):
            t = time.perf_counter()
            ranker.scores(vector)
            score_ms.append(1000 * (time.perf_counter() - t))
        p50 = statistics.median(encode_ms) + statistics.median(score_ms)
        print(
            f"{size:6d} phrasings: scoring p50 {statistics.median(score_ms):.2f} ms p99 {_pct(score_ms, 0.99):.2f} ms; "
            f"semantic stage p50 (encoder + scoring) {p50:.1f} ms; index {matrix.nbytes / 2**20:.0f} MB"
        )
    router = core.router
    encoder_calls = 0
    embed = semantic.embed

    def counted_embed(text: str) -> np.ndarray:
        nonlocal encoder_calls
        encoder_calls += 1
        return embed(text)

    semantic.embed = counted_embed  # type: ignore[method-assign]  # every encoder call of the ranker goes through it

    async def run() -> tuple[list[float], int]:
        counter = itertools.count()
        whole, with_encoder = [], 0
        for text, _ in texts:
            n = str(next(counter))
            before = encoder_calls
            t = time.perf_counter()
            await router.with_states(InMemoryConversationStates()).route(InboundMessage("b", "u", n, n, text))
            whole.append(1000 * (time.perf_counter() - t))
            with_encoder += encoder_calls > before
        return whole, with_encoder

    whole, with_encoder = asyncio.run(run())
    print(
        f"whole message (router, {core.ranker.matcher.size} phrasings): p50 {statistics.median(whole):.1f} ms, "
        f"p99 {_pct(whole, 0.99):.1f} ms; the encoder ran for {with_encoder} of {len(texts)} messages "
        f"({encoder_calls} calls)"
    )


if __name__ == "__main__":
    main()
