"""A secret given by name: `password: hunter2`, `DB_PASSWORD=hunter2`, `"password": "x"`,
`the wifi password's hunter2`, `Passwort: …`, `パスワードはhunter2です`, `비밀번호는 …`.

The class is "a name that says secret, a way of introducing its value, the value", so the
rule is written as that and not as a list of sentences:
  - the name is a word for password in one of many languages, or any identifier that holds
    password / passwd / pwd / secret / token / key / credential as one of its parts
    (`SECRET_KEY`, `apiKey`, `x-api-key`, `client_secret`), optionally in quotes (JSON);
  - the value is introduced by `=`, `:`, `=>`, `->`, a dash, `'s`, or the language's `is`
    (`ist`, `est`, `es`, `é`, `è`, `är`, `on`, `er`, `to`, `este`, `είναι`, `היא`, `คือ`,
    `は`, `是`, `는`), or by nothing but a space when the value holds a digit or symbol
    (`password hunter2`; `password reset` is prose);
  - the value runs to the end of its line or sentence (a passphrase is several words), or
    to its closing quote; after `=` in code, to the next space.
A value that is plainly prose (`my password is too long`, `the token: banana`...) is the
one judgement call: after a spoken `is`, a first word from a short list of what people say
about passwords leaves it alone. When unsure, it is masked.
"""

from __future__ import annotations

import re

# Words for "password" (and PIN) in the languages the measurement covers and a few more.
_PASSWORD_WORDS = (
    r"pass(?:word|wd|code|phrase|wort|ord)?|pwd|pw|pin(?:\s*code)?"
    r"|mot\s+de\s+passe|mdp|contrase[ñn]a|clave|senha|palavra[- ]passe|wachtwoord"
    r"|has[łl]o|пароль|парол[ья]|şifre(?:m|si)?|sifre|l[öo]senord|salasana|adgangskode"
    r"|passord|heslo|jelsz[óo]|parol[aă]|κωδικ[όο]ς(?:\s+πρόσβασης)?|συνθηματικό|סיסמ[הא]"
    r"|รหัสผ่าน|รหัส|mật\s+khẩu|kata\s+sandi|sandi|パスワード|暗証番号|密码|密碼|口令"
    r"|비밀번호|비번|암호"
)
# Words for "key" and "token" in other languages: like `key`, taken at their word only when
# the value looks like a key (`la clé est sous le paillasson` is prose).
_KEY_WORDS = (
    r"cl[ée]|schl[üu]ssel|chiave|llave|sleutel|klucz|anahtar|nyckel|avain|n[øo]g(?:le|kel)"
    r"|cheie|ключ|токен|секрет|κλειδί|מפתח|กุญแจ|キー|トークン|密钥|密鑰|令牌|키|토큰"
)
# Identifier parts that make a key secret: `DB_PASSWORD`, `SECRET_KEY`, `apiKey`, `auth-token`.
_SECRET_PARTS = r"(?:password|passwd|passphrase|pwd|secret|token|key|credentials?|auth|pin)"
_IDENTIFIER = (
    rf"(?:[A-Za-z0-9]+[_.-]|[a-z0-9]+(?=[A-Z]))*"
    rf"(?i:{_SECRET_PARTS})(?:(?:[_.-]|(?<=[a-z])(?=[A-Z]))[A-Za-z0-9]+)*"
)
# How a value is introduced. Spoken `is` in each language; `'s` (`the wifi password's`);
# Polish `hasło to …` (only after hasło: `the pin to my card` is English).
_SPOKEN = (r"is|was|'s|ist|war|est|était|es|era|é|è|är|on|er|jest|este|είναι|היא|הוא"
           r"|คือ|là|adalah|dir|olarak")
