"""DiscordChatExporter JSON, any size, streamed with ijson.

A DCE JSON export is one object: `guild` and `channel` first, then a `messages` list that
holds nearly all the bytes. The header is read in a short first pass; the list is then
streamed one message at a time, so memory stays flat however large the file is.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import ijson

from training.data.messages import Message, MessageKind
from training.errors import ExportError
from training.readers.base import (
    ReadReport,
    account_id,
    id_or_name,
    parse_iso_timestamp,
    repair_text,
    split_discriminator,
)
from training.readers.json_guard import DepthGuard, open_json

log = logging.getLogger(__name__)

FORMAT = "dce-json"
# Message types that are people talking. Everything else (joins, pins, calls, thread
# created, boosts...) is a system message. Slash-command uses carry a bot's reply text.
_TALK_TYPES = {"Default", "Reply", "ChatInputCommand", "ContextMenuCommand"}
_HEADER_KEYS = {"guild", "channel"}
_ZERO = timedelta(0)
_from_iso = datetime.fromisoformat


def looks_like(head: str) -> bool:
    """DCE JSON starts `{ "guild": {...}, "channel": {...}` (pretty-printed or not)."""
    stripped = head.lstrip("\ufeff \t\r\n")
    return stripped.startswith("{") and ('"guild"' in head or '"channel"' in head)


def read_header(path: Path) -> dict:
    """`guild` and `channel`, read until the `messages` list begins (a few hundred bytes)."""
    header: dict = {}
    builder: ijson.ObjectBuilder | None = None
    key = None
    with open_json(path) as raw, closing(DepthGuard(raw, path)) as guarded:
        try:
            for prefix, event, value in ijson.parse(guarded):
                if builder is not None:
                    if prefix == key and event in ("end_map", "end_array"):
                        header[key] = builder.value
                        builder = None
                    else:
                        builder.event(event, value)
                    continue
                if prefix == "" and event == "start_array":
                    raise _wrong_shape(path, "the file is a JSON list, not an export object")
                if prefix == "messages" and event == "start_array":
                    header["messages"] = True
                    return header
                if prefix in _HEADER_KEYS and event == "start_map":
                    key, builder = prefix, ijson.ObjectBuilder()
                    builder.event(event, value)
        except ijson.JSONError as error:
            raise ExportError(
                f"not valid JSON before the messages list ({_short(error)})",
                where=str(path),
                fix="Re-export the channel with DiscordChatExporter (--format Json).",
            ) from error
    return header


def _wrong_shape(path: Path, what: str) -> ExportError:
    return ExportError(
        what,
        where=str(path),
        fix="Give a DiscordChatExporter JSON export (an object with 'guild', 'channel' "
        "and a 'messages' list), or another supported format (see docs/data.md).",
    )


def _short(error: Exception) -> str:
    return " ".join(str(error).split())[:120]


def read(path: Path, report: ReadReport, *, salvage: bool = False) -> Iterator[Message]:
    header = read_header(path)
    if "messages" not in header:
        raise _wrong_shape(path, "no 'messages' list found")
    guild = header.get("guild") or {}
    channel = header.get("channel") or {}
    channel_id = id_or_name(channel.get("id")) or path.stem
    channel_name = repair_text(id_or_name(channel.get("name")) or path.stem)
    # DCE writes DMs under a placeholder guild with id 0.
    guild_name = (None if (id_or_name(guild.get("id")) or "0") == "0"
                  else repair_text(id_or_name(guild.get("name")) or "") or None)

    last_id = None
    with open_json(path) as raw, closing(DepthGuard(raw, path)) as counting:
        items = ijson.items(counting, "messages.item", use_float=True)
        while True:
            try:
                item = next(items)
            except StopIteration:
                return
            except ijson.JSONError as error:
                _on_break(path, report, counting.position, last_id, error, salvage)
                return
            if not isinstance(item, dict):
                raise _wrong_shape(path, f"message {report.messages + 1} is not an object")
            message = _to_message(item, channel_id, channel_name, guild_name, path, report)
            report.messages += 1
            if message is None:
                continue  # counted in report.dropped
            last_id = message.id
            yield message


def _on_break(path, report, position, last_id, error, salvage) -> None:
    after = f"after message id {last_id}" if last_id else "before the first message"
    truncated = isinstance(error, ijson.IncompleteJSONError) and "premature EOF" in str(error)
    if "invalid bytes in UTF8" in str(error):  # yajl's words for a file in another encoding
        raise ExportError(
            f"not UTF-8 text (near byte {position}, {after})", where=str(path),
            fix="DiscordChatExporter writes UTF-8: re-export it, or save the file as UTF-8.",
        ) from error
    what = "the file ends early" if truncated else f"the JSON breaks ({_short(error)})"
    if salvage:
        report.salvaged = report.messages
        report.notes.append(f"{what} near byte {position}, {after}")
        log.warning(
            "%s: %s near byte %d, %s; keeping the %d messages read before it (--salvage)",
            path, what, position, after, report.messages,
        )
        return
    raise ExportError(
        f"{what} near byte {position}, {after} ({report.messages} messages read)",
        where=str(path),
        fix="Re-export it with DiscordChatExporter, or pass --salvage to keep the "
        f"{report.messages} complete messages before the break.",
    ) from error


@functools.lru_cache(maxsize=4096)
def _author_names(author_id, username, nickname,
                  global_name) -> tuple[str, str, tuple[str, ...], str]:
    """(id, shown name, every alias, username) for an author; cached: a few people write most
    lines."""
    if (any(n is not None and type(n) is not str for n in (username, nickname, global_name))
            or (author_id is not None and id_or_name(author_id) is None)):
        raise TypeError("the careful path names the field that is not text")
    username, nickname, global_name = (repair_text(str(n or "")) for n in
                                       (username, nickname, global_name))
    # Shown as Discord shows it: a legacy `#1234` discriminator is not part of the name.
    shown = nickname or global_name or split_discriminator(username)[0] or str(author_id)
    aliases = tuple(dict.fromkeys(
        alias for name in (shown, nickname, global_name, username) if name
        for alias in split_discriminator(name)
    ))
    return (account_id(FORMAT, str(author_id) if author_id is not None else "", username),
            shown, aliases, username)


def _author(author: dict) -> tuple[str, str, tuple[str, ...], str]:
    return _author_names(author.get("id"), author.get("name"), author.get("nickname"),
                         author.get("globalName"))


def _to_message(item: dict, channel_id, channel_name, guild_name, path,
                report) -> Message | None:
    # The fast path for the usual DCE message: plain subscripts, no optional parts. Any
    # surprise (a missing key, an odd type) falls through to the careful path below, which
    # handles optional fields and explains what is wrong.
    try:
        if (item["type"] != "Default" or item["mentions"] or item["stickers"] or item["embeds"]
                or "reference" in item or "forwardedMessage" in item):
            return _to_message_in_full(item, channel_id, channel_name, guild_name, path, report)
        message_id, author, content = item["id"], item["author"], item["content"]
        if type(message_id) is not str or not message_id:
            raise TypeError("the careful path says what is wrong with the id")
        author_id, shown, aliases, username = _author_names(
            author.get("id"), author.get("name"), author.get("nickname"), author.get("globalName"))
        stamp = item["timestamp"]
        return Message(
            message_id, channel_id, channel_name, guild_name, author_id, shown, aliases,
            author["isBot"] is True,
            # DCE writes UTC as `+00:00`, which fromisoformat turns into timezone.utc itself
            _from_iso(stamp) if stamp.endswith("+00:00") else _utc(stamp),
            content if content.isascii() else repair_text(content),
            None, len(item["attachments"]) if type(item["attachments"]) is list else 0,
            author_username=username,
        )
    except (KeyError, TypeError, AttributeError, ValueError):
        return _to_message_in_full(item, channel_id, channel_name, guild_name, path, report)


def _to_message_in_full(item: dict, channel_id, channel_name, guild_name, path,
                        report) -> Message | None:
    """Any message, checked field by field. None (counted in the report as `malformed`)
    for one whose text or author is not what DiscordChatExporter writes: a number, list
    or object where text belongs is a damaged or hand-edited file, and stringifying it
    would train the model on `{'a': 1}` as the persona's words."""
    number = report.messages + 1
    message_id = item.get("id")
    author = item.get("author")
    timestamp = item.get("timestamp")
    shown_id = id_or_name(message_id)
    where = f"{path}: message {number}" + (f" (id {shown_id})" if shown_id else "")
    if not message_id or not isinstance(author, dict) or not timestamp:
        missing = [k for k in ("id", "author", "timestamp") if not item.get(k)]
        raise ExportError(
            f"message is missing {', '.join(missing) or 'a usable author'}",
            where=where,
            fix="This is not a DiscordChatExporter message list; re-export the channel as JSON.",
        )
    if shown_id is None:
        raise ExportError(f"the message id is {_kind(message_id)}, not text", where=where,
                          fix="Re-export the channel with DiscordChatExporter; the file looks "
                          "damaged.")
    if not isinstance(timestamp, str):
        raise ExportError(f"unreadable timestamp ({_kind(timestamp)})", where=where,
                          fix="Re-export the channel with DiscordChatExporter; the file looks "
                          "damaged.")
    content = item.get("content")
    kind_name = item.get("type") or "Default"
    problem = (
        f"its content is {_kind(content)}" if content is not None and not isinstance(content, str)
        else f"its type is {_kind(kind_name)}" if not isinstance(kind_name, str)
        else _author_problem(author)
    )
    if problem:
        report.drop("malformed", f"message {number} (id {shown_id})", f"{problem}, not text")
        return None
    author_id, shown, aliases, username = _author(author)
    reference = item.get("reference")
    reply_to = None
    forwarded = False
    if reference and isinstance(reference, dict):
        if kind_name == "Reply":
            reply_to = id_or_name(reference.get("messageId"))
        forwarded = reference.get("type") == "Forward"
    forwarded = forwarded or bool(item.get("forwardedMessage"))
    mentions = _list(item.get("mentions"))
    stickers = _list(item.get("stickers"))
    try:
        stamp = _utc(timestamp)
    except ValueError:
        stamp = parse_iso_timestamp(timestamp, where=where)
    return Message(
        id=shown_id,
        channel_id=channel_id,
        channel_name=channel_name,
        guild_name=guild_name,
        author_id=author_id,
        author_name=shown,
        author_aliases=aliases,
        is_bot=author.get("isBot") is True,
        timestamp=stamp,
        content=repair_text(content or ""),
        reply_to=reply_to,
        attachment_count=len(_list(item.get("attachments"))),
        kind=(
            MessageKind.SYSTEM if kind_name not in _TALK_TYPES
            else MessageKind.REPLY if reply_to else MessageKind.DEFAULT
        ),
        mention_names={
            id_or_name(m.get("id")): repair_text(_name(m.get("nickname")) or _name(m.get("name")))
            for m in mentions if isinstance(m, dict) and id_or_name(m.get("id"))
        } if mentions else {},
        sticker_names=tuple(
            repair_text(_name(s.get("name")) or "sticker") for s in stickers if isinstance(s, dict)
        ) if stickers else (),
        embed_count=len(_list(item.get("embeds"))),
        forwarded=forwarded,
        author_username=username,
    )


def _author_problem(author: dict) -> str | None:
    for key in ("name", "nickname", "globalName"):
        if author.get(key) is not None and not isinstance(author[key], str):
            return f"its author's {key} is {_kind(author[key])}"
    if author.get("id") is not None and id_or_name(author["id"]) is None:
        return f"its author's id is {_kind(author['id'])}"
    return None




def _name(value) -> str:
    return value if isinstance(value, str) else ""


def _kind(value) -> str:
    """What a wrongly typed value is, in words (never its repr: it may be nested deep)."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "empty" if value is None else type(value).__name__


def _list(value) -> list:
    """A list field (attachments, embeds, mentions, stickers) or, if it is anything else, [].

    DiscordChatExporter always writes lists; an odd value in one message of a long export is
    not worth stopping for, and a string or dict must not be counted character by character.
    """
    return value if isinstance(value, list) else []


def _utc(value: str) -> datetime:
    """DCE writes `2024-05-01T10:01:00.000+00:00`: parse it directly (the fast, usual path)."""
    stamp = datetime.fromisoformat(value)
    if stamp.tzinfo is None:
        raise ValueError("no offset")
    return stamp if stamp.utcoffset() == _ZERO else stamp.astimezone(timezone.utc)
