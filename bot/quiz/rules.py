"""Which real turns a quiz round may use: ones a person can judge, and not training's own words.

Discord-free: the bot's quiz and the console quiz apply the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable

LETTERS = ("A", "B")  # the two replies of a round, as shown

# Shorter than this, "which one did the persona write?" is a coin toss ("lol", "ok same").
MIN_WORDS = 4
MIN_CHARS = 20

_LINK = re.compile(r"<?https?://\S+>?", re.IGNORECASE)
_CUSTOM_EMOJI = re.compile(r"<a?:\w+:\d+>")
_SHORTCODE = re.compile(r":[\w+-]+:")
_MENTION = re.compile(r"<[@#][!&]?\d+>")
# A word: letters or digits (an emoji, punctuation or a lone symbol is not one).
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def judgeable(text: str) -> bool:
    """Enough words to judge, once links, emoji and mentions are set aside."""
    words_only = _LINK.sub(" ", text)
    words_only = _CUSTOM_EMOJI.sub(" ", words_only)
    words_only = _SHORTCODE.sub(" ", words_only)
    words_only = _MENTION.sub(" ", words_only)
    words = _WORD.findall(words_only)
    return len(words) >= MIN_WORDS and len(" ".join(words)) >= MIN_CHARS


def copy_check(engine) -> Callable[[str], bool] | None:
    """The engine's copy guard as "is this text a copy of a training reply?", if it has one.

    A real message that repeats a training reply is one the model was taught word for word
    (and that the guard keeps the model from saying): no fair round. Engines without a guard
    (CATGPT_COPY_GUARD=off, a folder without an index, test fakes) give None: not checked.
    """
    guard = getattr(getattr(engine, "replier", None), "guard", None)
    if guard is None:
        return None
    return lambda text: guard.copied(text) > 0
