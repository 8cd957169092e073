"""Dataset folder (contract 2) -> token features for training and evaluation.

One example is one conversation window that ends with a persona reply (the target):

    alice: hi<eos>bob: sup<eos>mochi: nya hello~<eos>
    -100 ...                   -100   [labels.......]

Labels come from the chat template's assistant mask (`{% generation %}`), never from string
matching, so training and the bot agree on what the persona's turn is. Only the target turn
(the last persona turn) is labelled: `prepare` writes one example per persona reply, so an
earlier persona turn in the context is some other example's target, and labelling it again would
count that reply several times. The eos that closes the target is labelled (the model learns to
stop); the context, the `mochi:` speaker label and padding are -100.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from training.errors import DatasetError, ModelError

log = logging.getLogger(__name__)

IGNORE_INDEX = -100  # torch.nn.CrossEntropyLoss's default ignore_index
PREPARE_FIX = "Run `catgpt-train prepare EXPORT... --persona NAME --out DIR` to make one."


@dataclass
class DatasetFolder:
    """A prepared dataset: raw examples of both splits and the stats `prepare` wrote."""

    path: Path
    train: list[dict]
    val: list[dict]
    stats: dict = field(default_factory=dict)

    @property
    def persona(self) -> str | None:
        persona = self.stats.get("persona") or {}
        return persona.get("name") if isinstance(persona, dict) else None

    @property
    def aliases(self) -> list[str]:
        persona = self.stats.get("persona") or {}
        return list(persona.get("aliases") or []) if isinstance(persona, dict) else []

    @property
    def account_ids(self) -> list[str]:
        """The persona's Discord account ids (the bot tells the persona from namesakes by
        these); empty for datasets made from exports without ids."""
        persona = self.stats.get("persona") or {}
        ids = persona.get("account_ids") if isinstance(persona, dict) else None
        return [str(i) for i in ids] if isinstance(ids, list) else []

    def texts(self) -> list[str]:
        """Every message text and speaker name (what the tiny tokenizer is fitted on)."""
        out = []
        for example in self.train + self.val:
            for message in example["messages"]:
                out.append(message.get("content", ""))
                if message.get("name"):
                    out.append(message["name"])
        return out


def read_split(path: Path) -> list[dict]:
    """Read one JSONL split, checking each line's shape; errors name the file and line."""
    examples = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                example = json.loads(line)
            except json.JSONDecodeError as error:
                raise DatasetError(
                    f"not JSON ({error.msg})", where=where, fix=PREPARE_FIX
                ) from None
            messages = example.get("messages") if isinstance(example, dict) else None
            if not isinstance(messages, list) or not all(
                isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role")
                for m in messages
            ):
                raise DatasetError(
                    "expected {\"messages\": [{\"role\": ..., \"content\": ...}, ...]}",
                    where=where,
                    fix=PREPARE_FIX,
                )
            examples.append(example)
    return examples


def read_stats(path: Path) -> dict:
    """stats.json as a dict ({} when absent); a broken one is a DatasetError naming it."""
    if not path.is_file():
        return {}
    try:
        stats = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else "not UTF-8 text"
        raise DatasetError(f"unreadable stats.json ({reason})", where=str(path),
                           fix=PREPARE_FIX) from None  # fmt: skip
    if not isinstance(stats, dict):
        raise DatasetError("stats.json is not a JSON object", where=str(path), fix=PREPARE_FIX)
    return stats


