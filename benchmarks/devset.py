"""The development set in tests/data/dev/ (written blind, from entry ids alone) and its fixed tune/test split.

Run: python -m benchmarks.devset split   (writes tests/data/dev/split.json; done once, committed, never re-drawn)
     python -m benchmarks.devset examples   (writes faq_data/examples.jsonl from the tuning data: the classifier's
     user-styled examples; run it after changing the tuning data, then `omnidesk faq embed` and fit_ranker)

The split is stratified by label within each file and seeded, so each half holds about half of every entry's,
escalation kind's and off-topic questions. Calibration and thresholds are fitted on `tune` only; `test` is held out.
"""

from __future__ import annotations

import json
import random
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from bot.knowledge.examples import EXAMPLES_FILE
from bot.knowledge.intents import INTENT_KINDS, INTENT_PREFIX
from bot.knowledge.textnorm import normalize

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "dev"
DEV2 = ROOT / "tests" / "data" / "dev2"  # a second blind set written in session 6, for tuning only (no test half)
# A third blind set written in session 8, a test set only: never in the examples, never tuned on.
DEV3 = ROOT / "tests" / "data" / "dev3"
DEV4 = ROOT / "tests" / "data" / "dev4"  # a fourth, written in session 8 by other writers, for tuning only
# Session 10: a fifth for tuning (escalations, alarming-sounding FAQ questions, other companies' products), and a
# sixth, a test set only like the third, by writers who saw neither the code nor the other sets.
DEV5 = ROOT / "tests" / "data" / "dev5"
DEV6 = ROOT / "tests" / "data" / "dev6"
# Session 11, by two more blind writers: dev7 for tuning (hard escalations, alarming FAQ questions, brandless off-topic),
# dev8 a test set (measured in sessions 11 and 13, its misses read and tuned on in session 14: tuning data since).
DEV7 = ROOT / "tests" / "data" / "dev7"
DEV8 = ROOT / "tests" / "data" / "dev8"
# Session 14, by a writer who saw neither the code nor any set: a test set only. The 94 of its 810 texts that repeat a
# text of an earlier set or of the examples ("agent", 转人工, "tell me a joke") were dropped, so that it stays unseen.
# Measured in sessions 14 and 15, its misses read and tuned on in session 15: tuning data since.
DEV9 = ROOT / "tests" / "data" / "dev9"
# Session 15, by a writer who saw neither the code nor any set (topic ids and a style brief only): a test set only. The
# 90 of its 1,000 texts that repeat a text of an earlier set, the examples or faq_data/ were dropped. Measured in
# session 15, its misses read and tuned on in session 16: tuning data since.
DEV10 = ROOT / "tests" / "data" / "dev10"
# Session 16, by a writer who saw neither the code nor any set (topic ids and a style brief only): a test set only. The
# 97 of its 810 texts that repeat a text of an earlier set, the examples or faq_data/ were dropped. Measured in session
# 16, its misses read and tuned on in session 17: tuning data since.
DEV11 = ROOT / "tests" / "data" / "dev11"
# Session 17, by a writer who saw neither the code nor any set (topic ids and a style brief only): a test set only. The
# 132 of its 810 texts that repeat a text of an earlier set, the examples or faq_data/ were dropped. Measured once in
# session 17, its misses read and tuned on the same session: tuning data since.
DEV12 = ROOT / "tests" / "data" / "dev12"
# Session 17, by another writer who saw neither the code nor any set: a test set only. The 129 of its 810 texts that
# repeat a text of an earlier set, the examples or faq_data/ were dropped. Measured once in session 17, its misses read
# and tuned on in session 18: tuning data since.
DEV13 = ROOT / "tests" / "data" / "dev13"
# Session 18, by another writer who saw neither the code nor any set (topic ids and a style brief only): a test set
# only. The 112 of its 810 texts that repeat a text of an earlier set, the examples or faq_data/ were dropped. Measured
# once in session 18, its misses read and tuned on in session 19: tuning data since.
DEV14 = ROOT / "tests" / "data" / "dev14"
# Session 18, by a third writer with the same brief, for the next session's first look: a test set only, not measured
# in session 18. The 134 of its 810 texts that repeat a text of an earlier set, the examples or faq_data/ were dropped.
# Measured in session 19 (first look, then at the session's final state), its misses read and tuned on in session 20:
# tuning data since.
DEV15 = ROOT / "tests" / "data" / "dev15"
# Session 19, by a fourth writer with the same brief, for the next session's first look: a test set only, not measured
# in session 19. The 110 of its 810 texts that repeat a text of an earlier set, the examples or faq_data/ were dropped.
# Measured in session 20 (first look, then at the session's final state), its misses read and tuned on in session 21:
# tuning data since.
DEV16 = ROOT / "tests" / "data" / "dev16"
# Session 19, for tuning only: FAQ questions in the style of the tuning half (a writer shown 60 of its texts and the
# topic ids, told to describe things without the product's terms), since the test half, in that style, scored lowest.
# The 56 of its 560 texts that repeat a stored text were dropped.
DEV17 = ROOT / "tests" / "data" / "dev17"
# Session 20, by a fifth writer with the same brief, for the next session's first look: a test set only, not measured
# in session 20. The 169 of its 810 texts that repeat a text of an earlier set, the examples or faq_data/ were dropped.
# Measured in session 21 (first look at 87af551), its misses read and tuned on in session 22: tuning data since.
DEV18 = ROOT / "tests" / "data" / "dev18"
# Session 20, for tuning only: hard escalations (incidents told six ways, requests for a person and money demanded back
# in other words), FAQ questions that sound alarming and other companies' incidents, by a writer who saw only the topic
# ids and a brief.
DEV19 = ROOT / "tests" / "data" / "dev19"
# Session 20, for tuning only, like dev17: FAQ questions in the tuning half's style by another writer (shown 60 other
# texts of the tuning half and the topic ids), since the test half, in that style, is still the lowest figure.
DEV20 = ROOT / "tests" / "data" / "dev20"
# Session 21, by a sixth writer with the same brief (56 topic ids), for the next session's first look: a test set only,
# not measured in session 21. The 150 of its 834 texts that repeat a text of an earlier set, the examples or faq_data/
# were dropped. Measured in session 22 (first look at 8ab4b20, then at the session's final state), its misses read and
# tuned on in session 23: tuning data since.
DEV21 = ROOT / "tests" / "data" / "dev21"
# Session 23, by a seventh writer with the same brief (56 topic ids): a test set only. The 120 of its 834 texts that
# repeat a text of an earlier set, the examples or faq_data/ were dropped. Measured in session 23 (first look at
# db2b117, before any change of the session, then at the session's final state), and at 212caa8 in session 24; its
# misses read and tuned on in session 24: tuning data since.
DEV22 = ROOT / "tests" / "data" / "dev22"
# Session 23, for tuning only, like dev17 and dev20: FAQ questions in the tuning half's style by another writer (shown 60
# other texts of the tuning half and the topic ids). The 9 of its 560 texts that repeat a stored text were dropped.
DEV23 = ROOT / "tests" / "data" / "dev23"
# Session 23, for tuning only, like dev19: hard escalations, FAQ questions that sound alarming and other companies'
# incidents, by another writer with dev19's brief (topic ids only).
DEV24 = ROOT / "tests" / "data" / "dev24"
# Session 23, by an eighth writer with dev21's brief (56 topic ids), for the next session's first look: a test set only,
# not measured in session 23. The 163 of its 834 texts that repeat a text of an earlier set, the examples or faq_data/ were
# dropped. Measured in session 24 (first look at 212caa8, before any change of the session, then at the session's final
# state): its misses not read (two of them were shown once, by accident, at the head of a misses file). Measured again
# in session 25 at b97f000, its misses read and tuned on: tuning data since.
DEV25 = ROOT / "tests" / "data" / "dev25"
# Session 24, by a ninth writer with dev21's brief (56 topic ids), for the next session's first look: a test set only,
# not measured in session 24. The 146 of its 834 texts that repeat a text of an earlier set, the examples or faq_data/ were
# dropped. Measured in session 25 (first look at b97f000, before any change of the session, then at the session's final
# state): its misses not read. Measured again in session 26 at d8daa41 (the same figures as session 25's final), its
# misses read and tuned on: tuning data since.
DEV26 = ROOT / "tests" / "data" / "dev26"
# Session 25, by a tenth writer with dev21's brief (56 topic ids), for the next session's first look: a test set only,
# not measured in session 25. The 165 of its 834 texts that repeat a text of an earlier set, the examples or faq_data/
# were dropped. Measured in session 26 (its first look at d8daa41, and at the session's final state): its misses not
# read. Measured again in session 27 at 96c604d (the first figures of that session), its misses read and tuned on:
# tuning data since.
DEV27 = ROOT / "tests" / "data" / "dev27"
# Session 25, for tuning only: off-topic texts of the kinds the blind test sets answered most (another company's product
# in our words, a panicked story that happened at a bank, a game or a shop, tech help, tax and legal questions, advice),
# by another writer who saw no file of the project. The 24 of its 540 texts that repeat a stored text were dropped, and 6
# more by hand that ask what the knowledge base answers (a romance scam, money lost to a fake job, a will for crypto).
DEV28 = ROOT / "tests" / "data" / "dev28"
# Session 26, by an eleventh writer with dev21's brief (56 topic ids), for the next session's first look: a test set
# only, not measured in session 26. The 196 of its 834 texts that repeat a text of an earlier set, the examples or
# faq_data/ were dropped. Measured in session 27 (its first look at 96c604d, and at the session's final state): its
# misses not read.
DEV29 = ROOT / "tests" / "data" / "dev29"
# Session 26, for tuning only, like dev17, dev20 and dev23: FAQ questions in the tuning half's style by another writer
# (shown 60 other texts of the tuning half and the topic ids). The 40 of its 560 texts that repeat a stored text were
# dropped, and 3 more by hand that ask for a person (a human, a Spanish speaker, 真人客服): escalations, not the
# contact-support entry's.
DEV30 = ROOT / "tests" / "data" / "dev30"
# Session 26, for tuning only, like dev19 and dev24: hard escalations, FAQ questions that sound alarming and other
# companies' incidents, by another writer with dev24's brief (topic ids only). The 15 of its 490 texts that repeat a
# stored text were dropped.
DEV31 = ROOT / "tests" / "data" / "dev31"
# Session 27, by a twelfth writer with dev21's brief (56 topic ids), for the next session's first look: a test set only,
# not measured in session 27. The 159 of its 834 texts that repeat a stored text were dropped.
DEV32 = ROOT / "tests" / "data" / "dev32"
# Session 27, for tuning only, like dev19, dev24 and dev31: hard escalations, FAQ questions that sound alarming and other
# companies' incidents, by another writer with dev24's brief (topic ids only). The 17 of its 490 texts that repeat a
# stored text were dropped.
# Session 27, for tuning only, like dev30: FAQ questions in the tuning half's style by another writer (shown 60 other
# texts of the tuning half and the topic ids; told that asking for a person is no FAQ question). The 5 of its 560
# texts that repeat a stored text were dropped.
DEV33 = ROOT / "tests" / "data" / "dev33"
DEV34 = ROOT / "tests" / "data" / "dev34"
# Session 27, for tuning only, like dev28: off-topic texts in our words, by another writer with dev28's brief (no file of
# the project). The 27 of its 540 texts that repeat a stored text were dropped, and 2 more by hand that ask for someone
# to talk to after a loss on leverage (distress, not chit-chat).
DEV35 = ROOT / "tests" / "data" / "dev35"
# by their benchmark names; the whole sets in TUNING_WHOLE_SETS are tuning data, the others test sets
WHOLE_SETS = {
    "dev2": DEV2, "dev3": DEV3, "dev4": DEV4, "dev5": DEV5, "dev6": DEV6, "dev7": DEV7, "dev8": DEV8, "dev9": DEV9,
    "dev10": DEV10, "dev11": DEV11, "dev12": DEV12,
    "dev13": DEV13, "dev14": DEV14, "dev15": DEV15, "dev16": DEV16,
    "dev17": DEV17, "dev18": DEV18, "dev19": DEV19, "dev20": DEV20,
    "dev21": DEV21, "dev22": DEV22, "dev23": DEV23, "dev24": DEV24,
    "dev25": DEV25, "dev26": DEV26, "dev27": DEV27, "dev28": DEV28, "dev29": DEV29,
    "dev30": DEV30, "dev31": DEV31, "dev32": DEV32, "dev33": DEV33, "dev34": DEV34, "dev35": DEV35,
}
TUNING_WHOLE_SETS = (
    "dev2", "dev4", "dev5", "dev7", "dev8", "dev9", "dev10", "dev11", "dev12", "dev13", "dev14", "dev15", "dev16", "dev17",
    "dev18", "dev19", "dev20", "dev21", "dev22", "dev23", "dev24", "dev25", "dev26", "dev27", "dev28",
    "dev30", "dev31", "dev33", "dev34", "dev35",
)
SPLIT_FILE = DEV / "split.json"
# the first held-out sets: heldout_*.jsonl, escalation, out_of_scope, offtopic_blind
HELDOUT = ROOT / "tests" / "data"
SEED = 20261203
FILES = tuple(
    f"{lang}_{kind}.jsonl" for lang in ("en", "zh") for kind in ("faq", "escalation", "offtopic", "multi")
)
Half = Literal["tune", "test"]
OFF_TOPIC_CLASS = "small-talk"


