"""Masking personal data and secrets in message text.

Each kind is replaced by a bracketed tag (`[email]`, `[phone]`...): the model still sees
that something was there, which keeps sentences natural, but never the value. Masking runs
on context and targets alike, so a model cannot learn (or repeat) anyone's address.

Order matters: secrets and cards are long digit/letter runs that the phone-number matcher
would otherwise half-claim, so they go first; phone numbers, the costliest check (the
`phonenumbers` library), go last and only when the text has enough digits to hold one.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable

import phonenumbers

KINDS = ("secret", "token", "invite", "email", "card", "ip", "phone")
TAGS = {kind: f"[{kind}]" for kind in KINDS}

_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)"
)
# Well-known credential shapes: AWS, GitHub, GitLab, Slack, OpenAI-style, Google, Stripe, JWT.
_KNOWN_SECRET = re.compile(
    r"\b(?:AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255}"
    r"|glpat-[A-Za-z0-9_-]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{20,}"
    r"|AIza[0-9A-Za-z_-]{35}|[rs]k_(?:live|test)_[0-9A-Za-z]{16,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"
)
# A Discord token is base64(user id) . timestamp . HMAC; mfa. tokens are one long run.
_DISCORD_TOKEN = re.compile(
    r"(?<![\w.-])(?:mfa\.[\w-]{80,}|[\w-]{23,28}\.[\w-]{6,7}\.[\w-]{27,40})(?![\w-])"
)
# `password: hunter2`, `api_key=...`: the value after a secret-sounding name.
_ASSIGNED_SECRET = re.compile(
    r"(?i)\b(?P<name>pass(?:word|wd)?|pwd|api[_-]?key|secret|token|access[_-]?key|auth)"
    r"(?P<sep>\s*[:=]\s*)(?P<value>[^\s\[\]]{6,})"
)
_LONG_RUN = re.compile(r"(?<![\w/+=-])[A-Za-z0-9_+/=-]{32,}(?![\w/+=-])")
_INVITE = re.compile(
    r"(?i)\b(?:https?://)?(?:www\.)?(?:discord(?:app)?\.com/invite|discord\.(?:gg|me|io)"
    r"|dsc\.gg)/[A-Za-z0-9-]{2,32}\b"
)
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
)
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])")
_IPV4 = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?![\d]|\.\d)"
)
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_ENOUGH_DIGITS_FOR_PHONE = re.compile(r"\d(?:[\s().\-/]{0,3}\d){6,}")
# Cheap looks that rule out most chat lines before any of the checks above run. Plain
# substring tests: one regex alternation over all of them costs more than the rest of
# prepare does per message.
_DIGITS = re.compile(r"\d\D?\d")  # every digit-based kind has two digits this close
_LONG_RUN_HINT = re.compile(r"\S{20}")
_SECRET_NAMES = ("pass", "pwd", "key", "secret", "token", "auth")


def might_hold_pii(text: str) -> bool:
    """False only when no rule below could match: no digit, @, long run, invite or key name."""
    if "@" in text or "::" in text or "-----BEGIN" in text or _DIGITS.search(text):
        return True
    lower = text.lower()
    if "discord" in lower or "dsc.gg" in lower or _LONG_RUN_HINT.search(text):
        return True
    return ("=" in text or ":" in text) and any(name in lower for name in _SECRET_NAMES)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _looks_random(run: str) -> bool:
    """A long run with mixed character classes and high entropy: a key, not a word."""
    classes = sum((any(c.islower() for c in run), any(c.isupper() for c in run),
                   any(c.isdigit() for c in run)))
    if classes < 2 or not any(c.isdigit() for c in run):
        return False
    counts = Counter(run)
    entropy = -sum(n / len(run) * math.log2(n / len(run)) for n in counts.values())
    return entropy >= 3.5


def _is_discord_token(candidate: str) -> bool:
    if candidate.startswith("mfa."):
        return True
    head = candidate.split(".", 1)[0]
    try:  # the first part decodes to the account's numeric id
        user_id = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except (binascii.Error, ValueError):
        return False
    return user_id.isdigit() and 15 <= len(user_id) <= 21


class PiiMasker:
    """Masks one text at a time and counts what it masked, by kind."""

    def __init__(self, phone_region: str = "US"):
        self.phone_region = phone_region
        self.counts: Counter[str] = Counter()

    def mask(self, text: str) -> str:
        if not text or not might_hold_pii(text):
            return text
        # Masking one kind can, rarely, leave a new match for another; repeat to a fixed
        # point so cleaning a cleaned text changes nothing (tested with hypothesis).
        for _ in range(4):
            masked = self._mask_once(text)
            if masked == text:
                break
            text = masked
        return text

    def _mask_once(self, text: str) -> str:
        text = self._sub(_PRIVATE_KEY, text, "secret")
        text = self._sub(_KNOWN_SECRET, text, "secret")
        text = self._sub(_DISCORD_TOKEN, text, "token", _is_discord_token)
        text = self._sub(_INVITE, text, "invite")
        text = self._sub(_EMAIL, text, "email")
        text = self._mask_assigned(text)
        text = self._sub(_LONG_RUN, text, "secret", _looks_random)
        text = self._sub(_CARD, text, "card", lambda s: _luhn_ok(re.sub(r"\D", "", s)))
        text = self._sub(_IPV4, text, "ip")
        text = self._sub(_IPV6, text, "ip", _valid_ipv6)
        if _ENOUGH_DIGITS_FOR_PHONE.search(text):
            text = self._mask_phones(text)
        return text

    def _sub(self, pattern: re.Pattern, text: str, kind: str,
             accept: Callable[[str], bool] | None = None) -> str:
        def replace(match: re.Match) -> str:
            if accept is not None and not accept(match.group(0)):
                return match.group(0)
            self.counts[kind] += 1
            return TAGS[kind]

        return pattern.sub(replace, text)

    def _mask_assigned(self, text: str) -> str:
        def replace(match: re.Match) -> str:
            value = match.group("value")
            if not (any(c.isdigit() for c in value) or not value.isalpha()):
                return match.group(0)  # `token: banana` is a word, not a secret
            self.counts["secret"] += 1
            return f"{match.group('name')}{match.group('sep')}{TAGS['secret']}"

        return _ASSIGNED_SECRET.sub(replace, text)

    def _mask_phones(self, text: str) -> str:
        spans = [
            (found.start, found.end)
            for found in phonenumbers.PhoneNumberMatcher(
                text, self.phone_region, leniency=phonenumbers.Leniency.VALID
            )
        ]
        for start, end in reversed(spans):
            self.counts["phone"] += 1
            text = text[:start] + TAGS["phone"] + text[end:]
        return text


def _valid_ipv6(candidate: str) -> bool:
    if sum(1 for group in candidate.split(":") if group) < 3:
        return False  # `12:30:45` is a time, `::` is nothing anyone types as an address
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True
