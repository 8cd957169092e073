"""CatGPT's offline half: Discord exports -> dataset -> fine-tuned model -> evaluation.

Never imports discord; the bot never imports this package. The two meet only through the
dataset folder and the model folder described in DESIGN.md.
"""
