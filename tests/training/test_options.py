"""The command line is made from the dataclasses: one definition of each option."""

import argparse
import dataclasses

import pytest

from training.cli import build_parser
from training.data.pipeline import PrepareOptions
from training.model.arguments import EvalOptions, TrainArgs
from training.options import add_options, from_args


def subcommand(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices[name]


@pytest.mark.parametrize("cls", [TrainArgs, EvalOptions])
def test_no_flags_give_the_dataclass_defaults(cls):
    parser = argparse.ArgumentParser()
    add_options(parser, cls)
    required = ["--data", "d", "--out", "o"] if cls is TrainArgs else []
    built = from_args(cls, parser.parse_args(required))
    plain = cls(data="d", out="o") if cls is TrainArgs else cls()
    assert built == plain


def test_prepare_flags_keep_their_spelling_and_units():
    args = subcommand("prepare").parse_args(
        ["a.json", "b.json", "--persona", "mochi", "--persona", "Mochi", "--out", "ds",
         "--merge-window", "2", "--gap", "30", "--exclude-author", "bob"])  # fmt: skip
    options = from_args(PrepareOptions, args)
    assert [str(p) for p in options.exports] == ["a.json", "b.json"]
    assert options.personas == ["mochi", "Mochi"] and options.exclude_authors == ["bob"]
    assert options.merge_window_s == 120 and options.gap_s == 1800  # typed in minutes
    assert options.seed == 42


def test_run_is_the_three_dataclasses_with_one_seed():
    args = subcommand("run").parse_args(
        ["x.json", "--persona", "mochi", "--out", "m", "--seed", "7", "--no-early-stop",
         "--no-base", "--eval-samples", "0"])  # fmt: skip
    prepare = from_args(PrepareOptions, args)
    train = from_args(TrainArgs, args, data="ds", persona=args.personas[0])
    evaluation = from_args(EvalOptions, args)
    assert prepare.seed == train.seed == evaluation.seed == 7
    assert train.persona == "mochi" and train.out == "m" and train.early_stop is False
    assert evaluation.compare_base is False and evaluation.eval_samples == 0


@pytest.mark.parametrize(("command", "cls"), [("train", TrainArgs), ("eval", EvalOptions),
                                              ("prepare", PrepareOptions)])
def test_help_shows_the_fields_defaults(command, cls, monkeypatch):
    # Change a default in the dataclass: --help follows it (it is written nowhere else).
    name = {"train": "batch_size", "eval": "eval_samples", "prepare": "merge_window_s"}[command]
    field = {f.name: f for f in dataclasses.fields(cls)}[name]
    monkeypatch.setattr(field, "default", 600.0 if command == "prepare" else 77)
    text = subcommand(command).format_help()
    assert ("(default: 10)" if command == "prepare" else "(default 77") in " ".join(text.split())
