"""The model folder's JSON files checked at load: catgpt.json and generation_config.json.

Every value the bot reads from them is checked for its type and range before anything is
served, and a bad one is one line naming the file, the key and what it may be:

    models/demo/generation_config.json: top_k is 'fifty'; it must be a whole number of 0 or
    more (0: off). Fix the value, or remove the key to use the default.

Before this, a bad value passed the load and failed every reply (a traceback and an apology),
or failed transformers' own load and read as damaged weights (`max_new_tokens: 0`), or was
quietly replaced (`max_length: "512"`), or reached the prompt as a label (a persona name with a
newline shows its replies as another speaker's).

`temperature: 0` means greedy decoding, as OpenAI-compatible servers read it (transformers
would refuse to sample with it): `generation_settings` returns such a config with
`do_sample: false`, and the local backend decodes the same way (catgpt.local_backend).

Pure functions over the parsed JSON; catgpt.folder reads the files and calls them.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, timedelta

from catgpt.errors import ModelFolderError
from catgpt.labels import speaker_label

CATGPT_JSON = "catgpt.json"
GENERATION_JSON = "generation_config.json"
# catgpt.json's dataset.last_persona_message (also in dataset.stats): a day, YYYY-MM-DD.
LAST_MESSAGE = "last_persona_message"
# More tokens than any model's context window (the longest today are about 10M): a bound that
# only nonsense such as 10**12 reaches.
MAX_TOKENS = 1 << 24
# The longest merge window or gap a timedelta holds: older prepares bounded them by nothing else.
MAX_SECONDS = timedelta.max.days * 86400
# Discord names are at most 32 characters; a label also carries " (not the persona)".
MAX_NAME = 100
# Characters that would change how a label or a reply shows: controls, bidi embeddings,
# overrides and isolates.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_FIX = "Fix the value, or remove the key to use the default."
_FIX_CARD = "Fix the value, or train the folder again with `catgpt-train train`."


class _Rule:
    """One key: what it may be (said in the error), and the check."""

    def __init__(self, allowed: str, check: Callable[[object], bool]):
        self.allowed = allowed
        self.check = check


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _token_id(value) -> bool:
    return _whole(value) and value >= 0


def _in(low, high, *, whole: bool = False, low_open: bool = False, high_open: bool = False):
    def check(value) -> bool:
        if not (_whole(value) if whole else _number(value)):
            return False
        above = value > low if low_open else value >= low
        below = high is None or (value < high if high_open else value <= high)
        return above and below

    return check


def _iso_day(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10  # YYYY-MM-DD, not a week date or a compact form

def _whole_from(low: int, high: int | None = None):
    return _in(low, high, whole=True)


# What transformers' logits processors and generate() accept, and what the reply path needs
# (one reply per prompt). Keys not listed (transformers_version, ...) are not read here.
GENERATION_RULES: dict[str, _Rule] = {
    "do_sample": _Rule("true or false", lambda v: isinstance(v, bool)),
    "temperature": _Rule("a number of 0 or more (0: greedy decoding)", _in(0, None)),
    "top_p": _Rule("a number above 0 and at most 1", _in(0, 1, low_open=True)),
    "top_k": _Rule("a whole number of 0 or more (0: off)", _whole_from(0)),
    "min_p": _Rule("a number from 0 to 1", _in(0, 1)),
    "typical_p": _Rule("a number above 0 and at most 1", _in(0, 1, low_open=True)),
    "epsilon_cutoff": _Rule("a number from 0 to below 1", _in(0, 1, high_open=True)),
    "eta_cutoff": _Rule("a number from 0 to below 1", _in(0, 1, high_open=True)),
    "repetition_penalty": _Rule("a number above 0 (1: off)", _in(0, None, low_open=True)),
    "length_penalty": _Rule("a number", _number),
    "no_repeat_ngram_size": _Rule("a whole number of 0 or more (0: off)", _whole_from(0)),
    "max_new_tokens": _Rule(f"a whole number from 1 to {MAX_TOKENS}", _whole_from(1, MAX_TOKENS)),
    "min_new_tokens": _Rule(f"a whole number from 0 to {MAX_TOKENS}", _whole_from(0, MAX_TOKENS)),
    "max_length": _Rule(f"a whole number from 1 to {MAX_TOKENS}", _whole_from(1, MAX_TOKENS)),
    "min_length": _Rule(f"a whole number from 0 to {MAX_TOKENS}", _whole_from(0, MAX_TOKENS)),
    "eos_token_id": _Rule(
        "a token id or a list of them",
        lambda v: _token_id(v) or (isinstance(v, list) and all(map(_token_id, v))),
    ),
    "pad_token_id": _Rule("a token id (a whole number of 0 or more)", _token_id),
    "bos_token_id": _Rule("a token id (a whole number of 0 or more)", _token_id),
    "decoder_start_token_id": _Rule("a token id (a whole number of 0 or more)", _token_id),
    "suppress_tokens": _Rule(
        "a list of token ids", lambda v: isinstance(v, list) and all(map(_token_id, v))
    ),
    "begin_suppress_tokens": _Rule(
        "a list of token ids", lambda v: isinstance(v, list) and all(map(_token_id, v))
    ),
}


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _refuse(where: str, key: str, value, allowed: str, fix: str) -> ModelFolderError:
    return ModelFolderError(f"{key} is {_shown(value)}; it must be {allowed}", where=where, fix=fix)


# Ways of generating the reply path cannot serve (it samples or decodes greedily, one reply per
# prompt, stopping at turn labels per row, reading plain token ids): each must be absent, null
# or its neutral value. Beam search gave every reply a traceback (rows per beam, not per prompt).
NEUTRAL_ONLY = {
    "num_beams": 1,
    "num_beam_groups": 1,
    "num_return_sequences": 1,
    "return_dict_in_generate": False,
    "penalty_alpha": 0,
    "dola_layers": None,
    "prompt_lookup_num_tokens": None,
    "stop_strings": None,
    "constraints": None,
    "force_words_ids": None,
}
# Read as floats: JSON writes 2.0 as 2, and transformers refuses an int temperature or penalty.
FLOAT_KEYS = ("temperature", "top_p", "min_p", "typical_p", "epsilon_cutoff", "eta_cutoff",
              "repetition_penalty", "length_penalty")  # fmt: skip
TOKEN_KEYS = ("eos_token_id", "pad_token_id", "bos_token_id", "decoder_start_token_id",
              "suppress_tokens", "begin_suppress_tokens")  # fmt: skip


def _same(value, neutral) -> bool:
    """`value` is `neutral`: a bool only as a bool (True == 1 in Python), 0 and 0.0 alike."""
    if isinstance(neutral, bool) or isinstance(value, bool):
        return value is neutral
    return value == neutral and (_number(value) or not _number(neutral))


def generation_settings(config: Mapping, vocab_size: int | None = None) -> dict:
    """generation_config.json's content checked (GENERATION_RULES), `temperature: 0` as greedy.

    vocab_size: config.json's, when known: every token id must be below it (a suppressed id
    past the vocabulary fails every reply). Raises ModelFolderError (where:
    generation_config.json) for the first bad value; null is "not set", as transformers reads it.
    """
    for key, rule in GENERATION_RULES.items():
        value = config.get(key)
        if value is not None and not rule.check(value):
            raise _refuse(GENERATION_JSON, key, value, rule.allowed, _FIX)
    for key, neutral in NEUTRAL_ONLY.items():
        value = config.get(key)
        if value is not None and not _same(value, neutral):
            allowed = f"{json.dumps(neutral)} or absent: the bot's replies cannot use it"
            raise _refuse(GENERATION_JSON, key, value, allowed, _FIX)
    for key in TOKEN_KEYS if _whole(vocab_size) else ():
        value = config.get(key)
        ids = value if isinstance(value, list) else [] if value is None else [value]
        if any(i >= vocab_size for i in ids):
            allowed = f"token ids from 0 to {vocab_size - 1} (config.json's vocab_size)"
            raise _refuse(GENERATION_JSON, key, value, allowed, _FIX)
    checked = dict(config)
    checked.update({k: float(checked[k]) for k in FLOAT_KEYS if checked.get(k) is not None})
    if greedy_by_temperature(checked.get("do_sample"), checked.get("temperature")):
        checked["do_sample"] = False
    return checked


def as_checked(generation_config) -> None:
    """The same reading of a loaded transformers GenerationConfig (the local backend's, which
    transformers read from the file): floats as floats, `temperature: 0` as greedy."""
    for key in FLOAT_KEYS:
        value = getattr(generation_config, key, None)
        if _number(value):
            setattr(generation_config, key, float(value))
    if greedy_by_temperature(generation_config.do_sample, generation_config.temperature):
        generation_config.do_sample, generation_config.temperature = False, None


def greedy_by_temperature(do_sample, temperature) -> bool:
    """Whether a config that says it samples asks for greedy decoding with `temperature: 0`
    (what OpenAI-compatible servers read it as; transformers refuses to sample with it)."""
    return bool(do_sample) and temperature == 0


# ---- catgpt.json ------------------------------------------------------------------------------


def _label_problem(name) -> str | None:
    """Why `name` cannot label the persona's turns (None when it can)."""
    if not isinstance(name, str):
        return "a name (text)"
    if not name.strip() or len(name) > MAX_NAME:
        return f"a name of 1 to {MAX_NAME} characters"
    if any(unicodedata.category(c) == "Cc" or c in _BIDI for c in name):
        return "one line without control characters"
    if speaker_label(name) != name:  # the form prepare writes labels in (catgpt.labels)
        return f"a turn label: one line, no colon, single spaces ({speaker_label(name)!r})"
    return None