@dataclass(frozen=True, slots=True)
class DevQuestion:
    """One question: its text, language, label(s) and where it came from."""

    text: str
    lang: Literal["en", "zh"]
    labels: tuple[str, ...]  # one label, or ("greeting", entry) / (entry, entry) for multi-part messages
    file: str
    line: int

    @property
    def label(self) -> str:
        """The single label (the first for multi-part messages)."""
        return self.labels[0]


def load_file(name: str, folder: Path = DEV) -> list[DevQuestion]:
    """Every question of one file, in order."""
    out = []
    with (folder / name).open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            labels = tuple(row["labels"]) if "labels" in row else (row["label"],)
            out.append(DevQuestion(row["text"], row["lang"], labels, name, line_no))
    return out


def draw_split() -> dict[str, Half]:
    """`file:line` -> half, stratified by label within each file, seeded."""
    split: dict[str, Half] = {}
    for name in FILES:
        groups: dict[str, list[DevQuestion]] = defaultdict(list)
        for q in load_file(name):
            groups["+".join(q.labels)].append(q)
        for key in sorted(groups):
            members = groups[key]
            random.Random(f"{SEED}:{name}:{key}").shuffle(members)
            # Alternate, starting with whichever half is short so far in this file: odd-sized groups even out.
            offset = len(split)
            for i, q in enumerate(members):
                split[f"{q.file}:{q.line}"] = "tune" if (i + offset) % 2 == 0 else "test"
    return split


