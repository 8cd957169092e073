"""`catgpt-train train` (placeholder until its issue lands)."""

from training.errors import CatGPTError


def add_arguments(parser):
    pass


def main(args):
    raise CatGPTError("'train' is not built yet")
