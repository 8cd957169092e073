"""Masking personal data and secrets in text.

Each kind is replaced by a bracketed tag (`[email]`, `[phone]`...): the model still sees
that something was there, which keeps sentences natural, but never the value. prepare
masks each turn whole (a speaker's messages joined), so a value split over two quick
messages is one value, and every speaker name.

How a text is read:
  1. normalise: compatibility forms folded (NFKC), invisible characters dropped, so
     `ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ` and `555\u200b0123` read as what they show;
  2. a few C-level looks rule out most chat lines before any pattern runs;
  3. find spans, most specific kind first; a span that overlaps one already found is left
     out, and links are fenced off so their digits and long runs are not read as phone
     numbers or keys (pii/links.py), and so are ISBNs and UUIDs. A value given under a
     secret's name is pii/secrets.py, national ids pii/ids.py, phone numbers pii/phones.py,
     the other shapes pii/patterns.py;
  4. replace the spans. A text in which nothing was found is returned exactly as typed; one
     that was masked comes back in its normalised form.

Measured on generated personal data in 28 locales (bench/pii_measure.py, docs/data.md
section 4). Kept libraries were weighed against these rules on the same cases
(bench/pii_libraries.py): detect-secrets' default plugins found 25% of the secrets (they
are made for source files: quoted values, high entropy), presidio-analyzer's recognizers
31-87% of the other kinds while changing 15% of ordinary lines, at a tenth of the speed;
neither was kept. What is kept is what holds knowledge we should not write: libphonenumber
(phone numbering plans), python-stdnum (each country's id check), ipaddress.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import unquote

from training.data.pii import ids, links, patterns, secrets
from training.data.pii.normalize import normalized
from training.data.pii.phones import PhoneFinder, isbn10_ok, might_hold_phone

KINDS = ("secret", "token", "invite", "email", "iban", "card", "id", "ip", "phone")
TAGS = {kind: f"[{kind}]" for kind in KINDS}

# The cheap looks that rule out most chat lines before any rule runs (prepare asks this
# once per turn). One character class finds the characters nearly every kind needs: a
# digit, @ (e-mail), / (links), = _ - (keys, tokens, assignments).
_RARE = re.compile(r"[@/=_0-9-]")
# The least any number kind has: three digits close together (`10 dot 0 dot 0 dot 1`).
_THREE_DIGITS = re.compile(r"\d\D{0,5}\d\D{0,5}\d")
_LONG_RUN_HINT = re.compile(r"\S{20}")
_SECRET_HINT = secrets.HINT.search  # bound once: this runs on every turn
_BRACKETED_AT = re.compile(r"[\[({<]\s*at\s*[\])}>]")
# Tags already in the text (a masked text masked again) are left as they are.
_TAG = re.compile(r"\[(?:" + "|".join(KINDS) + r")\]")
_UUID = re.compile(r"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PERSONAL_PARAM = re.compile(r"(?i)ssn|national|nid|id_?(?:number|no|card)|tax|cpf|pesel|nir"
                             r"|personal|phone|tel|mobile|number|msisdn|whatsapp")
# An ISBN is not a phone number or an id: `ISBN 0306406152`, `978-3-16-148410-0`.
_ISBN = re.compile(r"(?i)\bISBN(?:-1[03])?:?\s*[\dX][\d -]{8,16}[\dX]\b"
                   r"|(?<![\w-])97[89]-\d{1,5}-\d{1,7}-\d{1,7}-\d(?![\w-])"
                   r"|(?<![\w-])\d{1,5}-\d{1,7}-\d{1,7}-[\dX](?![\w-])"
                   r"|(?<![\w-])97[89]\d{10}(?![\w-])")


def might_hold_pii(text: str) -> bool:
    """False only when no rule could match (normalised text): most chat lines.

    Written as plain `in` tests on purpose: each is a C-level scan, and this runs once per
    turn of the export.
    """
    rare = _RARE.search(text)
    if rare is not None:
        if "@" in text or "/" in text or "=" in text or "_" in text or "-----BEGIN" in text:
            return True
        # Only digits or dashes: a lone `:3`, `5 min` or `well-known` holds no number and
        # no key that any kind needs. Both looks start at the first of them (a key without
        # one is no key the rules know, and 20 characters back reaches into any that has).
        first = rare.start()
        if (_THREE_DIGITS.search(text, first)
                or (len(text) >= 20 and _LONG_RUN_HINT.search(text, max(0, first - 19)))):
            return True
    # The written-out kinds: an `at` (`alice at example dot com`, `alice[at]example.com`),
    # a password, a JWT, a secret's name before a value.
    lower = text.lower()
    if ((not lower.isascii() or _SECRET_HINT(lower) is not None)
            and secrets.SECRET_NAMED.search(text)):
        return True  # a secret's name (`password`, `SECRET_KEY`, `пароль`, `密码`)
    return (" at " in lower or "eyJ" in text
            or (("[" in text or "(" in text or "{" in text or "<" in text)
                and _BRACKETED_AT.search(lower) is not None))


class PiiMasker:
    """Masks one text at a time and counts what it masked, by kind."""

    def __init__(self, phone_region: str = "US"):
        self.phones = PhoneFinder(phone_region)
        self.counts: Counter[str] = Counter()

    def mask(self, text: str) -> str:
        if not text:
            return text
        view = text if text.isascii() else normalized(text)
        if not might_hold_pii(view):
            return text
        spans = self._find(view)
        if not spans:
            return text  # as typed, not in its normalised form
        masked = self._replace(view, spans)
        # A tag can, rarely, complete a new match with what surrounds it; go to a fixed
        # point so that masking a masked text changes nothing (tested with hypothesis).
        for _ in range(3):
            spans = self._find(masked)
            if not spans:
                break
            masked = self._replace(masked, spans)
        return masked

    def _replace(self, text: str, spans: list[tuple[int, int, str]]) -> str:
        pieces, last = [], 0
        for start, end, kind in sorted(spans):
            pieces += (text[last:start], TAGS[kind])
            self.counts[kind] += 1
            last = end
        pieces.append(text[last:])
        return "".join(pieces)

    def _find(self, text: str) -> list[tuple[int, int, str]]:
        found = _Spans()
        if "[" in text:
            for tag in _TAG.finditer(text):
                found.fence(*tag.span())
        lower = text.lower()
        long_run = _LONG_RUN_HINT.search(text) is not None
        if "-----BEGIN" in text:
            found.add_all(patterns.PRIVATE_KEY, text, "secret")
        if long_run:
            found.add_all(patterns.KNOWN_SECRET, text, "secret")
            found.add_all(patterns.DISCORD_TOKEN, text, "token", patterns.is_discord_token)
        if "/" in text and ("discord" in lower or "dsc.gg" in lower):
            found.add_all(patterns.INVITE, text, "invite")
        # Links: what rides in them first (a password before the @ of `user:pass@host` is
        # a secret, not half an address); the link itself is fenced off further down.
        if ":" in text or "/" in text:
            for match in links.PHONE_IN_LINK.finditer(text):
                found.add(*match.span("value"), "phone")
        fenced = list(links.find_links(text)) if "/" in text or ":" in text else []
        for start, end in fenced:
            for inner_start, inner_end, kind in links.secrets_in_link(text[start:end]):
                if kind.startswith("judge:"):
                    value = unquote(text[start + inner_start:start + inner_end])
                    kind = self._judge(kind[6:], value)
                if kind:
                    found.add(start + inner_start, start + inner_end, kind)
        if "@" in text:
            found.add_all(patterns.EMAIL, text, "email", accept_match=patterns.is_email)
        if (("@" in text and "dot" in lower) or " at " in lower or "at]" in lower
                or "at)" in lower or "at}" in lower or "at>" in lower):
            for match in patterns.SPELLED_EMAIL.finditer(text):
                if patterns.is_spelled_email(match):
                    found.add(*match.span(), "email")
        for start, end in fenced:
            found.fence(start, end)
        if secrets.might_name_secret(lower):
            for span in secrets.secret_spans(text):
                found.add(*span, "secret")
        if long_run:
            found.add_all(patterns.LONG_RUN, text, "secret", patterns.looks_random)
        if not _THREE_DIGITS.search(text):
            return found.spans  # no number of any kind below has fewer digits than that
        if text.count(":") >= 2:
            found.add_all(patterns.IPV6, text, "ip", patterns.is_ipv6)
        found.add_all(patterns.IPV4, text, "ip")
        phone_like = might_hold_phone(text)
        if phone_like:
            if "-" in text:
                for uuid in _UUID.finditer(text):
                    found.fence(*uuid.span())
            for isbn in _ISBN.finditer(text):
                if "isbn" in isbn.group().lower() or isbn_ok(isbn.group()):
                    found.fence(*isbn.span())
            for start, end in patterns.iban_spans(text):
                found.add(start, end, "iban")
            found.add_all(patterns.CARD, text, "card", patterns.is_card)
        # A US social security number in its own 3-2-4 form, and ids of 12 or more digits
        # (France's 15, China's 18), before phones read them or a half of them as one.
        found.add_all(ids.CANDIDATE, text, "id", ids.is_long_national_id)
        found.add_all(ids.SSN, text, "id", ids.is_national_id)
        if phone_like:
            for start, end in self.phones.find(text, found.blocked):
                found.add(start, end, "phone")
        # After phones: a number that is both (a 10-digit Ukrainian id, a US phone) is a phone.
        found.add_all(ids.CANDIDATE, text, "id", ids.is_national_id)
        return found.spans

    def _judge(self, name: str, value: str) -> str | None:
        """The kind of a link's query value read whole (`?card=4111...`), if any. A number
        that could be a national id or a phone is one only under a name that says so
        (`?ssn=`, `?cpf=`, `?number=`): `?id=760517876` is a page's id."""
        value = value.strip()
        if patterns.EMAIL.fullmatch(value):
            return "email"
        if patterns.is_iban(value):
            return "iban"
        if patterns.CARD.fullmatch(value) and patterns.is_card(value):
            return "card"
        if not _PERSONAL_PARAM.search(name):
            return None
        if ids.is_national_id(value):
            return "id"
        if self.phones.find(value, []):
            return "phone"
        return None


def isbn_ok(text: str) -> bool:
    digits = [c for c in text if c.isdigit() or c == "X"]
    if len(digits) == 13:
        return sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0
    return isbn10_ok(text)


class _Spans:
    """Spans found so far, and the fenced-off links: a later kind never overlaps either."""

    def __init__(self):
        self.spans: list[tuple[int, int, str]] = []
        self.blocked: list[tuple[int, int]] = []

    def add(self, start: int, end: int, kind: str) -> bool:
        if start >= end or any(start < e and s < end for s, e in self.blocked):
            return False
        self.spans.append((start, end, kind))
        self.blocked.append((start, end))
        return True

    def add_all(self, pattern: re.Pattern, text: str, kind: str, accept=None,
                accept_match=None) -> None:
        for match in pattern.finditer(text):
            if ((accept is None or accept(match.group()))
                    and (accept_match is None or accept_match(match))):
                self.add(*match.span(), kind)

    def fence(self, start: int, end: int) -> None:
        self.blocked.append((start, end))