def load_half(half: Half) -> list[DevQuestion]:
    """The questions of one half, per the committed split."""
    split = json.loads(SPLIT_FILE.read_text(encoding="utf-8"))
    return [q for name in FILES for q in load_file(name) if split[f"{q.file}:{q.line}"] == half]


def load_whole(folder: Path) -> list[DevQuestion]:
    """Every question of a set written as one (dev2 to dev6): no halves."""
    return [q for name in FILES if (folder / name).exists() for q in load_file(name, folder)]


def _numbered_rows(name: str) -> list[tuple[int, dict[str, Any]]]:
    """The JSON rows of tests/data/`name`, with their line numbers."""
    lines = (HELDOUT / name).read_text(encoding="utf-8").splitlines()
    return [(i, json.loads(line)) for i, line in enumerate(lines, 1)]


def heldout_questions() -> list[DevQuestion]:
    """tests/data in the development set's shape (its escalation file has its own kinds, mapped the same way)."""
    out: list[DevQuestion] = []
    for name, lang in (("heldout_en.jsonl", "en"), ("heldout_zh.jsonl", "zh")):
        for i, row in _numbered_rows(name):
            out.append(DevQuestion(row["text"], lang, (row["faq_id"],), f"{lang}_faq.jsonl", i))  # type: ignore[arg-type]
    for i, row in _numbered_rows("escalation.jsonl"):
        out.append(DevQuestion(row["text"], row["lang"], (row["kind"],), f"{row['lang']}_escalation.jsonl", i))
    for i, row in _numbered_rows("out_of_scope.jsonl"):
        out.append(DevQuestion(row["text"], row["lang"], ("off_topic",), f"{row['lang']}_offtopic.jsonl", i))
    return out


