"""Two likeness figures, from texts alone: how well the replies pass for the persona's.

1. Discriminator accuracy: a plain style classifier (character n-grams, logistic regression)
   learns to tell the persona's real held-out replies from the replies generated for the same
   contexts, cross-validated so that a context's real and generated reply are always on the
   same side of a split (GroupKFold by context): it is judged on contexts it never saw. 50%
   means it cannot tell them apart; 100% means every reply gives itself away. The interval is
   a percentile bootstrap over contexts, because a context's two replies are judged together
   (resampling single replies would count them as independent and narrow the interval).
2. Attribution: a speaker classifier, trained on the training messages of every speaker with
   MIN_MESSAGES or more (each capped at MAX_MESSAGES, so the loudest does not decide), names a
   speaker for each reply: the share it gives to the persona, for the generated replies and
   for the persona's real val replies (the ceiling: no model should be expected above it).
   Each context gives one reply, so the interval is a Wilson score interval on that share.

Pure functions over strings and dataset examples ({"messages": [...]}, contract 3); no model
code, so tests can give them any texts. Why these two beside style.py's markers: the markers
are chosen by hand and a model can match them all and still read as someone else; a classifier
finds whatever differs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.pipeline import make_pipeline

MIN_CONTEXTS = 8  # fewer pairs than this cannot be split into folds that each learn something
FOLDS = 5
MIN_MESSAGES = 20  # a speaker with fewer training messages is not learnt (nor counted)
MAX_MESSAGES = 400  # per speaker: the loudest speaker must not swamp the others
BOOTSTRAP_ROUNDS = 2000
Z95 = 1.959964  # the normal quantile of a two-sided 95% interval

PERSONA = "\x00persona"  # the persona's key among the speakers: no speaker label can be this


def classifier():
    """Character n-grams within word bounds (1-4), tf-idf, logistic regression.

    Case is kept (lowercase=False): writing in lower case is part of a style. Sublinear tf, so
    one reply that says "nya nya nya" does not outweigh three that say it once. Balanced class
    weights, so the share of a class in the training set is not what decides.
    """
    return make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), lowercase=False,
                        sublinear_tf=True),
        LogisticRegression(max_iter=2000, class_weight="balanced"),
    )  # fmt: skip


def unavailable(reason: str, **counts) -> dict:
    return {"available": False, "reason": reason, **counts}


# --- 1. discriminator accuracy -----------------------------------------------------------------


def discriminator(real: list[str], generated: list[str], seed: int = 0) -> dict:
    """How often a classifier tells generated replies from real ones (real[i] and generated[i]
    answer the same context), out of fold, with a 95% bootstrap interval over contexts."""
    if len(real) != len(generated):
        raise ValueError("one generated reply per real reply is needed")
    n = len(real)
    if n < MIN_CONTEXTS:
        return unavailable(f"{n} contexts; at least {MIN_CONTEXTS} are needed", contexts=n)
    texts = [*real, *generated]
    labels = np.array([0] * n + [1] * n)
    groups = np.array([*range(n), *range(n)])  # a context's two replies stay together
    folds = min(FOLDS, n)
    try:
        predicted = cross_val_predict(classifier(), texts, labels, groups=groups,
                                      cv=GroupKFold(n_splits=folds))  # fmt: skip
    except ValueError as error:  # e.g. "empty vocabulary": no reply has any character
        return unavailable(f"the classifier could not learn: {error}", contexts=n)
    correct = predicted == labels
    # Per context: 0, 0.5 or 1 of its two replies told correctly.
    per_context = (correct[:n].astype(float) + correct[n:]) / 2
    low, high = bootstrap_interval(per_context, seed)
    return {
        "available": True,
        "accuracy": round(float(per_context.mean()), 4),
        "interval": [round(low, 4), round(high, 4)],
        "contexts": n,
        "folds": folds,
    }


def bootstrap_interval(values: np.ndarray, seed: int = 0,
                       rounds: int = BOOTSTRAP_ROUNDS) -> tuple[float, float]:  # fmt: skip
    """95% percentile bootstrap interval of the mean of `values` (one value per context)."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(values), size=(rounds, len(values)))
    means = values[picks].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


# --- 2. attribution ----------------------------------------------------------------------------


