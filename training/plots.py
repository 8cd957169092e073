"""The pictures: report.png (prepare), loss.png (train), style.png (eval). matplotlib, Agg.

Each is drawn from figures the commands already recorded, never from message text, and names no
one but the persona: other authors are "other 1", "other 2"... by rank, so every picture can be
shared with the model. Imported only when a picture is drawn (matplotlib takes a second to load),
so `--help` and the commands' start stay fast.

Figures are built with `matplotlib.figure.Figure` on an Agg canvas, not pyplot: no global state,
no GUI backend, safe in any thread.
"""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from training.model.style import MARKERS
from training.model.tables import SIDES

PERSONA_COLOR = "#d9480f"
OTHER_COLOR = "#adb5bd"
SIDE_COLORS = {"real": "#343a40", "fine_tuned": "#1c7ed6", "base": "#f59f00",
               "prompted_base": "#37b24d"}  # fmt: skip
DPI = 100


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> None:
    with warnings.catch_warnings():
        # A persona name in a script DejaVu Sans lacks draws as boxes; say nothing about it.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure.savefig(path, format="png")


# --- prepare -----------------------------------------------------------------------------------


def dataset_report(path: Path, persona: str, authors: list[tuple[str, int, bool]],
                   reply_lengths: dict[int, int], activity: list[tuple[date, int, int]],
                   unit: str) -> None:  # fmt: skip
    """Messages per author (persona highlighted), the persona's reply lengths, activity.

    authors: (label, kept messages, is the persona), the labels already anonymous;
    reply_lengths: characters -> persona replies; activity: (bin start, persona, others).
    """
    figure = _figure(15, 4.5)
    by_author, lengths, over_time = figure.subplots(1, 3)

    labels = [label for label, _, _ in authors]
    by_author.barh(labels, [n for _, n, _ in authors],
                   color=[PERSONA_COLOR if mine else OTHER_COLOR for _, _, mine in authors])
    by_author.invert_yaxis()  # the most active on top
    by_author.set_title("kept messages per author (others unnamed)")
    by_author.set_xlabel("messages")

    replies = sum(reply_lengths.values())
    if replies:
        sizes = sorted(reply_lengths)
        # A few pasted walls of text would squash every other bar into one: leave out the
        # longest 1% when they reach past twice the rest.
        seen, top = 0, sizes[-1]
        for size in sizes:
            seen += reply_lengths[size]
            if seen >= 0.99 * replies:
                top = size if sizes[-1] > 2 * size else sizes[-1]
                break
        lengths.hist(sizes, weights=[reply_lengths[s] for s in sizes], color=PERSONA_COLOR,
                     bins=min(40, max(5, len(sizes))), range=(0, max(top, 1)))  # fmt: skip
        if top < sizes[-1]:
            lengths.set_xlabel("characters (the longest 1% left out)")
    lengths.set_title(f"{persona}'s replies: length ({replies} replies)")
    if not lengths.get_xlabel():
        lengths.set_xlabel("characters")
    lengths.set_ylabel("replies")

    if activity:
        starts = [start for start, _, _ in activity]
        mine = [n for _, n, _ in activity]
        others = [n for _, _, n in activity]
        width = 6 if unit == "week" else 27  # days: bars touch without overlapping
        over_time.bar(starts, others, width=width, align="edge", color=OTHER_COLOR,
                      label="others")  # fmt: skip
        over_time.bar(starts, mine, width=width, align="edge", bottom=others,
                      color=PERSONA_COLOR, label=persona)  # fmt: skip
        over_time.legend()
        locator = AutoDateLocator(maxticks=8)
        over_time.xaxis.set_major_locator(locator)
        over_time.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    over_time.set_title(f"kept messages per {unit}")
    over_time.set_ylabel("messages")
    _save(figure, path)


# --- train -------------------------------------------------------------------------------------


def loss_picture(path: Path, log_history: list[dict], persona: str, stop_reason: str,
                 restored_best: bool) -> None:  # fmt: skip
    """Train loss per logging step and val loss per epoch (trainer.state.log_history)."""
    train = [(e["step"], e["loss"]) for e in log_history if "loss" in e and "step" in e]
    val = [(e["step"], e["eval_loss"], e.get("epoch") or 0.0)
           for e in log_history if "eval_loss" in e]  # fmt: skip
    figure = _figure(9, 5)
    axes = figure.subplots()
    if train:
        axes.plot(*zip(*train, strict=True), color="#1c7ed6", label="train loss (logging step)")
    if val:
        steps, losses, _ = zip(*val, strict=True)
        axes.plot(steps, losses, "o-", color=PERSONA_COLOR, label="val loss (epoch)")
        step, loss, epoch = min(val, key=lambda entry: entry[1])
        kept = ", kept" if restored_best else ""
        axes.plot([step], [loss], "*", markersize=18, color="#f59f00",
                  label=f"best val loss {loss:.3f} (epoch {epoch:g}{kept})")  # fmt: skip
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("loss on persona tokens")
    axes.set_title(f"{persona}: training stopped: {stop_reason}")
    axes.grid(alpha=0.3)
    if train or val:
        axes.legend()
    _save(figure, path)


