"""The model folder (contract 3): what `train` writes and the bot reads.

    config.json, model.safetensors     the weights (LoRA adapters merged in: a plain model)
    tokenizer.json, tokenizer_config.json, chat_template.jinja
    generation_config.json             sampling defaults the bot uses as they are
    catgpt.json                        persona, base, dataset stats, training args, eval figures
    copy_index.json                    the copy guard's keyed hashes of long runs of the persona's
                                       training replies (catgpt/copy_guard.py; no text)
    README.md                          model card (shows the three pictures below)
    training_log.jsonl                 loss / val loss per logging step and epoch
    train.log                          the run's log lines
    loss.png                           the same losses drawn (train)
    data_report.png                    the dataset's picture, from `prepare` (train)
    style.png                          style markers: real vs sampled replies (eval)

A run writes into a hidden sibling `.<name>.partial/` and renames it into place at the very end
(training/outputs.py), so an interrupted or failed run never leaves a half-written model where
the bot looks, and an existing folder is only replaced (with --overwrite) by a finished one.
`--resume` picks the partial folder's checkpoints up again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from huggingface_hub import ModelCard, ModelCardData

from catgpt.folder import CATGPT_JSON, read_json
from training.outputs import check_replaceable

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
# The pictures (training/plots.py); none names anyone but the persona, so they are shareable.
LOSS_PICTURE = "loss.png"
DATA_PICTURE = "data_report.png"
STYLE_PICTURE = "style.png"

# Sampling defaults. Persona chat replies are short; pure greedy decoding loops ("lol lol lol"),
# so: moderate temperature, nucleus sampling and a mild repetition penalty.
# No `no_repeat_ngram_size`: transformers applies it to the whole input, prompt included, and
# every persona turn in the prompt opens with the same label tokens, so it would ban the persona's
# habitual openings (and the eos after an ending it has used before): the very style we train.
# The repetition penalty also sees the prompt (eos and the speaker labels are in it every turn),
# so it stays mild: 1.1 divides a positive logit by 1.1, enough to break "lol lol lol" loops
# without pushing the model away from ending its turn or from its own catchphrases.
GENERATION_DEFAULTS = {
    "do_sample": True,
    "temperature": 0.8,
    "top_p": 0.9,
    "top_k": 50,  # with top_p: a weakly trained model's long tail stays out
    "repetition_penalty": 1.1,
    "max_new_tokens": 64,
}


def check_output(out: Path, overwrite: bool) -> None:
    """Refuse an existing output folder before any work is done (nothing gets overwritten);
    --overwrite replaces only a model folder catgpt-train wrote (training/outputs.py)."""
    check_replaceable(out, overwrite, empty_is_free=False)


def generation_config(tokenizer, **overrides):
    """A GenerationConfig with our sampling defaults and this tokenizer's eos and pad.

    The pad token is never sampled (`suppress_tokens`): GPT-2's was added for training, its
    embedding row is never trained (padding is masked out), so its logit is noise.
    """
    from transformers import GenerationConfig

    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    suppress = {"suppress_tokens": [pad]} if pad is not None and pad != eos else {}
    return GenerationConfig(
        **{**GENERATION_DEFAULTS, **suppress, **overrides},
        eos_token_id=eos,
        pad_token_id=pad,
        bos_token_id=tokenizer.bos_token_id,
    )


def save_model(model, tokenizer, folder: Path) -> None:
    """Weights, tokenizer (with chat_template.jinja) and generation_config.json."""
    model.generation_config = generation_config(tokenizer)
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def trained_context(dataset, max_length: int) -> dict:
    """max_length: tokens of one example, context and reply together. context_turns: turns of
    context before a reply, as prepare bounded them (--context-turns), else the most any
    training example has. merge_window_s, gap_s: how prepare made turns and conversations."""
    options = dataset.stats.get("options") if isinstance(dataset.stats, dict) else None
    turns = options.get("context_turns") if isinstance(options, dict) else None
    if not isinstance(turns, int) or turns < 1:
        turns = max((len(e["messages"]) - 1 for e in dataset.train), default=0) or None
    return {"max_length": max_length, "context_turns": turns,
            **conversation_shape(options)}


def conversation_shape(options) -> dict:
    """How prepare made turns and conversations (stats.json's options), for catgpt.json's
    "context": the bot builds its context with the same numbers (catgpt/turns.py). Left out
    when the dataset does not say (the bot then uses prepare's defaults)."""
    if not isinstance(options, dict):
        return {}
    return {
        key: options[key]
        for key in ("merge_window_s", "gap_s")
        if isinstance(options.get(key), int | float) and not isinstance(options[key], bool)
    }


def read_catgpt(folder: Path) -> dict:
    """catgpt.json as a dict ({} for a folder without one), read as the bot reads it."""
    return read_json(folder, CATGPT_JSON) or {}


def write_catgpt(folder: Path, card: dict) -> None:
    """Write catgpt.json via a temporary file, so a crash never leaves half a JSON.

    The persona's names are masked here too (in `card`, so the model card written after it
    shows them masked): prepare masks them in stats.json, but a dataset made by an older
    prepare, or with --keep-pii, may still hold a nickname like `Mochi | +44 20 7946 0958`,
    and this folder is meant for sharing."""
    mask_persona_names(card)
    path = Path(folder) / CATGPT_JSON
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"format": FORMAT_VERSION, **card}, indent=2) + "\n", "utf-8")
    tmp.replace(path)


