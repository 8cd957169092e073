"""What a model folder may publish, and the one subfolder it may not.

Everything in a model folder is safe to publish (upload to the Hub, send to a friend) except
`private/`: the dataset copy `run` bundles (other people's messages), the eval samples (their
words and names beside the model's replies), the run's log and the local paths it was made from.
The bot never reads `private/`. catgpt.json and README.md hold no absolute path, no export
file name and no name of anyone but the persona; `public_card` is where that is enforced.
"""

from __future__ import annotations

import json
from pathlib import Path

PRIVATE_DIR = "private"
PRIVATE_README = """\
# Not for sharing

This folder holds what the model folder around it must not publish: the prepared dataset (other
people's messages), eval samples (their words beside the model's replies), the training log and
the local paths the model was made from. The bot never needs it. Delete it (or leave it out)
before you share or upload the model folder; `catgpt-train eval` uses it when it is there.
"""


def private_dir(folder: Path) -> Path:
    """`folder/private/`, made on first use, readable by its owner only."""
    path = Path(folder) / PRIVATE_DIR
    if not path.is_dir():
        path.mkdir(mode=0o700)
        (path / "README.md").write_text(PRIVATE_README, encoding="utf-8")
    return path


def write_private(folder: Path, name: str, data) -> Path:
    path = private_dir(folder) / name
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_private(folder: Path, name: str, default=None):
    path = Path(folder) / PRIVATE_DIR / name
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def public_base(info: dict) -> dict:
    """The base as catgpt.json shows it: a local folder by its name only, never its path."""
    info = dict(info)
    if info.get("kind") == "folder" and info.get("name"):
        info["name"] = Path(str(info["name"])).name
    return info


def public_stats(stats: dict) -> dict:
    """stats.json without what would identify the exports or name the people left out."""
    stats = json.loads(json.dumps(stats))  # a deep copy
    stats["files"] = [
        {key: f[key] for key in ("format", "messages_read", "salvaged") if key in f}
        for f in stats.get("files") or []
    ]
    options = stats.get("options")
    if isinstance(options, dict):
        options.pop("exports", None)
        excluded = options.pop("exclude_authors", None) or []
        options["excluded_authors"] = len(excluded)
    return stats


def public_args(args: dict) -> dict:
    """Training arguments without the local paths (--data, --out, a --base folder)."""
    args = {k: v for k, v in args.items() if k not in ("data", "out")}
    base = args.get("base")
    if isinstance(base, str) and ("/" in base or "\\" in base) and Path(base).exists():
        args["base"] = Path(base).name
    return args