def blind_offtopic_questions() -> list[DevQuestion]:
    """tests/data/offtopic_blind.jsonl: 250 off-topic messages written in session 5 by a writer who saw nothing of
    the project (other companies' products, chit-chat, price predictions); measured once, never tuned on."""
    return [
        DevQuestion(row["text"], row["lang"], ("off_topic",), f"{row['lang']}_offtopic.jsonl", i)
        for i, row in _numbered_rows("offtopic_blind.jsonl")
    ]


def load_tuning() -> list[DevQuestion]:
    """Everything calibration and thresholds may be fitted on: the tuning half and the whole tuning sets."""
    return [*load_half("tune"), *(q for name in TUNING_WHOLE_SETS for q in load_whole(WHOLE_SETS[name]))]


def load_held_out() -> list[DevQuestion]:
    """Every test question: the test half, each whole set that is not tuning data, tests/data's held-out sets and the
    blind off-topic set."""
    test_sets = [folder for name, folder in WHOLE_SETS.items() if name not in TUNING_WHOLE_SETS]
    return [
        *load_half("test"),
        *(q for folder in test_sets for q in load_whole(folder)),
        *heldout_questions(),
        *blind_offtopic_questions(),
    ]


def example_entry(question: DevQuestion) -> str:
    """The classifier class a single-label question trains: its entry, `intent:<kind>` for an escalation, and the
    small-talk decline for off-topic (declined, never answered)."""
    if question.label in INTENT_KINDS:
        return INTENT_PREFIX + question.label
    return OFF_TOPIC_CLASS if question.label == "off_topic" else question.label


