"""Secret scanner speed: CPU time to scan a typical message and 100 KB of mixed or random text.

Run: python -m benchmarks.secret_scanner_speed   (targets: a typical message well under 1 ms, 100 KB well under 100 ms)
"""

from __future__ import annotations

import json
import random
import statistics
import time
from pathlib import Path

import mnemonic

from bot.security.secret_scanner import SecretScanner

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "secrets"

TYPICAL = (
    "Hi, I deposited 500 USDT yesterday and it has not arrived yet, my UID is 38291746, please check",
    "你好，我昨天充值了五百个泰达币，到现在还没有到账，请问是什么原因，我的用户编号是三八二九一七四六",
)


def best_of(scanner: SecretScanner, runs: int, text: str) -> float:
    """Best CPU seconds of a few scans (CPU time, so other load on the machine matters less)."""
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        scanner.scan(text)
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    """Print the figures."""
    scanner = SecretScanner()
    rnd = random.Random(5)
    seed = mnemonic.Mnemonic("english").to_mnemonic(bytes(range(16)))
    chunks = [*TYPICAL, "txid " + "ab" * 32, "my UID is 38291746", seed, "how do I reset my 2FA?"]
    mixed = "\n".join(rnd.choice(chunks) for _ in range(2_000))[:100_000]
    noise = "".join(chr(rnd.randrange(0x20, 0x30000)) for _ in range(100_000))
    for text in TYPICAL:
        print(f"typical message ({len(text)} chars): {best_of(scanner, 50, text) * 1000:.3f} ms")
    print(f"100 KB mixed support text:   {best_of(scanner, 3, mixed) * 1000:.1f} ms")
    print(f"100 KB random Unicode:       {best_of(scanner, 3, noise) * 1000:.1f} ms")
    corpus = [
        json.loads(line)["text"]
        for name in ("secrets.jsonl", "lookalikes.jsonl")
        for line in (CORPUS / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    times = sorted(best_of(scanner, 5, text) for text in corpus)
    print(
        f"secret corpus messages ({len(corpus)}): median {statistics.median(times) * 1000:.3f} ms, "
        f"p99 {times[int(len(times) * 0.99)] * 1000:.3f} ms, max {times[-1] * 1000:.3f} ms"
    )


if __name__ == "__main__":
    main()