def load_dataset(data_dir: Path | str) -> DatasetFolder:
    """Load and check a dataset folder; every unusable input is a one-line DatasetError."""
    data_dir = Path(data_dir)
    train_path, val_path = data_dir / "train.jsonl", data_dir / "val.jsonl"
    if not data_dir.is_dir():
        raise DatasetError("no such dataset folder", where=str(data_dir), fix=PREPARE_FIX)
    if not train_path.is_file():
        raise DatasetError(
            "no train.jsonl in the dataset folder", where=str(data_dir), fix=PREPARE_FIX
        )
    train = read_split(train_path)
    val = read_split(val_path) if val_path.is_file() else []
    if not train:
        raise DatasetError(
            "the dataset has no training examples",
            where=str(train_path),
            fix="Check --persona matches the person's names in the export, then prepare again.",
        )
    if not any(m["role"] == "assistant" for example in train for m in example["messages"]):
        raise DatasetError(
            "the dataset has no persona turns (no message with role 'assistant')",
            where=str(train_path),
            fix="Check --persona matches the person's names in the export, then prepare again.",
        )
    stats = read_stats(data_dir / "stats.json")
    if not val:
        log.warning("%s: no validation examples; early stopping and val loss are off", val_path)
    return DatasetFolder(data_dir, train, val, stats)


@dataclass
class EncodeReport:
    """What encoding a split did, for the log and catgpt.json."""

    examples: int = 0
    truncated: int = 0  # context cut from the left to fit the window
    too_long: int = 0  # the target alone does not fit: dropped
    no_target: int = 0  # no persona turn at all: dropped
    persona_tokens: int = 0


def target_span(mask: list[int]) -> tuple[int, int] | None:
    """[start, end) of the last run of 1s in the assistant mask: the example's target."""
    end = len(mask)
    while end > 0 and not mask[end - 1]:
        end -= 1
    if end == 0:
        return None
    start = end
    while start > 0 and mask[start - 1]:
        start -= 1
    return start, end


def left_cut(ids: list[int], eos_id: int, turn_start: int, max_length: int) -> int | None:
    """Where to start the window so that ids[cut:] fits max_length and keeps the target turn.

    Prefer a turn boundary (just after an eos) so the window opens on a speaker label, as the
    bot's prompts do; fall back to a raw token cut. None when even the target turn is too long.
    """
    need = len(ids) - max_length  # tokens that must go
    if need <= 0:
        return 0
    if need > turn_start:
        return None
    for i in range(need - 1, turn_start):  # a boundary at i+1 with i+1 >= need
        if ids[i] == eos_id:
            return i + 1
    return need


def encode_example(tokenizer, messages: list[dict], max_length: int, report: EncodeReport):
    """One conversation -> {"input_ids": [T], "labels": [T]} or None (dropped, reason counted)."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last is None:
        report.no_target += 1
        return None
    encoded = tokenizer.apply_chat_template(
        messages[: last + 1],
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    ids, mask = list(encoded["input_ids"]), list(encoded["assistant_masks"])
    span = target_span(mask)
    if span is None:  # even an empty reply has its eos inside {% generation %}
        raise ModelError(
            "the tokenizer's chat template marks no persona tokens (no {% generation %} block)",
            fix="Use a model folder written by `catgpt-train train`, or a template with one.",
        )
    start, end = span
    # The target turn begins at its speaker label, just after the previous turn's eos.
    turn_start = next(
        (i + 1 for i in range(start - 1, -1, -1) if ids[i] == tokenizer.eos_token_id), 0
    )
    cut = left_cut(ids[:end], tokenizer.eos_token_id, turn_start, max_length)
    if cut is None:
        report.too_long += 1
        return None
    report.truncated += cut > 0
    labels = [IGNORE_INDEX] * start + ids[start:end]
    report.examples += 1
    report.persona_tokens += end - start
    return {"input_ids": ids[cut:end], "labels": labels[cut:end]}


def encode_split(tokenizer, examples: list[dict], max_length: int, name: str):
    """Encode a whole split; returns (features, report)."""
    report = EncodeReport()
    features = []
    for example in examples:
        feature = encode_example(tokenizer, example["messages"], max_length, report)
        if feature is not None:
            features.append(feature)
    if report.truncated or report.too_long:
        log.info(
            "%s: %d contexts cut from the left to fit %d tokens; %d longer replies dropped",
            name,
            report.truncated,
            max_length,
            report.too_long,
        )
    return features, report
