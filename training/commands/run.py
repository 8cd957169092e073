"""`catgpt-train run` (placeholder until its issue lands)."""

from training.errors import CatGPTError


def add_arguments(parser):
    pass


def main(args):
    raise CatGPTError("'run' is not built yet")
