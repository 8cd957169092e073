"""Dynamic padding: each batch is padded to its own longest example, not to a fixed 512.

With length-grouped batches (examples of similar length batched together) most batches carry
little padding at all; the original project padded every example to 512 tokens and spent most
of its compute on pad tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from training.model.features import IGNORE_INDEX


@dataclass
class PadCollator:
    """Right-pads `input_ids` with `pad_token_id` and `labels` with -100 (never in the loss)."""

    # Not DataCollatorForSeq2Seq: it pads on the tokenizer's padding_side, which is "left" for
    # some bases and would shift GPT-2's position ids; this pads right always, from a pad id.

    pad_token_id: int
    # Rounding lengths up to a multiple of 8 lets tensor cores work on GPUs; on CPU it only adds
    # padding, so the trainer passes 1 there.
    pad_to_multiple_of: int = 1

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        longest = max(len(f["input_ids"]) for f in features)
        width = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of  # ceil
        batch = len(features)
        input_ids = torch.full((batch, width), self.pad_token_id, dtype=torch.long)  # (B, T)
        labels = torch.full((batch, width), IGNORE_INDEX, dtype=torch.long)  # (B, T)
        attention_mask = torch.zeros((batch, width), dtype=torch.long)  # (B, T), 1 = real token
        for row, feature in enumerate(features):
            n = len(feature["input_ids"])
            input_ids[row, :n] = torch.tensor(feature["input_ids"], dtype=torch.long)
            labels[row, :n] = torch.tensor(feature["labels"], dtype=torch.long)
            attention_mask[row, :n] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
