"""Property: whatever a DiscordChatExporter-shaped file holds (wrong types, missing fields,
broken text), the JSON and CSV readers either yield clean Message records or raise our one-
line ExportError. Never another exception, never a stringified list as someone's words."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from training.data.messages import Message, MessageKind
from training.errors import ExportError
from training.readers import ReadReport, Source, read_source

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"])
TEXT = st.text(st.one_of(st.characters(), SURROGATES), max_size=12)
# Whatever JSON can hold, a little nested.
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
STAMP = st.sampled_from(["2024-05-01T10:00:00+00:00", "2024-05-01T10:00:00.123-05:00",
                         "2024-05-01T10:00:00Z", "2024-05-01 10:00", "yesterday", ""])


def sometimes(good):
    """A field as DCE writes it, most of the time; anything at all otherwise."""
    return st.one_of(good, good, good, ANY_JSON)


AUTHOR = st.fixed_dictionaries(
    {"id": sometimes(st.sampled_from(["11", "22", "33"])),
     "name": sometimes(st.sampled_from(["alice", "mochi", "bob#1234"]) | TEXT)},
    optional={"nickname": sometimes(TEXT | st.none()), "globalName": sometimes(TEXT),
              "isBot": sometimes(st.booleans())},
)
MESSAGE = st.fixed_dictionaries(
    {"id": sometimes(st.integers(1, 10**19).map(str)),
     "type": sometimes(st.sampled_from(["Default", "Reply", "ChannelPinnedMessage"])),
     "timestamp": sometimes(STAMP),
     "content": sometimes(TEXT),
     "author": sometimes(AUTHOR)},
    optional={
        "attachments": sometimes(st.lists(st.fixed_dictionaries({"url": TEXT}), max_size=2)),
        "embeds": sometimes(st.just([])),
        "stickers": sometimes(st.lists(st.fixed_dictionaries({"name": sometimes(TEXT)}),
                                       max_size=2)),
        "mentions": sometimes(st.lists(st.fixed_dictionaries(
            {"id": sometimes(st.just("22")), "name": sometimes(TEXT)}), max_size=2)),
        "reference": sometimes(st.fixed_dictionaries(
            {"messageId": sometimes(st.just("1")), "type": sometimes(st.just("Forward"))})),
        "forwardedMessage": ANY_JSON,
    },
)
EXPORT = st.fixed_dictionaries(
    {"guild": sometimes(st.fixed_dictionaries({"id": sometimes(st.just("1")),
                                               "name": sometimes(TEXT)})),
     "channel": sometimes(st.fixed_dictionaries({"id": sometimes(st.just("2")),
                                                 "name": sometimes(TEXT)})),
     "messages": sometimes(st.lists(MESSAGE, max_size=4))},
)


def assert_clean(message: Message) -> None:
    for name in ("id", "channel_id", "channel_name", "author_id", "author_name", "content"):
        value = getattr(message, name)
        assert isinstance(value, str), (name, value)
        value.encode("utf-8")  # no lone surrogate survives
    assert message.guild_name is None or isinstance(message.guild_name, str)
    assert message.reply_to is None or isinstance(message.reply_to, str)
    assert all(isinstance(alias, str) for alias in message.author_aliases)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in message.mention_names.items())
    assert all(isinstance(name, str) for name in message.sticker_names)
    assert isinstance(message.is_bot, bool) and isinstance(message.kind, MessageKind)
    assert isinstance(message.timestamp, datetime) and message.timestamp.utcoffset() is not None
    assert isinstance(message.attachment_count, int) and isinstance(message.embed_count, int)


def read_all(path: Path, format_name: str) -> None:
    try:
        for message in read_source(Source(path, format_name), ReadReport(path, format_name)):
            assert_clean(message)
    except ExportError as error:
        assert "\n" not in str(error)  # one line, as the CLI prints it


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPORT, st.sampled_from(["pretty", "compact", "cut"]))
def test_dce_json_reader_yields_clean_messages_or_one_line_errors(export, layout):
    text = json.dumps(export, indent=2 if layout == "pretty" else None)
    if layout == "cut":
        text = text[: len(text) * 2 // 3]  # a file that breaks off
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chat.json"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        read_all(path, "dce-json")


ROW = st.lists(st.one_of(TEXT, STAMP, st.sampled_from(["11", "alice", ""])), min_size=0,
               max_size=6)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROW, max_size=5), st.sampled_from(["", "\ufeff"]), st.booleans())
def test_dce_csv_reader_yields_clean_messages_or_one_line_errors(rows, bom, cut):
    out = io.StringIO()
    csv.writer(out).writerows([["AuthorID", "Author", "Date", "Content", "Attachments",
                                "Reactions"], *rows])
    text = bom + out.getvalue()
    if cut:
        text = text[: len(text) * 3 // 4] + '"unterminated'
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "general [2].csv"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        read_all(path, "dce-csv")
