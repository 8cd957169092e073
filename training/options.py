"""Command-line options written once: as dataclass fields, with the help text in their metadata.

    epochs: float = option(10.0, metavar="N", help="at most this many epochs (default {default})")

`add_options(parser, Cls)` adds a flag for every such field (`--epochs`: the name with dashes),
taking its type and default from the field, so `--help` shows the dataclass's own default;
`from_args(Cls, namespace)` builds the dataclass back from the parsed namespace, where its
`__post_init__` checks the values. A dataclass's `option_group` titles the argument group its
options are listed under; fields marked `main=True` are listed with the command's own options.

Not `transformers.HfArgumentParser`, though this is its idiom: it adds an underscore spelling of
every flag (`--max_steps`), turns a bool into a flag that takes a value (`--lora [LORA]`), and
has no positional, repeatable (`--persona` -> personas) or minutes-to-seconds options, so our
flags would not stay as they are; nor can it put two dataclasses that share `--seed` in one
parser, which `run` needs.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

_KEY = "catgpt.option"  # the field-metadata key that makes a field a command-line option


def _integer(text: str, minimum: int, wanted: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {wanted}, not {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {wanted}, not {value}")
    return value


# Types for counts, so `--eval-batch-size 0` is a usage error, not a traceback later.
def positive_int(text: str) -> int:
    """1 or more: batch sizes, step counts, patience, ranks."""
    return _integer(text, 1, "a positive integer")


def count(text: str) -> int:
    """0 or more: how many of something to show or sample, where 0 means none."""
    return _integer(text, 0, "0 or more")


def option(default: Any = dataclasses.MISSING, *, help: str, flag: str | None = None,
           main: bool = False, unit: float = 1, default_factory: Any = dataclasses.MISSING,
           **argparse_settings) -> Any:  # fmt: skip
    """A dataclass field that is also a command-line option.

    help: the help text; `{default}` in it shows the field's default.
    flag: the option's spelling (default `--field-name`); a bool field whose default is True
        is switched off by its flag, so name it `--no-...`. `positional=True` (an argparse
        setting here) makes it a positional argument named by its metavar.
    main: list it with the command's own options rather than in the dataclass's group
        (positional arguments always are).
    unit: the field's value per unit the user types (60: typed in minutes, held in seconds).
    argparse_settings: metavar, type, choices, nargs, action ("append" for a repeatable flag).
    """
    settings = {"help": help, "flag": flag, "main": main, "unit": unit, **argparse_settings}
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata={_KEY: settings})  # fmt: skip


def _scaled(convert: Callable[[str], float], unit: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        return convert(text) * unit

    parse.__name__ = convert.__name__  # argparse names the type in its error: "invalid float"
    return parse


def _shown(value: Any) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)


def add_options(parser: argparse.ArgumentParser, cls: type, skip: Iterable[str] = ()) -> None:
    """Add a flag for each option field of `cls` (but those named in `skip`) to `parser`."""
    hints = typing.get_type_hints(cls)
    group = None  # made when the first grouped option comes
    for field in dataclasses.fields(cls):
        settings = dict(field.metadata.get(_KEY) or {})
        if not settings or field.name in skip:
            continue
        flag, unit = settings.pop("flag"), settings.pop("unit")
        positional = settings.pop("positional", False)
        if settings.pop("main") or positional or not getattr(cls, "option_group", None):
            target = parser
        else:
            if group is None:
                group = parser.add_argument_group(cls.option_group)
            target = group
        kind = hints[field.name]
        if typing.get_origin(kind) in (list, typing.Union, types.UnionType):
            # list[X] and X | None: argparse converts each value given to X
            kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = dataclasses.MISSING
        shown = default / unit if unit != 1 else default
        # Escape argparse's own %-formatting, so help can say "10%".
        settings["help"] = settings["help"].replace("%", "%%").replace("{default}", _shown(shown))
        if kind is bool:
            settings["action"] = "store_false" if default else "store_true"
        else:
            convert = settings.get("type", kind)
            settings["type"] = _scaled(convert, unit) if unit != 1 else convert
        if positional:
            target.add_argument(field.name, **settings)
            continue
        if default is dataclasses.MISSING:
            settings["required"] = True
        else:
            settings["default"] = default
        target.add_argument(flag or "--" + field.name.replace("_", "-"), dest=field.name,
                            **settings)  # fmt: skip


def from_args(cls: type[T], args: argparse.Namespace, **given) -> T:
    """`cls` from a namespace `add_options` filled; `given` values win, absent fields default."""
    values = dict(given)
    for field in dataclasses.fields(cls):
        if _KEY in field.metadata and field.name not in values and hasattr(args, field.name):
            values[field.name] = getattr(args, field.name)
    return cls(**values)
