"""`catgpt-train prepare` end to end, and the interface `run` builds on."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from training.commands import prepare
from training.data.pipeline import PrepareOptions, prepare_from_args
from training.options import add_options

STATS_KEYS = {
    "persona", "files", "messages_read", "messages_kept", "persona_messages", "dropped",
    "turns", "persona_turns", "persona_turns_without_context", "conversations", "examples",
    "duplicates_removed", "train_examples", "val_examples", "train_conversations",
    "val_conversations", "pii_masked", "salvaged", "options",
}


def load(folder: Path) -> tuple[list[dict], list[dict], dict]:
    read = lambda name: [json.loads(line) for line in (folder / name).open(encoding="utf-8")]  # noqa: E731
    return read("train.jsonl"), read("val.jsonl"), json.loads((folder / "stats.json").read_text())


@pytest.fixture(scope="module")
def sample_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "ds"
    sample = Path(__file__).parents[2] / "data" / "sample"
    from training.cli import main

    assert main(["prepare", str(sample), "--persona", "mochi", "--out", str(out)]) == 0
    return out


def test_sample_dataset_has_the_contract_shape(sample_dataset):
    train, val, stats = load(sample_dataset)
    assert STATS_KEYS <= set(stats)
    assert stats["persona"]["name"] == "mochi"
    assert {"mochi", "Mochi", "1180000000000000101"} <= set(stats["persona"]["aliases"])
    assert stats["examples"] >= 150 and len(train) + len(val) == stats["examples"]
    assert len(val) == stats["val_examples"] > 0
    assert {e["conversation"] for e in train}.isdisjoint(e["conversation"] for e in val)
    for example in train + val:
        messages = example["messages"]
        assert messages[-1]["role"] == "assistant"
        assert any(m["role"] == "user" for m in messages[:-1])
        for message in messages:
            if message["role"] == "user":
                assert message["name"] and ":" not in message["name"]
                assert "\n" not in message["name"]
            else:
                assert "name" not in message
        channel, first_id = example["conversation"].split(":")
        assert channel.isdigit() and first_id.isdigit()
    assert stats["dropped"] == {"bot": 1, "system": 2}
    assert stats["pii_masked"] == {"phone": 1}


def test_sample_edge_cases_come_out_right(sample_dataset):
    train, val, _ = load(sample_dataset)
    text = "\n".join(json.dumps(e, ensure_ascii=False) for e in train + val)
    assert "<|endoftext|>" in text  # stays text; the chat template escapes it
    assert ":blobcat:" in text and "<:blobcat:" not in text
    assert "@Mochi" in text and "<@" not in text
    assert "555-0123" not in text and "[phone]" in text
    assert '"[attachment]"' in text
    assert "CafeBot" not in text and "game night" not in text


def test_summary_is_short_and_names_the_figures(sample_dataset):
    _, _, stats = load(sample_dataset)
    summary = prepare.format_summary(stats)
    assert len(summary.splitlines()) <= 8
    for figure in (stats["examples"], stats["train_examples"], stats["persona_turns"]):
        assert str(figure) in summary


def test_interface_for_run(tmp_path, sample):
    parser = argparse.ArgumentParser()
    add_options(parser, PrepareOptions, skip={"seed"})
    args = parser.parse_args([str(sample), "--persona", "MOCHI", "--persona", "mochi_old",
                              "--context-turns", "4", "--val-share", "0.2"])
    assert not hasattr(args, "out") and not hasattr(args, "seed")
    stats = prepare_from_args(args, tmp_path / "made", seed=3)
    assert (tmp_path / "made" / "train.jsonl").exists()
    assert stats["options"]["seed"] == 3 and stats["options"]["context_turns"] == 4
    assert stats["persona"]["name"] == "MOCHI"  # the first --persona labels the turns
    train, _, _ = load(tmp_path / "made")
    assert max(len(e["messages"]) for e in train) <= 5


def test_persona_by_id_is_labelled_with_their_name(tmp_path, sample, run_cli):
    code, _, err = run_cli("prepare", sample, "--persona", "1180000000000000101", "--out",
                           tmp_path / "ds")
    assert code == 0, err
    assert load(tmp_path / "ds")[2]["persona"]["name"] == "Mochi"


def test_same_seed_same_split(tmp_path, sample, run_cli):
    for name in ("a", "b"):
        assert run_cli("prepare", sample, "--persona", "mochi", "--out", tmp_path / name,
                       "--seed", "5")[0] == 0
    assert (tmp_path / "a" / "val.jsonl").read_text() == (tmp_path / "b" / "val.jsonl").read_text()


def test_exclude_author_and_include_bots(tmp_path, sample, run_cli):
    code, _, err = run_cli("prepare", sample, "--persona", "mochi", "--out", tmp_path / "ds",
                           "--exclude-author", "Dee", "--include-bots")
    assert code == 0, err
    train, val, stats = load(tmp_path / "ds")
    text = json.dumps(train + val)
    assert '"Dee"' not in text and "[phone]" not in text
    assert stats["dropped"]["excluded_author"] > 50 and "bot" not in stats["dropped"]
    assert stats["messages_kept"] == stats["messages_read"] - stats["dropped"]["system"] - (
        stats["dropped"]["excluded_author"])


def test_keep_pii(tmp_path, sample, run_cli):
    assert run_cli("prepare", sample, "--persona", "mochi", "--out", tmp_path / "ds",
                   "--keep-pii")[0] == 0
    train, val, stats = load(tmp_path / "ds")
    assert "(201) 555-0123" in json.dumps(train + val) and stats["pii_masked"] == {}


def test_edge_case_fixture_policies(tmp_path, fixtures, run_cli):
    code, _, err = run_cli("prepare", fixtures / "dce_edge_cases.json", "--persona", "mochi",
                           "--out", tmp_path / "ds", "--val-share", "0")
    assert code == 0, err
    train, _, stats = load(tmp_path / "ds")
    assert stats["dropped"] == {"attachment_only": 1, "bot": 1, "forwarded": 1, "system": 2}
    last = train[-1]["messages"]
    assert last[-1]["content"] == "mrrp no idea~ mail me at [email] :3"
    # bob's embed-only message and his next one, minutes apart, are one turn
    assert {"role": "user", "name": "bob",
            "content": "[embed]\nwhat is <|endoftext|> anyway"} in last
    first = train[0]["messages"]
    # <@!33> comes before bob says anything and the export did not list him: @someone
    assert first[0]["content"].startswith("hi @Mochi and @someone, see #a thread :blobcat: :dance:")


def test_a_folder_of_several_formats(tmp_path, fixtures, run_cli):
    code, out, err = run_cli("prepare", fixtures, "--persona", "mochi", "--out", tmp_path / "ds")
    assert code == 0, err
    stats = load(tmp_path / "ds")[2]
    formats = {f["format"] for f in stats["files"]}
    assert formats == {"dce-json", "dce-csv", "dce-text", "copied-text", "discord-package"}
    assert stats["messages_read"] == sum(f["messages_read"] for f in stats["files"])


def test_data_package_messages_already_in_an_export_count_once(tmp_path, dce, run_cli):
    import shutil

    package = tmp_path / "package"
    shutil.copytree(Path(__file__).parent / "fixtures" / "package", package)
    rows = [{"ID": "10001", "Timestamp": "2024-05-01 12:01:00", "Contents": "nya 1",
             "Attachments": ""}]
    (package / "messages" / "c700").mkdir()
    (package / "messages" / "c700" / "channel.json").write_text('{"id": "700"}')
    (package / "messages" / "c700" / "messages.json").write_text(json.dumps(rows))
    lines = dce.chat(("alice", "hi?", 0), ("mochi", "nya 1", 1))
    export = dce.write(tmp_path / "general.json", lines)
    code, _, err = run_cli("prepare", export, package, "--persona", "mochi", "--out",
                           tmp_path / "ds")
    assert code == 0, err
    stats = load(tmp_path / "ds")[2]
    assert stats["dropped"]["duplicate_message"] == 1 and stats["examples"] == 1
    assert stats["copies_dropped"]["by_id"] == 1


def test_module_entry_point_exit_code_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"guild": {"id": "1"}, "channel": {"id": "2"}, "messages": [{"id": "3"')
    result = subprocess.run(
        [sys.executable, "-m", "training", "prepare", str(bad), "--persona", "x",
         "--out", str(tmp_path / "ds")], capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"catgpt-train: error: {bad}: the file ends early")
