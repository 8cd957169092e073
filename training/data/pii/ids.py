"""National id numbers: US social security numbers in any form, and the ids of the
countries the measurement covers, each checked by `python-stdnum` (a kept library of
validators for standard numbers: check digits, birth dates, ranges).

A candidate is 9 to 18 digits (a few ids carry letters: Italy's codice fiscale, Finland's
henkilötunnus, the UK's National Insurance number, Taiwan's id), unbroken or grouped with
one kind of separator (`-`, space, `.`, `/`, `_`; a line break when two messages split
it). It is an id when one country's validator accepts it. An ISBN is fenced off before
(pii/__init__.py); dates and Discord ids (17 or more digits with no letter, except China's
18-character id) fail every validator.
"""

from __future__ import annotations

import importlib
import re

from training.data.pii.phones import not_a_phone

# (stdnum module, lengths of the compact form it takes). Nine digits: US SSN, Canada's SIN,
# the Netherlands' BSN, Israel's id; 10: Ukraine; 11: Brazil's CPF, Poland's PESEL,
# Turkey's TC Kimlik, Norway, Greece's AMKA, Sweden 10/12, Denmark 10; 13: Romania's CNP,
# Thailand; 15: France's NIR; 18: China's resident id.
_VALIDATORS = (
    ("us.ssn", (9,)), ("ca.sin", (9,)), ("nl.bsn", (9,)), ("il.idnr", (9,)),
    ("ua.rntrc", (10,)), ("se.personnummer", (10, 12)), ("dk.cpr", (10,)),
    ("br.cpf", (11,)), ("pl.pesel", (11,)), ("tr.tckimlik", (11,)), ("no.fodselsnummer", (11,)),
    ("gr.amka", (11,)), ("ro.cnp", (13,)), ("th.pin", (13,)), ("kr.rrn", (13,)),
    ("fr.nir", (15,)), ("cn.ric", (18,)), ("it.codicefiscale", (16,)), ("fi.hetu", (11,)),
    ("es.dni", (9,)), ("es.nie", (9,)), ("ru.inn", (10, 12)),
)
_MODULES: dict[str, list] = {}

CANDIDATE = re.compile(
    r"(?<![\w.,/#$€£¥%+-])(?:"
    r"\d(?:[ ./_\n-]{1,2}\d|\d){8,17}[A-Za-z]?"  # digits, grouped; Spain's DNI ends in a letter
    r"|(?:\d\n?){6}[-+A]\n?(?:\d\n?){3}[0-9A-Y]"  # Finland
    r"|[A-Za-z]{6}\n?\d\d\n?[A-Za-z]\n?\d\d\n?[A-Za-z]\n?\d{3}\n?[A-Za-z]"  # Italy
    r"|[A-Z]{2}[ \n]?\d{2}[ \n]?\d{2}[ \n]?\d{2}[ \n]?[A-Z]"  # UK National Insurance
    r"|[A-Z]\n?[12](?:\n?\d){8}"  # Taiwan
    r"|[XYZ]-?\d{7}-?[A-Z]"  # Spain's NIE
    r"|[12](?: ?\d\d){2} ?2[AB](?:[ \n]?\d){8}"  # France's NIR, born in Corsica (2A, 2B)
    r")(?![\w-]|[.,]\d)"
)
SSN = re.compile(r"(?<![\w.,/#$€£¥%+-])\d{3}([ ./_\n-]?)\d{2}\1\d{4}(?![\w-]|[.,]\d)")
_CPF = re.compile(r"\d{3}\.\d{3}\.\d{3}-\d{2}")  # Brazil prints its ids with two kinds
_SEPARATORS = re.compile(r"[ ./_\n-]+")
# The UK's NI number: two prefix letters (D, F, I, Q, U, V never), six digits, a suffix
# letter (A-D when issued; ZZ and other suffixes are on test and temporary numbers).
_NINO = re.compile(r"[A-CEGHJ-PR-TW-Z]{2}\d{6}[A-Z]")
_TAIWAN_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"


def _validators(length: int) -> list:
    if length not in _MODULES:
        _MODULES[length] = [importlib.import_module(f"stdnum.{name}")
                            for name, lengths in _VALIDATORS if length in lengths]
    return _MODULES[length]


def is_national_id(candidate: str) -> bool:
    separators = set("".join(_SEPARATORS.findall(candidate))) - {"\n"}
    if len(separators) > 1 and not _CPF.fullmatch(candidate):
        return False  # `2024-05-01 12`: a date and an hour, not one number
    if separators <= {".", ","} and candidate.count(".") + candidate.count(",") == 1:
        return False  # `43.4056105`: a decimal number (a coordinate)
    if not_a_phone(candidate):
        return False  # counting `1 2 3 ... 11`, an ISBN-10
    compact = _SEPARATORS.sub("", candidate)
    if _NINO.fullmatch(compact):
        return True
    if len(compact) == 10 and compact[0].isalpha() and compact[1:].isdigit():
        return _taiwan_ok(compact)
    if len(compact) == 10 and compact[:6].isdigit() and compact[-1].isalpha():
        compact = candidate.replace("\n", "")  # Finland's id keeps its century sign
    for module in _validators(len(compact)):
        try:
            if module.is_valid(compact):
                return True
        except Exception:  # noqa: BLE001 - a validator's own bug must not stop masking
            continue
    return False


def is_long_national_id(candidate: str) -> bool:
    """An id of 12 or more digits (read before phone numbers); `00` opens an international
    phone number, never an id."""
    return (sum(c.isdigit() for c in candidate) >= 12 and not candidate.startswith("00")
            and is_national_id(candidate))


def _taiwan_ok(number: str) -> bool:
    """Taiwan's national id: a letter (its two-digit code), then 1 or 2, 8 digits, mod 10."""
    if number[1] not in "12" or number[0] not in _TAIWAN_LETTERS:
        return False
    code = _TAIWAN_LETTERS.index(number[0]) + 10
    digits = [code // 10, code % 10, *map(int, number[1:])]
    weights = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)
    return sum(d * w for d, w in zip(digits, weights, strict=False)) % 10 == 0
