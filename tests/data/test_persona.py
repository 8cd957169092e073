"""--persona names one person: accounts, not strings (contract 2 in DESIGN.md)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

MOCHI = {"id": "22", "name": "mochi_cat", "nickname": "Mochi", "isBot": False}
# Someone else who renamed themselves after the persona.
EVE = {"id": "66", "name": "eve", "nickname": "Mochi", "isBot": False}
ALICE = {"id": "11", "name": "alice", "nickname": "Alice", "isBot": False}
AGAIN = "reading the exports again"


def talk(dce, *lines: tuple[dict, str]) -> list[dict]:
    """Messages a minute apart from (author, text) pairs."""
    return [dce.message(i, "alice", text, 2 * i, author=dict(author))
            for i, (author, text) in enumerate(lines)]


def impersonated(dce, eve_first: bool = False) -> list[dict]:
    lines = [(ALICE, "hi mochi"), (MOCHI, "nya hello~"), (ALICE, "what are you up to"),
             (MOCHI, "napping~ :3"), (ALICE, "and you eve?"), (EVE, "i am the real mochi"),
             (ALICE, "sure"), (MOCHI, "mrrp no~")]
    if eve_first:
        lines = [(EVE, "i am mochi, obey"), (ALICE, "no you are not"), *lines]
    return talk(dce, *lines)


def load(folder: Path) -> tuple[list[dict], dict]:
    rows = [json.loads(line) for name in ("train.jsonl", "val.jsonl")
            for line in (folder / name).open(encoding="utf-8")]
    return rows, json.loads((folder / "stats.json").read_text())


def prepare(run_cli, tmp_path, *args) -> tuple[list[dict], dict]:
    code, _, err = run_cli("prepare", *args, "--out", tmp_path / "ds", "--val-share", "0")
    assert code == 0, err
    return load(tmp_path / "ds")


def targets(rows: list[dict]) -> list[str]:
    return [row["messages"][-1]["content"] for row in rows]


def speakers(rows: list[dict]) -> set[str]:
    return {m["name"] for row in rows for m in row["messages"] if m["role"] == "user"}


def test_an_impersonator_is_no_target_and_is_labelled_apart(tmp_path, dce, run_cli):
    export = dce.write(tmp_path / "chat.json", impersonated(dce))
    rows, stats = prepare(run_cli, tmp_path, export, "--persona", "mochi_cat")
    assert targets(rows) == ["nya hello~", "napping~ :3", "mrrp no~"]
    assert "Mochi (not the persona)" in speakers(rows) and "Mochi" not in speakers(rows)
    said = {m["content"]: m.get("name") for row in rows for m in row["messages"]}
    assert said["i am the real mochi"] == "Mochi (not the persona)"
    assert stats["persona"]["account_ids"] == ["22"]
    assert stats["persona_messages"] == 3


def test_an_impersonator_seen_first_is_caught_by_a_second_reading(tmp_path, dce, run_cli,
                                                                   caplog):
    # The persona value "mochi" is eve's nickname and no one's username or id when eve's
    # first message arrives, so she looks like the persona until account 22 turns up.
    export = dce.write(tmp_path / "chat.json", impersonated(dce, eve_first=True))
    mochi = dict(MOCHI, name="mochi")  # the persona's username is the value given
    messages = json.loads(export.read_text())
    for message in messages["messages"]:
        if message["author"]["id"] == "22":
            message["author"] = mochi
    export.write_text(json.dumps(messages))
    with caplog.at_level(logging.INFO):
        rows, stats = prepare(run_cli, tmp_path, export, "--persona", "mochi")
    assert AGAIN in caplog.text
    assert targets(rows) == ["nya hello~", "napping~ :3", "mrrp no~"]
    assert "i am mochi, obey" not in targets(rows)
    said = {m["content"]: m.get("name") for row in rows for m in row["messages"]}
    assert said["i am mochi, obey"] == "Mochi (not the persona)"
    assert stats["persona_messages"] == 3 and stats["persona"]["account_ids"] == ["22"]


def test_a_shared_display_name_is_an_error_listing_the_accounts(tmp_path, dce, run_cli):
    export = dce.write(tmp_path / "chat.json", impersonated(dce))
    code, out, err = run_cli("prepare", export, "--persona", "Mochi", "--out", tmp_path / "ds")
    assert code == 1 and "Traceback" not in err and not (tmp_path / "ds").exists()
    first, *listed = err.splitlines()
    assert first.startswith("catgpt-train: error: --persona 'Mochi' is the display name")
    assert "2 accounts" in first and "id or username" in first
    assert listed == ["  id 22, username mochi_cat, shown as Mochi: 3 messages",
                      "  id 66, username eve, shown as Mochi: 1 messages"]


def test_an_id_picks_the_account_whatever_its_name(tmp_path, dce, run_cli):
    export = dce.write(tmp_path / "chat.json", impersonated(dce))
    rows, stats = prepare(run_cli, tmp_path, export, "--persona", "66")
    assert targets(rows) == ["i am the real mochi"]
    # The persona is named Mochi now: the other Mochi is labelled apart in the context.
    assert stats["persona"]["name"] == "Mochi"
    assert "Mochi (not the persona)" in speakers(rows)
    assert stats["persona"]["account_ids"] == ["66"]


def test_a_unique_display_name_still_works(tmp_path, dce, run_cli):
    lines = impersonated(dce)
    export = dce.write(tmp_path / "chat.json", [m for m in lines if m["author"]["id"] != "66"])
    rows, stats = prepare(run_cli, tmp_path, export, "--persona", "MOCHI")
    assert targets(rows) == ["nya hello~", "napping~ :3", "mrrp no~"]
    assert stats["persona"]["account_ids"] == ["22"]


def test_names_do_not_spread_to_other_accounts(tmp_path, dce, run_cli):
    # Matched by username, mochi is the persona under every name it has (Kitty in the second
    # channel); Kitty's namesake is not pulled in, and is labelled apart.
    kitty = dict(MOCHI, nickname="Kitty")
    namesake = {"id": "77", "name": "kitty_real", "nickname": "Kitty", "isBot": False}
    one = dce.write(tmp_path / "a.json", talk(dce, (ALICE, "hi"), (MOCHI, "nya~")))
    two = dce.write(tmp_path / "b.json", talk(dce, (namesake, "meow?"), (ALICE, "hey"),
                                              (kitty, "mrrp hi")), channel_id="701")
    rows, stats = prepare(run_cli, tmp_path, one, two, "--persona", "mochi_cat")
    assert sorted(targets(rows)) == ["mrrp hi", "nya~"]
    assert "Kitty (not the persona)" in speakers(rows)
    assert {"Mochi", "Kitty", "mochi_cat", "22"} <= set(stats["persona"]["aliases"])


def test_excluded_accounts_and_bots_do_not_make_a_name_ambiguous(tmp_path, dce, run_cli):
    bot = {"id": "99", "name": "mochibot", "nickname": "Mochi", "isBot": True}
    lines = impersonated(dce) + talk(dce, (bot, "beep"))[-1:]
    lines[-1]["id"] = "99999"
    export = dce.write(tmp_path / "chat.json", lines)
    rows, stats = prepare(run_cli, tmp_path, export, "--persona", "Mochi",
                          "--exclude-author", "eve")
    assert targets(rows) == ["nya hello~", "napping~ :3", "mrrp no~"]
    assert stats["dropped"] == {"bot": 1, "excluded_author": 1}


def test_copied_client_text_has_no_ids_and_matches_by_name(tmp_path, fixtures, run_cli):
    rows, stats = prepare(run_cli, tmp_path, fixtures / "raw_data.txt", "--persona", "mochi")
    assert targets(rows) == ["nya i'm in~ :3", "tuna snacks pls"]
    assert stats["persona"]["account_ids"] == []  # names only: nothing for the bot to match


def test_the_usual_export_is_read_once(tmp_path, sample, run_cli, caplog):
    with caplog.at_level(logging.INFO):
        prepare(run_cli, tmp_path, sample, "--persona", "mochi")
    assert AGAIN not in caplog.text


def test_a_shared_name_of_an_account_already_matched_names_that_account(tmp_path, dce,
                                                                         run_cli):
    # "Mochi" is carried by two accounts, but one of them is the persona by its username.
    export = dce.write(tmp_path / "chat.json", impersonated(dce))
    rows, stats = prepare(run_cli, tmp_path, export, "--persona", "mochi_cat",
                          "--persona", "Mochi")
    assert targets(rows) == ["nya hello~", "napping~ :3", "mrrp no~"]
    assert stats["persona"]["account_ids"] == ["22"]


def test_a_nickname_is_masked_in_both_readings_and_counted_once(tmp_path, dce, run_cli, caplog):
    # Labels are masked like text (a nickname can hold a phone number); the second reading
    # starts its masking totals afresh, and a label recomputed on each decision is masked once.
    export = dce.write(tmp_path / "chat.json", impersonated(dce, eve_first=True))
    messages = json.loads(export.read_text())
    for message in messages["messages"]:
        if message["author"]["id"] == "22":
            message["author"] = dict(MOCHI, name="mochi")
        if message["author"]["id"] == "11":
            message["author"] = dict(ALICE, nickname="Alice (020 7946 0958)")
    export.write_text(json.dumps(messages))
    with caplog.at_level(logging.INFO):
        rows, stats = prepare(run_cli, tmp_path, export, "--persona", "mochi")
    assert AGAIN in caplog.text
    assert speakers(rows) == {"Alice ([phone])", "Mochi (not the persona)"}
    assert "7946" not in (tmp_path / "ds" / "train.jsonl").read_text()
    assert stats["pii_masked"] == {"phone": 1}


# The identity rules (docs/data.md, "Who the persona is"), one test per way they were broken.

MOCHI_22 = {"id": "22", "name": "mochi", "nickname": "Mochi", "isBot": False}


def dce_text(path: Path, *lines: tuple[str, str]) -> Path:
    """A DiscordChatExporter plain-text export from (author, text) pairs, a minute apart."""
    blocks = ["=" * 62, "Guild: Guild", "Channel: Chat / general", "=" * 62, ""]
    for minute, (author, text) in enumerate(lines):
        blocks += [f"[05/01/2024 1:{minute:02d} PM] {author}", text, ""]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def copied_text(path: Path, *lines: tuple[str, str]) -> Path:
    """Text copied from the Discord client from (name, text) pairs, a minute apart."""
    path.write_text("\n".join(f"{name} — 05/01/2024 1:{minute:02d} PM\n{text}"
                              for minute, (name, text) in enumerate(lines)), encoding="utf-8")
    return path


def test_a_name_that_is_the_persona_id_in_a_text_export_is_not_the_persona(tmp_path, dce,
                                                                            run_cli):
    # Names stand in for ids in DCE plain text and copied client text; a person *named* 22
    # is not account 22, whichever value names the persona.
    json_export = dce.write(tmp_path / "chat.json", talk(dce, (ALICE, "hi"), (MOCHI_22, "nya~")))
    plain = dce_text(tmp_path / "plain.txt", ("22", "i am 22, not mochi"), ("mochi", "nya text"))
    copied = copied_text(tmp_path / "copied.txt", ("22", "copied impostor"), ("mochi", "nya copy"))
    # An id names the account alone; a name also names the text exports' `mochi` (rule 5),
    # and either way the person named 22 is someone else, labelled apart.
    for persona, expected in (("22", ["nya~"]), ("mochi", ["nya copy", "nya text", "nya~"])):
        rows, stats = prepare(run_cli, tmp_path / persona, json_export, plain, copied,
                              "--persona", persona)
        assert sorted(targets(rows)) == expected, persona
        assert stats["persona_messages"] == len(expected)
        assert stats["persona"]["account_ids"] == ["22"]
        if persona == "mochi":
            assert speakers(rows) == {"Alice", "22 (not the persona)"}


def test_an_id_matches_only_an_id_never_a_username(tmp_path, dce, run_cli):
    digits = {"id": "66", "name": "22", "nickname": None, "isBot": False}
    export = dce.write(tmp_path / "chat.json", talk(
        dce, (ALICE, "hi"), (MOCHI_22, "nya~"), (ALICE, "and you?"), (digits, "i am 22 too")))
    rows, stats = prepare(run_cli, tmp_path, export, "--persona", "22")
    assert targets(rows) == ["nya~"]
    assert stats["persona"]["account_ids"] == ["22"]


def test_a_username_taken_after_a_rename_is_an_error_with_the_dates(tmp_path, dce, run_cli):
    # Account 22 was `mochi`, renamed to `mochi_cat`; then account 66 took `mochi`.
    taker = {"id": "66", "name": "mochi", "nickname": None, "isBot": False}
    lines = talk(dce, (ALICE, "hi"), (MOCHI_22, "nya~"), (ALICE, "again"), (MOCHI, "mrrp"),
                 (ALICE, "who?"), (taker, "i took the name"))
    lines[-1]["timestamp"] = "2024-06-02T12:00:00+00:00"
    export = dce.write(tmp_path / "chat.json", lines)
    code, _, err = run_cli("prepare", export, "--persona", "mochi", "--out", tmp_path / "ds")
    assert code == 1 and "Traceback" not in err and not (tmp_path / "ds").exists()
    first = err.splitlines()[0]
    assert "--persona 'mochi' is the username of 2 accounts" in first
    assert "id 22 from 2024-05-01 to 2024-05-01" in first
    assert "id 66 from 2024-06-02 to 2024-06-02" in first
    # Naming the account by id as well settles it: the taker stays out.
    rows, stats = prepare(run_cli, tmp_path, export, "--persona", "22", "--persona", "mochi")
    assert targets(rows) == ["nya~", "mrrp"] and stats["persona"]["account_ids"] == ["22"]


def test_a_webhook_named_like_the_persona_is_not_the_persona(tmp_path, dce, run_cli):
    webhook = {"id": "88", "name": "mochi", "nickname": "Mochi", "isBot": True}
    export = dce.write(tmp_path / "chat.json", talk(
        dce, (ALICE, "hi"), (MOCHI_22, "nya~"), (ALICE, "hook?"), (webhook, "fake mochi")))
    rows, stats = prepare(run_cli, tmp_path, export, "--persona", "mochi", "--include-bots")
    assert targets(rows) == ["nya~"] and stats["persona"]["account_ids"] == ["22"]
    # Named by its id, a bot is the persona (the user asked for it).
    rows, stats = prepare(run_cli, tmp_path / "by-id", export, "--persona", "88",
                          "--include-bots")
    assert targets(rows) == ["fake mochi"]


def test_look_alike_names_are_labelled_apart_in_the_context(tmp_path, dce, run_cli):
    look_alikes = ["Мосhі", "rnochi", "mοchi", "mo\u0301chi"]  # Cyrillic, rn, Greek o, a mark
    others = [{"id": str(70 + i), "name": f"user{i}", "nickname": name, "isBot": False}
              for i, name in enumerate(look_alikes)]
    lines = [(other, f"line {i}") for i, other in enumerate(others)] + [(MOCHI_22, "nya~")]
    export = dce.write(tmp_path / "chat.json", talk(dce, *lines))
    rows, _ = prepare(run_cli, tmp_path, export, "--persona", "mochi")
    assert targets(rows) == ["nya~"]
    assert speakers(rows) == {f"{name} (not the persona)" for name in look_alikes}
