"""Top-1 accuracy of FaqMatcher on CLINC150 (in-scope test), each intent's training phrasings as one entry.

Run: python -m benchmarks.clinc150 [--baseline]   (skips cleanly when ../shared/datasets is absent)
`--baseline` adds rapidfuzz's `process.extractOne` with `fuzz.WRatio` over all phrasings (about a minute).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.features import FeatureExtractor
from bot.matcher import FaqMatcher, Phrasing

DATASET = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "clinc150" / "data_full.json"


def main() -> None:
    """Print accuracy and per-query time."""
    if not DATASET.exists():
        print(f"skipped: {DATASET} not found")
        return
    data = json.loads(DATASET.read_text(encoding="utf-8"))
    phrasings = [Phrasing(intent, text, "en") for text, intent in data["train"]]
    test = data["test"]
    started = time.perf_counter()
    matcher = FaqMatcher(phrasings, FeatureExtractor({}))
    print(f"index: {len(phrasings)} phrasings, {len({p.entry_id for p in phrasings})} intents, built in {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    right = sum(1 for text, intent in test if (c := matcher.match(text, "en", 1)) and c[0].entry_id == intent)
    per_query = (time.perf_counter() - started) / len(test) * 1000
    print(f"FaqMatcher     top-1 {100 * right / len(test):.1f}%  ({len(test)} test questions, {per_query:.2f} ms/question)")
    if "--baseline" in sys.argv:
        texts = [p.text for p in phrasings]
        started = time.perf_counter()
        right = 0
        for text, intent in test:
            best = process.extractOne(text, texts, scorer=fuzz.WRatio)
            right += best is not None and phrasings[best[2]].entry_id == intent
        per_query = (time.perf_counter() - started) / len(test) * 1000
        print(f"WRatio         top-1 {100 * right / len(test):.1f}%  ({per_query:.2f} ms/question)")


if __name__ == "__main__":
    main()