def mask_persona_names(card: dict) -> None:
    """Mask the persona's name and aliases in a catgpt.json card and in the dataset stats it
    carries, in place (masking a masked name changes nothing)."""
    from training.data.pii import PiiMasker  # only when a card is written

    stats = (card.get("dataset") or {}).get("stats") or {}
    region = (stats.get("options") or {}).get("phone_region") or "US"
    masker = PiiMasker(str(region))
    for block in (card.get("persona"), stats.get("persona")):
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("name"), str):
            block["name"] = masker.mask(block["name"])
        if isinstance(block.get("aliases"), list):
            # Order kept (the first alias is the one shown), copies that masking made equal dropped.
            block["aliases"] = list(dict.fromkeys(masker.mask(str(a)) for a in block["aliases"]))
    options = stats.get("options")
    if isinstance(options, dict) and isinstance(options.get("personas"), list):
        options["personas"] = [masker.mask(str(name)) for name in options["personas"]]


def write_log(folder: Path, log_history: list[dict]) -> None:
    with (folder / "training_log.jsonl").open("w", encoding="utf-8") as out:
        for entry in log_history:
            out.write(json.dumps(entry) + "\n")


def write_model_card(folder: Path, card: dict) -> None:
    """README.md: what this folder is, how it was made, how to use it, and its figures.

    Its YAML header is the Hub's model card metadata; `base_model` only for a base the Hub
    has: a hub id, or SmolLM2's for `smollm2` (a local path or `tiny` would point nowhere).
    """
    persona = card.get("persona", {}).get("name", "assistant")
    base_info = card.get("base") or {}
    base = base_info.get("name", "?")
    training = card.get("training", {})
    evaluation = card.get("evaluation") or {}
    best = training.get("best_val_loss")
    best_val = "n/a (no val split)" if best is None else best
    lines = [
        f"# CatGPT persona model: {persona}",
        "",
        f"Fine-tuned from `{base}` on one person's Discord history with `catgpt-train`.",
        "It imitates that person; it is not them. Treat what it says as fiction.",
        "",
        "## Use",
        "",
        "```",
        "catgpt-bot --console --model path/to/this/folder",
        "```",
        "",
        "Any Hugging Face pipeline works too: the chat template (`chat_template.jinja`) writes",
        "conversations as speaker-labelled turns, and `generation_config.json` holds the",
        "sampling defaults.",
        "",
        "## Training",
        "",
        f"- examples: {card.get('dataset', {}).get('train_examples', '?')} train, "
        f"{card.get('dataset', {}).get('val_examples', '?')} val",
        f"- steps: {training.get('steps', '?')}, epochs: {training.get('epochs_run', '?')}, "
        f"best val loss: {best_val}",
        f"- stopped: {training.get('stop_reason', '?')}",
    ]
    lines += _picture(folder, LOSS_PICTURE, "Train loss per logging step and val loss per epoch")
    lines += _picture(folder, DATA_PICTURE, "The dataset: the persona's share of the messages "
                      "(other authors unnamed), reply lengths, activity over time")  # fmt: skip
    if evaluation:
        from training.model.tables import evaluation_markdown

        lines += ["", "## Evaluation", "", *evaluation_markdown(evaluation)]
        if evaluation.get("style"):
            lines += _picture(folder, STYLE_PICTURE, "Style markers of real and sampled replies")
    guard = card.get("copy_guard")
    if guard:
        lines += [
            "",
            "## Copy guard",
            "",
            f"`copy_index.json` holds keyed hashes of every run of {guard['n']} tokens in the",
            "persona's training replies (no text). When a sampled reply repeats one, the bot draws",
            f"again, up to {guard.get('retries', 3)} times, and sends the least copying reply;",
            "`CATGPT_COPY_GUARD=off` turns it off. The length is the shortest run that at most",
            f"{guard.get('threshold', 0.05):.0%} of the persona's real held-out replies share with",
            "their training replies, within "
            f"{guard.get('bounds', [6, 16])[0]}-{guard.get('bounds', [6, 16])[1]} tokens: longer "
            "than their habitual phrases.",
        ]
    if (folder / "private").is_dir():
        lines += [
            "",
            "## Privacy",
            "",
            "`private/` holds what must not be shared: the prepared messages this model was",
            "trained on (other people's words included), eval samples, the training log and",
            "local paths. Leave it out when sharing or uploading this folder; the model does not",
            "need it.",
        ]
    from training.model.bases import hub_model_id  # torch: only once a card is written

    metadata = ModelCardData(
        base_model=hub_model_id(base_info),
        library_name="transformers",
        pipeline_tag="text-generation",
        tags=["catgpt", "discord", "persona"],
    )
    text = "\n".join(lines) + "\n"
    ModelCard(f"---\n{metadata.to_yaml()}\n---\n\n{text}").save(folder / "README.md")


def _picture(folder: Path, name: str, caption: str) -> list[str]:
    """A Markdown image with a relative link (the Hub shows it from the repository's files)."""
    return ["", f"![{caption}]({name})"] if (Path(folder) / name).is_file() else []
