"""The eval step: one model folder and a dataset's val split -> figures, a table, catgpt.json.

What the figures measure is evaluation.py; this loads the folder, runs the measures for the
fine-tuned model and its base, and records them; `eval` and `run` both call it.
"""

from __future__ import annotations

import math
from pathlib import Path

from catgpt.folder import card_from_dict
from catgpt.generator import local_replier
from catgpt.runtime import context_window, pick_device
from training.errors import DatasetError, ModelError
from training.model import bases, evaluation, sharing
from training.model.arguments import EvalOptions
from training.model.features import encode_split, load_dataset
from training.model.model_folder import read_catgpt, write_catgpt, write_model_card


def dataset_of(model_dir: Path, data: str | None, card: dict) -> Path:
    """The dataset to evaluate on: --data, else the one bundled in MODEL/private/ (or
    MODEL/dataset/, where older runs put it), else the one this run was trained on here."""
    if data:
        return Path(data)
    for bundled in (model_dir / sharing.PRIVATE_DIR / "dataset", model_dir / "dataset"):
        if bundled.is_dir():
            return bundled
    recorded = (sharing.read_private(model_dir, "paths.json") or {}).get("dataset")
    recorded = recorded or (card.get("dataset") or {}).get("path")  # older folders
    if recorded and Path(recorded).is_dir():
        return Path(recorded)
    raise DatasetError("no dataset to evaluate on", where=str(model_dir), fix="Pass --data DIR.")


def evaluate(model_dir: Path, data_dir: Path, options: EvalOptions) -> dict:
    """All eval figures for one model folder, as recorded under catgpt.json's "evaluation"."""
    batch_size, seed = options.eval_batch_size, options.seed
    card = read_catgpt(model_dir)
    dataset = load_dataset(data_dir)
    if not dataset.val:
        raise DatasetError("the dataset has no val examples to evaluate on", where=str(data_dir))
    device = pick_device()
    # Always as a folder: `load_base("tiny")` would build the offline tiny base instead.
    loaded = bases.load_folder(Path(model_dir))
    model, tokenizer = loaded.model.to(device), loaded.tokenizer
    if not tokenizer.chat_template:
        raise ModelError("the model folder has no chat template", where=str(model_dir),
                         fix="Train it with `catgpt-train train`.")  # fmt: skip
    persona = card_from_dict(card)  # persona names and trained bounds, read as the bot reads them
    window = min(context_window(model, tokenizer) or 1024, persona.max_length or 1024)
    features, _ = encode_split(tokenizer, dataset.val, window, "val")
    loss, tokens = evaluation.persona_loss(model, features, tokenizer.pad_token_id, batch_size)
    figures = {
        "val_persona_tokens": tokens,
        "val_loss": round(loss, 4),
        "val_perplexity": round(evaluation.perplexity(loss), 2),
        "base": (card.get("base") or {}).get("name"),
        "base_val_loss": None,
        "base_val_perplexity": None,
    }
    if options.compare_base and card.get("base"):
        # A local base folder is named in the card; its path lives in private/ only.
        base_path = (sharing.read_private(model_dir, "paths.json") or {}).get("base")
        base_info = {**card["base"], **({"name": base_path} if base_path else {})}
        base_model = bases.reference_base(model_dir, base_info, tokenizer)
        if base_model is not None:
            base_loss, _ = evaluation.persona_loss(
                base_model.to(device), features, tokenizer.pad_token_id, batch_size
            )
            figures["base_val_loss"] = round(base_loss, 4)
            figures["base_val_perplexity"] = round(evaluation.perplexity(base_loss), 2)
            del base_model
    if options.eval_samples > 0:
        contexts = evaluation.pick_contexts(dataset.val, options.eval_samples, seed)
        # The bot's reply path over this model: its bounds, stop at labels, reply cleaning.
        replier = local_replier(model, tokenizer, persona)
        replies = evaluation.sample_replies(replier, contexts, batch_size, seed)
        figures.update(evaluation.copy_figures(tokenizer, replies, dataset.train, dataset.val))
        figures["max_new_tokens"] = replier.max_new_tokens
        figures["examples"] = [
            {"context": r.context[-2:], "reply": r.reply, "reference": r.reference}
            for r in replies[:8]
        ]
    return figures


def percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def number(value) -> str:
    if value is None:
        return "n/a"
    return "inf" if isinstance(value, float) and math.isinf(value) else f"{value:.3f}"


def format_table(figures: dict, show: int = 3) -> str:
    """The eval table (plain text, fixed width) and a few sample replies."""
    base = f"base ({figures.get('base') or '?'})"
    width = max(18, len(base) + 2)

    def row(label: str, *values: str) -> str:
        return f"{label:<50}" + "".join(f"{v:>{width}}" for v in values)

    lines = [
        row("", "fine-tuned", base),
        row(f"val loss ({figures['val_persona_tokens']} persona tokens)",
            number(figures["val_loss"]), number(figures["base_val_loss"])),
        row("val perplexity",
            number(figures["val_perplexity"]), number(figures["base_val_perplexity"])),
    ]  # fmt: skip
    if figures.get("samples"):
        lines += [
            "",
            f"replies sampled for {figures['samples']} val contexts "
            "(generation_config.json, the bot's reply path):",
            row(f"ended with eos before {figures.get('max_new_tokens')} new tokens",
                percent(figures["ended_with_eos"])),
            row("cut where it began another speaker's turn",
                percent(figures.get("stopped_at_label"))),
            row("exact copies of a training reply (20+ chars)",
                percent(figures["exact_copy_rate"])),
            row("share with an 8-token span from training replies",
                percent(figures["span8_share"])),
            row("  baseline: real val replies, same measure",
                percent(figures["span8_share_val_baseline"])),
        ]  # fmt: skip
    for example in (figures.get("examples") or [])[:show]:
        last = example["context"][-1] if example["context"] else None
        said = f"{last.get('name') or last['role']}: {last['content']}" if last else "(no context)"
        reply = (example["reply"] or "(empty)").replace("\n", "\n     ")
        lines += ["", "  " + said.replace("\n", "\n  "), f"  -> {reply}"]
    return "\n".join(lines)


def record(model_dir: Path, figures: dict) -> None:
    """Store the figures in catgpt.json and refresh the model card."""
    card = read_catgpt(model_dir)
    ours = bool(card)  # a folder `train` wrote; never replace another model's README
    card.pop("format", None)
    figures = dict(figures)
    # Sample replies sit beside the contexts they answer (other people's words): private.
    examples = figures.pop("examples", None)
    if examples:
        sharing.write_private(model_dir, "eval_samples.json", examples)
    card["evaluation"] = figures
    write_catgpt(model_dir, card)
    if ours:
        write_model_card(model_dir, card)
