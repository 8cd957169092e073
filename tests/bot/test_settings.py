"""Settings: every bad value is a clear error before connecting; the token never shows."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest
from dotenv import dotenv_values

from bot.cli import main
from bot.errors import SettingsError
from bot.settings import (
    DMS_ANYONE,
    DMS_MEMBERS,
    DMS_OFF,
    Settings,
    load_settings,
    read_environment,
)

TOKEN = "MTA2NjQ0.GhJ3kL.s3cr3t-t0k3n-value_abcdefghijklmnop"


@pytest.fixture
def model_dir(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    return tmp_path


def empty_env_file(folder: Path) -> Path:
    path = folder / "empty.env"
    path.write_text("")
    return path


def env(model_dir, **extra):
    values = {"DISCORD_TOKEN": TOKEN, "CATGPT_MODEL": str(model_dir)}
    values.update(extra)
    return values


def test_defaults_and_lists(model_dir):
    settings = load_settings(
        env(
            model_dir,
            CATGPT_ALLOWED_GUILDS="111111111111111111, 222222222222222222",
            CATGPT_COOLDOWN="2.5",
            CATGPT_MESSAGE_CONTENT="yes",
        )
    )
    assert settings.token == TOKEN
    assert settings.allowed_guilds == {111111111111111111, 222222222222222222}
    assert settings.cooldown == 2.5 and settings.message_content
    assert settings.device == "auto" and settings.queue_size == 32 and settings.max_batch == 32
    assert settings.allows(111111111111111111, (5,)) and not settings.allows(333, (5,))
    assert settings.allows(None, ())  # DMs allowed by default


def test_repr_hides_the_token(model_dir):
    settings = load_settings(env(model_dir))
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)


def test_missing_token_says_how_to_fix(model_dir):
    with pytest.raises(SettingsError, match="DISCORD_TOKEN.*--console"):
        load_settings(env(model_dir, DISCORD_TOKEN=""))
    assert load_settings(env(model_dir, DISCORD_TOKEN=""), require_token=False).token is None


@pytest.mark.parametrize("bad", ["Bot " + TOKEN, TOKEN + " x", "not-a-token"])
def test_malformed_token_is_rejected_without_echoing_it(model_dir, bad):
    with pytest.raises(SettingsError) as caught:
        load_settings(env(model_dir, DISCORD_TOKEN=bad))
    assert "DISCORD_TOKEN" in str(caught.value)
    assert TOKEN not in str(caught.value) and "not-a-token" not in str(caught.value)


@pytest.mark.parametrize("bad", ["Bot " + TOKEN, TOKEN + " x", "not-a-token"])
def test_console_mode_ignores_a_malformed_token(model_dir, bad):
    # A stale token left in .env must not break `--console` or `make demo`, which never use it.
    settings = load_settings(env(model_dir, DISCORD_TOKEN=bad), require_token=False)
    assert settings.token is None
    assert bad not in repr(settings)


def test_cli_console_does_not_check_the_token(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("CATGPT_MODEL", raising=False)
    monkeypatch.setenv("DISCORD_TOKEN", "Bot " + TOKEN)
    code = main(
        ["--console", "--env-file", str(empty_env_file(tmp_path)), "--model", str(tmp_path / "no")]
    )
    err = capsys.readouterr().err
    # It gets as far as the model folder: the token is not what stopped it.
    assert code == 1 and "no such model folder" in err
    assert "DISCORD_TOKEN" not in err and TOKEN not in err


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CATGPT_HISTORY", "lots", "not a whole number"),
        ("CATGPT_QUEUE_SIZE", "0", "at least 1"),
        ("CATGPT_COOLDOWN", "-1", "0 \\(off\\) or more"),
        ("CATGPT_ALLOWED_CHANNELS", "#general", "not a Discord id"),
        ("CATGPT_DEVICE", "tpu", "unknown device"),
        ("CATGPT_MESSAGE_CONTENT", "maybe", "not true or false"),
        ("CATGPT_LOG_LEVEL", "LOUD", "unknown log level"),
        ("CATGPT_QUIZ_SECONDS", "9", "10 to 3600 seconds"),
        ("CATGPT_QUIZ_SECONDS", "3601", "10 to 3600 seconds"),
        ("CATGPT_QUIZ_SECONDS", "two minutes", "not a whole number"),
        ("CATGPT_QUIZ_VOTES", "0", "1 to 100 votes"),
        ("CATGPT_QUIZ_VOTES", "101", "1 to 100 votes"),
        ("CATGPT_QUIZ_VOTES", "2.5", "not a whole number"),
    ],
)
def test_bad_values_name_the_setting(model_dir, name, value, message):
    with pytest.raises(SettingsError, match=f"{name}: .*{message}"):
        load_settings(env(model_dir, **{name: value}))


def test_the_copy_guard_is_on_unless_turned_off(model_dir):
    assert load_settings(env(model_dir)).copy_guard is True
    for value, on in (("on", True), ("off", False), ("OFF", False), ("true", True), ("", True)):
        assert load_settings(env(model_dir, CATGPT_COPY_GUARD=value)).copy_guard is on, value
    with pytest.raises(SettingsError, match="CATGPT_COPY_GUARD: 'sometimes' is not"):
        load_settings(env(model_dir, CATGPT_COPY_GUARD="sometimes"))


def test_model_folder_must_exist_and_look_like_a_model(tmp_path):
    with pytest.raises(SettingsError, match="CATGPT_MODEL: no model folder"):
        load_settings({"DISCORD_TOKEN": TOKEN})
    with pytest.raises(SettingsError, match="no such model folder"):
        load_settings(env(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="no config.json"):
        load_settings(env(tmp_path))


def test_flag_overrides_the_model_setting(model_dir, tmp_path):
    settings = load_settings(env(tmp_path / "elsewhere"), model=model_dir)
    assert settings.model == model_dir


def test_environment_wins_over_dotenv(tmp_path, monkeypatch):
    dotenv = tmp_path / ".env"
    dotenv.write_text("CATGPT_HISTORY=7\nCATGPT_QUEUE_SIZE=3\n")
    monkeypatch.setenv("CATGPT_HISTORY", "9")
    values = read_environment(dotenv)
    assert values["CATGPT_HISTORY"] == "9" and values["CATGPT_QUEUE_SIZE"] == "3"


def test_cli_reports_a_settings_error_on_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("CATGPT_MODEL", raising=False)
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    code = main(["--env-file", str(empty_env_file(tmp_path)), "--model", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("catgpt-bot: error: ") and "no such model folder" in err
    assert err.count("\n") == 1 and TOKEN not in err


def test_env_example_lists_every_setting():
    root = Path(__file__).resolve().parents[2]
    # The settings are read in settings.py and, the backend and the shards, serving_settings.py,
    # the database and the quiz, store_settings.py.
    modules = ("settings.py", "serving_settings.py", "store_settings.py", "member_settings.py")
    source = "".join((root / "bot" / name).read_text() for name in modules)
    read = set(re.findall(r'"((?:CATGPT|DISCORD)_[A-Z_]+)"', source))
    example = dotenv_values(root / ".env.example")
    assert read == set(example), "settings.py and .env.example disagree"
    text = (root / ".env.example").read_text()
    for name in read:  # each one has a comment right above it
        before = text.split(f"\n{name}=")[0]
        assert before.rstrip().splitlines()[-1].startswith("#"), name
    # And the example itself is a valid configuration (the token aside).
    example["CATGPT_MODEL"] = str(root)  # any folder with a config.json will not do: just parse
    with pytest.raises(SettingsError, match="config.json"):
        load_settings(example, require_token=False)


def test_a_named_settings_file_must_exist(tmp_path, capsys):
    code = main(["--console", "--env-file", str(tmp_path / "prod.env")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert "prod.env: no such settings file" in err and "--env-file" in err


def test_a_settings_file_that_is_not_utf8_is_one_clear_line(tmp_path, capsys):
    settings = tmp_path / "windows.env"
    settings.write_bytes("DISCORD_TOKEN=x\n".encode("utf-16"))  # what PowerShell's > writes
    code = main(["--console", "--env-file", str(settings)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert "windows.env: the settings file is not UTF-8 text" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CATGPT_COOLDOWN", "nan"),
        ("CATGPT_COOLDOWN", "inf"),
        ("CATGPT_COOLDOWN", "-inf"),
        ("CATGPT_SHUTDOWN_TIMEOUT", "inf"),
        ("CATGPT_SHUTDOWN_TIMEOUT", "NaN"),
        ("CATGPT_SHUTDOWN_TIMEOUT", "1e300"),  # finite, but past what a thread join takes
    ],
)
def test_nan_and_inf_are_refused_on_one_line(model_dir, tmp_path, monkeypatch, capsys, name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings(env(model_dir, **{name: value}))
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv(name, value)
    code = main(["--env-file", str(empty_env_file(tmp_path)), "--model", str(model_dir)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and name in err


def test_float_settings_constructed_directly_refuse_nan(tmp_path):
    with pytest.raises(SettingsError, match="CATGPT_COOLDOWN"):
        Settings(model=tmp_path, cooldown=float("nan"))


@pytest.mark.parametrize(
    ("value", "guilds", "policy"),
    [
        ("", "", DMS_ANYONE),  # no allow-list: the bot is open anyway
        ("", "111111111111111111", DMS_MEMBERS),  # an allow-list: DMs follow it
        ("true", "111111111111111111", DMS_ANYONE),  # said explicitly
        ("false", "", DMS_OFF),
        ("Members", "", DMS_MEMBERS),
    ],
)
def test_the_dm_policy(model_dir, value, guilds, policy):
    settings = load_settings(env(model_dir, CATGPT_ALLOW_DMS=value, CATGPT_ALLOWED_GUILDS=guilds))
    assert settings.dms == policy
    assert settings.allows(None, ()) is (policy != DMS_OFF)


def test_a_bad_dm_policy_names_the_choices(model_dir):
    with pytest.raises(SettingsError, match="CATGPT_ALLOW_DMS: 'sometimes' is not true, false"):
        load_settings(env(model_dir, CATGPT_ALLOW_DMS="sometimes"))


SECRET_PART = TOKEN.split(".")[2]


@pytest.mark.parametrize(
    ("setting", "value", "token_set"),
    [
        ("CATGPT_ALLOW_DMS", TOKEN, True),
        ("CATGPT_MESSAGE_CONTENT", TOKEN, True),
        ("CATGPT_LOG_LEVEL", TOKEN, True),  # upper-cased before it is checked
        ("CATGPT_DEVICE", TOKEN, True),  # lower-cased before it is checked
        ("CATGPT_HISTORY", TOKEN, True),
        ("CATGPT_COOLDOWN", TOKEN, True),
        ("CATGPT_ALLOWED_GUILDS", f"111111111111111111,{TOKEN}", True),
        ("CATGPT_OWNER_ID", TOKEN, True),
        ("CATGPT_ALLOW_DMS", f"x{TOKEN}y", True),  # inside a longer value
        ("CATGPT_ALLOW_DMS", SECRET_PART, True),  # the secret part alone
        ("CATGPT_ALLOW_DMS", TOKEN, False),  # no DISCORD_TOKEN to compare with
        ("--model", f"models/{TOKEN}", True),
        ("--model", f"models/{TOKEN}", False),
        ("CATGPT_MODEL", TOKEN, True),
        ("--device", TOKEN, True),
        ("--env-file", TOKEN, True),
        ("CATGPT_DB", TOKEN, True),  # not a URL: named without its value
    ],
)
@pytest.mark.parametrize("console", [False, True])
def test_the_token_never_appears_in_any_output(
    model_dir, tmp_path, monkeypatch, capsys, caplog, setting, value, token_set, console
):
    # Pasting the token into the wrong place must not print it, in Discord or console mode.
    for name in list(os.environ):
        if name.startswith(("CATGPT_", "DISCORD_")):
            monkeypatch.delenv(name)
    if token_set:
        monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    argv = ["--console"] if console else []
    if setting.startswith("--"):
        argv += [setting, value]
    else:
        monkeypatch.setenv(setting, value)
    if setting != "--env-file":
        argv += ["--env-file", str(empty_env_file(tmp_path))]
    if setting not in ("--model", "CATGPT_MODEL"):
        argv += ["--model", str(model_dir)]

    import bot.cli

    def connected(*args):  # every case is refused before this
        raise AssertionError("settings passed")

    monkeypatch.setattr(bot.cli, "_discord", connected)
    monkeypatch.setattr(bot.cli, "_console", connected)
    with caplog.at_level(logging.DEBUG):
        code = main(argv)
    captured = capsys.readouterr()
    output = (captured.out + captured.err + caplog.text).casefold()
    assert code == 1 and captured.err.count("\n") == 1, captured.err
    assert TOKEN.casefold() not in output and SECRET_PART.casefold() not in output


def test_the_database_and_the_quiz_defaults(model_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env(model_dir))
    expected = tmp_path / "data" / "bot" / "catgpt.sqlite3"
    assert settings.database_url == f"sqlite+aiosqlite:///{expected}"
    assert Path(settings.database_url.split(":///", 1)[1]).is_absolute()
    assert (settings.quiz_seconds, settings.quiz_votes) == (120, 5)
    assert Settings(model=model_dir).database_url == settings.database_url
    chosen = load_settings(
        env(model_dir, CATGPT_DB="postgresql://bot:pw@db/catgpt", CATGPT_QUIZ_SECONDS="10",
            CATGPT_QUIZ_VOTES="100")
    )  # fmt: skip
    assert chosen.database_url == "postgresql://bot:pw@db/catgpt"  # the store picks the driver
    assert (chosen.quiz_seconds, chosen.quiz_votes) == (10, 100)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://bot:hunter2-S3cr@db/catgpt", "'mysql' is not a database the bot can use"),
        ("catgpt.sqlite3", "not a database URL"),
        ("postgresql://bot:hunter2-S3cr@/catgpt", "names no server"),
    ],
)
def test_a_bad_database_url_is_one_line_with_the_password_masked(
    model_dir, tmp_path, monkeypatch, capsys, url, message
):
    with pytest.raises(SettingsError, match=f"CATGPT_DB .*: .*{message}"):
        load_settings(env(model_dir, CATGPT_DB=url))
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("CATGPT_DB", url)
    code = main(["--env-file", str(empty_env_file(tmp_path)), "--model", str(model_dir)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "CATGPT_DB" in err and message in err
    assert "hunter2" not in err and "Traceback" not in err


def test_the_database_password_stays_out_of_repr(model_dir):
    settings = load_settings(env(model_dir, CATGPT_DB="postgresql://bot:hunter2-S3cr@db/x"))
    assert "hunter2" not in repr(settings)