def _alias_problem(alias) -> str | None:
    if not isinstance(alias, str):
        return "a name (text)"
    if len(alias) > MAX_NAME:  # a blank one is skipped (catgpt.folder.card_from_dict)
        return f"a name of at most {MAX_NAME} characters"
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in _BIDI for c in alias):
        return "one line without control characters"
    return None


def section(card: Mapping, *path: str) -> Mapping:
    """card[path...] when each step is an object; {} when one is absent or null."""
    node = card
    for depth, key in enumerate(path):
        node = node.get(key)
        if node is None:
            return {}
        if not isinstance(node, dict):
            dotted = ".".join(path[: depth + 1])
            raise _refuse(CATGPT_JSON, dotted, node, "an object ({...})", _FIX_CARD)
    return node


def _checked(part: Mapping, prefix: str, key: str, allowed: str, check) -> object | None:
    value = part.get(key)
    if value is not None and not check(value):
        raise _refuse(CATGPT_JSON, f"{prefix}{key}", value, allowed, _FIX_CARD)
    return value


def _count(part: Mapping, prefix: str, key: str, allowed: str) -> int | None:
    return _checked(part, prefix, key, allowed, _in(1, MAX_TOKENS, whole=True))


def _shape(part: Mapping, prefix: str) -> None:
    """How prepare made turns (catgpt/turns.py): a merge window of 0 (never merge) or more
    seconds, a gap of more than 0 (0 would make every line a conversation of its own)."""
    window = f"a number of seconds from 0 to {MAX_SECONDS}"
    _checked(part, prefix, "merge_window_s", window, _in(0, MAX_SECONDS))
    gap = f"a number of seconds above 0, at most {MAX_SECONDS}"
    _checked(part, prefix, "gap_s", gap, _in(0, MAX_SECONDS, low_open=True))


