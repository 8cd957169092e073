"""Where a model runs and how much it can read: the same answer for training and serving.

If training read the context window differently from the bot, a model could be trained on
examples longer than the bot will ever feed it (or the bot could feed it more than it saw).
The reading itself is catgpt.folder.config_window (no torch), which the remote backend applies
to config.json; here it reads a loaded model's config.
"""

from __future__ import annotations

import torch

from catgpt.folder import DEFAULT_CONTEXT_WINDOW as DEFAULT_CONTEXT_WINDOW
from catgpt.folder import config_window


class DeviceUnavailable(ValueError):
    """An accelerator was asked for by name and this machine does not have it."""


def pick_device(name: str = "auto") -> torch.device:
    """`auto` takes CUDA, then Apple's MPS, then the CPU; an explicit accelerator must exist."""
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if has_mps else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceUnavailable("CUDA is not available here")
    if name.startswith("cuda:"):
        index = name.removeprefix("cuda:")
        count = torch.cuda.device_count()
        if not index.isdigit():
            raise DeviceUnavailable(f"{name!r} is not a CUDA device (cuda:0 ... cuda:{count - 1})")
        if int(index) >= count:
            # torch.device("cuda:7") is accepted here and fails only at the first tensor moved.
            raise DeviceUnavailable(
                f"there is no {name} here ({count} CUDA device{'s' if count != 1 else ''}: "
                f"cuda:0{f' ... cuda:{count - 1}' if count > 1 else ''})"
            )
    if name == "mps" and not has_mps:
        raise DeviceUnavailable("MPS is not available here")
    return torch.device(name)


def context_window(model, tokenizer=None) -> int | None:
    """Tokens the model can attend to; None when neither config nor tokenizer says."""
    return config_window(model.config, tokenizer)
