"""prepare, end to end: exports -> messages -> cleaned turns -> examples -> dataset folder
(and report.png, the dataset in a picture: training/data/report.py).

One streaming pass over every message (two in the rare case training/data/people.py explains:
a namesake of the persona seen before the persona); what is held in memory is bounded by the
number of people, channels and conversations, never by the number of messages.
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import ClassVar

import phonenumbers
from tqdm import tqdm

from catgpt.opt_outs import read_opt_outs
from training.data import copies, copy_plan
from training.data.cleaning import CleaningOptions, TextCleaner
from training.data.conversations import ExampleBuilder, TurnOptions
from training.data.dataset import ExampleWriter, write_stats
from training.data.messages import Message, MessageKind
from training.data.people import Author, People, PersonaOptedOut, Resolution, is_id
from training.data.pii import PiiMasker
from training.data.report import Tally, write_report
from training.data.speaking_rate import SpeakingRate
from training.errors import DatasetError
from training.options import from_args, option
from training.readers import Source, data_package, find_sources, read_source
from training.readers.base import ReadReport

log = logging.getLogger(__name__)

ATTACHMENT_POLICIES = ("placeholder", "drop")
_LONGEST_S = 100 * 365 * 24 * 3600.0  # a century: longer windows and gaps mean nothing more
_SYSTEM = MessageKind.SYSTEM


@dataclass
class PrepareOptions:
    """What `prepare` (and the first step of `run`) takes; recorded in stats.json."""

    option_group: ClassVar[str] = "cleaning and examples (defaults justified in docs/data.md)"

    exports: list[Path] = option(positional=True, nargs="+", metavar="EXPORT",
                                 help="export files or folders (formats are detected from content)")
    personas: list[str] = option(
        flag="--persona", action="append", metavar="NAME", main=True,
        help="the person to imitate: their account id or username (case-insensitive); a display "
        "name or nickname works when one account alone has it. Repeat for names they have had. "
        "The first one labels the persona's turns")
    exclude_authors: list[str] = option(
        default_factory=list, flag="--exclude-author", action="append", metavar="NAME",
        help="leave this person's messages out entirely (repeatable)")
    opt_outs: Path | None = option(
        None, metavar="FILE",
        help="leave out the messages of the accounts in FILE (plain text, one account id a line, "
        "`#` comments), in contexts and replies alike; the persona's own id refuses")
    include_bots: bool = option(
        False, help="keep bot messages as ordinary speakers (default: dropped)")
    keep_pii: bool = option(
        False, help="do not mask e-mails, phone numbers, IPs, invites, tokens, cards")
    phone_region: str = option(
        "US", metavar="CC",
        help="country tried first for phone numbers written without +code, before the common "
        "ones (US/CA, GB, DE, FR, IN, AU, BR, ES, IT, NL, PL, MX, RU, TR, PH) "
        "(default: {default})")
    attachments: str = option(
        "placeholder", choices=ATTACHMENT_POLICIES,
        help="others' attachment-only messages: a placeholder in context or dropped "
        "(default: {default}); the persona's are always dropped")
    merge_window_s: float = option(
        300.0, flag="--merge-window", unit=60, metavar="MINUTES",
        help="join a speaker's consecutive messages this close into one turn (default: {default})")
    gap_s: float = option(3600.0, flag="--gap", unit=60, metavar="MINUTES",
                          help="silence that starts a new conversation (default: {default})")
    context_turns: int = option(
        8, metavar="N", help="turns of context before each persona turn (default: {default})")
    val_share: float = option(
        0.1, metavar="SHARE",
        help="share of examples held out for validation, by whole conversation "
        "(default: {default})")
    salvage: bool = option(
        False, help="keep the messages read from a truncated export instead of stopping with an "
        "error")
    progress: bool = False  # a progress bar per file (when stderr is a terminal)
    # 42, as in train and run, so `prepare` alone and `run` give the same split.
    seed: int = option(42, metavar="N", main=True,
                       help="seed for the train/val split (default: {default})")

    def __post_init__(self):
        if not self.personas or not any(p.strip() for p in self.personas):
            raise DatasetError("no persona given", fix="Pass --persona NAME (a name or id).")
        if not 0 <= self.val_share < 1:
            raise DatasetError(f"--val-share {self.val_share} is outside [0, 1)",
                               fix="Use a share such as 0.1 (10% of examples for val).")
        if self.context_turns < 1:
            raise DatasetError("--context-turns must be at least 1", fix="Use e.g. 8.")
        # nan passes no comparison and so slips past `< 0` checks; inf (or 1e300) would fail
        # later inside timedelta, as a traceback.
        window, gap = self.merge_window_s, self.gap_s
        if not (math.isfinite(window) and math.isfinite(gap)
                and 0 <= window <= _LONGEST_S and 0 < gap <= _LONGEST_S):
            raise DatasetError(
                "--merge-window must be >= 0 and --gap > 0, both finite (got --merge-window "
                f"{self.merge_window_s / 60:g}, --gap {self.gap_s / 60:g})",
                fix="Use e.g. --merge-window 5 --gap 60 (minutes).")
        self.phone_region = self.phone_region.upper()
        if self.phone_region not in phonenumbers.SUPPORTED_REGIONS:
            raise DatasetError(f"unknown --phone-region {self.phone_region!r}",
                               fix="Use a two-letter country code such as US, GB, DE or IN.")
        if self.attachments not in ATTACHMENT_POLICIES:
            raise DatasetError(f"unknown --attachments {self.attachments!r}",
                               fix=f"Use one of {', '.join(ATTACHMENT_POLICIES)}.")


def prepare_from_args(args: argparse.Namespace, out_dir: Path, **given) -> dict:
    """Write the dataset into `out_dir` (created if missing) and return its stats.

    args: parsed by a parser `add_options(parser, PrepareOptions)` built; `given` overrides them.
    """
    options = from_args(PrepareOptions, args, progress=sys.stderr.isatty(), **given)
    out_dir.mkdir(parents=True, exist_ok=True)
    return run_prepare(options, out_dir)


def run_prepare(options: PrepareOptions, out_dir: Path) -> dict:
    """Write the dataset folder into `out_dir` (which exists and is empty); return stats."""
    # Richest format first: of a message several exports hold, the first copy read is kept.
    opted_out = _opt_outs(options)
    sources = copy_plan.files_to_read(find_sources(options.exports))
    shared_channels = copy_plan.plan(sources)
    with _naming(options.opt_outs):
        people, read = _reading(options, sources, shared_channels, out_dir, opted_out)
        try:
            resolution = people.resolve()
        except BaseException:
            read.writer.abandon()
            raise
        if people.stale:
            # Someone named like the persona came before the account that settles who the
            # persona is: some messages were decided wrongly, so read again with the answer.
            log.info("reading the exports again: an account named like the persona came first")
            read.writer.abandon()
            people, read = _reading(options, sources, shared_channels, out_dir, opted_out,
                                    resolution)
    _check_usable(options, people, sources, read.counts, read.writer, read.dropped)
    split = read.writer.finish(options.val_share, options.seed)
    builder, cleaner, reports, counts = read.builder, read.cleaner, read.reports, read.counts
    stats = {
        "persona": persona_record(people.persona_name(),
                                  people.persona_aliases | set(options.personas),
                                  people.persona_account_ids, options),
        "files": [{"path": str(r.path), "format": r.format, "messages_read": r.messages,
                   "salvaged": r.salvaged, "notes": r.notes} for r in reports],
        "messages_read": sum(r.messages for r in reports),
        "messages_kept": counts["persona_messages"] + counts["other_messages"],
        "persona_messages": counts["persona_messages"],
        # The day (UTC) of the newest persona message kept: `/catgpt about` says "up to" it.
        "last_persona_message": _last_day(read.tally.persona_days),
        "dropped": dict(sorted(read.dropped.items())),
        # Messages more than one export held, read once (training/data/copies.py).
        # Counts only: who opted out is not written anywhere (this file is shared as-is).
        "opt_outs": {"accounts": len(opted_out), "messages": read.dropped["opted_out"],
                     "files_without_ids": dict(read.without_ids)} if options.opt_outs else None,
        "copies_dropped": {"messages": sum(read.copies.values()),
                           "by_id": read.copies["by_id"], "by_content": read.copies["by_content"],
                           "channels_in_several_files": shared_channels.shared},
        "turns": builder.counts.turns,
        "persona_turns": builder.counts.persona_turns,
        "persona_turns_without_context": builder.counts.persona_turns_without_context,
        "conversations": builder.counts.conversations,
        # How often the persona spoke after others' turns: the bot's free-talk rate.
        "speaking": read.speaking.record(),
        "examples": read.writer.written,
        "duplicates_removed": read.writer.duplicates,
        **asdict(split),
        "pii_masked": {kind: cleaner.pii_counts[kind] for kind in sorted(cleaner.pii_counts)},
        "salvaged": sum(r.salvaged for r in reports),
        "options": _options_record(options),
    }
    write_stats(out_dir, stats)
    write_report(out_dir, read.tally, people.activity, stats["persona"]["name"], people.persona_ids)
    return stats


def _last_day(days) -> str | None:
    """The newest of the day ordinals counted, as YYYY-MM-DD; None when there are none."""
    return date.fromordinal(max(days)).isoformat() if days else None


def persona_record(name: str, aliases: set[str], account_ids: list[str],
                   options: PrepareOptions) -> dict:
    """stats.json's persona block, which catgpt.json copies into the model folder meant for
    sharing: every name the persona is known by goes through the same masking as the text
    (a nickname such as `Mochi | +44 20 7946 0958` holds personal data). A masker of its own,
    so `pii_masked` still counts what the dataset holds."""
    mask = (lambda text: text) if options.keep_pii else PiiMasker(options.phone_region).mask
    return {"name": mask(name), "aliases": sorted({mask(alias) for alias in aliases}),
            "account_ids": account_ids}


@dataclass
class _Reading:
    """What one pass over the exports made."""

    writer: ExampleWriter
    builder: ExampleBuilder
    cleaner: TextCleaner
    reports: list[ReadReport] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)
    counts: Counter = field(default_factory=Counter)
    tally: Tally = field(default_factory=Tally)  # what report.png draws
    copies: Counter = field(default_factory=Counter)  # messages dropped as copies, by key
    # With --opt-outs: per file, messages whose author has no account id, so no opt-out can
    # match them (text formats, or a message whose id was missing).
    without_ids: Counter = field(default_factory=Counter)
    speaking: SpeakingRate = field(default_factory=SpeakingRate)  # stats.json's "speaking"


def _reading(options: PrepareOptions, sources: list[Source], shared_channels: copy_plan.Plan,
             out_dir: Path, opted_out: frozenset[str] = frozenset(),
             resolved: Resolution | None = None) -> tuple[People, _Reading]:
    """A pass over the exports with its own People and cleaner (the pass counts what it masked,
    speaker labels included, so a second pass starts from zero)."""
    cleaner = TextCleaner(CleaningOptions(options.keep_pii, options.phone_region))
    mask = None if options.keep_pii else cleaner.mask
    people = People(options.personas, options.exclude_authors, options.include_bots,
                    resolved=resolved, mask_name=mask,  # personal data in a nickname: masked
                    opted_out=opted_out)
    return people, _read(options, sources, shared_channels, people, cleaner, out_dir)


def _read(options: PrepareOptions, sources: list[Source], shared_channels: copy_plan.Plan,
          people: People, cleaner: TextCleaner, out_dir: Path) -> _Reading:
    """One streaming pass: every message of every source into examples in `out_dir`.

    Text is made readable per message and masked per turn (when the turn is first read)."""
    builder = ExampleBuilder(TurnOptions(
        merge_window=timedelta(seconds=options.merge_window_s),
        gap=timedelta(seconds=options.gap_s), context_turns=options.context_turns),
        finish_text=None if options.keep_pii else cleaner.mask)
    writer = ExampleWriter(out_dir)
    read = _Reading(writer, builder, cleaner)
    dropped, reports, counts = read.dropped, read.reports, read.counts
    copy_filter = copies.CopyFilter(shared_channels)
    read.copies = copy_filter.counts
    tally = read.tally  # for report.png
    persona_days, other_days = tally.persona_days, tally.other_days  # bound once: hot loop
    check_ids = options.opt_outs is not None
    restore_gc = _collect_rarely()
    try:
        for index, source in enumerate(sources):
            report = ReadReport(source.path, source.format)
            reports.append(report)
            shared = copy_filter.start(index)  # its channels that other sources hold too
            if shared and copies.needs_zone(source):
                with _quiet_readers():  # the main pass says what the readers have to say
                    copy_filter.learn_zone(read_source(source, ReadReport(source.path,
                                                       source.format), salvage=options.salvage))
            for message in _progress(read_source(source, report, salvage=options.salvage),
                                     source, options.progress):
                channel_id = message.channel_id
                if shared and channel_id in shared:
                    # First of all: a copy is not seen again by anything (names, counts).
                    channel = shared[channel_id]
                    if copy_filter.is_copy(message, channel):
                        dropped["duplicate_message"] += 1
                        continue
                    channel_id = channel.canonical  # one channel's files, one conversation
                author = people.author(message)
                if check_ids and not is_id(message.author_id):
                    read.without_ids[str(source.path)] += 1
                # The usual message needs none of the drop checks: test that in one line
                # (this loop runs once per message, millions of times on a big export).
                if message.kind is _SYSTEM or message.is_bot or author.excluded:
                    reason = _drop_reason(message, author, options)
                    if reason:
                        dropped[reason] += 1
                        continue
                is_persona = author.is_persona
                if (author.messages == 0 or message.mention_names
                        or message.channel_id not in cleaner.channel_names):
                    cleaner.learn(message)
                content = message.content
                # most messages are one plain line: the fast case of `readable`, inline
                text = (content.strip() if content.isprintable() and "<" not in content
                        else cleaner.readable(content, message.mention_names))
                if not text:
                    text, reason = _without_text(message, is_persona, options.attachments)
                    if reason:
                        dropped[reason] += 1
                        continue
                author.messages += 1
                if is_persona:
                    persona_days[message.timestamp.toordinal()] += 1
                else:
                    other_days[message.timestamp.toordinal()] += 1
                example = builder.add(channel_id, message.id, message.author_id,
                                      author.label, is_persona, message.timestamp, text,
                                      message.reply_to)
                read.speaking.seen(builder.channel(channel_id))
                if example is not None and writer.add(example):
                    tally.reply_lengths[len(example.turns[-1].text)] += 1
            copy_filter.finish()
            dropped.update(report.dropped)  # what the reader could not use (malformed)
        # Counted from the authors once, not per message (this loop is the hot one).
        counts.update(people.kept_messages())
        for example in builder.finish():
            if writer.add(example):
                tally.reply_lengths[len(example.turns[-1].text)] += 1
    except BaseException:
        writer.abandon()
        raise
    finally:
        restore_gc()
    return read


def _collect_rarely():
    """Quiet the cyclic garbage collector for the stream; returns the function that restores it.

    The stream allocates millions of short-lived objects and keeps few (memory is bounded by
    design), yet the collector runs every 700 allocations and, as turns age out of the
    reply index, rescans every live object, the imported modules included: a tenth of
    prepare's time on a 1 GB export. With what exists frozen and a pass every 10,000 net
    allocations it has next to nothing to do; garbage cycles, if any, are still collected.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(10_000, *threshold[1:])

    def restore() -> None:
        gc.set_threshold(*threshold)
        gc.unfreeze()

    return restore


