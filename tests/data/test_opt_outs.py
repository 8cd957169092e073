"""--opt-outs FILE: those accounts' words are in no context and no reply (issue 17, consent).

The file's format (catgpt/opt_outs.py) is tested on generated ids and generated bad lines; the
rule in prepare on generated conversations where every message carries a unique tag, so any
opted-out word that reached the dataset would be found.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catgpt.opt_outs import OptOutFileError, read_opt_outs, write_opt_outs

SNOWFLAKES = st.integers(min_value=1, max_value=2**64 - 1)
# People of the generated chats: (id, username); the persona is mochi.
CAST = {"mochi": "22", "alice": "11", "bob": "33", "carol": "44", "dan": "55"}


def author(name: str) -> dict:
    return {"id": CAST[name], "name": name, "nickname": name.title(), "isBot": False}


def dataset_text(folder: Path) -> str:
    return "".join((folder / name).read_text(encoding="utf-8")
                   for name in ("train.jsonl", "val.jsonl"))


# -- the file ---------------------------------------------------------------------------------


@given(ids=st.sets(SNOWFLAKES, max_size=30), comments=st.lists(st.text(max_size=20), max_size=5),
       zeros=st.integers(0, 3))
@settings(max_examples=60)
def test_what_export_writes_prepare_reads_back(ids, comments, zeros):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "opt-outs.txt"
        assert write_opt_outs(path, ids) == len(ids)
        # Someone edits the file by hand: comments, blank lines, spacing, leading zeros.
        lines = path.read_text(encoding="utf-8").splitlines()
        edited = [f"  {'0' * zeros}{line}  # asked on discord" if line[:1].isdigit() else line
                  for line in lines]
        edited += ["", *(f"# {c}".replace("\n", " ").replace("\r", " ") for c in comments)]
        path.write_text("\n".join(edited), encoding="utf-8")
        assert read_opt_outs(path) == {str(i) for i in ids}


@given(good=st.lists(SNOWFLAKES, max_size=5), bad=st.text(min_size=1, max_size=30).filter(
    lambda t: "#" not in t and t.strip() and not (t.strip().isascii() and t.strip().isdigit())
    and "\n" not in t and "\r" not in t))
@settings(max_examples=80, suppress_health_check=[HealthCheck.filter_too_much])
def test_a_line_that_is_not_an_id_is_an_error_naming_its_line(good, bad):
    # A name, a mention, a typo: none may be skipped (a skipped line is an ignored wish).
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "opt-outs.txt"
        path.write_text("".join(f"{i}\n" for i in good) + bad + "\n", encoding="utf-8")
        with pytest.raises(OptOutFileError) as raised:
            read_opt_outs(path)
        message = str(raised.value)
        assert message.startswith(f"{path}:{len(good) + 1}: ")
        assert "not an account id" in message and "\n" not in message


@pytest.mark.parametrize("content, what", [
    (None, "no such opt-out file"), (b"\xff\xfe1\x00", "not UTF-8"),
    (b"99999999999999999999999\n", "not an account id"),  # over 2^64: no snowflake
])
def test_an_unreadable_file_is_one_line(tmp_path, content, what):
    path = tmp_path / "opt-outs.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(OptOutFileError, match=what):
        read_opt_outs(path)


# -- prepare ----------------------------------------------------------------------------------


def generated_chat(dce, rng: random.Random, size: int) -> tuple[list[dict], dict[str, list[str]]]:
    """A chat of `size` messages by the cast, each saying a unique tag; tags by speaker."""
    names = list(CAST)
    messages, said = [], {name: [] for name in names}
    minute = 0.0
    for number in range(size):
        name = "mochi" if number % 3 == 2 else rng.choice(names)
        tag = f"tag{number:04d}x{rng.randrange(10**6):06d}"
        said[name].append(tag)
        minute += rng.choice([0.5, 2, 7, 15])
        messages.append(dce.message(number, "alice", f"{tag} says {name}", minute,
                                    author=author(name)))
    return messages, said


@given(seed=st.integers(0, 2**32 - 1), opted=st.sets(st.sampled_from(["alice", "bob", "carol",
                                                                       "dan"]), min_size=1,
                                                     max_size=3))
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_opted_out_words_are_in_no_context_and_no_reply(dce, run_cli, seed, opted):
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        messages, said = generated_chat(dce, rng, 60)
        export = dce.write(tmp / "chat.json", messages)
        opt_outs = tmp / "opt-outs.txt"
        write_opt_outs(opt_outs, [CAST[name] for name in opted])
        code, out, err = run_cli("prepare", export, "--persona", "mochi", "--opt-outs",
                                 opt_outs, "--out", tmp / "ds")
        assert code == 0, err
        text = dataset_text(tmp / "ds")
        for name in opted:
            assert not any(tag in text for tag in said[name]), name
            assert f"says {name}" not in text
        stats = json.loads((tmp / "ds" / "stats.json").read_text())
        left_out = sum(len(said[name]) for name in opted)
        assert stats["opt_outs"] == {"accounts": len(opted), "messages": left_out,
                                     "files_without_ids": {}}
        assert stats["dropped"]["opted_out"] == left_out
        assert f"opt-outs: {left_out} messages by {len(opted)} opted-out account(s)" in out
        # Who opted out is written nowhere: not their ids, not the file's lines.
        written = (tmp / "ds" / "stats.json").read_text()
        assert not any(f'"{CAST[name]}"' in written for name in opted)
        # Everyone else's words are still there.
        stayed = [tag for name, tags in said.items() if name not in opted for tag in tags]
        assert sum(tag in text for tag in stayed) >= len(stayed) // 2


def test_the_persona_in_the_file_is_refused_before_anything_is_written(tmp_path, dce, run_cli):
    messages, _ = generated_chat(dce, random.Random(1), 12)
    export = dce.write(tmp_path / "chat.json", messages)
    opt_outs = tmp_path / "opt-outs.txt"
    write_opt_outs(opt_outs, [CAST["mochi"], CAST["bob"]])
    for persona in ("22", "mochi"):  # by id (before reading) and by username (while reading)
        code, out, err = run_cli("prepare", export, "--persona", persona, "--opt-outs",
                                 opt_outs, "--out", tmp_path / "ds")
        assert code != 0 and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
        assert str(opt_outs) in err and "opt-out file" in err
        assert not (tmp_path / "ds").exists()


def test_everyone_else_opted_out_is_said_so(tmp_path, dce, run_cli):
    messages, _ = generated_chat(dce, random.Random(4), 12)
    export = dce.write(tmp_path / "chat.json", messages)
    opt_outs = tmp_path / "opt-outs.txt"
    write_opt_outs(opt_outs, [i for name, i in CAST.items() if name != "mochi"])
    code, _, err = run_cli("prepare", export, "--persona", "mochi", "--opt-outs", opt_outs,
                           "--out", tmp_path / "ds")
    assert code != 0 and err.startswith(f"catgpt-train: error: {opt_outs}: everyone")
    assert not (tmp_path / "ds").exists()


def test_a_bad_line_stops_prepare_in_one_line(tmp_path, dce, run_cli):
    messages, _ = generated_chat(dce, random.Random(2), 12)
    export = dce.write(tmp_path / "chat.json", messages)
    opt_outs = tmp_path / "opt-outs.txt"
    opt_outs.write_text("# friends who asked\n33\nbob\n", encoding="utf-8")
    code, _, err = run_cli("prepare", export, "--persona", "mochi", "--opt-outs", opt_outs,
                           "--out", tmp_path / "ds")
    assert code != 0 and f"{opt_outs}:3: 'bob' is not an account id" in err
    assert not (tmp_path / "ds").exists()


def test_files_without_ids_are_named_as_not_honouring_opt_outs(tmp_path, dce, run_cli,
                                                               fixtures):
    messages, _ = generated_chat(dce, random.Random(3), 12)
    export = dce.write(tmp_path / "chat.json", messages)
    opt_outs = tmp_path / "opt-outs.txt"
    write_opt_outs(opt_outs, [CAST["bob"]])
    code, out, err = run_cli("prepare", export, fixtures / "dce_plain.txt", "--persona",
                             "mochi", "--opt-outs", opt_outs, "--out", tmp_path / "ds")
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith("opt-outs:"))
    assert "NOT applied" in line and "dce_plain.txt" in line and "chat.json" not in line
