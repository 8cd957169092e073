"""The persona's account ids from catgpt.json (`persona.account_ids`)."""

from __future__ import annotations

import json

import pytest

from bot.conversation import discord_ids
from catgpt.errors import ModelFolderError
from catgpt.folder import read_card


def persona_account_ids(folder):
    """The ids the bot labels apart: the card the engine reads at load, as Discord's integers."""
    return discord_ids(read_card(folder))


def card(folder, persona) -> None:
    (folder / "catgpt.json").write_text(json.dumps({"persona": persona}))


def test_ids_as_strings_or_numbers(tmp_path):
    card(tmp_path, {"name": "mochi", "account_ids": ["123456789012345678", 987654321098765432]})
    assert persona_account_ids(tmp_path) == {123456789012345678, 987654321098765432}


@pytest.mark.parametrize(
    "persona", [{"name": "mochi"}, "mochi", {"name": "mochi", "account_ids": None}]
)
def test_no_ids_is_no_ids(tmp_path, persona):
    card(tmp_path, persona)
    assert persona_account_ids(tmp_path) == frozenset()


def test_no_card_is_no_ids(tmp_path):
    assert persona_account_ids(tmp_path) == frozenset()


def test_what_is_not_a_discord_id_is_skipped_with_a_warning(tmp_path, caplog):
    card(tmp_path, {"account_ids": ["123456789012345678", "alice#0001", True, "١٢٣"]})
    assert persona_account_ids(tmp_path) == {123456789012345678}
    assert "3 persona account id(s) are not Discord ids" in caplog.text


def test_an_unreadable_card_is_one_clear_error(tmp_path):
    (tmp_path / "catgpt.json").write_text("{not json")
    with pytest.raises(ModelFolderError, match="catgpt.json: unreadable catgpt.json"):
        persona_account_ids(tmp_path)