# --- eval --------------------------------------------------------------------------------------


def style_picture(path: Path, style: dict, likeness: dict | None = None) -> None:
    """One panel per style marker, one bar per side (real, fine-tuned, base, prompted base);
    with the likeness figures, a last row: discriminator accuracy and attribution."""
    sides = [side for side in SIDES if side in style["markers"]]
    rows = 4 if likeness else 3
    figure = _figure(13, 10 + 3.3 * (rows - 3))
    panels = list(figure.subplots(rows, 3).flat)
    if likeness:
        likeness_panels(panels[9], panels[10], panels[11], likeness)
    for axes, marker in zip(panels[:9], MARKERS, strict=True):
        values = [style["markers"][side].get(marker.key) for side in sides]
        scale = 100 if marker.kind in ("share", "overlap") else 1
        bars = axes.bar([SIDES[s] for s in sides], [(v or 0) * scale for v in values],
                        color=[SIDE_COLORS[s] for s in sides])  # fmt: skip
        shown = ["n/a" if v is None else f"{v * scale:.0f}%" if scale == 100 else f"{v:.3g}"
                 for v in values]  # fmt: skip
        axes.bar_label(bars, shown, fontsize=8)
        axes.set_title(marker.label, fontsize=10)
        axes.tick_params(axis="x", labelsize=8)
        if scale == 100:
            axes.set_ylim(0, 110)  # shares on one scale, room for the labels
            axes.set_ylabel("%")
        else:
            axes.set_ylim(0, max([(v or 0) for v in values] + [1e-9]) * 1.15 or 1)
    distances = ", ".join(f"{SIDES[s]} {style['distance'][s]:.2f}" for s in sides
                          if s != "real" and style["distance"].get(s) is not None)  # fmt: skip
    figure.suptitle(f"Style of {style['replies']} replies to the same val contexts"
                    + (f" (style distance: {distances})" if distances else ""))  # fmt: skip
    _save(figure, path)


def likeness_panels(judged_axes, attributed_axes, note_axes, likeness: dict) -> None:
    """Discriminator accuracy per generated side (50% drawn: cannot tell), and the share
    attributed to the persona per side (the real replies' share is the ceiling), each bar with
    its 95% interval."""

    def bars(axes, values: dict[str, dict], key: str) -> None:
        shown = [side for side in SIDES if side in values and values[side].get(key) is not None]
        heights = [100 * values[s][key] for s in shown]
        low = [100 * (values[s][key] - values[s]["interval"][0]) for s in shown]
        high = [100 * (values[s]["interval"][1] - values[s][key]) for s in shown]
        drawn = axes.bar([SIDES[s] for s in shown], heights, yerr=[low, high], capsize=4,
                         color=[SIDE_COLORS[s] for s in shown])  # fmt: skip
        axes.bar_label(drawn, [f"{h:.0f}%" for h in heights], fontsize=8, label_type="center",
                       color="white")  # fmt: skip
        axes.set_ylim(0, 105)
        axes.set_ylabel("%")
        axes.tick_params(axis="x", labelsize=8)

    judged = {side: figure for side, figure in (likeness.get("discriminator") or {}).items()
              if figure.get("available")}  # fmt: skip
    bars(judged_axes, judged, "accuracy")
    judged_axes.axhline(50, color="#343a40", linestyle="--", linewidth=1)
    judged_axes.set_title("told from the real replies (50% = cannot tell)", fontsize=10)
    attribution = likeness.get("attribution") or {}
    if attribution.get("available"):
        bars(attributed_axes, attribution["shares"], "share")
        attributed_axes.axhline(100 * attribution["chance"], color="#343a40", linestyle=":",
                                linewidth=1)  # fmt: skip
        attributed_axes.set_title(f"attributed to the persona (of {attribution['speakers']} "
                                  "speakers; dotted: chance)", fontsize=10)  # fmt: skip
    else:
        attributed_axes.set_title("attributed to the persona: n/a", fontsize=10)
        attributed_axes.text(0.5, 0.5, attribution.get("reason", ""), ha="center", va="center",
                             wrap=True, fontsize=8, transform=attributed_axes.transAxes)
    note_axes.axis("off")
    note_axes.text(0, 0.5, f"likeness: {likeness['contexts']} val contexts\n"
                   "bars: 95% intervals (bootstrap over\ncontexts; Wilson for attribution)",
                   va="center", fontsize=9)  # fmt: skip
