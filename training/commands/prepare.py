"""Turn Discord exports into a persona dataset folder (train.jsonl, val.jsonl, stats.json,
and report.png: the dataset in a picture that names no one but the persona).

Give exports (files or folders; DiscordChatExporter JSON/CSV/text, a Discord data package,
text copied from the client) and the persona's name or id. See docs/data.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from training.data.pipeline import PrepareOptions, prepare_from_args
from training.options import add_options
from training.outputs import (
    check_replaceable,
    check_separate,
    check_writable,
    mark_ours,
    move_into_place,
    scratch_folder,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_options(parser, PrepareOptions)
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="dataset folder to write")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace --out if catgpt-train wrote it (only once the new one is "
                        "complete)")


def format_summary(stats: dict) -> str:
    files = stats["files"]
    formats = ", ".join(sorted({f["format"] for f in files}))
    dropped = ", ".join(f"{n} {reason}" for reason, n in stats["dropped"].items()) or "none"
    masked = ", ".join(f"{n} {kind}" for kind, n in stats["pii_masked"].items() if n)
    aliases = ", ".join(stats["persona"]["aliases"])
    lines = [
        f"persona:  {stats['persona']['name']} (matched as {aliases})",
        f"read:     {stats['messages_read']} messages from {len(files)} file(s) ({formats}); "
        f"kept {stats['messages_kept']} ({stats['persona_messages']} by the persona)",
        f"dropped:  {dropped}",
        f"copies:   {_copies(stats)}",
        f"turns:    {stats['turns']} in {stats['conversations']} conversations; "
        f"{stats['persona_turns']} by the persona",
        f"examples: {stats['examples']} (train {stats['train_examples']}, "
        f"val {stats['val_examples']}); {stats['duplicates_removed']} duplicates removed",
        f"privacy:  {'masked ' + masked if masked else 'nothing to mask'}"
        + (" (--keep-pii: masking off)" if stats["options"]["keep_pii"] else ""),
    ]
    if stats.get("opt_outs"):
        lines.append(f"opt-outs: {_opt_outs(stats['opt_outs'])}")
    if stats["salvaged"]:
        lines.append(f"salvaged: {stats['salvaged']} messages kept from truncated export(s)")
    return "\n".join(lines)


def _opt_outs(opt_outs: dict) -> str:
    text = (f"{opt_outs['messages']} messages by {opt_outs['accounts']} opted-out account(s) "
            "left out, in contexts and replies")
    unmatched = opt_outs["files_without_ids"]
    if unmatched:
        # Copied client text and DCE plain text carry names only: an opt-out (an account id)
        # cannot be matched there, and guessing by name could drop a namesake instead.
        files = ", ".join(Path(path).name for path in unmatched)
        text += (f"; NOT applied to {sum(unmatched.values())} messages without account ids "
                 f"(in {files}): export those channels as JSON or CSV to honour opt-outs there")
    return text


def _copies(stats: dict) -> str:
    copies = stats["copies_dropped"]
    if not copies["messages"]:
        return ("none: no channel is in more than one file" if not
                copies["channels_in_several_files"] else "none found")
    return (f"{copies['messages']} messages were in more than one file and are counted once "
            f"({copies['by_id']} matched by message id, {copies['by_content']} by channel, author, "
            "time and text)")


def main(args: argparse.Namespace) -> int:
    out = Path(args.out)
    check_separate(out, args.exports)  # --overwrite must never delete the exports
    check_writable(out)
    check_replaceable(out, args.overwrite)  # and only a folder catgpt-train wrote
    # Build beside the target and move it in at the end: a failure leaves the old
    # dataset (if any) untouched and no half-written folder behind.
    with scratch_folder(out) as scratch:
        stats = prepare_from_args(args, scratch)
        mark_ours(scratch, "dataset")
        move_into_place(scratch, out)
    print(f"wrote {out}/ (train.jsonl, val.jsonl, stats.json, report.png)")
    print(format_summary(stats))
    return 0

