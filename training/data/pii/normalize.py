"""The text the PII rules look at: Unicode compatibility forms folded, invisible characters
removed.

`ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ` (full-width) and `555\u200b0123` (a zero-width space in
the middle) read as an address and a number to a person, but not to a pattern written for
ASCII. NFKC folds full-width, circled, superscript and mathematical letters and digits to
their plain forms; the characters that render as nothing are then dropped.
"""

from __future__ import annotations

import re
import unicodedata

# Characters that render as nothing and only ever split a value: zero-width space and
# non-joiner, word joiner, invisible operators, BOM, soft hyphen, Mongolian vowel separator,
# combining grapheme joiner. The zero-width joiner also glues emoji (👩‍💻), so it is only
# dropped next to an ASCII character, where no emoji sequence has it.
_INVISIBLE = re.compile(
    r"[\u200b\u200c\u2060-\u2064\ufeff\u00ad\u180e\u034f]"
    r"|(?<=[\x00-\x7f])\u200d|\u200d(?=[\x00-\x7f])"
)


# A dash between two digits (`536–22–1847`, `+44—20`) is read as a hyphen; NFKC leaves
# dashes as they are. Elsewhere a dash is punctuation (`пароль — hunter2`) and stays.
_DIGIT_DASH = re.compile("(?<=\\d)[\u2010-\u2015\u2212\ufe63](?=\\d)")


def normalized(text: str) -> str:
    """`text` as the rules should see it; the same object when there is nothing to fold.

    ASCII (most chat) and text already in NFKC without invisible characters cost one or
    two C-level checks.
    """
    if text.isascii():
        return text
    if (unicodedata.is_normalized("NFKC", text) and not _INVISIBLE.search(text)
            and not _DIGIT_DASH.search(text)):
        return text
    # Fold first (a full-width letter next to a joiner is ASCII afterwards), then fold again:
    # a combining accent that followed an invisible character now composes.
    folded = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    return _DIGIT_DASH.sub("-", unicodedata.normalize("NFKC", folded))
