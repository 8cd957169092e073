"""The eval step: one model folder and a dataset's val split -> figures, a table, catgpt.json.

What the figures measure is measures.py (loss, copying) and style.py (style markers); this
loads the folder, runs the measures for the fine-tuned model, its base and the prompted base
(few_shot.py), and records them; `eval` and `run` both call it.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from pathlib import Path

from catgpt.copy_guard import load_guard
from catgpt.folder import card_from_dict
from catgpt.local_backend import local_replier
from catgpt.runtime import context_window, pick_device
from training.errors import DatasetError, ModelError
from training.model import bases, few_shot, likeness, measures, sharing, style, tables
from training.model.arguments import EvalOptions
from training.model.features import encode_split, load_dataset
from training.model.model_folder import (
    STYLE_PICTURE,
    read_catgpt,
    write_catgpt,
    write_model_card,
)

log = logging.getLogger(__name__)


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
    loss, tokens = measures.persona_loss(model, features, tokenizer.pad_token_id, batch_size)
    figures = {
        "val_persona_tokens": tokens,
        "val_loss": round(loss, 4),
        "val_perplexity": round(measures.perplexity(loss), 2),
        "base": (card.get("base") or {}).get("name"),
        "base_val_loss": None,
        "base_val_perplexity": None,
        "few_shot": 0,
        "prompted_base_val_loss": None,
        "prompted_base_val_perplexity": None,
    }
    base_model, shots = None, []
    if options.compare_base and card.get("base"):
        # A local base folder is named in the card; its path lives in private/ only.
        base_path = (sharing.read_private(model_dir, "paths.json") or {}).get("base")
        base_info = {**card["base"], **({"name": base_path} if base_path else {})}
        base_model = bases.reference_base(model_dir, base_info, tokenizer)
        if base_model is not None:
            base_model = base_model.to(device)
            # The same sampling settings as the fine-tuned model, for like-for-like replies.
            base_model.generation_config = copy.deepcopy(model.generation_config)
            base_loss, _ = measures.persona_loss(
                base_model, features, tokenizer.pad_token_id, batch_size
            )
            figures["base_val_loss"] = round(base_loss, 4)
            figures["base_val_perplexity"] = round(measures.perplexity(base_loss), 2)
            shots = few_shot.pick_shots(dataset.train, options.few_shot, seed)
    if shots:
        figures.update(prompted_loss(base_model, tokenizer, dataset.val, shots, window,
                                     batch_size, tokens))  # fmt: skip
    if options.eval_samples > 0:
        figures.update(sampled_figures(model_dir, model, base_model, tokenizer, persona, dataset,
                                       shots, options))  # fmt: skip
    return figures


def sampled_figures(model_dir: Path, model, base_model, tokenizer, persona, dataset,
                    shots: list[dict], options: EvalOptions) -> dict:  # fmt: skip
    """The figures of replies sampled for val contexts: copying (with the copy guard off and
    on), style, and likeness. The copy and style figures answer --eval-samples contexts; the
    likeness figures every val context up to --likeness-contexts, those first."""
    batch_size, seed = options.eval_batch_size, options.seed
    contexts = measures.pick_contexts(dataset.val, options.eval_samples, seed)
    shown = len(contexts)
    if options.likeness_contexts:
        contexts = measures.more_contexts(dataset.val, contexts, options.likeness_contexts, seed)
    # The bot's reply path over this model: its bounds, stop at labels, reply cleaning.
    # With the copy guard, as the bot serves by default (None for a folder train did not
    # index); each sample also carries what the guard off would have sent.
    guard = load_guard(model_dir, tokenizer)
    replier = local_replier(model, tokenizer, persona, guard=guard)
    sampled = {"fine_tuned": measures.sample_replies(replier, contexts, batch_size, seed,
                                                     label="fine-tuned replies")}  # fmt: skip
    replies = sampled["fine_tuned"][:shown]
    # The training replies indexed once, for both copy measures (and the guard's n).
    lengths = {measures.SPAN_TOKENS, *([guard.n] if guard else [])}
    index = measures.TrainingIndex.build(
        tokenizer, [measures.split_target(e)[1] for e in dataset.train], sorted(lengths)
    )
    figures = {"copy_guard": None}
    if guard is not None:
        unguarded = [r.unguarded for r in replies]
        figures["copy_guard"] = measures.guard_figures(
            tokenizer, unguarded, replies, guard.n, dataset.train, dataset.val, index
        ) | {"retries": guard.retries}
    # The figures and the style of the replies as served (guard on where there is one).
    figures.update(measures.copy_figures(tokenizer, replies, dataset.train, dataset.val, index))
    figures["max_new_tokens"] = replier.max_new_tokens
    figures["examples"] = [
        {"context": r.context[-2:], "reply": r.reply, "reference": r.reference}
        for r in replies[:8]
    ]
    if base_model is not None:
        base_replier = local_replier(base_model, tokenizer, persona)
        sampled["base"] = measures.sample_replies(base_replier, contexts, batch_size, seed,
                                                  label="base replies")  # fmt: skip
    if shots:
        prompted = few_shot.with_prefix(contexts, shots)
        # The same path, with room for the example turns in front of each context.
        turns = persona.context_turns + len(shots) if persona.context_turns else None
        prompted_replier = local_replier(
            base_model, tokenizer, dataclasses.replace(persona, context_turns=turns)
        )
        sampled["prompted_base"] = measures.sample_replies(
            prompted_replier, prompted, batch_size, seed, label="prompted-base replies"
        )
    columns = {"real": [r.reference for r in replies],
               **{side: [r.reply for r in samples[:shown]] for side, samples in sampled.items()}}
    figures["style"] = style.compare(columns, few_shot.other_speakers(dataset.val))
    figures["likeness"] = None
    if options.likeness_contexts:
        counted = slice(0, options.likeness_contexts)
        columns = {"real": [r.reference for r in sampled["fine_tuned"][counted]],
                   **{side: [r.reply for r in samples[counted]]
                      for side, samples in sampled.items()}}  # fmt: skip
        speakers = likeness.messages_by_speaker(dataset.train)
        figures["likeness"] = likeness.compare(columns, speakers, seed)
    return figures


def prompted_loss(base_model, tokenizer, val: list[dict], shots: list[dict], window: int,
                  batch_size: int, tokens: int) -> dict:  # fmt: skip
    """The base's val loss with the few-shot prefix, on the same persona tokens as the others."""
    features, _ = encode_split(tokenizer, few_shot.with_prefix(val, shots), window, "val")
    loss, prompted_tokens = measures.persona_loss(
        base_model, features, tokenizer.pad_token_id, batch_size
    )
    if prompted_tokens != tokens:  # the targets are the same, so this would be a bug
        log.warning("prompted base measured on %d persona tokens, the others on %d",
                    prompted_tokens, tokens)  # fmt: skip
    return {
        "few_shot": len(shots) // 2,
        "prompted_base_val_loss": round(loss, 4),
        "prompted_base_val_perplexity": round(measures.perplexity(loss), 2),
    }


