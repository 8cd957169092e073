"""Links: kept whole, except the secrets that ride in them.

A link is not personal data, and cutting one (`https://tenor.[secret]`) both damages the
text and teaches the model broken URLs; so the digits and long runs inside a link are not
read as phone numbers or keys. What a link can carry is masked where it sits:
`https://alice:[secret]@host/`, `discord.com/api/webhooks/123/[token]`,
`?token=[secret]&page=2`, `http://[ip]:8080/`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# scheme://... or www.... up to a space or a character that never appears in a link as
# typed in chat; or a bare domain followed by a path (`tenor.com/view/...`).
_SCHEME_URL = re.compile(r"(?i)(?<![\w.+-])(?:[a-z][a-z0-9+.-]{1,15}://|www\.)[^\s<>\"'`|]+")
_BARE_URL = re.compile(r"(?i)(?<![\w@.+/-])(?:[a-z0-9-]+\.)+[a-z]{2,24}/[^\s<>\"'`|]*")
_TRAILING = ".,;:!?'\"*_~>"
# user:password@ right after the scheme
_USERINFO = re.compile(r"^[a-zA-Z][\w+.-]*://(?P<info>[^/?#@\s]*:[^/?#@\s]*)@")
_IP_HOST = re.compile(
    r"^[a-zA-Z][\w+.-]*://(?:[^/?#@\s]*@)?(?P<host>\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\])"
    r"(?=[:/?#]|$)"
)
_PATH_SECRETS = (
    (re.compile(r"(?i)discord(?:app)?\.com/api/(?:v\d+/)?webhooks/\d+/(?P<value>[\w-]+)"),
     "token"),
    (re.compile(r"(?i)hooks\.slack\.com/(?:services|workflows)/(?P<value>[\w/-]+)"), "secret"),
    (re.compile(r"(?i)api\.telegram\.org/(?:file/)?bot(?P<value>\d{6,12}:[\w-]{30,})"), "secret"),
)
# Messenger links carry a phone number: wa.me/447946..., t.me/+44..., signal.me/#p/+44...,
# and so do tel:, sms: and callto: (which are not links to find_links, having no `//`);
# the masker reads these over the whole text (pii/__init__.py).
PHONE_IN_LINK = re.compile(
    r"(?i)(?:wa\.me/|t\.me/|telegram\.me/|signal\.me/#p/|whatsapp\.com/send/?\?phone="
    r"|viber://(?:chat|contact)\?number=|(?<![\w])(?:tel|sms|callto|facetime):)"
    r"(?P<value>(?:\+|%2B)?\d(?:[\d()-]|%20){6,20})"
)
_PARAM = re.compile(r"[?&#;](?P<name>[\w.\[\]-]+)=(?P<value>[^&#;\s]+)")
_SECRET_PARAMS = {
    "token", "access_token", "refresh_token", "id_token", "auth", "auth_token", "authtoken",
    "key", "api_key", "apikey", "api-key", "password", "passwd", "pwd", "pass", "secret",
    "client_secret", "session", "sessionid", "session_id", "sid", "sig", "signature",
    "x-amz-signature", "x-amz-credential", "x-amz-security-token", "private_token",
}
_PARAM_KINDS = {"email": "email", "mail": "email", "e-mail": "email", "phone": "phone",
                "tel": "phone", "mobile": "phone", "ip": "ip"}


def find_links(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every link in `text`, trailing punctuation left out."""
    found = [match.span() for match in _SCHEME_URL.finditer(text)]
    if "/" in text:
        found += [span for span in (m.span() for m in _BARE_URL.finditer(text))
                  if not any(s <= span[0] < e for s, e in found)]
    for start, end in sorted(found):
        yield start, _trimmed_end(text, start, end)


def _trimmed_end(text: str, start: int, end: int) -> int:
    """Leave out what ends a sentence, and a closing bracket the link did not open
    (`(see https://en.wikipedia.org/wiki/Cat_(disambiguation))`)."""
    while end > start:
        last = text[end - 1]
        if last in _TRAILING:
            end -= 1
        elif last in ")]}":
            opener = "([{"[")]}".index(last)]
            if text.count(opener, start, end) < text.count(last, start, end):
                end -= 1
            else:
                break
        else:
            break
    return end


def secrets_in_link(link: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, kind) of what must be masked inside one link, relative to it."""
    userinfo = _USERINFO.match(link)
    if userinfo:
        yield (*userinfo.span("info"), "secret")
    host = _IP_HOST.match(link)
    if host:
        yield (*host.span("host"), "ip")
    for pattern, kind in _PATH_SECRETS:
        for match in pattern.finditer(link):
            yield (*match.span("value"), kind)
    if "=" in link:
        for match in _PARAM.finditer(link):
            name = match.group("name").lower()
            if name in _SECRET_PARAMS or name.endswith(("token", "secret", "password", "apikey",
                                                        "api_key", "_key")):
                yield (*match.span("value"), "secret")
            elif name in _PARAM_KINDS:
                yield (*match.span("value"), _PARAM_KINDS[name])
            else:  # any other value is judged whole: a card, an IBAN, an id in a form link
                yield (*match.span("value"), f"judge:{name}")
