"""The data half: Discord exports -> a dataset folder (train.jsonl, val.jsonl, stats.json).

messages (the reader contract) -> cleaning and PII masking -> conversations and examples ->
dataset writing; `pipeline.run_prepare` drives it. Imports no torch, no transformers.
"""
