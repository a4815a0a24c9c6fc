"""Loaders for the public evaluation sets in ../shared/datasets (read in place: never copied into the repo).

Each loader returns None when its files are absent, so a benchmark can print "skipped: ... not found" and carry on.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from bot.core.messages import Lang

# Beside the project root (../shared/datasets), or wherever OMNIDESK_DATASETS points (another checkout, a worktree).
DATASETS = Path(os.environ.get("OMNIDESK_DATASETS") or Path(__file__).resolve().parents[2] / "shared" / "datasets")
OOS = "oos"  # the label of an out-of-scope utterance


@dataclass(frozen=True, slots=True)
class Utterances:
    """Line-aligned texts and their intent labels (OOS for out-of-scope)."""

    texts: tuple[str, ...]
    labels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)

    def __add__(self, other: Utterances) -> Utterances:
        return Utterances(self.texts + other.texts, self.labels + other.labels)

    def every(self, step: int) -> Utterances:
        """Every `step`-th utterance (a deterministic subsample for --quick runs)."""
        return Utterances(self.texts[::step], self.labels[::step])


@dataclass(frozen=True, slots=True)
class IntentSet:
    """An intent data set: the training phrasings become FAQ entries; the other splits are asked."""

    name: str
    lang: Lang
    train: Utterances
    test: Utterances  # in scope
    val: Utterances | None = None  # in scope, for choosing the out-of-scope threshold
    oos_val: Utterances | None = None
    oos_test: dict[str, Utterances] | None = None  # kind of out-of-scope -> utterances


@dataclass(frozen=True, slots=True)
class Pairs:
    """Sentence pairs with a same-meaning label (1) or not (0)."""

    ids: tuple[int, ...]
    first: tuple[str, ...]
    second: tuple[str, ...]
    labels: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.ids)

    def select(self, keep: list[int]) -> Pairs:
        """The pairs at the given positions."""
        return Pairs(
            tuple(self.ids[i] for i in keep),
            tuple(self.first[i] for i in keep),
            tuple(self.second[i] for i in keep),
            tuple(self.labels[i] for i in keep),
        )


def _pairs(rows: list[list[str]]) -> Utterances:
    return Utterances(tuple(r[0] for r in rows), tuple(r[1] for r in rows))


def clinc150() -> IntentSet | None:
    """CLINC150 full: 150 intents x 100 train / 20 val / 30 test, plus out-of-scope val 100 / test 1,000."""
    path = DATASETS / "clinc150" / "data_full.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return IntentSet(
        "CLINC150",
        "en",
        train=_pairs(data["train"]),
        test=_pairs(data["test"]),
        val=_pairs(data["val"]),
        oos_val=Utterances(tuple(r[0] for r in data["oos_val"]), tuple(OOS for _ in data["oos_val"])),
        oos_test={"oos": Utterances(tuple(r[0] for r in data["oos_test"]), tuple(OOS for _ in data["oos_test"]))},
    )


def _seq_split(folder: Path) -> Utterances:
    texts = (folder / "seq.in").read_text(encoding="utf-8").splitlines()
    labels = (folder / "label").read_text(encoding="utf-8").splitlines()
    if len(texts) != len(labels):
        raise ValueError(f"{folder}: seq.in and label differ in length")
    return Utterances(tuple(t.strip() for t in texts), tuple(label.strip() for label in labels))


def banking77_oos() -> IntentSet | None:
    """BANKING77-OOS: 50 in-scope intents; in-domain OOS (27 held-out intents) and general (CLINC) OOS."""
    root = DATASETS / "banking77_oos"
    if not (root / "train" / "seq.in").exists():
        return None
    return IntentSet(
        "BANKING77-OOS",
        "en",
        train=_seq_split(root / "train"),
        test=_seq_split(root / "test"),
        val=_seq_split(root / "valid"),
        oos_val=_seq_split(root / "id-oos" / "valid") + _seq_split(root / "ood-oos" / "valid"),
        oos_test={"id-oos": _seq_split(root / "id-oos" / "test"), "ood-oos": _seq_split(root / "ood-oos" / "test")},
    )


def _banking_csv(path: Path) -> Utterances:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [(row["text"].strip(), row["category"].strip()) for row in csv.DictReader(handle)]
    return Utterances(tuple(t for t, _ in rows), tuple(c for _, c in rows))


def banking77() -> IntentSet | None:
    """Banking77: 77 intents, train 10,003 / test 3,080 (no validation split, no out-of-scope)."""
    root = DATASETS / "banking77"
    if not (root / "train.csv").exists():
        return None
    return IntentSet("Banking77", "en", train=_banking_csv(root / "train.csv"), test=_banking_csv(root / "test.csv"))


def afqmc() -> Pairs | None:
    """ATEC 2018 / AFQMC: 39,346 Chinese customer-service question pairs, label 1 = same meaning."""
    path = DATASETS / "atec_afqmc_zh" / "atec_nlp_sim_train.tsv"
    if not path.exists():
        return None
    ids: list[int] = []
    first: list[str] = []
    second: list[str] = []
    labels: list[int] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                continue
            ids.append(int(parts[0]))
            first.append(parts[1].strip())
            second.append(parts[2].strip())
            labels.append(int(parts[3]))
    return Pairs(tuple(ids), tuple(first), tuple(second), tuple(labels))


def afqmc_split(pairs: Pairs) -> tuple[Pairs, Pairs]:
    """(validation, test): every pair whose id is a multiple of 5 validates (about 7,900), the rest tests."""
    val = [i for i, pair_id in enumerate(pairs.ids) if pair_id % 5 == 0]
    test = [i for i, pair_id in enumerate(pairs.ids) if pair_id % 5 != 0]
    return pairs.select(val), pairs.select(test)
