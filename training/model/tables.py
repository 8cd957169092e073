"""The eval figures as tables: rows defined once, written as fixed-width text (the console) or
as Markdown (the model card). Pure functions over catgpt.json's "evaluation" dict.
"""

from __future__ import annotations

import math

from training.model.style import MARKERS

# catgpt.json's side keys -> column titles
SIDES = {"real": "real", "fine_tuned": "fine-tuned", "base": "base",
         "prompted_base": "prompted base"}  # fmt: skip
LABEL_WIDTH = 50


def percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def number(value) -> str:
    if value is None:
        return "n/a"
    return "inf" if isinstance(value, float) and math.isinf(value) else f"{value:.3f}"


def loss_rows(figures: dict) -> list[list[str]]:
    """Header and the val loss / perplexity rows: fine-tuned, base, and the prompted base."""
    header = ["", "fine-tuned", f"base ({figures.get('base') or '?'})"]
    keys = ["", "base_"]
    if figures.get("prompted_base_val_loss") is not None:
        header.append("prompted base")
        keys.append("prompted_base_")
    return [
        header,
        [f"val loss ({figures.get('val_persona_tokens', '?')} persona tokens)",
         *(number(figures.get(k + "val_loss")) for k in keys)],
        ["val perplexity", *(number(figures.get(k + "val_perplexity")) for k in keys)],
    ]  # fmt: skip


def sampling_rows(figures: dict) -> list[list[str]]:
    """The sampled replies' figures (fine-tuned model only; with the copy guard off and on where
    the folder has one) beside the real val replies; [] when nothing was sampled."""
    if not figures.get("samples"):
        return []
    guard = figures.get("copy_guard")
    sides = [guard["off"], guard["on"]] if guard else [figures]
    baseline = guard["val_baseline"] if guard else {
        "exact_copy_rate": figures.get("exact_copy_rate_val_baseline"),
        "span8_share": figures.get("span8_share_val_baseline"),
    }  # fmt: skip

    def row(label: str, key: str, real: bool = True) -> list[str]:
        return [label, *(percent(side.get(key)) for side in sides),
                percent(baseline.get(key)) if real else ""]  # fmt: skip

    rows = [
        [f"replies sampled for {figures['samples']} val contexts",
         *(["guard off", "guard on"] if guard else ["fine-tuned"]), "real val replies"],
        row(f"ended with eos before {figures.get('max_new_tokens')} new tokens",
            "ended_with_eos", real=False),
        row("exact copies of a training reply (20+ chars)", "exact_copy_rate"),
        row("share with an 8-token span from training replies", "span8_share"),
    ]  # fmt: skip
    if guard and guard["n"] != 8:  # at 8 it is the row above
        rows.append(row(f"share with a span of {guard['n']} tokens (the guard's n)",
                        "long_span_share"))  # fmt: skip
    if guard:
        rows.append(["drawn again by the copy guard", "", percent(guard["on"].get("resampled")),
                     ""])  # fmt: skip
    if any(side.get("seconds_per_reply_mean") is not None for side in sides):
        rows.append(["seconds per reply, mean / p90 (its batch's time)",
                     *(seconds(side) for side in sides), ""])  # fmt: skip
    return rows


def guard_note(guard: dict) -> str:
    """What the guard columns mean, in one sentence."""
    whole = guard.get("whole_replies")
    covered = (f"contains one of the {whole} training replies of 20+ characters or "
               if whole is not None else "")  # fmt: skip
    return (f"copy guard: a reply that {covered}shares a {guard['n']}-token run with one is "
            f"drawn again, up to {guard.get('retries', 3)} times, and the least copying draw "
            "is sent; both columns answer the same contexts with the same seeds")


def seconds(side: dict) -> str:
    mean, p90 = side.get("seconds_per_reply_mean"), side.get("seconds_per_reply_p90")
    return "n/a" if mean is None else f"{mean:.2f} / {p90:.2f}"


def _marker_value(kind: str, value) -> str:
    if value is None:
        return "n/a"
    if kind in ("share", "overlap"):
        return percent(value)
    return f"{value:.1f}" if abs(value) >= 1 or value == 0 else f"{value:.2f}"


def style_rows(style: dict | None) -> list[list[str]]:
    """One row per style marker, one column per side, and the style distance last."""
    if not style or not style.get("markers"):
        return []
    sides = [side for side in SIDES if side in style["markers"]]
    rows = [[f"style of the replies ({style['replies']} val contexts)",
             *(SIDES[side] for side in sides)]]  # fmt: skip
    for marker in MARKERS:
        rows.append([marker.label, *(_marker_value(marker.kind, style["markers"][s][marker.key])
                                     for s in sides)])  # fmt: skip
    rows.append(["style distance (0 = as the real replies)",
                 *(number(style["distance"].get(s)) for s in sides)])  # fmt: skip
    return rows


