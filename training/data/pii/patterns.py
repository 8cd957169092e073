"""What each kind of personal data or secret looks like, and the checks that tell a real
one from an ordinary string of the same shape (Luhn for cards, mod 97 for IBANs, a user id
inside a Discord token, randomness for keys).

Every pattern here runs on the normalised text (pii/normalize.py): plain ASCII forms only.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections import Counter

PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)"
)
# Credential shapes with a fixed prefix: AWS, GitHub, GitLab, Slack, OpenAI/Anthropic-style,
# Google, Stripe, Hugging Face, npm, SendGrid, Telegram bot tokens, JWTs (signed or not: an
# unsigned token `header.payload.` still carries its claims).
KNOWN_SECRET = re.compile(
    r"(?<![\w-])(?:(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,255}"
    r"|github_pat_[A-Za-z0-9_]{22,255}|glpat-[A-Za-z0-9_-]{20,}|xox[abposre]-[A-Za-z0-9-]{10,}"
    r"|sk-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35}|ya29\.[0-9A-Za-z_-]{20,}"
    r"|[rsp]k_(?:live|test)_[0-9A-Za-z]{16,}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36}"
    r"|SG\.[\w-]{16,}\.[\w-]{16,}|\d{8,10}:AA[\w-]{30,40}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)"
)
# A Discord token is base64(user id) . timestamp . HMAC; mfa. tokens are one long run.
DISCORD_TOKEN = re.compile(
    r"(?<![\w.-])(?:mfa\.[\w-]{80,}|[\w-]{23,28}\.[\w-]{6,7}\.[\w-]{27,40})(?![\w-])"
)
# `password: hunter2`, `my password is hunter2`, `api_key=...`: the value after a name that
# says it is secret. With `is` the value must hold a digit or symbol, since `my password is
# too long` is prose; after a colon or `=` a password may be a plain word.
ASSIGNED_SECRET = re.compile(
    r"(?i)\b(?P<name>pass(?:word|wd|code|phrase)?|pwd|pw|pin|api[ _-]?key|secret|token"
    r"|access[ _-]?(?:key|token)|auth(?:[ _-]?token)?|private[ _-]?key)"
    r"(?P<sep>\s*[:=]\s*|\s+(?:is|was)\s+)(?P<value>[^\s\[\]]{4,})"
)
_PASSWORD_NAMES = {"password", "passwd", "passcode", "passphrase", "pwd"}
LONG_RUN = re.compile(r"(?<![\w/+=-])[A-Za-z0-9_+/=-]{32,}(?![\w/+=-])")
INVITE = re.compile(
    r"(?i)(?<![\w.-])(?:https?://)?(?:www\.)?(?:(?:ptb\.|canary\.)?discord(?:app)?\.com/invite"
    r"|discord\.(?:gg|me|io)|dsc\.gg)/[A-Za-z0-9-]{2,32}(?![\w-])"
)
# Letters and digits of any script (non-ASCII addresses are valid: RFC 6531). Spaces may
# follow the @, or sit on both sides of it, and a line break (two messages of one turn) may
# split it; a space before the @ alone is a mention (`ping @chen.li`), not an address.
EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]*\w(?:\s+@\s+|\s*\n\s*@\s*|@\s*)"
    r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}(?![\w-])"
)
# `alice at example dot com`, `alice[at]example[.]com`, `alice (at) gmail.com`: the written
# out forms people use to dodge scrapers. One of the two separators must be written out (or
# the domain a known mail provider), and the last label a common top-level domain, so
# `look at this.png` stays text.
_AT = r"(?:\s*[\[({<]\s*at\s*[\])}>]\s*|\s+at\s+)"
_WRITTEN_DOT = r"\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+dot\s+"
_DOT = rf"(?:{_WRITTEN_DOT}|\.)"
COMMON_TLDS = (
    "com|net|org|edu|gov|io|co|me|info|biz|us|uk|de|fr|in|au|ca|nl|be|ch|at|it|es|pt|pl|se|no"
    "|dk|fi|ie|nz|br|mx|ar|ru|ua|cz|jp|kr|cn|tw|hk|sg|ph|id|my|za|tr|gr|ro|hu|dev|app|xyz"
)
MAIL_PROVIDERS = ("gmail|googlemail|yahoo|hotmail|outlook|live|msn|icloud|me|aol|proton|"
                  "protonmail|pm|gmx|web|mail|yandex|zoho|qq|163|fastmail|tutanota|posteo")
SPELLED_EMAIL = re.compile(
    rf"(?i)(?<![\w.%+-])(?P<local>[\w.%+-]*\w(?:(?:{_WRITTEN_DOT})[\w.%+-]*\w)*)"
    rf"(?P<at>{_AT}|@)(?P<domain>(?:[^\W_][\w-]*{_DOT})+)"
    rf"(?:{COMMON_TLDS})(?![\w-])"
)
_SPELLED_DOT = re.compile(rf"(?i){_WRITTEN_DOT}")
_PROVIDER = re.compile(rf"(?i)^(?:{MAIL_PROVIDERS})\W")
# 13 to 19 digits as cards are printed; a single unbroken run of 17 or more is a Discord id
# (snowflake), not a card. Each shape is spelled out, so two cards in a row are two matches.
_SEP = r"[ .\n-]?"  # a space, dot or dash between groups (a line break: two messages)
CARD = re.compile(
    r"(?<![\w.-])(?:"
    rf"[2-6]\d{{3}}(?:{_SEP}\d{{4}}){{3}}(?:{_SEP}\d{{3}}(?!\d))?"  # 16 or 19 digits in fours
    rf"|3\d{{3}}{_SEP}\d{{6}}{_SEP}\d{{4,5}}"  # American Express 4-6-5, Diners 4-6-4
    r"|[2-6]\d{12,18}"  # unbroken
    r")(?![\w-]|\.\d)"
)
# Printed in groups of four or unbroken; upper case, as banks print them (in lower case,
# `is12 this text` has the same shape).
IBAN = re.compile(
    r"(?<![\w-])[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,3})?(?![\w-])"
)
# Octets separated by `.`, `[.]`, `(.)` (how security folk "defang" an address), ` . ` or
# ` dot `; `1. 2. 3. 4.` is a numbered list. An octet may be zero-padded (`192.168.001.010`,
# as some routers print them).
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|0\d{1,2}|[1-9]?\d)"
_IP_DOT = r"(?:\.|\[\.\]|\(\.\)| \. | dot )"
IPV4 = re.compile(rf"(?<![\w.])(?:{_OCTET}{_IP_DOT}){{3}}{_OCTET}(?![\w]|\.\d)")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# How card numbers are printed: in fours (a 19-digit card ends in three), or 4-6-5 / 4-6-4
# (American Express, Diners). `315-2658022-5649459` is an order number, whatever Luhn says.
_CARD_GROUPS = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 4, 4, 4, 4), (4, 4, 4, 1), (4, 6, 5), (4, 6, 4)}
_GROUP = re.compile(r"\d+")


def is_card(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if not 13 <= len(digits) <= 19 or not luhn_ok(digits):
        return False
    if digits == candidate:
        return len(digits) <= 16  # an unbroken 17-19 digit run is a Discord id far more often
    return tuple(len(group) for group in _GROUP.findall(candidate)) in _CARD_GROUPS


def is_iban(candidate: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97."""
    compact = candidate.replace(" ", "").replace("-", "")
    if not 15 <= len(compact) <= 34 or compact.isdigit():
        return False
    number = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(number) % 97 == 1


