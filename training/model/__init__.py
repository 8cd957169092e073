"""The model half: a dataset folder -> a fine-tuned model folder, and its evaluation.

arguments (what train and eval take) -> bases (what we start from) -> chat_template (how a
conversation is text) -> features and collation (token ids, persona-only labels) -> sparse_head
(the loss) -> trainer (the HF Trainer) -> model_folder (what is written) -> evaluation (what it
is worth) -> evaluate (the eval step: measure one folder, print the table, record it).
"""