def _drop_reason(message: Message, author: Author, options: PrepareOptions) -> str | None:
    if message.kind is MessageKind.SYSTEM:
        return "system"
    if message.is_bot and not options.include_bots:
        return "bot"
    if author.opted_out:
        return "opted_out"
    if author.excluded:
        return "excluded_author"
    return None


def _opt_outs(options: PrepareOptions) -> frozenset[str]:
    """The --opt-outs file's account ids; a --persona id among them is refused before reading."""
    if options.opt_outs is None:
        return frozenset()
    ids = read_opt_outs(options.opt_outs)
    for value in options.personas:
        if value.strip() in ids:
            raise PersonaOptedOut(f"--persona {value.strip()} is in the opt-out file",
                                  where=str(options.opt_outs), fix=PersonaOptedOut.FIX)
    return ids


@contextmanager
def _naming(opt_outs: Path | None):
    """Say which file refused a persona found only while reading (People raises it)."""
    try:
        yield
    except PersonaOptedOut as error:
        error.where = str(opt_outs)
        raise


def _without_text(message: Message, is_persona: bool, policy: str) -> tuple[str, str | None]:
    """What a message with no text becomes: (placeholder, None) or ("", drop reason).

    The persona's attachment-only messages are dropped: a text model cannot learn to send
    a picture. Other people's become a placeholder by default, since "lol same" after a
    photo only makes sense if the context shows something was shared.
    """
    carries = message.attachment_count or message.sticker_names or message.embed_count
    if message.forwarded:
        return "", "forwarded"
    if not carries:
        return "", "empty"
    if is_persona or policy == "drop":
        return "", "attachment_only"
    if message.sticker_names and not message.attachment_count:
        return f"[sticker: {message.sticker_names[0]}]", None
    return ("[attachment]" if message.attachment_count else "[embed]"), None