def looks_random(run: str) -> bool:
    """A long run with mixed character classes and high entropy: a key, not a word."""
    classes = sum((any(c.islower() for c in run), any(c.isupper() for c in run),
                   any(c.isdigit() for c in run)))
    if classes < 2 or not any(c.isdigit() for c in run):
        return False
    counts = Counter(run)
    entropy = -sum(n / len(run) * math.log2(n / len(run)) for n in counts.values())
    return entropy >= 3.5


def is_discord_token(candidate: str) -> bool:
    if candidate.startswith("mfa."):
        return True
    head = candidate.split(".", 1)[0]
    try:  # the first part decodes to the account's numeric id
        user_id = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except (binascii.Error, ValueError):
        return False
    return user_id.isdigit() and 15 <= len(user_id) <= 21


def is_ipv6(candidate: str) -> bool:
    if sum(1 for group in candidate.split(":") if group) < 3:
        return False  # `12:30:45` is a time, `::` is nothing anyone types as an address
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def is_spelled_email(match: re.Match) -> bool:
    """A written-out address: `[at]`, `(at)` and the like say so themselves; a plain ` at `
    (`I work at google.com`) needs a written-out dot too, or a mail provider's domain."""
    at = match.group("at")
    if at == "@":
        return bool(_SPELLED_DOT.search(match.group("domain")))
    if any(bracket in at for bracket in "[({<"):
        return True
    return bool(_SPELLED_DOT.search(match.group("domain"))
                or _PROVIDER.match(match.group("domain")))


# What ends a sentence after a value, rather than belonging to it: left out of the mask.
# `!`, `?`, `*` and `~` are masked with the value (passwords end in them), but do not
# make a word a secret (`my pin is down!` is prose).
_AFTER_VALUE = ".,;:)]}'\""
_MAYBE_PART_OF_IT = "!?*~"


def assigned_secret(match: re.Match) -> tuple[int, int] | None:
    """The span of the value after a secret's name, if it is one."""
    value = match.group("value").rstrip(_AFTER_VALUE)
    judged = value.rstrip(_MAYBE_PART_OF_IT + _AFTER_VALUE)
    if len(judged) < 4:
        return None
    if judged.isalpha():
        # `token: banana` is a word; `password: hunter` after a colon is a password.
        separator = match.group("sep")
        if (match.group("name").lower() not in _PASSWORD_NAMES
                or "is" in separator or "was" in separator):
            return None
    elif not any(c.isdigit() for c in judged) and judged.isalnum():
        return None
    start = match.start("value")
    return start, start + len(value)
