"""Turn Discord exports into a persona dataset folder (train.jsonl, val.jsonl, stats.json).

Give exports (files or folders; DiscordChatExporter JSON/CSV/text, a Discord data package,
text copied from the client) and the persona's name or id. See docs/data.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from training.data.pipeline import ATTACHMENT_POLICIES, PrepareOptions, run_prepare
from training.errors import OutputExistsError
from training.outputs import check_separate, check_writable

log = logging.getLogger(__name__)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("exports", nargs="+", type=Path, metavar="EXPORT",
                        help="export files or folders (formats are detected from content)")
    parser.add_argument("--persona", action="append", required=True, dest="personas",
                        metavar="NAME",
                        help="the person to imitate: username, nickname, display name or id "
                        "(case-insensitive); repeat for names they have had. The first one "
                        "labels the persona's turns")


def add_cleaning_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cleaning and examples (defaults justified in docs/data.md)")
    group.add_argument("--exclude-author", action="append", default=[], metavar="NAME",
                       dest="exclude_authors",
                       help="leave this person's messages out entirely (repeatable)")
    group.add_argument("--include-bots", action="store_true",
                       help="keep bot messages as ordinary speakers (default: dropped)")
    group.add_argument("--keep-pii", action="store_true",
                       help="do not mask e-mails, phone numbers, IPs, invites, tokens, cards")
    group.add_argument("--phone-region", default="US", metavar="CC",
                       help="country for reading phone numbers written without +code "
                       "(default: US)")
    group.add_argument("--attachments", choices=ATTACHMENT_POLICIES, default="placeholder",
                       help="others' attachment-only messages: a placeholder in context "
                       "(default) or dropped; the persona's are always dropped")
    group.add_argument("--merge-window", type=float, default=5.0, metavar="MINUTES",
                       help="join a speaker's consecutive messages this close into one turn "
                       "(default: 5)")
    group.add_argument("--gap", type=float, default=60.0, metavar="MINUTES",
                       help="silence that starts a new conversation (default: 60)")
    group.add_argument("--context-turns", type=int, default=8, metavar="N",
                       help="turns of context before each persona turn (default: 8)")
    group.add_argument("--val-share", type=float, default=0.1, metavar="SHARE",
                       help="share of examples held out for validation, by whole "
                       "conversation (default: 0.1)")
    group.add_argument("--salvage", action="store_true",
                       help="keep the messages read from a truncated export instead of "
                       "stopping with an error")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    add_cleaning_arguments(parser)
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="dataset folder to write")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace --out if it exists (only once the new one is complete)")
    # 42, as in train and run, so `prepare` alone and `run` give the same split.
    parser.add_argument("--seed", type=int, default=42, help="seed for the train/val split")


def prepare_from_args(args: argparse.Namespace, out_dir: Path, seed: int) -> dict:
    """Write the dataset into `out_dir` (created if missing) and return its stats."""
    options = PrepareOptions(
        exports=[Path(p) for p in args.exports],
        personas=list(args.personas),
        exclude_authors=list(args.exclude_authors or []),
        include_bots=args.include_bots,
        keep_pii=args.keep_pii,
        phone_region=args.phone_region,
        attachments=args.attachments,
        merge_window_s=args.merge_window * 60,
        gap_s=args.gap * 60,
        context_turns=args.context_turns,
        val_share=args.val_share,
        salvage=args.salvage,
        progress=sys.stderr.isatty(),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    return run_prepare(options, out_dir, seed)


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
        f"turns:    {stats['turns']} in {stats['conversations']} conversations; "
        f"{stats['persona_turns']} by the persona",
        f"examples: {stats['examples']} (train {stats['train_examples']}, "
        f"val {stats['val_examples']}); {stats['duplicates_removed']} duplicates removed",
        f"privacy:  {'masked ' + masked if masked else 'nothing to mask'}"
        + (" (--keep-pii: masking off)" if stats["options"]["keep_pii"] else ""),
    ]
    if stats["salvaged"]:
        lines.append(f"salvaged: {stats['salvaged']} messages kept from truncated export(s)")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    out = Path(args.out)
    check_separate(out, args.exports)  # --overwrite must never delete the exports
    check_writable(out)
    if out.exists() and not out.is_dir():
        raise OutputExistsError("exists and is not a folder", where=str(out),
                                fix="Choose another --out.")
    if out.is_dir() and any(out.iterdir()) and not args.overwrite:
        raise OutputExistsError("the output folder exists and is not empty", where=str(out),
                                fix="Pass --overwrite to replace it, or choose another --out.")
    out.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and move it in at the end: a failure leaves the old
    # dataset (if any) untouched and no half-written folder behind.
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        stats = prepare_from_args(args, scratch, args.seed)
        _replace(out, scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    print(f"wrote {out}/ (train.jsonl, val.jsonl, stats.json)")
    print(format_summary(stats))
    return 0


def _replace(out: Path, new: Path) -> None:
    if not out.exists():
        os.replace(new, out)
        return
    old = new.with_name(new.name + ".old")
    os.replace(out, old)
    try:
        os.replace(new, out)
    except OSError:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)

