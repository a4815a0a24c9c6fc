"""Questions as users write them, each with the entry (or escalation intent) it is about: extra training rows for the
semantic classifier only, never indexed as phrasings nor answered from.

The knowledge base's phrasings are short and tidy; users tell stories, use slang and typos, and ask about other
companies' products with our words. The classifier learns those styles from `faq_data/examples.jsonl`, which
`python -m benchmarks.devset examples` writes from the development data's tuning part (never its test half).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bot.core.messages import Lang
from bot.knowledge.knowledge_base import KnowledgeBaseError, default_faq_dir

EXAMPLES_FILE = "examples.jsonl"


@dataclass(frozen=True, slots=True)
class Example:
    """One user-styled question and the id of what it is about (an entry or `intent:<kind>`)."""

    text: str
    lang: Lang
    entry_id: str


def load_examples(faq_dir: Path | None = None) -> tuple[Example, ...]:
    """The examples beside the knowledge base (none when there is no file). One about an id the knowledge base no
    longer has is not an error: the classifier skips it."""
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
            raise KnowledgeBaseError(f"{path}:{number}: not an example ({exc})") from None
        if example.lang not in ("en", "zh"):
            raise KnowledgeBaseError(f"{path}:{number}: lang must be en or zh, not {example.lang!r}")
        examples.append(example)
    return tuple(examples)