_CJK_TOPIC = r"は|が|是|为|為|는|은|:|：|คือ"
SECRET_NAMED = re.compile(
    rf"(?<![\w])(?P<name>(?i:(?:my|the|your|our|wifi|wi-fi|db|root|admin|new|old|account)\s+)*"
    rf"(?:(?i:{_PASSWORD_WORDS}|{_KEY_WORDS})|{_IDENTIFIER}))(?P<q>[\"']?)"
    rf"(?P<sep>\s*(?:=>|->|[:=：]|—|–|\s-)\s*|\s+(?:{_SPOKEN})(?:\s*[:=])?\s+|(?<=\w)'s\s+"
    rf"|(?<=[łl]o)\s+to\s+|\s*(?:{_CJK_TOPIC})\s*|[ \t]+(?=\S*(?:\d|[^\w\s])))"
    rf"(?P<value>[^\s\[\]][^\n]*)?"
)
# What people say about a password rather than what it is (after a spoken `is`).
_PROSE = frozenset(
    "on in at too so very not wrong incorrect invalid expired weak strong long short "
    "easy hard required needed changed different same reset written saved stored "
    "gone lost down case-sensitive secure safe protected sent missing".split()
)
_QUOTES = "\"'`"
_SENTENCE_END = re.compile(r"[.!?;,。！？、]\s|[.!?。！？]$|\s[-–—]\s|\s{2,}|`")
_NEXT_ASSIGNMENT = re.compile(r"[\s&;,]\w+=")  # `KEY=value OTHER=...`, `?a=1&b=2`
_CODE_VALUE_END = re.compile(r"[\s,;&]")
_COPULA_END = re.compile(r"(?:です|だよ|だ|입니다|이에요|예요|이야|야|이다|啊|吧|。)+$")


# A cheap look for any of the names above in lower-case text (most chat has none), written
# as a trie of first letters: Python's regex engine tries each alternative at each position,
# and this runs on every turn of the export (bench/parse.py).
HINT = re.compile(r"p(?:ass|w|in|arol)|key|s(?:ecret|enha|ifre|alasana|andi|enord|leutel)"
                  r"|token|a(?:uth|dgang|nahtar|vain)|c(?:red|ontrase|lave|hiave|heie)"
                  r"|h(?:as[łl]o|eslo)|wachtw|m(?:dp|ot de)|jelsz|llave|klucz|n(?:yckel|og)")


def might_name_secret(lower: str) -> bool:
    return not lower.isascii() or HINT.search(lower) is not None


def secret_spans(text: str):
    """(start, end) of each value given under a secret's name."""
    for match in SECRET_NAMED.finditer(text):
        if match.group("value") is None:
            continue
        span = _value_span(match)
        if span:
            yield span


def _value_span(match: re.Match) -> tuple[int, int] | None:
    sep = match.group("sep")
    start = match.start("value")
    value = match.group("value")
    quote = match.group("q")
    if value[0] in _QUOTES:  # a quoted value runs to its closing quote
        close = value.find(value[0], 1)
        if close > 1:
            return start + 1, start + close
        value, start = value[1:], start + 1
    spoken = sep.strip() not in ("=", ":", "：", "=>", "->", "—", "–", "-") and not quote
    line = value.split("\n", 1)[0]
    if not sep.strip():  # `password hunter2`: one word, and it must not be a plain word
        value = value.split()[0]
        if value.rstrip(".,;:!?").isalpha() or len(value) < 4:
            return None  # `password reset`, `pass 3 items`
    elif "=" in sep and " " not in sep.strip("= ") and _NEXT_ASSIGNMENT.search(line):
        end = _CODE_VALUE_END.search(value)  # code: `KEY=value other=...`
        value = value[:end.start()] if end else value
    else:
        end = _SENTENCE_END.search(value)
        value = value[:end.start()] if end else value
    value = _COPULA_END.sub("", value.rstrip()).rstrip(".,;:)]}'\"`")
    if len(value) < 3 and not value.isdigit() and " " not in value:
        return None
    first = value.split()[0].lower() if value.split() else ""
    if spoken and first.rstrip("!?.,") in _PROSE:
        return None
    if spoken and _names_a_thing(match.group("name"), value):
        return None
    return start, start + len(value)


def _names_a_thing(name: str, value: str) -> bool:
    """`the key is under the mat`, `token economy`: `key`/`token`/`auth` spoken about, not
    given. A password word is always taken at its word; the generic parts only when the
    value looks like one (a digit or a symbol, no space)."""
    if re.search(rf"(?i:{_PASSWORD_WORDS})", name):
        return False
    if "_" in name or "-" in name or any(c.isupper() for c in name[1:]):
        return False  # an identifier: SECRET_KEY, apiKey
    return " " in value or value.isalpha()