def format_table(figures: dict, show: int = 3) -> str:
    """The eval tables (plain text, fixed width) and a few sample replies."""
    lines = [tables.text_table(tables.loss_rows(figures))]
    if figures.get("prompted_base_val_loss") is not None:
        lines.append(f"prompted base: the base with {figures['few_shot']} training replies as "
                     "example turns before each context")  # fmt: skip
    sampling, style_rows = tables.sampling_rows(figures), tables.style_rows(figures.get("style"))
    if sampling:
        lines += ["", tables.text_table(sampling)]
        if figures.get("copy_guard"):
            lines.append(tables.guard_note(figures["copy_guard"]))
    if style_rows:
        lines += ["", tables.text_table(style_rows)]
    likeness_rows = tables.likeness_rows(figures.get("likeness"))
    if likeness_rows:
        lines += ["", tables.text_table(likeness_rows),
                  *tables.likeness_notes(figures.get("likeness"))]
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
    picture = Path(model_dir) / STYLE_PICTURE
    if figures.get("style"):
        from training import plots  # matplotlib: only once there is something to draw

        plots.style_picture(picture, figures["style"], figures.get("likeness"))
    elif ours:
        picture.unlink(missing_ok=True)  # an earlier eval's, no longer what catgpt.json says
    if ours:
        write_model_card(model_dir, card)
