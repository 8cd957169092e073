"""Phone numbers, with Google's libphonenumber (`phonenumbers`).

A number written with its `+country` code is read the same way anywhere. One written the
national way (`030 901820`, `06 12 34 56 78`, `020 7946 0958`) only means something in its
country, so it is tried in the region the user named (`--phone-region`) and then in the
countries most Discord users write from; it is masked if it is a valid number of one of
them. libphonenumber's matcher at `VALID` leniency does the rest of the judging: it turns
down dates, times, and numbers that lack a trunk prefix their country requires.

The matcher is the costly part of masking, so it only sees short windows around clusters
of seven or more digits, never whole messages.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

# The region given first, then where most Discord users write from: the US and Canada (one
# numbering plan), the UK, Germany, France, India, Australia, Brazil, Spain, Italy, the
# Netherlands, Poland, Mexico, Russia, Turkey and the Philippines.
COMMON_REGIONS = (
    "US", "GB", "DE", "FR", "IN", "AU", "BR", "ES", "IT", "NL", "PL", "MX", "RU", "TR", "PH"
)
# Seven or more digits with at most three separators between neighbours; not glued to a
# word, an amount, an id with `#`, or a version (`v1.2.3`).
_CLUSTER = re.compile(
    r"(?<![\w#$€£¥%.,/&-])(?:\+|00)?\(?\d(?:[ \t().\-/]{0,3}\d){6,}(?![\w%€$£¥])"
)
_SEVEN_DIGITS = re.compile(r"\d(?:[\s().\-/]{0,3}\d){6,}")
# A date with a four-digit year (`13.10.2002 20:12`, `2024-05-01 12:30`, `12/31/1999`):
# a cluster holding one is a date and a time, however the digits happen to validate.
_DAY, _MONTH, _YEAR = r"(?:0?[1-9]|[12]\d|3[01])", r"(?:0?[1-9]|1[0-2])", r"(?:19|20)\d\d"
_DATE = re.compile(
    rf"(?<!\d)(?:{_DAY}[./-]{_MONTH}[./-]{_YEAR}|{_MONTH}[./-]{_DAY}[./-]{_YEAR}"
    rf"|{_YEAR}[./-]{_MONTH}[./-]{_DAY})(?!\d)"
)
# Context the matcher needs around a cluster: a `+` or `(` before, an extension after.
_BEFORE, _AFTER = 6, 16
_VALID = phonenumbers.Leniency.VALID


def might_hold_phone(text: str) -> bool:
    return _SEVEN_DIGITS.search(text) is not None


class PhoneFinder:
    def __init__(self, region: str = "US"):
        self.regions = tuple(dict.fromkeys((region.upper(), *COMMON_REGIONS)))

    def find(self, text: str, blocked: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Spans of phone numbers in `text`, none overlapping a `blocked` span (a link, or
        something already masked as another kind)."""
        flat = text.replace("\n", " ")  # a number split over two messages of one turn
        found: list[tuple[int, int]] = []
        for cluster in _CLUSTER.finditer(flat):
            start, end = cluster.span()
            if _inside_any(start, end, blocked) or _inside_any(start, end, found):
                continue
            if _DATE.search(cluster.group()):
                continue
            digits = sum(c.isdigit() for c in cluster.group())
            if digits > 17 or (digits > 15 and cluster.group().isdigit()):
                continue  # a Discord id or another long number: E.164 allows 15 digits
            low = max(0, start - _BEFORE)
            window = flat[low:end + _AFTER]
            for match_start, match_end in _matches(window, self.regions):
                if window[match_start] == "(" and ")" not in window[match_start:match_end]:
                    match_start += 1  # `(020 7946 0958)`: the bracket is the sentence's
                span = (low + match_start, low + match_end)
                if not _overlaps_any(*span, blocked) and not _overlaps_any(*span, found):
                    found.append(span)
        return found


@lru_cache(maxsize=2048)
def _matches(window: str, regions: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """The numbers in `window` read in the first region that finds any (cached: the same
    number tends to be pasted again)."""
    for index, region in enumerate(regions):
        spans = tuple((m.start, m.end) for m in
                      phonenumbers.PhoneNumberMatcher(window, region, leniency=_VALID)
                      if _believable(m.raw_string, m.number, region, trusted=index == 0))
        if spans:
            return spans
    return ()


_THOUSANDS = re.compile(r"\d{1,3}(?:[ .,]\d{3})+")
_TYPE = phonenumbers.PhoneNumberType
_MOBILE = {_TYPE.MOBILE, _TYPE.FIXED_LINE_OR_MOBILE}
# The numbers a person gives out: not shared-cost, premium, access or voicemail numbers.
_PERSONAL = {_TYPE.FIXED_LINE, _TYPE.MOBILE, _TYPE.FIXED_LINE_OR_MOBILE, _TYPE.VOIP,
             _TYPE.PERSONAL_NUMBER, _TYPE.PAGER, _TYPE.TOLL_FREE}


def _believable(raw: str, number: phonenumbers.PhoneNumber, region: str, *,
                trusted: bool) -> bool:
    """Whether a number libphonenumber calls valid is written the way people write phone
    numbers, rather than the way they write timestamps, order numbers and big counts.

    Germany's numbering plan in particular makes most digit strings "valid", so a number
    read in one of the extra regions (not --phone-region) must either carry its trunk
    prefix (`030 901820`, `07700 900123`) or be a mobile number written in groups
    (`98765 43210` in India, `(11) 99876-5432` in Brazil).
    """
    kind = phonenumbers.number_type(number)
    if kind not in _PERSONAL:
        return False  # `13 105 715` is a "valid" US access number, not anyone's phone
    written = raw.lstrip("(")
    if written.startswith(("+", "00")):
        return True  # international: the same number everywhere
    if sum(c.isdigit() for c in raw) < 8:
        return False  # no national format of these countries is shorter: `ticket 49-40265`
    if trusted:
        return True
    if _THOUSANDS.fullmatch(raw):
        return False  # `13 105 715 views`: a count grouped in thousands
    prefix = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix
    if prefix and written.startswith(prefix):
        return True
    return not raw.isdigit() and kind in _MOBILE


def _inside_any(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _overlaps_any(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)