def check_card(card: Mapping) -> None:
    """Raise ModelFolderError (where: catgpt.json) for the first value the reply path would
    misread: the persona's name, aliases and ids, the trained context bounds and turn shape,
    the guard's n.
    Keys nobody reads here (training arguments, evaluation figures) are not checked."""
    persona = card.get("persona")
    if isinstance(persona, str):  # the short form {"persona": "mochi"}
        persona = {"name": persona}
    elif persona is not None and not isinstance(persona, dict):
        raise _refuse(CATGPT_JSON, "persona", persona, 'an object like {"name": ...}', _FIX_CARD)
    persona = persona or {}
    if persona.get("name") is not None and (problem := _label_problem(persona["name"])):
        raise _refuse(CATGPT_JSON, "persona.name", persona["name"], problem, _FIX_CARD)
    for key in ("aliases", "account_ids"):
        if persona.get(key) is not None and not isinstance(persona[key], list):
            raise _refuse(CATGPT_JSON, f"persona.{key}", persona[key], "a list", _FIX_CARD)
    for alias in persona.get("aliases") or ():
        if problem := _alias_problem(alias):
            raise _refuse(CATGPT_JSON, "persona.aliases", alias, problem, _FIX_CARD)
    tokens = f"a whole number of tokens from 1 to {MAX_TOKENS}"
    turns = f"a whole number of turns from 1 to {MAX_TOKENS}"
    context = section(card, "context")
    length = _count(context, "context.", "max_length", tokens)
    _count(context, "context.", "context_turns", turns)
    _shape(context, "context.")
    legacy = _count(section(card, "dataset"), "dataset.", "max_length", tokens)
    options = section(card, "dataset", "stats", "options")
    _count(options, "dataset.stats.options.", "context_turns", turns)
    _shape(options, "dataset.stats.options.")
    for prefix, part in (("dataset.", section(card, "dataset")),
                         ("dataset.stats.", section(card, "dataset", "stats"))):
        _checked(part, prefix, LAST_MESSAGE, "a day written YYYY-MM-DD", _iso_day)
    _speaking(card)
    n = _count(section(card, "copy_guard"), "copy_guard.", "n", tokens)
    length = length or legacy
    if n is not None and length is not None and n > length:
        raise _refuse(
            CATGPT_JSON, "copy_guard.n", n,
            f"at most context.max_length ({length}): no reply is longer, so it never matches",
            _FIX_CARD,
        )  # fmt: skip


def _speaking(card: Mapping) -> None:
    """prepare's speaking rate (catgpt/speaking.py): each share of others' turns from 0 to 1
    (the bot samples it; 1.5 would make it answer everything, -1 nothing, silently)."""
    shares = section(card, "dataset", "stats", "speaking", "after_others")
    prefix = "dataset.stats.speaking.after_others."
    for key in shares:
        _checked(shares, prefix, key, "a share from 0 to 1", _in(0, 1))
