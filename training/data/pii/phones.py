"""Phone numbers, with Google's libphonenumber (`phonenumbers`).

A number written with its `+country` code is read the same way anywhere. One written the
national way (`030 901820`, `06 12 34 56 78`, `020 7946 0958`) only means something in its
country, so it is tried in the region the user named (`--phone-region`) and then in the
countries most Discord users write from; it is masked if it is a number of one of them (issued,
or of the right length and grouped as phones are). libphonenumber's matcher (at `POSSIBLE`
leniency: right length for the country) finds the candidates, and `_believable` judges them:
validity and number type, the trunk prefix, how the number is grouped; dates, counts and ranges
are turned down before (not_a_phone).

The matcher is the costly part of masking, so it only sees short windows around clusters
of seven or more digits, never whole messages.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise

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
    r"(?<![\w#$€£¥%.,/&-])(?:\+|00)?\(?\d(?:[ \t().\-/]{0,3}\d){6,}"
    r"(?:(?![\w%€$£¥])|(?=x\d|ext))"  # an extension may follow: `555-0123x45`
)
_SEVEN_DIGITS = re.compile(r"\d(?:[\s()._\-/]{0,3}\d){6,}")
# A date with a four-digit year (`13.10.2002 20:12`, `2024-05-01 12:30`, `12/31/1999`):
# a cluster holding one is a date and a time, however the digits happen to validate.
# (A Thai date counts years from 543 BC: 25xx.)
_DAY, _MONTH, _YEAR = r"(?:0?[1-9]|[12]\d|3[01])", r"(?:0?[1-9]|1[0-2])", r"(?:19|20|25)\d\d"
_DATE = re.compile(
    rf"(?<!\d)(?:{_DAY}[./-]{_MONTH}[./-]{_YEAR}|{_MONTH}[./-]{_DAY}[./-]{_YEAR}"
    rf"|{_YEAR}[./-]{_MONTH}[./-]{_DAY})(?!\d)"
)
# Context the matcher needs around a cluster: a `+` or `(` before, an extension after.
_BEFORE, _AFTER = 6, 16
_POSSIBLE = phonenumbers.Leniency.POSSIBLE


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
            if not_a_phone(cluster.group()):
                continue
            digits = sum(c.isdigit() for c in cluster.group())
            if digits > 17 or (digits > 15 and cluster.group().isdigit()):
                continue  # a Discord id or another long number: E.164 allows 15 digits
            low = max(0, start - _BEFORE)
            window = flat[low:end + _AFTER]
            for match_start, match_end in _matches(window, self.regions):
                if low + match_end < len(flat) and flat[low + match_end].isalnum():
                    continue  # glued to letters: part of a UUID or a hex string
                matched = window[match_start:match_end]
                if _DATE.search(matched) or not_a_phone(matched):
                    continue  # the window reached a date or a range beside the cluster
                if window[match_start] == "(" and ")" not in window[match_start:match_end]:
                    match_start += 1  # `(020 7946 0958)`: the bracket is the sentence's
                span = (low + match_start, low + match_end)
                if not _overlaps_any(*span, blocked) and not _overlaps_any(*span, found):
                    found.append(span)
        return found


_DECIMAL = re.compile(r"-?\d{1,3}\.\d{4,}")  # a coordinate, a measurement
# `25.0.2.4701`: a version has a one-digit part (no phone is grouped so).
_VERSION = re.compile(r"\d{1,3}(?:\.\d{1,4})*\.\d\.\d+(?:\.\d+)*")
_YEARS = re.compile(r"(?:19|20)\d\d\s*[-–/]\s*(?:19|20)\d\d")  # `2016-2022`
_ISBN10 = re.compile(r"\d{1,5}([- ])\d{1,7}\1\d{1,7}\1[\dX]")


def not_a_phone(cluster: str) -> bool:
    """Digit strings a phone number's shape also fits: `1 2 3 4 5 6 7 8 9 10` (counting),
    `45.8807805` (a coordinate), `0-306-40615-2` (an ISBN-10: four groups, a check digit)."""
    if len(cluster) > 64:
        return False  # too long for any of these (and for int() on its groups)
    if _DECIMAL.fullmatch(cluster) or _VERSION.fullmatch(cluster) or _YEARS.fullmatch(cluster):
        return True
    if " / " in cluster and any(c in cluster for c in "-:."):
        return True  # `4-20 / 6737`, `168-490 / 22`: two things side by side
    groups = [int(group) for group in re.findall(r"\d+", cluster)]
    tail = groups[1:] if len(groups) >= 5 else groups
    if len(tail) >= 4 and all(b - a == 1 for a, b in pairwise(tail)):
        return True
    return _ISBN10.fullmatch(cluster) is not None and isbn10_ok(cluster)


def isbn10_ok(text: str) -> bool:
    chars = [c for c in text if c.isdigit() or c == "X"]
    if len(chars) != 10:
        return False
    values = [10 if c == "X" else int(c) for c in chars]
    return sum((10 - i) * v for i, v in enumerate(values)) % 11 == 0


@lru_cache(maxsize=2048)
def _matches(window: str, regions: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """The numbers in `window` read in the first region that finds any (cached: the same
    number tends to be pasted again)."""
    for index, region in enumerate(regions):
        spans = tuple((m.start, m.end) for m in
                      phonenumbers.PhoneNumberMatcher(window, region, leniency=_POSSIBLE)
                      if _believable(m.raw_string, m.number, region, trusted=index == 0))
        if spans:
            return spans
    return ()


_THOUSANDS = re.compile(r"\d{1,3}(?:[ .,]\d{3})+")
_TYPE = phonenumbers.PhoneNumberType
_MOBILE = {_TYPE.MOBILE, _TYPE.FIXED_LINE_OR_MOBILE}
# The numbers a person gives out: not shared-cost, premium or access numbers.
_PERSONAL = {_TYPE.FIXED_LINE, _TYPE.MOBILE, _TYPE.FIXED_LINE_OR_MOBILE, _TYPE.VOIP,
             _TYPE.PERSONAL_NUMBER, _TYPE.PAGER, _TYPE.TOLL_FREE,
             _TYPE.VOICEMAIL}  # a voicemail number reaches one person's mailbox


def _believable(raw: str, number: phonenumbers.PhoneNumber, region: str, *,
                trusted: bool) -> bool:
    """Whether a number libphonenumber calls valid is written the way people write phone
    numbers, rather than the way they write timestamps, order numbers and big counts.

    Germany's numbering plan in particular makes most digit strings "valid", so a number
    read in one of the extra regions (not --phone-region) must either carry its trunk
    prefix (`030 901820`, `07700 900123`) or be a mobile number written in groups
    (`98765 43210` in India, `(11) 99876-5432` in Brazil).
    """
    written = raw.lstrip("(")
    if written.startswith(("+", "00")):
        # International: the same number everywhere, and nothing else is written that way;
        # a number of the right length for its country is masked even when no operator
        # has it yet (issued ranges change; a number in a plan's gap is still someone's).
        return True
    if not phonenumbers.is_valid_number(number):
        return _possible_national(raw, number, region, trusted)
    kind = phonenumbers.number_type(number)
    if kind not in _PERSONAL:
        # `13 105 715` is a "valid" US access number, not anyone's phone; a premium or
        # shared-cost number written whole as a phone (`8 (809) 104-90-54`) is masked.
        return (sum(c.isdigit() for c in raw) >= 10
                and _possible_national(raw, number, region, trusted))
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


# How a phone number is grouped (`(591)341-7776`, `0914 177 76 31`, `694.687.7317x8490`):
# not `1911 / 12878` (a year and an amount) or `4-20 / 6737`.
_GROUPED_PHONE = re.compile(
    r"(?:\d{1,3}[ .\-]?)?\(?\d{1,5}\)?[ .\-]{0,2}\d{2,6}(?:[ .\-]{1,2}\d{2,6}){0,3}"
    r"(?:\s*(?:x|ext\.?)\s*\d{1,6})?")


def _possible_national(raw: str, number: phonenumbers.PhoneNumber, region: str,
                       trusted: bool) -> bool:
    """A number that fits its country's lengths but not (yet) an issued range: masked in
    the user's own region, or, elsewhere, written with the trunk prefix in phone groups
    (`(591)341-7776`, `0914 177 76 31`): a shape no count or date has."""
    raw = raw.strip("()") if raw.startswith("(") and raw.endswith(")") else raw
    digits = sum(c.isdigit() for c in raw)
    prefix = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix
    if (trusted and raw.isdigit() and prefix and digits >= 10
            and raw == prefix + str(number.national_number)):
        return True  # `88380638459`: the trunk prefix and a whole national number
    if digits < 8 or raw.isdigit() or not _GROUPED_PHONE.fullmatch(raw):
        return False  # unbroken: a timestamp or an order number as often
    if trusted:  # the user's own country: 8 digits is a whole number in Norway or Denmark
        return True
    if digits < 9:
        return False
    return bool(prefix and raw.lstrip("(").startswith(prefix) and not raw.isdigit()
                and not _THOUSANDS.fullmatch(raw))


def _inside_any(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _overlaps_any(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)
