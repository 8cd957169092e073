"""Each leak reported in issue 14 (every one reached train.jsonl before), and each piece of
ordinary text the masker damaged. These are samples of the classes that
tests/data/test_pii_generated.py measures on generated values; they are kept as named
regression cases."""

from __future__ import annotations

import pytest

from training.data.pii import PiiMasker

# (what it is, text, a value that must not survive)
LEAKS = [
    ("env line", "DB_PASSWORD=hunter2", "hunter2"),
    ("JSON", '{"password": "hunter2"}', "hunter2"),
    ("SECRET_KEY", "SECRET_KEY=insecure-django-key", "insecure-django-key"),
    ("JSON passphrase", '"password": "correct horse"', "correct horse"),
    ("'s", "the wifi password's hunter2", "hunter2"),
    ("no separator", "password hunter2", "hunter2"),
    ("passphrase", "password: correct horse battery staple", "battery staple"),
    ("passphrase after is", "my password is correct horse battery staple", "battery staple"),
    ("German", "Passwort: hunter2", "hunter2"),
    ("French", "mot de passe : hunter2", "hunter2"),
    ("Spanish", "contraseña: hunter2", "hunter2"),
    ("Portuguese", "senha: hunter2", "hunter2"),
    ("Russian", "пароль: hunter2", "hunter2"),
    ("Japanese", "パスワードはhunter2です", "hunter2"),
    ("Chinese", "密码是hunter2", "hunter2"),
    ("Korean", "비밀번호는 hunter2", "hunter2"),
    ("SSN unbroken", "social 536221847", "536221847"),
    ("SSN slashes", "536/22/1847", "1847"),
    ("SSN underscores", "536_22_1847", "1847"),
    ("wa.me", "text me https://wa.me/447946095800", "447946095800"),
    ("t.me", "t.me/+447946095800", "447946095800"),
    ("signal.me", "https://signal.me/#p/+447946095800", "447946095800"),
    ("space before @", "alice @example.com", "alice"),
    ("spaces around @ and dot", "alice @ example . com", "alice"),
    ("ideographic full stop", "alice@example。com", "alice"),
    ("card with slashes", "4111/1111/1111/1111", "1111/1111"),
    ("card with underscores", "4111_1111_1111_1111", "1111_1111"),
    ("card as spaced digits", "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", "1 1 1 1 1 1 1 1"),
    ("password in a nickname", "Mochi (pw hunter2)", "hunter2"),
    ("passphrase in a nickname", "Mochi | wifi password is correct horse", "correct horse"),
]

ORDINARY = [
    "commit 3f9a2b1c4d5e6f708192a3b4c5d6e7f8091a2b3c",
    "fixed in 3f9a2b1",
    "request id 7d444840-9dc0-11d1-b245-5ffdce74fad2",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "ISBN 0-306-40615-2",
    "0-306-40615-2",
    "978-3-16-148410-0",
    "1 2 3 4 5 6 7 8 9 10",
    "2016-2022 was a good run",
    "version 25.0.2.4701",
    "meet at 48.8566, 2.3522",
]


@pytest.mark.parametrize(("what", "text", "value"), LEAKS, ids=[case[0] for case in LEAKS])
def test_each_reported_leak_is_masked(what, text, value):
    masked = PiiMasker("US").mask(text)
    assert value not in masked, masked
    assert "[" in masked


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_as_typed(text):
    assert PiiMasker("US").mask(text) == text


@pytest.mark.parametrize("ssn", ["536-22-1847", "536 22 1847", "536.22.1847", "536221847",
                                 "536/22/1847", "536_22_1847"])
def test_a_social_security_number_in_any_form_is_an_id(ssn):
    # Before, some forms passed and others were masked as phone numbers by chance.
    masker = PiiMasker("US")
    assert masker.mask(f"ssn {ssn} ok") == "ssn [id] ok"
    assert masker.counts == {"id": 1}


NICKNAME = "Mochi | +44 20 7946 0958 | mochi.real@example.com"


def test_the_personas_own_nickname_is_masked_in_stats(tmp_path, dce, run_cli):
    messages = [dce.message(i, who, text, i) for i, (who, text) in
                enumerate([("alice", "hi mochi"), ("mochi", "nya~"), ("alice", "ok"),
                           ("mochi", "mrrp")])]
    for message in messages:
        if message["author"]["name"] == "mochi":
            message["author"]["nickname"] = NICKNAME
    path = dce.write(tmp_path / "chat.json", messages)
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--persona", NICKNAME,
                           "--out", tmp_path / "ds", "--val-share", "0")
    assert code == 0, err
    stats = (tmp_path / "ds" / "stats.json").read_text(encoding="utf-8")
    assert "7946" not in stats and "mochi.real" not in stats
    assert "Mochi | [phone] | [email]" in stats


def test_the_personas_names_are_masked_in_catgpt_json(tmp_path):
    import json

    from training.model.model_folder import write_catgpt

    card = {"persona": {"name": NICKNAME, "aliases": ["mochi", NICKNAME], "account_ids": ["22"]},
            "dataset": {"stats": {"persona": {"name": NICKNAME, "aliases": [NICKNAME]},
                                  "options": {"personas": [NICKNAME], "phone_region": "GB"}}}}
    write_catgpt(tmp_path, card)
    written = (tmp_path / "catgpt.json").read_text(encoding="utf-8")
    assert "7946" not in written and "mochi.real" not in written
    assert json.loads(written)["persona"]["aliases"] == ["Mochi | [phone] | [email]", "mochi"]
    assert json.loads(written)["persona"]["account_ids"] == ["22"]
