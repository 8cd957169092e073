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
# A long run of mixed letters and digits: a key; a run of hex digits (and dashes) is a git
# SHA, a digest or a UUID, which is ordinary text (looks_random).
_HEX_DIGEST = re.compile(r"[0-9a-f-]+|[0-9A-F-]+")
LONG_RUN = re.compile(r"(?<![\w/+=-])[A-Za-z0-9_+/=-]{32,}(?![\w/+=-])")
INVITE = re.compile(
    r"(?i)(?<![\w.-])(?:https?://)?(?:www\.)?(?:(?:ptb\.|canary\.)?discord(?:app)?\.com/invite"
    r"|discord\.(?:gg|me|io)|dsc\.gg)/[A-Za-z0-9-]{2,32}(?![\w-])"
)
# Letters and digits of any script (non-ASCII addresses are valid: RFC 6531). Spaces may
# sit around the @ and the dots (`alice @ example . com`), the dot may be the ideographic
# full stop (`alice@example。com`), and a line break (two messages of one turn) may split
# it. With a space or line break before the @, or a space around a dot, the address must end
# in a common top-level domain (is_email): `ping @chen.li` is a mention.
EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]*\w(?P<at>\s*\n\s*@\s*|[ \t]*@\s*)"
    r"(?P<domain>(?:[^\W_](?:[\w-]*[^\W_])?[ \t]?[.\u3002][ \t]?)+)(?P<tld>[^\W\d_]{2,})(?![\w-])"
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
    "|th|vn|il|sk|si|hr|bg|rs|lt|lv|ee|is|lu|cl|pe|ve|eg|sa|ae|pk|bd|ng|ke|by|kz"
)
_COMMON_TLD_SET = frozenset(COMMON_TLDS.split("|")) - {"li"}
MAIL_PROVIDERS = ("gmail|googlemail|yahoo|hotmail|outlook|live|msn|icloud|me|aol|proton|"
                  "protonmail|pm|gmx|web|mail|yandex|zoho|qq|163|fastmail|tutanota|posteo")
SPELLED_EMAIL = re.compile(
    rf"(?i)(?<![\w.%+-])(?P<local>[\w.%+-]*\w(?:(?:{_WRITTEN_DOT})[\w.%+-]*\w)*)"
    rf"(?P<at>{_AT}|@)(?P<domain>(?:[^\W_][\w-]*{_DOT})+)"
    rf"(?:{COMMON_TLDS})(?![\w-])"
)
_SPELLED_DOT = re.compile(rf"(?i){_WRITTEN_DOT}")
_PROVIDER = re.compile(rf"(?i)^(?:{MAIL_PROVIDERS})\W")
# 12 to 19 digits as cards are printed: unbroken, or in the issuer's groups (fours, 4-6-5,
# 4-6-4...) with any one separator (space, `-`, `.`, `/`, `_`, a line break between two
# messages), or as spaced single digits. is_card judges the grouping, the issuer and Luhn.
CARD = re.compile(r"(?<![\w.,/-])[1-689](?:[ ._/\n-]{1,2}\d|\d){11,18}(?![\w-]|[.,]\d)")
# Printed in groups of four or unbroken, in upper case as banks print them or all in lower
# case as some people type them (never mixed: `is12 this text`); the mod 97 check decides.
# A line break may split it (two messages).
IBAN = re.compile(r"(?<![\w-])(?:[A-Z]{2}\d{2}(?:[ \n-]?[A-Z0-9]){10,30}"
                  r"|[a-z]{2}\d{2}(?:[ \n-]?[a-z0-9]){10,30})(?![\w-])")
# Octets separated by `.`, `[.]`, `(.)` (how security folk "defang" an address), ` . ` or
# ` dot `; `1. 2. 3. 4.` is a numbered list. An octet may be zero-padded (`192.168.001.010`,
# as some routers print them).
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|0\d{1,2}|[1-9]?\d)"
_IP_DOT = r"(?:\n?\.\n?|\[\.\]|\(\.\)| \. | dot )"
IPV4 = re.compile(rf"(?<![\w.])(?:{_OCTET}{_IP_DOT}){{3}}{_OCTET}(?![\w]|\.\d)")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}\n?:\n?){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# How card numbers are printed: in fours (a 19-digit card ends in three), 4-4-5 (13 digits),
# 4-6-5 / 4-6-4 (American Express, JCB 15, Diners), 4-4-4 (12-digit Maestro). Grouped any
# other way (`315-2658022-5649459`) it is an order number, whatever Luhn says.
_CARD_GROUPS = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 4, 4, 4, 4), (4, 4, 4, 1), (4, 6, 5),
                (4, 6, 4), (4, 4, 5), (4, 4, 4), (4, 4, 4, 3), (4, 4, 4, 2), (4, 4, 4, 4, 2),
                (4, 4, 4, 4, 1)}
