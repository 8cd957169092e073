"""What both halves need to agree on, written once: imported by `training/` and `bot/` alike.

The halves meet through the model folder (DESIGN.md, contract 4); the code that must read that
folder the same way on both sides lives here: the device a model runs on, the context window
it has, and the speaker labels its chat template writes. So does the one shape of an error a
user can fix (`where: what. fix`) and how both console scripts exit on one. Nothing here
imports discord, the Trainer, or the data half, so the import boundaries
(tests/bot/test_boundaries.py) still hold.
"""