def messages_by_speaker(examples: Iterable[dict]) -> dict[str, list[str]]:
    """Each speaker's messages in dataset examples, each message once.

    The persona's turns (role "assistant") are under PERSONA, everyone else's under their turn
    label (`name`; a look-alike of the persona is already labelled apart by prepare). Examples
    of one conversation repeat its earlier turns as context, so a message is taken once per
    (conversation, speaker, text).
    """
    seen: dict[str, dict[tuple, None]] = {}
    for example in examples:
        conversation = example.get("conversation")
        for message in example["messages"]:
            speaker = PERSONA if message["role"] == "assistant" else message.get("name") or "user"
            text = message["content"]
            if text.strip():
                seen.setdefault(speaker, {})[(conversation, text)] = None
    return {speaker: [text for _, text in keys] for speaker, keys in seen.items()}


def training_set(speakers: dict[str, list[str]], seed: int = 0) -> dict[str, list[str]]:
    """The speakers with MIN_MESSAGES or more, each cut to MAX_MESSAGES chosen by seed."""
    rng = random.Random(seed)
    kept = {}
    for speaker in sorted(speakers):
        texts = speakers[speaker]
        if len(texts) >= MIN_MESSAGES:
            kept[speaker] = texts if len(texts) <= MAX_MESSAGES else rng.sample(texts, MAX_MESSAGES)
    return kept


def attribution(speakers: dict[str, list[str]], sides: dict[str, list[str]],
                seed: int = 0) -> dict:  # fmt: skip
    """The share of each side's replies a speaker classifier attributes to the persona.

    speakers: training messages by speaker, the persona's under PERSONA (messages_by_speaker);
    sides: replies by side ("real" for the persona's real val replies: the ceiling). An empty
    reply is attributed to no one: the bot would send its fallback line, not the persona's words.
    """
    kept = training_set(speakers, seed)
    persona = len(speakers.get(PERSONA, []))
    if PERSONA not in kept:
        return unavailable(f"the persona has {persona} training messages; at least "
                           f"{MIN_MESSAGES} are needed", speakers=0)  # fmt: skip
    if len(kept) < 2:
        return unavailable(f"no other speaker has {MIN_MESSAGES} or more training messages, "
                           "so there is no one to tell the persona from", speakers=1)  # fmt: skip
    texts = [text for texts in kept.values() for text in texts]
    labels = [speaker for speaker, texts in kept.items() for _ in texts]
    model = classifier().fit(texts, labels)
    shares = {}
    for side, replies in sides.items():
        said = [i for i, reply in enumerate(replies) if reply.strip()]
        predicted = model.predict([replies[i] for i in said]) if said else []
        hits = sum(1 for speaker in predicted if speaker == PERSONA)
        low, high = wilson_interval(hits, len(replies))
        shares[side] = {
            "share": round(hits / len(replies), 4) if replies else None,
            "interval": [round(low, 4), round(high, 4)] if replies else None,
            "replies": len(replies),
        }
    return {
        "available": True,
        "speakers": len(kept),  # a count only: other people's names stay out of catgpt.json
        "messages": len(texts),
        "chance": round(1 / len(kept), 4),
        "shares": shares,
    }


def wilson_interval(hits: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a share: unlike p +- z*se, it stays within [0, 1] and is
    not zero-width at 0% or 100%."""
    if total == 0:
        return 0.0, 1.0
    p = hits / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    # At 0% and 100% the bound is the share itself (rounding would put it a hair past).
    low = 0.0 if hits == 0 else max(0.0, centre - half)
    high = 1.0 if hits == total else min(1.0, centre + half)
    return low, high


# --- both --------------------------------------------------------------------------------------


def compare(columns: dict[str, list[str]], speakers: dict[str, list[str]],
            seed: int = 0) -> dict:  # fmt: skip
    """catgpt.json's "likeness" section. columns: replies by side for the same contexts, with
    "real" the persona's real replies; speakers: training messages by speaker."""
    real = columns["real"]
    generated = {side: replies for side, replies in columns.items() if side != "real"}
    return {
        "contexts": len(real),
        "discriminator": {
            side: discriminator(real, replies, seed) for side, replies in generated.items()
        },  # fmt: skip
        "attribution": attribution(speakers, columns, seed),
    }
