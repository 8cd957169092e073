"""What both halves need to agree on, written once: imported by `training/` and `bot/` alike.

The halves meet through the model folder (DESIGN.md, contract 4); the code that must read that
folder the same way on both sides lives here: the device a model runs on, the context window
it has, the speaker labels its chat template writes, the persona card and trained context bounds
in catgpt.json (folder.py), and the one reply path (DESIGN.md, contract 6) the bot, the console
and `eval` share: prompt.py, local_backend.py, reply_cleaning.py, reply.py. So does
the one shape of an error a user can fix (`where: what. fix`) and how both console scripts exit
on one. Nothing here imports discord, the Trainer, or the data half, so the import boundaries
(tests/bot/test_boundaries.py) still hold; folder, prompt, reply_cleaning and reply import no torch.
"""
