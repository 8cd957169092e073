"""What `pip install catgpt` (no extras) installs: the distributions its dependencies name, and
theirs, read from pyproject.toml and the installed packages' metadata.

tests/bot/test_remote.py starts the bot on the openai backend in a fresh interpreter that sees
only that set (`slim_site`), as on a host where only the slim install ran, and checks it serves
a conversation; .ci/run also installs the slim set alone into a new environment from PyPI and
starts the bot's command line from it.
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import sys
from pathlib import Path

import tomllib
from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def base_requirements() -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    return [Requirement(text) for text in project["dependencies"]]


def closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution the requirements pull in (markers evaluated here, extras followed)."""
    names: set[str] = set()
    visited: set[tuple[str, frozenset[str]]] = set()
    # A child's marker is read against its parent's extras, before it is queued.
    pending = [r for r in requirements if r.marker is None or r.marker.evaluate({"extra": ""})]
    while pending:
        requirement = pending.pop()
        key = (canonical(requirement.name), frozenset(requirement.extras))
        if key in visited:
            continue
        visited.add(key)
        names.add(key[0])
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue  # named but not installed here: nothing of it can have been imported
        extras = requirement.extras or {""}
        for text in requires:
            child = Requirement(text)
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in extras):
                pending.append(child)
    return names


def distributions_of(modules: list[str]) -> dict[str, set[str]]:
    """Top-level module -> the distributions that install it (stdlib and ours left out)."""
    owners = metadata.packages_distributions()
    tops = {name.split(".", 1)[0] for name in modules}
    return {top: {canonical(d) for d in owners[top]} for top in sorted(tops)
            if top in owners and top not in sys.stdlib_module_names
            and top not in ("bot", "catgpt", "training")}


def slim_site(folder: Path, slim: set[str]) -> Path:
    """A site-packages holding only the slim install's distributions (links to this
    environment's files): run `python -S` with it on PYTHONPATH, and anything else, torch
    included, is simply not installed, as on a host where only `pip install catgpt` ran."""
    site = folder / "site-packages"
    site.mkdir(parents=True)
    for dist in metadata.distributions():
        if canonical(dist.metadata["Name"]) not in slim or dist.files is None:
            continue
        for top in {f.parts[0] for f in dist.files if f.parts and f.parts[0] != ".."}:
            source = Path(dist.locate_file(top))
            target = site / top
            if source.exists() and not target.exists() and not top.endswith(".pth"):
                target.symlink_to(source)
    return site
