"""CATGPT_BACKEND and the server settings: checked before anything starts; the key never shows."""

from __future__ import annotations

import pytest

from bot.engines import load_engine
from bot.errors import SettingsError
from bot.settings import load_settings

KEY = "sk-test-0123456789abcdef-SECRET"


@pytest.fixture
def model_dir(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    return tmp_path


def settings(model_dir, **env):
    return load_settings({"CATGPT_MODEL": str(model_dir), **env}, require_token=False)


def test_local_is_the_default(model_dir):
    chosen = settings(model_dir)
    assert chosen.backend == "local" and chosen.api_base is None and chosen.api_key is None
    assert chosen.api_timeout == 60.0


def test_the_openai_backend_and_its_server(model_dir):
    chosen = settings(
        model_dir,
        CATGPT_BACKEND="OpenAI",
        CATGPT_API_BASE="http://gpu-box:8000/v1/",
        CATGPT_API_MODEL="mochi",
        CATGPT_API_KEY=KEY,
        CATGPT_API_TIMEOUT="30",
    )
    assert chosen.backend == "openai" and chosen.api_base == "http://gpu-box:8000/v1"
    assert chosen.api_model == "mochi" and chosen.api_key == KEY and chosen.api_timeout == 30.0
    assert KEY not in repr(chosen) and KEY not in str(chosen)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CATGPT_BACKEND": "vllm"}, "CATGPT_BACKEND: unknown backend 'vllm'. Use local"),
        ({"CATGPT_BACKEND": "openai"}, "CATGPT_API_BASE: CATGPT_BACKEND=openai needs the server"),
        ({"CATGPT_API_BASE": "127.0.0.1:8000"}, "CATGPT_API_BASE: '127.0.0.1:8000' is not an"),
        ({"CATGPT_API_BASE": "http://h:port/v1"}, "CATGPT_API_BASE: not a valid URL"),
        ({"CATGPT_API_TIMEOUT": "0"}, "CATGPT_API_TIMEOUT: must be more than 0"),
    ],
)
def test_bad_values_name_the_setting(model_dir, env, message):
    with pytest.raises(SettingsError) as caught:
        settings(model_dir, CATGPT_API_KEY=KEY, **env)
    assert str(caught.value).startswith(message)
    assert KEY not in str(caught.value) and "\n" not in str(caught.value)


def test_a_secret_in_the_url_is_refused_without_echoing_it(model_dir):
    with pytest.raises(SettingsError) as caught:
        settings(model_dir, CATGPT_BACKEND="openai", CATGPT_API_BASE=f"http://u:{KEY}@h/v1")
    assert "CATGPT_API_KEY" in str(caught.value) and KEY not in str(caught.value)


def test_the_factory_builds_what_the_backend_names(model_dir, monkeypatch):
    import bot.engines.local
    import bot.engines.remote

    built = []
    monkeypatch.setattr(
        bot.engines.local.LocalEngine, "from_settings", lambda s: built.append("local")
    )
    monkeypatch.setattr(
        bot.engines.remote.RemoteEngine, "from_settings", lambda s: built.append("openai")
    )
    load_engine(settings(model_dir))
    load_engine(settings(model_dir, CATGPT_BACKEND="openai", CATGPT_API_BASE="http://h/v1"))
    assert built == ["local", "openai"]


@pytest.mark.parametrize(
    ("env", "where"),
    [
        # A key pasted into the wrong setting is never echoed back.
        ({"CATGPT_BACKEND": KEY}, "CATGPT_BACKEND"),
        ({"CATGPT_API_BASE": f"{KEY}.example/v1", "CATGPT_BACKEND": "openai"}, "CATGPT_API_BASE"),
        ({"CATGPT_SHARD_COUNT": "2", "CATGPT_SHARD_IDS": KEY}, "CATGPT_SHARD_IDS"),
        # A Unicode digit is a digit to str.isdigit, not to int(): an error, not a traceback.
        ({"CATGPT_SHARD_COUNT": "2", "CATGPT_SHARD_IDS": "²"}, "CATGPT_SHARD_IDS"),
    ],
)
def test_a_bad_server_or_shard_setting_is_one_line_that_echoes_no_secret(model_dir, env, where):
    with pytest.raises(SettingsError) as caught:
        settings(model_dir, **env)
    assert str(caught.value).startswith(where) and KEY not in str(caught.value)
    assert KEY.lower() not in str(caught.value)
