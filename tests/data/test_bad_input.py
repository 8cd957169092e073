"""Bad input: one line naming the file, the place and the fix; exit 1; no traceback."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest


def conversation(dce, turns: int = 6):
    lines = []
    for i in range(turns):
        lines += [("alice", f"question {i}?", 2 * i), ("mochi", f"nya answer {i}~", 2 * i + 1)]
    return dce.chat(*lines)


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 1
    assert err.startswith("catgpt-train: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)


def test_truncated_json_names_byte_and_last_message(tmp_path, dce, run_cli):
    path = dce.write(tmp_path / "chat.json", conversation(dce))
    text = path.read_text()
    path.write_text(text[: text.index('"id": "10005"') + 30])
    code, out, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds")
    assert_one_line_error(code, err, str(path), "ends early", "near byte",
                          "after message id 10004", "--salvage")
    assert not (tmp_path / "ds").exists()  # nothing half-written


def test_salvage_keeps_the_messages_before_the_break(tmp_path, dce, run_cli):
    path = dce.write(tmp_path / "chat.json", conversation(dce))
    text = path.read_text()
    path.write_text(text[: text.index('"id": "10008"') + 30])
    code, out, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds",
                             "--salvage")
    assert code == 0, err
    stats = json.loads((tmp_path / "ds" / "stats.json").read_text())
    assert stats["salvaged"] == 8 and stats["files"][0]["salvaged"] == 8
    assert "salvaged: 8 messages" in out


def test_broken_json_in_the_middle(tmp_path, dce, run_cli):
    path = dce.write(tmp_path / "chat.json", conversation(dce))
    path.write_text(path.read_text().replace('"question 3?"', '"question 3?" oops'))
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds")
    assert_one_line_error(code, err, str(path), "JSON breaks", "after message id 10005")


@pytest.mark.parametrize(("content", "needles"), [
    (b"", ("the file is empty",)),
    (b"  \n\n", ("the file is empty",)),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ("binary file", "byte 8")),
    (b"PK\x03\x04rest-of-zip", ("zip archive", "Unzip")),
    ("alice — 04/05/2024 3:39 PM\nhi\n".encode("utf-16"), ("UTF-16", "UTF-8")),
    (b"<!DOCTYPE html><html><body>chat</body></html>", ("HTML", "--format Json")),
    (b'[{"a": 1}]', ("not a DiscordChatExporter export",)),
    (b"just some notes\nnothing like a chat\n", ("unknown export format", "line 1")),
])
def test_unusable_files(tmp_path, run_cli, content, needles):
    path = tmp_path / "export.json"
    path.write_bytes(content)
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds")
    assert_one_line_error(code, err, str(path), *needles)


def test_wrongly_shaped_messages(tmp_path, run_cli):
    path = tmp_path / "chat.json"
    path.write_text(json.dumps({"guild": {}, "channel": {"id": "1"},
                                "messages": [{"id": "5", "content": "no author"}]}))
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds")
    assert_one_line_error(code, err, f"{path}: message 1 (id 5)", "missing author")


def test_no_messages_list(tmp_path, run_cli):
    path = tmp_path / "chat.json"
    path.write_text(json.dumps({"guild": {"id": "1"}, "channel": {"id": "1"}}))
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds")
    assert_one_line_error(code, err, str(path), "no 'messages' list")


def test_bad_timestamp_names_message(tmp_path, dce, run_cli):
    messages = conversation(dce)
    messages[2]["timestamp"] = "yesterday-ish"
    path = dce.write(tmp_path / "chat.json", messages)
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds")
    assert_one_line_error(code, err, "message 3 (id 10002)", "unreadable timestamp")


def test_truncated_csv_names_line(tmp_path, run_cli, fixtures):
    path = tmp_path / "chat.csv"
    path.write_text((fixtures / "Test Guild - general [900000000000000030].csv").read_text()
                    + '"11","alice","2020-06-11T20:00:00+00:00","an unfinished quote\n')
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds")
    assert_one_line_error(code, err, f"{path}:", "--salvage")


def test_salvage_a_truncated_csv(tmp_path, run_cli, fixtures):
    path = tmp_path / "chat.csv"
    path.write_text((fixtures / "Test Guild - general [900000000000000030].csv").read_text()
                    + '"11","alice","2020-06-11T20:00:00+00:00","an unfinished quote\n')
    code, out, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds",
                             "--salvage", "--val-share", "0")
    assert code == 0, err
    assert "salvaged: 3 messages" in out


def test_missing_path_and_empty_folder(tmp_path, run_cli):
    code, _, err = run_cli("prepare", tmp_path / "nope.json", "--persona", "m", "--out",
                           tmp_path / "ds")
    assert_one_line_error(code, err, "nope.json", "no such file")
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli("prepare", tmp_path / "empty", "--persona", "m", "--out",
                           tmp_path / "ds")
    assert_one_line_error(code, err, "empty", "no export files found")


def test_unreadable_folder(tmp_path, run_cli, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() == 0:
        # root reads any folder whatever its mode, so take the permission away at the check
        monkeypatch.setattr("training.readers.os.access", lambda path, mode: False)
    folder.chmod(0)
    try:
        code, _, err = run_cli("prepare", folder, "--persona", "m", "--out", tmp_path / "ds")
    finally:
        folder.chmod(0o755)
    assert_one_line_error(code, err, "locked", "cannot be read")


def test_unknown_persona_lists_most_active_authors(tmp_path, dce, run_cli):
    path = dce.write(tmp_path / "chat.json", conversation(dce))
    code, _, err = run_cli("prepare", path, "--persona", "garfield", "--out", tmp_path / "ds")
    assert_one_line_error(code, err, "garfield", "Most active authors", "Alice (6 messages)",
                          "Mochi (6 messages)")


def test_data_package_alone_explains_what_to_add(tmp_path, fixtures, run_cli):
    code, _, err = run_cli("prepare", fixtures / "package", "--persona", "mochi", "--out",
                           tmp_path / "ds")
    assert_one_line_error(code, err, "only your own messages", "DiscordChatExporter export")


def test_existing_output_is_not_touched_without_overwrite(tmp_path, dce, run_cli):
    path = dce.write(tmp_path / "chat.json", conversation(dce))
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", out)
    assert_one_line_error(code, err, str(out), "--overwrite")
    assert (out / "keep.txt").read_text() == "mine"


def test_overwrite_never_replaces_a_folder_catgpt_did_not_write(tmp_path, dce, run_cli):
    path = dce.write(tmp_path / "chat.json", conversation(dce))
    out = tmp_path / "home"
    (out / "photos").mkdir(parents=True)
    (out / "thesis.pdf").write_bytes(b"%PDF-1.7 years of work")
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", out, "--overwrite")
    assert_one_line_error(code, err, str(out), "did not write this folder")
    assert (out / "thesis.pdf").read_bytes() == b"%PDF-1.7 years of work"
    assert (out / "photos").is_dir()
    # A dataset folder prepare wrote is replaced, marker and all.
    ours = tmp_path / "ds"
    assert run_cli("prepare", path, "--persona", "mochi", "--out", ours)[0] == 0
    assert run_cli("prepare", path, "--persona", "mochi", "--out", ours, "--overwrite")[0] == 0
    assert (ours / ".catgpt-output").is_file() and (ours / "train.jsonl").is_file()


def test_failed_overwrite_keeps_the_old_dataset(tmp_path, dce, run_cli):
    good = dce.write(tmp_path / "chat.json", conversation(dce))
    out = tmp_path / "ds"
    assert run_cli("prepare", good, "--persona", "mochi", "--out", out)[0] == 0
    before = (out / "train.jsonl").read_text()
    bad = tmp_path / "bad.json"
    shutil.copy(good, bad)
    bad.write_text(bad.read_text()[:400])
    code, _, err = run_cli("prepare", bad, "--persona", "mochi", "--out", out, "--overwrite")
    assert code == 1
    assert (out / "train.jsonl").read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ds")] == []


@pytest.mark.parametrize(("flags", "needle"), [
    (["--phone-region", "XX"], "unknown --phone-region 'XX'"),
    (["--val-share", "1.5"], "--val-share 1.5 is outside"),
    (["--context-turns", "0"], "--context-turns must be at least 1"),
    (["--gap", "0"], "--gap > 0"),
    (["--gap", "nan"], "--gap nan"),
    (["--gap", "-5"], "--gap -5"),
    (["--merge-window", "inf"], "--merge-window inf"),
    (["--merge-window", "-1"], "--merge-window -1"),
    (["--gap", "1e300"], "--gap 1e+300"),
])
def test_bad_options(tmp_path, sample, run_cli, flags, needle):
    code, _, err = run_cli("prepare", sample, "--persona", "mochi", "--out", tmp_path / "ds",
                           *flags)
    assert_one_line_error(code, err, needle)
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("where", ["same", "inside", "around"])
def test_output_overlapping_the_exports_is_refused(tmp_path, dce, run_cli, where):
    # --overwrite replaces --out wholesale: it must never be the exports, hold them, or sit
    # inside them.
    exports = tmp_path / "exports"
    exports.mkdir()
    path = dce.write(exports / "chat.json", conversation(dce))
    out = {"same": exports, "inside": exports / "ds", "around": tmp_path}[where]
    code, _, err = run_cli("prepare", exports, "--persona", "mochi", "--out", out, "--overwrite")
    assert_one_line_error(code, err, str(out), "Choose a separate --out folder")
    assert path.is_file() and [p.name for p in exports.iterdir()] == ["chat.json"]


def test_output_given_through_a_symlink_to_the_exports_is_refused(tmp_path, dce, run_cli):
    exports = tmp_path / "exports"
    exports.mkdir()
    path = dce.write(exports / "chat.json", conversation(dce))
    (tmp_path / "link").symlink_to(exports)
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "link",
                           "--overwrite")
    assert_one_line_error(code, err, "Choose a separate --out folder")
    assert path.is_file()


@pytest.mark.parametrize("text", ["{broken", "[]", '"just a string"'])
def test_malformed_stats_json_names_the_file(tmp_path, run_cli, text):
    data = tmp_path / "data"
    data.mkdir()
    row = {"messages": [{"role": "user", "name": "a", "content": "hi"},
                        {"role": "assistant", "content": "nya"}], "conversation": "c:1"}
    (data / "train.jsonl").write_text(json.dumps(row) + "\n")
    (data / "stats.json").write_text(text)
    code, _, err = run_cli("train", "--data", data, "--out", tmp_path / "m", "--base", "tiny")
    assert_one_line_error(code, err, str(data / "stats.json"), "prepare")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("field", ["attachments", "embeds", "mentions", "stickers"])
@pytest.mark.parametrize("value", [5, "abc", {"name": "x"}, None, True])
def test_wrongly_typed_list_fields_count_as_empty(tmp_path, dce, run_cli, field, value):
    # DiscordChatExporter always writes lists here; anything else is treated as an empty list
    # rather than stopping a long export at one odd message.
    messages = conversation(dce)
    messages[1][field] = value
    messages[2][field] = value
    messages[2]["type"] = "Reply"  # the careful path too, not only the fast one
    path = dce.write(tmp_path / "chat.json", messages)
    code, out, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds",
                             "--val-share", "0")
    assert code == 0, err
    stats = json.loads((tmp_path / "ds" / "stats.json").read_text())
    assert stats["messages_read"] == len(messages)
    assert stats["messages_kept"] == len(messages)


@pytest.mark.parametrize(("flags", "needle"), [
    (["--eval-batch-size", "0"], "--eval-batch-size: must be a positive integer, not 0"),
    (["--eval-samples", "-1"], "--eval-samples: must be 0 or more, not -1"),
    (["--show", "-2"], "--show: must be 0 or more, not -2"),
    (["--batch-size", "0"], "--batch-size: must be a positive integer, not 0"),
    (["--max-steps", "-5"], "--max-steps: must be a positive integer, not -5"),
    (["--eval-batch-size", "x"], "--eval-batch-size: must be a positive integer, not 'x'"),
])
def test_non_positive_numbers_are_refused_by_the_parser(tmp_path, sample, capsys, flags,
                                                       needle):
    from training.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["run", str(sample), "--persona", "mochi", "--base", "tiny",
              "--out", str(tmp_path / "m"), *flags])
    err = capsys.readouterr().err
    assert exited.value.code == 2  # argparse's usage error
    assert "Traceback" not in err
    # argparse's usual two parts: the usage, then one line naming the flag and the problem.
    assert err.splitlines()[-1] == f"catgpt-train run: error: argument {needle}"
    assert not (tmp_path / "m").exists()


def test_a_text_export_in_another_encoding_is_read_and_reported(
    tmp_path, fixtures, run_cli, caplog
):
    # An old editor's cp1252: every é is one byte that is not UTF-8.
    csv_fixture = fixtures / "Test Guild - general [900000000000000030].csv"
    text = csv_fixture.read_text(encoding="utf-8").replace("nya hi~", "nya café~")
    path = tmp_path / "general.csv"
    path.write_bytes(text.encode("cp1252", errors="replace"))  # emoji: no cp1252 form
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds")
    assert code == 0, err
    # the warning, with the place
    assert "1 characters were not UTF-8 (first on line 3)" in caplog.text
    [report] = json.loads((tmp_path / "ds" / "stats.json").read_text())["files"]
    assert any("save the file as UTF-8" in note for note in report["notes"])


def test_copied_text_in_another_encoding_says_so(tmp_path, fixtures, run_cli):
    path = tmp_path / "raw_data.txt"  # its "Name — date" headers need the em dash, as UTF-8
    text = (fixtures / "raw_data.txt").read_text(encoding="utf-8")
    path.write_bytes(text.encode("cp1252", errors="replace"))  # its emoji has no cp1252 form
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds")
    assert_one_line_error(code, err, f"{path}: line 1", "not UTF-8 text", "Save the file as UTF-8")


def test_a_json_export_in_another_encoding_is_one_clear_error(tmp_path, dce, run_cli):
    path = dce.write(tmp_path / "chat.json", dce.chat(("alice", "café?", 0), ("mochi", "b", 1)))
    raw = path.read_text(encoding="utf-8").replace("\\u00e9", "é")  # as the raw character
    path.write_bytes(raw.encode("latin-1"))
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds")
    assert_one_line_error(code, err, str(path), "not UTF-8 text", "save the file as UTF-8")


@pytest.mark.parametrize("value", [12345, 1.5, {"a": 1}, ["x", "y"], True])
def test_content_that_is_not_text_is_a_counted_drop(tmp_path, dce, run_cli, caplog, value):
    # DiscordChatExporter always writes text: anything else is a damaged or edited file,
    # and stringifying it would train the model on `{'a': 1}` as the persona's words.
    messages = conversation(dce)
    messages[3]["content"] = value
    path = dce.write(tmp_path / "chat.json", messages)
    code, out, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds",
                             "--val-share", "0")
    assert code == 0, err
    stats = json.loads((tmp_path / "ds" / "stats.json").read_text())
    assert stats["dropped"] == {"malformed": 1}
    assert stats["messages_read"] == len(messages)
    assert "1 malformed" in out
    assert "message 4 (id 10003): its content is" in caplog.text
    written = (tmp_path / "ds" / "train.jsonl").read_text()
    assert str(value) not in written and "nya answer 1~" not in written


def test_an_author_name_that_is_a_list_is_a_counted_drop(tmp_path, dce, run_cli, caplog):
    messages = conversation(dce)
    messages[2]["author"]["nickname"] = ["Alice", "Al"]
    messages[4]["author"]["name"] = {"first": "alice"}
    path = dce.write(tmp_path / "chat.json", messages)
    code, out, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds",
                             "--val-share", "0")
    assert code == 0, err
    assert json.loads((tmp_path / "ds" / "stats.json").read_text())["dropped"] == {"malformed": 2}
    assert "its author's nickname is a list" in caplog.text


def test_content_nested_fifty_thousand_levels_deep(tmp_path, dce, run_cli):
    messages = conversation(dce)
    messages[1]["content"] = "PLACEHOLDER"
    path = dce.write(tmp_path / "chat.json", messages)
    path.write_text(path.read_text().replace('"PLACEHOLDER"', "[" * 50_000 + "]" * 50_000))
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds")
    assert_one_line_error(code, err, str(path), "nested more than 64 levels deep")


def test_deeply_nested_objects_are_refused_too(tmp_path, run_cli):
    path = tmp_path / "chat.json"
    path.write_text('{"guild": {"id": "1"}, "channel": {"id": "2"}, "messages": [{"id": "3", '
                    '"content": ' + '{"a": ' * 20_000 + "1" + "}" * 20_000 + "}]}")
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds")
    assert_one_line_error(code, err, str(path), "nested more than 64 levels deep")


def test_brackets_typed_in_a_message_are_not_nesting(tmp_path, dce, run_cli):
    # A message of nothing but brackets trips the cheap sign of deep nesting; the
    # measurement that follows must clear it.
    messages = conversation(dce)
    messages[0]["content"] = "[[[{{{" * 600
    path = dce.write(tmp_path / "chat.json", messages)
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds")
    assert code == 0, err


def test_a_symlink_loop_given_directly(tmp_path, run_cli):
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    code, _, err = run_cli("prepare", loop, "--persona", "mochi", "--out", tmp_path / "ds")
    assert_one_line_error(code, err, str(loop), "symbolic link loop")


def test_a_file_in_an_unreadable_folder(tmp_path, dce, run_cli, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    path = dce.write(folder / "chat.json", conversation(dce))
    real_stat = os.stat

    def stat(target, *args, **kwargs):  # what a non-root user gets when the folder is 0o000
        if str(target) == str(path):
            raise PermissionError(13, "Permission denied", str(target))
        return real_stat(target, *args, **kwargs)

    monkeypatch.setattr("training.readers.os.stat", stat)
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds")
    assert_one_line_error(code, err, str(path), "permission denied", "every folder above it")


def test_a_named_pipe_is_refused_without_waiting(tmp_path, run_cli):
    fifo = tmp_path / "chat.json"
    os.mkfifo(fifo)
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("prepare waited on a named pipe"))
    signal.alarm(20)
    try:
        code, _, err = run_cli("prepare", fifo, "--persona", "mochi", "--out", tmp_path / "ds")
    finally:
        signal.alarm(0)
    assert_one_line_error(code, err, str(fifo), "named pipe")


def test_json_after_a_byte_order_mark_is_read(tmp_path, dce, run_cli):
    path = dce.write(tmp_path / "chat.json", conversation(dce))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds",
                           "--val-share", "0")
    assert code == 0, err
    assert json.loads((tmp_path / "ds" / "stats.json").read_text())["examples"] == 6


def test_a_text_export_without_its_header_is_read_not_called_json(tmp_path, fixtures, run_cli):
    text = (fixtures / "dce_plain.txt").read_text(encoding="utf-8")
    body = text[text.index("\n[") + 1:]  # everything after the exporter's header block
    path = tmp_path / "general.txt"
    path.write_text(body, encoding="utf-8")
    code, out, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds",
                             "--val-share", "0")
    assert code == 0, err
    assert "(dce-text)" in out


def test_broken_links_in_a_folder_are_skipped_with_a_warning(tmp_path, dce, run_cli, caplog):
    exports = tmp_path / "exports"
    exports.mkdir()
    dce.write(exports / "chat.json", conversation(dce))
    (exports / "gone.json").symlink_to(tmp_path / "nowhere.json")
    (exports / "loop.json").symlink_to(exports / "loop.json")
    code, _, err = run_cli("prepare", exports, "--persona", "mochi", "--out", tmp_path / "ds")
    assert code == 0, err
    assert f"skipping {exports / 'gone.json'}: a broken link" in caplog.text
    assert f"skipping {exports / 'loop.json'}: a symbolic link loop" in caplog.text


def test_a_closed_stdout_ends_quietly(tmp_path, dce, capsys, monkeypatch):
    # `catgpt-train prepare ... | head -1`: the reader leaves after the first line.
    from training.cli import main

    class ClosedPipe(io.TextIOBase):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    path = dce.write(tmp_path / "chat.json", conversation(dce))
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    code = main(["prepare", str(path), "--persona", "mochi", "--out", str(tmp_path / "ds")])
    assert code == 141 and capsys.readouterr().err == ""
    assert (tmp_path / "ds" / "train.jsonl").is_file()  # the work was done before the print


def test_a_closed_stdout_ends_quietly_at_exit_too(tmp_path, dce):
    # Python flushes stdout once more when it exits: that flush must not fail either.
    path = dce.write(tmp_path / "chat.json", conversation(dce))
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: every write fails with EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "-m", "training", "prepare", str(path), "--persona", "mochi",
             "--out", str(tmp_path / "ds")], stdout=write_end, stderr=subprocess.PIPE,
            text=True, check=False)
    finally:
        os.close(write_end)
    assert result.returncode == 141 and result.stderr == "", result.stderr


def test_an_out_folder_that_cannot_be_written_is_named(tmp_path, dce, run_cli, monkeypatch):
    path = dce.write(tmp_path / "chat.json", conversation(dce))
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:
        # root writes to any folder whatever its mode, so take the permission away at the check
        monkeypatch.setattr("training.outputs.access", lambda path, mode: False)
    locked.chmod(0o555)
    try:
        code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out",
                               locked / "more" / "ds")
    finally:
        locked.chmod(0o755)
    assert_one_line_error(code, err, f"cannot write to {locked} ", "Choose an --out")
    assert list(locked.iterdir()) == []
