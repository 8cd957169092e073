"""Style markers of a set of replies, and one distance between two sets: pure functions.

`eval` measures the persona's real held-out replies and the replies sampled for the same
contexts (fine-tuned model, base, prompted base) with the same markers:

    chars_median, chars_iqr     reply length in characters: median and interquartile range
    words_median, words_iqr     the same in whitespace-separated words
    lowercase_share             replies with letters and no capital (emoticons and :emoji: aside)
    emoji_per_reply             Unicode emoji + `:name:` custom emoji + emoticons (:3 xD ^_^),
                                per reply
    ends_with_punctuation       replies whose last character is . ! ? or …
    question_share              replies with a ?
    distinctive_overlap         share of the real replies' distinctive words that are also
                                distinctive in this set (1 for the real replies themselves)

A word is distinctive for a set of replies when it is used there more than in a reference text
(other people's messages in the same chat): the add-one smoothed log ratio of its frequencies
is positive, it occurs at least twice, and it is among the DISTINCTIVE_WORDS highest ratios.

`style_distance(markers, real)` is 0 for replies indistinguishable from the real ones by these
markers and at most 1: the mean over markers of a difference scaled into [0, 1] (docs/training.md
says how). Markers that one side cannot have (no reply with letters, no distinctive word) are
left out of the mean.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import emoji

DISTINCTIVE_WORDS = 20  # at most this many distinctive words per set
MIN_WORD_COUNT = 2  # a word said once is chance, not style
SENTENCE_END = ".!?…"

# `:name:` as `prepare` writes Discord's custom emoji (`<:blobcat:123>` -> `:blobcat:`); a
# letter is required, so times such as 12:30:45 are not emoji.
CUSTOM_EMOJI = re.compile(r"(?<![\w:]):(?=\w*[A-Za-z])\w{2,32}:(?![\w:])")
# Text emoticons, each standing alone (space or text edge on both sides), so URLs, times and
# "a:b" never count.
EMOTICON = re.compile(
    r"""(?<!\S)(?:
      [<>]?[:;=][-'^o]?[)(\]\[DPpOo3/\\|*$@cC]+   # :) ;-) :D :P :3 :/ :'( >:( :c :)))
    | [xX][dD]+                                   # xD XD xd
    | D[:;=]                                      # D:
    | </?3+                                       # <3 </3
    | \^[_.\-]?\^                                 # ^_^ ^^ ^.^
    | [-oO>xXT;][_.][-oO<xXT;]                    # -_- o_O >_< T_T x_x ;_;
    | [uUoO][wW][uUoO]                            # uwu owo UwU
    | >[wW]<                                      # >w<
    )(?!\S)""",
    re.VERBOSE,
)
_EDGE_PUNCTUATION = ".,!?;:\"'()[]{}«»“”‘’…"


@dataclass(frozen=True)
class Marker:
    key: str
    label: str
    kind: str  # "amount" (>= 0, relative difference), "share" (in [0, 1]), "overlap"


MARKERS = (
    Marker("chars_median", "length in characters (median)", "amount"),
    Marker("chars_iqr", "length in characters (interquartile range)", "amount"),
    Marker("words_median", "length in words (median)", "amount"),
    Marker("words_iqr", "length in words (interquartile range)", "amount"),
    Marker("lowercase_share", "all lower case", "share"),
    Marker("emoji_per_reply", "emoji and emoticons per reply", "amount"),
    Marker("ends_with_punctuation", "ends with . ! ? or …", "share"),
    Marker("question_share", "questions (a ? in the reply)", "share"),
    Marker("distinctive_overlap", "distinctive words shared with the real replies", "overlap"),
)


# --- one reply ---------------------------------------------------------------------------------


def emoji_count(text: str) -> int:
    """Unicode emoji (a ZWJ family or a skin-toned thumb is one), custom emoji and emoticons."""
    return emoji.emoji_count(text) + len(CUSTOM_EMOJI.findall(text)) + len(EMOTICON.findall(text))


def without_emoticons(text: str) -> str:
    """The text less custom emoji and emoticons (`xD` and `:BlobCat:` are not capitals)."""
    return EMOTICON.sub(" ", CUSTOM_EMOJI.sub(" ", text))


def is_lowercase(text: str) -> bool | None:
    """True when the reply has letters and none is a capital; None when it has no letters."""
    words = without_emoticons(text)
    if words.lower() == words.upper():  # nothing with a case: "😂", "123", "?"
        return None
    return words == words.lower()


def ends_with_punctuation(text: str) -> bool:
    stripped = text.rstrip()
    return bool(stripped) and stripped[-1] in SENTENCE_END


def words_of(text: str) -> list[str]:
    """Chat words, lower-cased: whitespace-separated, edge punctuation stripped, but emoticons,
    custom emoji and marks inside a word (`nya~`, `*stretches*`) kept as written."""
    words = []
    for chunk in text.lower().split():
        if EMOTICON.fullmatch(chunk) or CUSTOM_EMOJI.fullmatch(chunk):
            words.append(chunk)
            continue
        chunk = chunk.strip(_EDGE_PUNCTUATION)
        if chunk:
            words.append(chunk)
    return words


# --- a set of replies --------------------------------------------------------------------------


def median_and_iqr(values: list[int]) -> tuple[float | None, float | None]:
    """Median and interquartile range (numpy's default, linear interpolation)."""
    if not values:
        return None, None
    if len(values) == 1:
        return float(values[0]), 0.0
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return float(statistics.median(values)), q3 - q1


def share(flags: Iterable[bool | None]) -> float | None:
    """Share of True among the flags that are not None; None when all are."""
    known = [flag for flag in flags if flag is not None]
    return sum(known) / len(known) if known else None


def distinctive_words(replies: list[str], reference: list[str],
                      limit: int = DISTINCTIVE_WORDS) -> list[str]:  # fmt: skip
    """The words these replies use more than the reference text does, most distinctive first.

    Score: log((count + 1) / (words + vocabulary)) minus the same for the reference (add-one
    smoothing, so a word the reference never uses gets a finite score). Kept when the score is
    positive and the word occurs MIN_WORD_COUNT times or more in the replies.
    """
    ours = Counter(word for reply in replies for word in words_of(reply))
    theirs = Counter(word for text in reference for word in words_of(text))
    vocabulary = len(ours.keys() | theirs.keys())
    ours_total = sum(ours.values()) + vocabulary
    theirs_total = sum(theirs.values()) + vocabulary

    def score(word: str) -> float:
        return math.log((ours[word] + 1) / ours_total) - math.log((theirs[word] + 1) / theirs_total)

    scored = [(score(w), n, w) for w, n in ours.items() if n >= MIN_WORD_COUNT]
    scored = [item for item in scored if item[0] > 0]
    scored.sort(key=lambda item: (-item[0], -item[1], item[2]))  # ties: commoner, then a-z
    return [word for _, _, word in scored[:limit]]


def overlap(words: list[str], real_words: list[str]) -> float | None:
    """Share of the real replies' distinctive words found among `words`."""
    if not real_words:
        return None
    return len(set(words) & set(real_words)) / len(real_words)


def markers(replies: list[str], real_words: list[str] | None = None,
            reference: list[str] = ()) -> dict:  # fmt: skip
    """Every marker of one set of replies. `real_words`: the real replies' distinctive words
    (None: these are the real replies); `reference`: the text distinctiveness is measured
    against."""
    chars_median, chars_iqr = median_and_iqr([len(r) for r in replies])
    words_median, words_iqr = median_and_iqr([len(r.split()) for r in replies])
    own_words = distinctive_words(replies, list(reference))
    return {
        "chars_median": chars_median,
        "chars_iqr": chars_iqr,
        "words_median": words_median,
        "words_iqr": words_iqr,
        "lowercase_share": share(is_lowercase(r) for r in replies),
        "emoji_per_reply": sum(map(emoji_count, replies)) / len(replies) if replies else None,
        "ends_with_punctuation": share(ends_with_punctuation(r) for r in replies),
        "question_share": share("?" in r for r in replies),
        "distinctive_overlap": overlap(own_words, own_words if real_words is None
                                       else real_words),  # fmt: skip
    }


# --- the distance ------------------------------------------------------------------------------


def difference(marker: Marker, value: float | None, real: float | None) -> float | None:
    """One marker's difference from the real replies, in [0, 1]; None when either is missing.

    amount: |value - real| / max(value, real) (0 when both are 0): twice or half as long
        is 0.5 whether the unit is characters or emoji;
    share: |value - real|, already in [0, 1];
    overlap: 1 - value (the real replies overlap their own distinctive words fully).
    """
    if value is None or real is None:
        return None
    if marker.kind == "overlap":
        return 1.0 - value
    if marker.kind == "share":
        return abs(value - real)
    largest = max(abs(value), abs(real))
    return abs(value - real) / largest if largest else 0.0


def style_distance(side: dict, real: dict) -> float | None:
    """Mean over the markers both sides have of their difference: 0 = the real replies' style."""
    terms = [difference(m, side.get(m.key), real.get(m.key)) for m in MARKERS]
    known = [t for t in terms if t is not None]
    return round(sum(known) / len(known), 4) if known else None


def compare(columns: dict[str, list[str]], reference: list[str]) -> dict:
    """The style section of catgpt.json for replies by side; `columns` must hold "real".

    reference: other people's messages in the same chat (what distinctive words stand out from).
    """
    real_words = distinctive_words(columns["real"], reference)
    found = {"replies": len(columns["real"]), "markers": {}, "distance": {}}
    for side, replies in columns.items():
        values = markers(replies, None if side == "real" else real_words, reference)
        found["markers"][side] = {k: _rounded(v) for k, v in values.items()}
    real = found["markers"]["real"]
    for side, values in found["markers"].items():
        found["distance"][side] = style_distance(values, real)
    return found


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
