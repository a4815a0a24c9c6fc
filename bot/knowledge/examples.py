"""Questions as users write them, each with the entry (or escalation intent) it is about: extra training rows for the
semantic classifier only, never indexed as phrasings nor answered from.

The knowledge base's phrasings are short and tidy; users tell stories, use slang and typos, and ask about other
companies' products with our words. The classifier learns those styles from `faq_data/examples.jsonl`, which
`python -m benchmarks.devset examples` writes from the development data's tuning part (never its test half).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from bot.core.messages import Lang
from bot.knowledge.knowledge_base import default_faq_dir

EXAMPLES_FILE = "examples.jsonl"


@dataclass(frozen=True, slots=True)
class Example:
    """One user-styled question and the id of what it is about (an entry or `intent:<kind>`)."""

    text: str
    lang: Lang
    entry_id: str


def load_examples(faq_dir: Path | None = None, known: Collection[str] | None = None) -> tuple[Example, ...]:
    """The examples beside the knowledge base (none when there is no file); with `known`, only those about an id
    in it (an entry removed since the file was written is skipped, not an error)."""
    path = (faq_dir or default_faq_dir()) / EXAMPLES_FILE
    if not path.is_file():
        return ()
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            example = Example(str(row["text"]), row["lang"], str(row["entry"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not an example ({exc})") from None
        if example.lang not in ("en", "zh"):
            raise ValueError(f"{path}:{number}: lang must be en or zh, not {example.lang!r}")
        if known is None or example.entry_id in known:
            examples.append(example)
    return tuple(examples)
