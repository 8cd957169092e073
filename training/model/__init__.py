"""The model half: a dataset folder -> a fine-tuned model folder, and its evaluation.

arguments (what train and eval take) -> bases (what we start from) -> chat_template (how a
conversation is text) -> features and collation (token ids, persona-only labels) -> sparse_head
(the loss) -> trainer (the HF Trainer) -> model_folder (what is written) -> evaluation (what it
is worth) -> style and few_shot (how its replies' style compares with the real ones, the base's
and the prompted base's) -> tables (the figures as text and Markdown) -> evaluate (the eval
step: measure one folder, print the tables, record them). The pictures are training/plots.py.
"""
