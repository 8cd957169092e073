"""Cleaning: readable markup, text kept as text, and two properties checked with hypothesis:
it never crashes on any text (lone surrogates included) and cleaning twice changes nothing."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from training.data.cleaning import CleaningOptions, TextCleaner
from training.data.messages import Message
from training.errors import ExportError
from training.readers import ReadReport, find_sources, read_source

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"])
ANY_CHAR = st.one_of(st.characters(), SURROGATES, st.sampled_from("\n\r\t\x00<>@#:&!|~"))
# Pieces that exercise the markup and PII rules, mixed into random text.
TRICKY = st.sampled_from([
    "<@123456789012345678>", "<@!123456789012345678>", "<@&123456789012345678>",
    "<#123456789012345678>", "<:blob:123456789012345678>", "<a:dance:123456789012345678>",
    "</ping:123456789012345678>", "<t:1700000000:R>", "<t:99999999999999:R>", "<|endoftext|>",
    "a@example.com", "(201) 555-0123", "+44 20 7946 0958", "4111 1111 1111 1111", "8.8.8.8",
    "2001:db8::1", "discord.gg/abc", "password: x1y2z3w4", "AKIAIOSFODNN7EXAMPLE", "\r\n",
    "\n\n\n\n", "   ", "\ud83d\ude00", "\ud800",
])
TEXT = st.lists(st.one_of(st.text(ANY_CHAR, max_size=20), TRICKY), max_size=12).map("".join)


def test_mentions_emoji_and_commands_become_readable():
    cleaner = TextCleaner()
    cleaner.user_names["33"] = "Bob"
    cleaner.channel_names["44"] = "general"
    text = ("hi <@22> <@!33> <@999> in <#44> <#55> <@&66> <:blobcat:123456> <a:dance:123457> "
            "</nap:777777> <t:0:R>")
    assert cleaner.clean(text, {"22": "Mochi"}) == (
        "hi @Mochi @Bob @someone in #general #channel @role :blobcat: :dance: /nap "
        "1970-01-01 00:00 UTC"
    )


def test_control_token_text_stays_text():
    assert TextCleaner().clean("what is <|endoftext|> lol") == "what is <|endoftext|> lol"


def test_whitespace_and_control_characters():
    assert TextCleaner().clean("  a\r\nb  \n\n\n\nc\x00\x07  ") == "a\nb\n\nc"


def test_keep_pii_turns_masking_off():
    text = "mail a@example.com"
    assert TextCleaner(CleaningOptions(keep_pii=True)).clean(text) == text
    assert TextCleaner().clean(text) == "mail [email]"


def test_learns_names_from_messages(dce):
    from datetime import datetime, timezone

    cleaner = TextCleaner()
    cleaner.learn(Message("1", "44", "general", None, "33", "Bob", ("Bob",), False,
                          datetime(2024, 1, 1, tzinfo=timezone.utc), "hi"))
    assert cleaner.clean("<@33> in <#44>") == "@Bob in #general"


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_cleaning_never_crashes_gives_valid_unicode_and_is_idempotent(text):
    cleaner = TextCleaner()
    once = cleaner.clean(text, {"123456789012345678": "Mochi"})
    once.encode("utf-8")  # no lone surrogates survive
    assert cleaner.clean(once, {"123456789012345678": "Mochi"}) == once


def _read(path: Path) -> list:
    [source] = find_sources([path])
    return list(read_source(source, ReadReport(path, source.format)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, TEXT)
def test_readers_never_crash_on_any_text(content, name):
    """Any content in any format either reads or fails as a user error (ExportError)."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        export = {"guild": {"id": "1", "name": name}, "channel": {"id": "2", "name": name},
                  "messages": [{"id": "3", "type": "Default", "content": content,
                                "timestamp": "2024-01-01T00:00:00+00:00",
                                "author": {"id": "4", "name": name, "nickname": content}}]}
        # json.dumps writes a lone surrogate as the escape \udXXX, as DCE can.
        (folder / "a.json").write_text(json.dumps(export), encoding="utf-8")
        rows = io.StringIO()
        csv.writer(rows).writerows([["AuthorID", "Author", "Date", "Content"],
                                    ["4", name, "2024-01-01T00:00:00+00:00", content]])
        raw = {
            "b.csv": rows.getvalue(),
            "c.txt": f"Mochi — 04/05/2024 3:39 PM\n{content}\n{name} — Today at 1:00 PM\nx\n",
            "d.txt": f"{'=' * 20}\nGuild: {name}\n{'=' * 20}\n\n[1/1/2024 1:00 PM] a\n{content}\n",
            "e.txt": content,
        }
        for file_name, text in raw.items():
            (folder / file_name).write_bytes(text.encode("utf-8", "surrogatepass"))
        for path in sorted(folder.iterdir()):
            try:
                for message in _read(path):
                    message.content.encode("utf-8")
                    message.author_name.encode("utf-8")
            except ExportError:
                pass
