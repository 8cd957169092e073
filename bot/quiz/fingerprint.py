"""Which model a quiz result belongs to: a short hash that stays put across loads and changes
when the weights or the persona card change.

Cheap on a multi-gigabyte folder: it never reads all of the weights. Per weight file it hashes
the name, the size, a safetensors file's header (every tensor's name, dtype, shape and offsets)
and a few samples of the bytes spread over the file, since a retrained model of the same shape
has the same header and size but different bytes everywhere. Plus catgpt.json (the persona,
the training run). A folder without weights (served by an inference server) is told apart by
catgpt.json and the name the server serves it under.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.gguf")
HEADER_MAX = 100 * 1024 * 1024  # a safetensors header larger than this is not one
SAMPLES = 16
SAMPLE_BYTES = 4096
LENGTH = 16  # hex characters kept: 64 bits, plenty to tell one folder's models apart


def weight_files(folder: Path) -> list[Path]:
    found = {path for pattern in WEIGHT_PATTERNS for path in folder.glob(pattern)}
    return sorted(path for path in found if path.is_file())


def _file_digest(path: Path, digest) -> None:
    size = path.stat().st_size
    digest.update(f"{path.name}\0{size}\0".encode())
    with path.open("rb") as handle:
        if path.suffix == ".safetensors" and size >= 8:
            length = int.from_bytes(handle.read(8), "little")
            if length <= min(HEADER_MAX, size - 8):
                digest.update(handle.read(length))
        # Evenly spread samples, the file's last bytes included.
        step = max(size // SAMPLES, 1)
        for offset in [*range(0, size, step)][:SAMPLES] + [max(size - SAMPLE_BYTES, 0)]:
            handle.seek(offset)
            digest.update(handle.read(SAMPLE_BYTES))


def model_fingerprint(folder: str | Path, served_model: str | None = None) -> str:
    """The model folder's fingerprint: the `model` a quiz store records results under.

    served_model: the name an inference server serves the model under (remote backend); used
    when the folder holds no weights.
    """
    folder = Path(folder)
    digest = hashlib.sha256(b"catgpt-model-fingerprint-1\0")
    card = folder / "catgpt.json"
    digest.update(card.read_bytes() if card.is_file() else b"(no catgpt.json)")
    weights = weight_files(folder) if folder.is_dir() else []
    for path in weights:
        _file_digest(path, digest)
    if not weights:
        digest.update(f"\0served:{served_model or ''}".encode())
    return digest.hexdigest()[:LENGTH]