def write_examples(path: Path = ROOT / "faq_data" / EXAMPLES_FILE) -> int:
    """Write the tuning data's single-question messages as the classifier's examples, leaving out any text a test
    set also holds, once normalised ("site down?" is in both halves, 转人工 in a tuning set and in tests/data): every
    test question stays unseen."""
    held_out = {normalize(q.text) for q in load_held_out()}
    rows = [
        json.dumps({"text": q.text, "lang": q.lang, "entry": example_entry(q)}, ensure_ascii=False)
        for q in load_tuning()
        if len(q.labels) == 1 and normalize(q.text) not in held_out
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return len(rows)


def stored_texts() -> set[str]:
    """Every text of tests/data and of the classifier's examples."""
    return set(stored_labels())


def stored_labels() -> dict[str, str | None]:
    """Every text of tests/data and of the classifier's examples, with the label it was first stored under (a set's
    label, an example's entry, a held-out file's faq_id or kind; None when the row has none)."""
    labels: dict[str, str | None] = {}
    for path in [*(ROOT / "tests" / "data").glob("**/*.jsonl"), ROOT / "faq_data" / EXAMPLES_FILE]:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and isinstance(row.get("text"), str):
                label = next((row[key] for key in ("label", "entry", "faq_id", "kind") if isinstance(row.get(key), str)), None)
                labels.setdefault(row["text"], label)
    return labels


def _yaml_strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    values = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    return [text for value in values for text in _yaml_strings(value)]


def import_set(source: Path, target: Path) -> dict[str, int]:
    """Copy a newly written set into `target` (tests/data/<name>), dropping every text that repeats (once normalised) a stored
    text, a string of faq_data/ or an earlier text of the set; the kept count per file, and the dropped under ""."""
    if target.exists():
        raise SystemExit(f"{target} exists: a set is imported once")
    faq_yaml = (yaml.safe_load(path.read_text(encoding="utf-8")) for path in (ROOT / "faq_data").glob("**/*.yaml"))
    faq_strings = (text for document in faq_yaml for text in _yaml_strings(document))
    seen = {normalize(text) for text in (*stored_texts(), *faq_strings)}
    counts = {"": 0}
    target.mkdir(parents=True)
    for file in FILES:
        if not (source / file).exists():
            continue
        kept = []
        for line in (source / file).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            key = normalize(json.loads(line)["text"])
            if key in seen:
                counts[""] += 1
                continue
            seen.add(key)
            kept.append(line)
        (target / file).write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
        counts[file] = len(kept)
    return counts


def main() -> None:
    """`split`: draw and write the split (refuses to overwrite one that exists); `examples`: write
    faq_data/examples.jsonl from the tuning data; `import SOURCE NAME`: a newly written set into tests/data/NAME."""
    if sys.argv[1:] == ["examples"]:
        print(f"wrote {write_examples()} examples to faq_data/{EXAMPLES_FILE}")
        return
    if len(sys.argv) == 4 and sys.argv[1] == "import":
        counts = import_set(Path(sys.argv[2]), ROOT / "tests" / "data" / sys.argv[3])
        dropped = counts.pop("")
        print(", ".join(f"{file} {n}" for file, n in counts.items()), f"; dropped {dropped} repeated texts")
        return
    if sys.argv[1:] != ["split"]:
        raise SystemExit("usage: python -m benchmarks.devset split|examples|import SOURCE NAME")
    if SPLIT_FILE.exists():
        raise SystemExit(f"{SPLIT_FILE} exists: the split is fixed once drawn")
    split = draw_split()
    SPLIT_FILE.write_text(json.dumps(split, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    halves = list(split.values())
    print(f"{len(split)} questions: {halves.count('tune')} tune, {halves.count('test')} test")


if __name__ == "__main__":
    main()