_GROUP = re.compile(r"\d+")
_CARD_SEPARATOR = re.compile(r"[^\d\n]+")
# Issuer numbers (IIN) of the card schemes: Visa 4, Mastercard 51-55 and 2221-2720, American
# Express 34/37, Diners 300-305/36/38/39, Discover/UnionPay 6, JCB 35 and 1800/2131, Maestro
# 50/56-69, Mir 2200-2204, UnionPay 62/81, Prostir (Ukraine) 9.
_ISSUER = re.compile(r"4|5[0-9]|2[2-7]|3[4-9]|30[0-5]|6|81|1800|2131|9")


def is_card(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if not 12 <= len(digits) <= 19 or not luhn_ok(digits) or not _ISSUER.match(digits):
        return False
    separators = set("".join(_CARD_SEPARATOR.findall(candidate)))
    if len(separators) > 1:
        # Mixed separators (`4111-1111 1111-1111`) only in a card's own groups of four.
        groups = tuple(len(group) for group in _GROUP.findall(candidate))
        return groups in ((4, 4, 4, 4), (4, 4, 4, 4, 3)) and separators <= set(" -./_")
    groups = tuple(len(group) for group in _GROUP.findall(candidate.replace("\n", "")
                                                          if not separators else candidate))
    if len(groups) == 1:
        # An unbroken 17 or 18 digit run is a Discord id far more often (ids have 19 digits
        # from 2022 on, and start with 1 until about 2029).
        return len(digits) <= 16 or (len(digits) == 19 and digits[0] != "1")
    if all(size == 1 for size in groups):
        return True  # spaced single digits
    if not separators:  # only a line break: two messages split an unbroken number
        return len(digits) <= 16
    joined = candidate.replace("\n", next(iter(separators)))
    groups = tuple(len(group) for group in _GROUP.findall(joined))
    return groups in _CARD_GROUPS


def is_iban(candidate: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97."""
    compact = re.sub(r"[ \n-]", "", candidate).upper()
    if (not 14 <= len(compact) <= 34 or not compact.isascii() or not compact.isalnum()
            or not compact[:2].isalpha() or not compact[2:4].isdigit()):
        return False
    number = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(number) % 97 == 1


def iban_spans(text: str):
    """IBANs in `text`; a candidate that runs into the next words is cut back to the
    longest prefix, group by group, that passes the check."""
    for match in IBAN.finditer(text):
        candidate = match.group()
        while len(candidate) >= 14:
            if is_iban(candidate):
                yield match.start(), match.start() + len(candidate)
                break
            cut = max(candidate.rfind(" "), candidate.rfind("\n"), candidate.rfind("-"))
            if cut < 0:
                break
            candidate = candidate[:cut]


def looks_random(run: str) -> bool:
    """A long run with mixed character classes and high entropy: a key, not a word."""
    classes = sum((any(c.islower() for c in run), any(c.isupper() for c in run),
                   any(c.isdigit() for c in run)))
    if classes < 2 or not any(c.isdigit() for c in run):
        return False
    if _HEX_DIGEST.fullmatch(run):
        return False  # a git SHA, an md5/sha256 digest, a UUID: ordinary text, not a key
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
    candidate = candidate.replace("\n", "")  # split over two messages
    if sum(1 for group in candidate.split(":") if group) < 3:
        return False  # `12:30:45` is a time, `::` is nothing anyone types as an address
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def is_email(match: re.Match) -> bool:
    # `@name.surname` on a line of its own is a mention as often as the second half of an
    # address split over two messages: the common-TLD check decides, as with spaces.
    spaced = match.group("at")[0] in " \t\n" or " " in match.group("domain")
    return not spaced or match.group("tld").lower() in _COMMON_TLD_SET


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
