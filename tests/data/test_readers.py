"""Each export format read into Message records, detected from content, streamed lazily."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from training.data.messages import MessageKind
from training.readers import ReadReport, detect_format, find_sources, read_source
from training.readers.base import repair_text


def read_all(path: Path, **kwargs):
    [source] = find_sources([path])
    report = ReadReport(source.path, source.format)
    return list(read_source(source, report, **kwargs)), report


def test_dce_json_edge_cases(fixtures):
    messages, report = read_all(fixtures / "dce_edge_cases.json")
    by_id = {m.id: m for m in messages}
    assert report.messages == 12 and report.format == "dce-json"
    assert by_id["1000"].kind is MessageKind.SYSTEM  # member join
    assert by_id["1009"].kind is MessageKind.SYSTEM  # pin notice
    hello = by_id["1001"]
    assert hello.channel_name == "a thread" and hello.guild_name == "Test Guild"
    assert hello.mention_names == {"22": "Mochi"}
    assert "😀" in hello.content  # a surrogate pair written as two escapes is one emoji
    hello.content.encode("utf-8")  # and the lone surrogate no longer breaks UTF-8
    reply = by_id["1002"]
    assert reply.kind is MessageKind.REPLY and reply.reply_to == "1001"
    assert set(reply.author_aliases) == {"Mochi", "Mochi Cat", "mochi"}
    assert by_id["1003"].reply_to == "999"  # points outside the file: kept as is
    assert by_id["1003"].author_name == "bob"
    assert "bob" in by_id["1003"].known_as()  # legacy discriminator stripped for matching
    assert by_id["1004"].attachment_count == 1 and by_id["1004"].content == ""
    assert by_id["1005"].sticker_names == ("Cat Wave",)
    assert by_id["1006"].embed_count == 1
    assert by_id["1007"].forwarded and by_id["1007"].content == ""
    assert by_id["1008"].is_bot
    assert by_id["1010"].content == "what is <|endoftext|> anyway"
    timestamps = [m.timestamp for m in messages]
    assert all(t.utcoffset().total_seconds() == 0 for t in timestamps)


def test_dm_export_has_no_guild(tmp_path, dce):
    guild = {"id": "0", "name": "Direct Messages", "iconUrl": ""}
    path = dce.write(tmp_path / "dm.json", dce.chat(("alice", "hi", 0)), guild=guild)
    [message], _ = read_all(path)
    assert message.guild_name is None


def test_dce_csv_multiline_and_date_forms(fixtures):
    messages, report = read_all(fixtures / "Test Guild - general [900000000000000030].csv")
    assert report.format == "dce-csv" and len(messages) == 3
    assert messages[0].content == 'hello "everyone"'
    assert messages[0].channel_id == "900000000000000030"
    assert messages[1].content == "nya hi~\nsecond line, with a comma"
    assert [m.timestamp.minute for m in messages] == [55, 56, 57]
    assert messages[2].attachment_count == 1 and messages[0].author_name == "alice"


def test_dce_plain_text_blocks_and_dates(fixtures):
    messages, report = read_all(fixtures / "dce_plain.txt")
    assert report.format == "dce-text"
    assert [m.author_name for m in messages] == ["alice", "mochi", "alice", "mochi"]
    assert messages[0].guild_name == "Test Guild" and messages[0].channel_name == "general"
    assert messages[1].content == "nya hi~" and messages[1].attachment_count == 1
    assert messages[2].content == "a message\n\nwith a blank line inside"  # embed block left out
    assert messages[3].content == "" and messages[3].sticker_names
    assert [m.timestamp.minute for m in messages] == [55, 56, 57, 58]


def test_copied_client_text_original_raw_data(fixtures):
    messages, report = read_all(fixtures / "raw_data.txt")
    assert report.format == "copied-text"
    assert [(m.author_name, m.content) for m in messages] == [
        ("Alice", "anyone up for games tonight?\ni can host"),
        ("Mochi", "nya i'm in~ :3"),
        ("Bob", "count me in"),
        ("Bob", "bringing snacks"),  # a grouped `[3:42 PM]` line is its own message
        ("Mochi", "tuna snacks pls"),  # "(edited)" is the client's marker, not text
    ]
    assert messages[3].timestamp.minute == 42


def test_copied_client_text_relative_days(tmp_path, fixtures):
    path = shutil.copy(fixtures / "copied_recent.txt", tmp_path / "copied.txt")
    messages, _ = read_all(Path(path))
    yesterday, today, dated = (m.timestamp for m in messages)
    assert (today.date() - yesterday.date()).days == 1
    assert (today.hour, today.minute) == (8, 1) and dated.year == 2024


def test_data_package_reads_own_messages_and_says_what_it_lacks(fixtures):
    messages, report = read_all(fixtures / "package")
    assert report.format == "discord-package"
    assert {m.author_id for m in messages} == {"22"} and "Mochi" in messages[0].author_aliases
    general = [m for m in messages if m.channel_id == "500"]
    assert [m.content for m in general] == ["nya first~", "second, newest first in the file"]
    assert general[0].attachment_count == 1 and general[0].guild_name == "Test Guild"
    assert any("only your own messages" in note for note in report.notes)


def test_folder_finds_every_format_once_and_skips_other_files(fixtures):
    sources = find_sources([fixtures])
    formats = sorted(s.format for s in sources)
    assert formats == ["copied-text", "copied-text", "dce-csv", "dce-json", "dce-text",
                       "discord-package"]


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("export.txt", '{"guild": {"id": "1"}, "channel": {}, "messages": []}', "dce-json"),
    ("whatever.dat", "AuthorID,Author,Date,Content,Attachments,Reactions\n", "dce-csv"),
    ("chat.json", "Mochi — 04/05/2024 3:39 PM\nhi\n", "copied-text"),
])
def test_format_comes_from_content_not_the_name(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert detect_format(path) == expected


def test_json_reader_streams_messages_before_reading_the_whole_file(tmp_path, dce):
    # The file breaks after its first message: a reader that loads everything first would
    # fail before yielding anything; a streaming one hands out the first message first.
    path = dce.write(tmp_path / "big.json", dce.chat(("alice", "first", 0), ("mochi", "second", 1)))
    path.write_text(path.read_text().split('"id": "10001"')[0])
    [source] = find_sources([path])
    messages = read_source(source, ReadReport(path, source.format))
    assert next(messages).content == "first"


def test_json_reader_memory_is_flat(tmp_path, dce):
    import tracemalloc

    def peak_while_reading(count: int) -> int:
        lines = [("alice" if i % 2 else "mochi", f"message {i} " * 5, i) for i in range(count)]
        path = dce.write(tmp_path / f"n{count}.json", dce.chat(*lines))
        tracemalloc.start()
        total = sum(1 for _ in read_all_lazily(path))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert total == count
        return peak

    small, large = peak_while_reading(500), peak_while_reading(8000)
    assert large < small * 2, (small, large)  # 16x the messages, about the same memory


def read_all_lazily(path):
    [source] = find_sources([path])
    yield from read_source(source, ReadReport(path, source.format))


def test_repair_text_joins_pairs_and_replaces_lone_surrogates():
    assert repair_text("a\ud83d\ude00b") == "a😀b"
    assert repair_text("x\ud800y") == "x\ufffdy"
    assert repair_text("plain") == "plain"


def test_json_fast_path_agrees_with_the_careful_path(sample):
    import ijson

    from training.readers.dce_json import _to_message, _to_message_in_full

    report = ReadReport(sample, "dce-json")
    compared = 0
    for path in sorted(sample.glob("*.json")):
        with path.open("rb") as handle:
            for item in ijson.items(handle, "messages.item", use_float=True):
                args = (item, "c", "general", "Guild", path, report)
                assert _to_message(*args) == _to_message_in_full(*args)
                compared += 1
    assert compared > 400