def interval(figure: dict, key: str) -> str:
    """`62% (48-75%)`: a share and its 95% interval."""
    low, high = figure.get("interval") or (None, None)
    if figure.get(key) is None:
        return "n/a"
    return f"{percent(figure[key])} ({100 * low:.0f}-{100 * high:.0f}%)"


def likeness_rows(section: dict | None) -> list[list[str]]:
    """The likeness figures: discriminator accuracy and the share attributed to the persona,
    per side, with 95% intervals; [] when they were not measured."""
    if not section:
        return []
    judged = section.get("discriminator") or {}
    # The generated sides, then the real replies last, as in the sampling table.
    order = [*(side for side in SIDES if side in judged), "real"]
    rows = [[f"likeness ({section['contexts']} val contexts, 95% intervals)",
             *(SIDES[s] if s != "real" else "real val replies" for s in order)]]
    accuracy = ["told from the real replies (50% = cannot tell)"]
    for side in order:
        figure = judged.get(side) or {}
        accuracy.append("" if side == "real" else interval(figure, "accuracy")
                        if figure.get("available") else "n/a")  # fmt: skip
    rows.append(accuracy)
    attribution = section.get("attribution") or {}
    if attribution.get("available"):
        shares = attribution["shares"]
        rows.append([f"attributed to the persona (of {attribution['speakers']} speakers)",
                     *(interval(shares.get(side) or {}, "share") for side in order)])
    else:
        rows.append(["attributed to the persona", *(["n/a"] * len(order))])
    return rows


def likeness_notes(section: dict | None) -> list[str]:
    """What the likeness rows mean, and why a figure is missing."""
    if not section:
        return []
    notes = ["likeness: a character n-gram classifier, cross-validated by context, tells the "
             "real val replies from the generated ones (bootstrap interval over contexts); a "
             "speaker classifier trained on everyone's training messages names who wrote each "
             "reply (Wilson interval; the real val replies are its ceiling)"]  # fmt: skip
    reasons = {figure.get("reason") for figure in (section.get("discriminator") or {}).values()
               if not figure.get("available")}  # fmt: skip
    notes += [f"discriminator not available: {reason}" for reason in sorted(reasons - {None})]
    attribution = section.get("attribution") or {}
    if attribution and not attribution.get("available"):
        notes.append(f"attribution not available: {attribution.get('reason')}")
    elif attribution:
        notes.append(f"attribution: {attribution['speakers']} speakers with "
                     f"{attribution['messages']} training messages (chance "
                     f"{percent(attribution['chance'])})")  # fmt: skip
    return notes


def text_table(rows: list[list[str]], width: int = 14) -> str:
    """Fixed width: labels left in LABEL_WIDTH, values right-aligned in `width` columns."""
    if not rows:
        return ""
    width = max(width, *(len(cell) + 2 for row in rows for cell in row[1:]))
    return "\n".join(
        f"{row[0]:<{LABEL_WIDTH}}" + "".join(f"{cell:>{width}}" for cell in row[1:])
        for row in rows
    )


def markdown_table(rows: list[list[str]]) -> list[str]:
    """GitHub/Hub Markdown: the first row is the header; values right-aligned."""
    if not rows:
        return []
    columns = max(len(row) for row in rows)

    def line(cells: list[str]) -> str:
        cells = [c.strip().replace("|", "\\|") for c in cells] + [""] * (columns - len(cells))
        return "| " + " | ".join(cells) + " |"

    return [line(rows[0]), "|---" + "|---:" * (columns - 1) + "|", *map(line, rows[1:])]


def evaluation_markdown(figures: dict) -> list[str]:
    """The model card's evaluation: loss, sampling and style tables, as `eval` prints them."""
    lines = markdown_table(loss_rows(figures))
    if figures.get("prompted_base_val_loss") is not None:
        lines += ["", f"*Prompted base*: the base model with {figures['few_shot']} of the "
                  "persona's training replies as example turns before each context, the usual "
                  "alternative to fine-tuning."]  # fmt: skip
    for rows in (sampling_rows(figures), style_rows(figures.get("style"))):
        if rows:
            lines += ["", *markdown_table(rows)]
    likeness = figures.get("likeness")
    if likeness_rows(likeness):
        lines += ["", *markdown_table(likeness_rows(likeness)), "",
                  *(f"- {note}." for note in likeness_notes(likeness))]
    guard = figures.get("copy_guard")
    if guard:
        lines += ["", f"*Copy guard*: {guard_note(guard)[len('copy guard: '):]} "
                  "(`copy_index.json`; `CATGPT_COPY_GUARD=off` turns it off)."]
    if figures.get("style"):
        lines += ["", "Style distance: the mean over the markers of each one's difference from "
                  "the real replies, scaled to [0, 1]; 0 is indistinguishable by these markers."]
    return lines
