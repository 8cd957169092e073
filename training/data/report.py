"""report.png for a dataset folder: what `prepare` counted, as a picture that can be shared.

`prepare` fills a Tally during its one pass (a dict increment per message, bounded by days,
reply lengths and people, never by messages) and calls `write_report` at the end. Other
authors are never named: they become "other 1", "other 2"... by how much they wrote.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

REPORT_PICTURE = "report.png"
TOP_AUTHORS = 10  # bars in "messages per author", the persona's included
WEEKLY_UP_TO_DAYS = 26 * 7  # activity per week for half a year or less, else per month


@dataclass
class Tally:
    """prepare's counts for the picture; the pipeline updates the fields directly (hot loop)."""

    persona_days: Counter = field(default_factory=Counter)  # date.toordinal() -> messages
    other_days: Counter = field(default_factory=Counter)
    reply_lengths: Counter = field(default_factory=Counter)  # characters -> persona replies


def authors_ranked(activity: Counter, persona_ids: set, persona: str,
                   top: int = TOP_AUTHORS) -> list[tuple[str, int, bool]]:  # fmt: skip
    """(label, messages, is persona), most active first: the persona (all their accounts as one)
    and the `top - 1` most active others, labelled only by rank."""
    others = sorted((n for author, n in activity.items() if author not in persona_ids),
                    reverse=True)[: top - 1]  # fmt: skip
    ranked = [(f"other {rank}", n, False) for rank, n in enumerate(others, start=1)]
    ranked.append((persona, sum(activity[a] for a in persona_ids), True))
    return sorted(ranked, key=lambda bar: -bar[1])  # stable: "other N" keep their order


def activity_bins(persona_days: Counter, other_days: Counter) -> tuple[str, list]:
    """("week" or "month", [(first day of the bin, persona messages, others' messages)])."""
    days = persona_days.keys() | other_days.keys()
    if not days:
        return "week", []
    weekly = max(days) - min(days) <= WEEKLY_UP_TO_DAYS

    def start(ordinal: int) -> date:
        day = date.fromordinal(ordinal)
        return day - timedelta(days=day.weekday()) if weekly else day.replace(day=1)

    bins: dict[date, list[int]] = {}
    for counts, column in ((persona_days, 0), (other_days, 1)):
        for ordinal, n in counts.items():
            bins.setdefault(start(ordinal), [0, 0])[column] += n
    # Empty weeks or months in between are drawn as gaps, so time runs evenly.
    return ("week" if weekly else "month"), [(d, p, o) for d, (p, o) in sorted(bins.items())]


def write_report(out_dir: Path, tally: Tally, activity: Counter, persona: str,
                 persona_ids: set) -> Path:  # fmt: skip
    """Draw report.png into `out_dir` from prepare's counts; `activity`: author id -> messages;
    `persona_ids`: the persona's accounts (highlighted; everyone else is unnamed)."""
    from training import plots  # matplotlib: loaded only now, once the dataset is written

    unit, bins = activity_bins(tally.persona_days, tally.other_days)
    path = Path(out_dir) / REPORT_PICTURE
    plots.dataset_report(path, persona, authors_ranked(activity, persona_ids, persona),
                         tally.reply_lengths, bins, unit)  # fmt: skip
    return path