def _check_usable(options, people: People, sources: list[Source], counts, writer,
                  read_dropped: Counter) -> None:
    if counts["persona_messages"] == 0:
        writer.abandon()
        if not people.activity:
            raise DatasetError("no messages left to use",
                               where=", ".join(map(str, options.exports)),
                               fix="Check the exports hold conversations (see docs/data.md).")
        raise DatasetError(
            f"no messages by persona {', '.join(options.personas)!r}",
            fix=f"Most active authors: {people.most_active()}. Pass one of them (name or id) "
            "to --persona.",
        )
    if writer.written == 0:
        writer.abandon()
        only_package = all(s.format == data_package.FORMAT for s in sources)
        if counts["other_messages"] == 0 and read_dropped.get("opted_out"):
            raise DatasetError(
                "everyone the persona talks with here is in the opt-out file "
                f"({read_dropped['opted_out']} messages left out): nothing to reply to",
                where=str(options.opt_outs),
                fix="Add exports of channels where the persona talks with people who did not "
                "opt out")
        if only_package or counts["other_messages"] == 0:
            raise DatasetError(data_package.EXPLANATION if only_package else
                               "the exports hold only the persona's messages: nothing to reply to",
                               fix=data_package.ADVICE)
        raise DatasetError(
            "the persona never replies to anyone, so there are no examples",
            fix="Give exports of channels where the persona talks with others, or a longer "
            "--gap so replies after a pause still count.",
        )


@contextmanager
def _quiet_readers():
    """The readers' warnings off for a first pass over a file, so each is said once."""
    names = [name for name in logging.root.manager.loggerDict
             if name.startswith("training.readers")]
    loggers = [logging.getLogger(name) for name in names]
    before = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, was in zip(loggers, before, strict=True):
            logger.disabled = was


def _progress(messages: Iterator[Message], source: Source, enabled: bool) -> Iterator[Message]:
    if not enabled:
        return messages
    return tqdm(messages, desc=source.path.name, unit=" msg", leave=False)


def _options_record(options: PrepareOptions) -> dict:
    record = asdict(options)
    record["exports"] = [str(path) for path in options.exports]
    record["opt_outs"] = str(options.opt_outs) if options.opt_outs else None
    record.pop("progress")
    if not options.keep_pii:  # a --persona value is a name the persona is known by
        masker = PiiMasker(options.phone_region)
        record["personas"] = [masker.mask(name) for name in options.personas]
    return record
