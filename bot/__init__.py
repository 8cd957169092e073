"""CatGPT's online half: a discord.py bot and the generation engine behind it.

Never imports `training/`: the bot meets the offline half only through a model folder
(DESIGN.md, contract 4). `engine.py` imports no discord; the cogs import no torch.
"""
