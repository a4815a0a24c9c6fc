"""The support lead's report: volume per channel, what the bot decided, what it did not understand, ticket times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz

from bot.knowledge.textnorm import normalize
from bot.store import ArticleVotes, StorePort, TicketStats

SIMILAR = 70  # rapidfuzz token_set_ratio at which two unanswered questions count as the same question


@dataclass(frozen=True, slots=True)
class QuestionGroup:
    """Similar questions the bot did not understand: one example and how often it was asked."""

    example: str
    count: int


@dataclass(frozen=True, slots=True)
class Report:
    """Everything `omnidesk report` prints."""

    since: datetime
    messages: dict[tuple[str, str], int]
    decisions: dict[str, int]
    not_understood: list[QuestionGroup]
    tickets: TicketStats
    article_votes: list[ArticleVotes]


def group_similar(texts: list[str], threshold: int = SIMILAR) -> list[QuestionGroup]:
    """Greedy grouping by similarity, most frequent first: the knowledge base's to-do list."""
    groups: list[tuple[str, str, int]] = []  # (normalised key, example, count)
    for text in texts:
        key = normalize(text)
        if not key:
            continue
        for i, (other, example, count) in enumerate(groups):
            if fuzz.token_set_ratio(key, other) >= threshold:
                groups[i] = (other, example, count + 1)
                break
        else:
            groups.append((key, text, 1))
    return sorted((QuestionGroup(example, count) for _, example, count in groups), key=lambda g: -g.count)


async def build_report(store: StorePort, since: datetime, top: int = 10) -> Report:
    """Collect the report's figures from the store."""
    return Report(
        since=since,
        messages=await store.message_counts(since),
        decisions=await store.decision_counts(since),
        not_understood=group_similar(await store.not_understood(since))[:top],
        tickets=await store.ticket_stats(since),
        article_votes=(await store.article_votes(since))[:top],
    )


def format_report(report: Report) -> str:
    """The report as plain text."""
    lines = [f"OmniDesk report since {report.since:%Y-%m-%d %H:%M} UTC", "", "Messages per channel (in / out):"]
    channels = sorted({channel for channel, _ in report.messages})
    for channel in channels:
        lines.append(f"  {channel:10s} {report.messages.get((channel, 'in'), 0):6d} / {report.messages.get((channel, 'out'), 0):6d}")
    if not channels:
        lines.append("  (none)")
    total = sum(report.decisions.values())
    lines += ["", f"Decisions ({total} user messages):"]
    for action in ("answer", "clarify", "escalate", "decline"):
        count = report.decisions.get(action, 0)
        share = 100 * count / total if total else 0.0
        lines.append(f"  {action:9s} {count:6d}  {share:5.1f}%")
    lines += ["", "Most frequent questions not understood (redacted):"]
    lines += [f"  {g.count:4d} x {g.example}" for g in report.not_understood] or ["  (none)"]
    stats = report.tickets

    def minutes(seconds: float | None) -> str:
        return "-" if seconds is None else f"{seconds / 60:.1f} min"

    lines += [
        "",
        f"Tickets opened: {stats.opened}",
        f"  median time to claim:   {minutes(stats.median_seconds_to_claim)}",
        f"  median time to resolve: {minutes(stats.median_seconds_to_resolve)}",
        f"  CSAT: {'-' if stats.csat_average is None else f'{stats.csat_average:.2f} / 5'} ({stats.csat_count} ratings)",
    ]
    lines += ["", "Help-center votes (helpful / not helpful):"]
    lines += [f"  {v.entry_id:32s} {v.helpful:4d} / {v.not_helpful}" for v in report.article_votes] or ["  (none)"]
    return "\n".join(lines)
