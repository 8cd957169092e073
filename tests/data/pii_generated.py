"""Generated measurement of the PII masker: personal data made by Faker in many locales, put
in the shapes people type it in chat, and ordinary chat full of numbers and links.

Nothing here is written beside the masker's rules: the values come from Faker (its phone
numbers, e-mails, card numbers of every issuer, IBANs, national id numbers, IP addresses,
passwords), the shapes from the ways a value reaches a Discord turn (alone, inside a sentence,
a key=value line, a code block, a link, a nickname, split over two quick messages, which
prepare joins with a line break). `bench/pii_measure.py` runs it at full size and prints the
table in docs/data.md; tests/data/test_pii_generated.py runs a smaller seeded draw and
asserts the goals.

A value counts as masked when no trace of it is left: no five of its letters and digits in a
row survive in the masked text (so `4111 1111` left beside `[card]`, or the last words of a
passphrase, are leaks).
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from faker import Faker

# 24 locales, with the language their sentences are written in.
LOCALES = {
    "en_US": "en", "en_GB": "en", "en_CA": "en", "en_AU": "en", "en_IN": "en", "de_DE": "de",
    "fr_FR": "fr", "es_ES": "es", "es_MX": "es", "it_IT": "it", "pt_BR": "pt", "pt_PT": "pt",
    "nl_NL": "nl", "pl_PL": "pl", "ru_RU": "ru", "uk_UA": "uk", "tr_TR": "tr", "sv_SE": "sv",
    "fi_FI": "fi", "no_NO": "no", "ro_RO": "ro", "el_GR": "el", "he_IL": "he", "th_TH": "th",
    "ja_JP": "ja", "ko_KR": "ko", "zh_CN": "zh", "zh_TW": "zh",
}
# What the masker promises to mask (its tags; a secret is a password or a key's value).
KINDS = ("email", "phone", "card", "iban", "id", "ip", "secret")

# Per language: a sentence around a value, the word for password, the ways its value is
# introduced (`is`, `:`...), and "here it is".
LANGUAGES = {
    "en": ("ok so it's {v} thanks", "password", ["is", "'s", ":", "=", "was"], "here"),
    "de": ("also es ist {v} danke", "Passwort", ["ist", ":", "="], "hier"),
    "fr": ("alors c'est {v} merci", "mot de passe", ["est", ":", " :"], "voilà"),
    "es": ("pues es {v} gracias", "contraseña", ["es", ":"], "aquí"),
    "it": ("allora è {v} grazie", "password", ["è", ":"], "ecco"),
    "pt": ("então é {v} obrigado", "senha", ["é", ":"], "aqui"),
    "nl": ("dus het is {v} bedankt", "wachtwoord", ["is", ":"], "hier"),
    "pl": ("no to {v} dzięki", "hasło", ["to", ":"], "proszę"),
    "ru": ("короче {v} спасибо", "пароль", [":", "—"], "вот"),
    "uk": ("коротше {v} дякую", "пароль", [":", "—"], "ось"),
    "tr": ("yani {v} teşekkürler", "şifre", [":", "="], "işte"),
    "sv": ("alltså {v} tack", "lösenord", ["är", ":"], "här"),
    "fi": ("eli {v} kiitos", "salasana", ["on", ":"], "tässä"),
    "no": ("altså {v} takk", "passord", ["er", ":"], "her"),
    "ro": ("deci {v} mersi", "parola", ["este", ":"], "uite"),
    "el": ("λοιπόν {v} ευχαριστώ", "κωδικός", ["είναι", ":"], "ορίστε"),
    "he": ("אז {v} תודה", "סיסמה", [":", "היא"], "הנה"),
    "th": ("คือ {v} ขอบคุณ", "รหัสผ่าน", [":", "คือ"], "นี่"),
    "ja": ("これ {v} です", "パスワード", ["は", ":", "："], "はい"),
    "ko": ("그거 {v} 이야", "비밀번호", ["는", ":", "는 "], "여기"),
    "zh": ("就是 {v} 谢谢", "密码", ["是", ":", "："], "给你"),
}
# Keys a value is given under in config files, .env lines and JSON.
SECRET_KEYS = ("DB_PASSWORD", "SECRET_KEY", "password", "api_token", "AUTH_TOKEN", "apiKey",
               "client_secret", "passwd", "MYSQL_ROOT_PASSWORD", "private_key", "access_key")
VALUE_KEYS = {"email": ("email", "EMAIL", "mail"), "phone": ("phone", "tel", "mobile"),
              "card": ("card", "card_number", "cc"), "iban": ("iban", "IBAN", "account"),
              "id": ("ssn", "national_id", "id_number"), "ip": ("host", "ip", "server")}
NICK_NAMES = ("Mochi", "alice", "Bruno", "chen.li", "dee")
CARD_ISSUERS = ("amex", "diners", "discover", "jcb15", "jcb16", "maestro", "mastercard",
                "visa13", "visa16", "visa19")
# How each issuer prints its numbers (group lengths).
_CARD_PRINT = {12: (4, 4, 4), 13: (4, 4, 5), 14: (4, 6, 4), 15: (4, 6, 5), 16: (4, 4, 4, 4),
               19: (4, 4, 4, 4, 3)}
CARD_SEPARATORS = (" ", "-", "", ".", "/", "_", "  ")
SSN_SEPARATORS = ("-", " ", ".", "/", "_", "")


@dataclass(frozen=True)
class Case:
    kind: str       # a KINDS entry, or "ordinary"
    locale: str
    shape: str
    text: str       # the turn the masker sees
    value: str = ""  # what must not survive (empty for ordinary lines)


def compact(text: str) -> str:
    """Letters and digits only, lower case: what is left of a value however it is spaced."""
    return "".join(c for c in text.lower() if c.isalnum())


def leaked(case: Case, masked: str) -> bool:
    """Whether any piece of the value survived: the value itself, or any five letters and
    digits of it in a row that the text around it does not also hold (`4111 1111 [card]`,
    `correct [secret]` for a passphrase are leaks)."""
    if case.value in masked:
        return True
    core = compact(case.value)
    if len(core) < 4:
        return core in compact(masked)
    around = compact(case.text).replace(core, "|")
    # The tags are not the value, and they part what stood either side of them (compacted
    # together, `Mochi | [email]\nok` would read `mochiok`, which holds `ochio` of
    # `dochioiu@...`).
    out = "|".join(compact(piece) for piece in re.split(r"\[[a-z]+\]", masked))
    size = min(5, len(core))
    return any(core[i:i + size] in out and core[i:i + size] not in around
               for i in range(len(core) - size + 1))


# --- values -------------------------------------------------------------------------------

# The official check of each locale's id (python-stdnum), to keep only Faker values that are
# real-shaped ids: Faker's ru_RU, hu_HU and es_MX "ssn" are random digits no check accepts,
# so those locales measure no id. Locales where Faker has only the US form use us.ssn.
ID_CHECKS = {"en_CA": "ca.sin", "fr_FR": "fr.nir", "it_IT": "it.codicefiscale",
             "pt_BR": "br.cpf", "nl_NL": "nl.bsn", "pl_PL": "pl.pesel", "tr_TR": "tr.tckimlik",
             "zh_CN": "cn.ric", "ko_KR": "kr.rrn", "sv_SE": "se.personnummer",
             "fi_FI": "fi.hetu", "no_NO": "no.fodselsnummer", "uk_UA": "ua.rntrc",
             "ro_RO": "ro.cnp", "el_GR": "gr.amka", "he_IL": "il.idnr", "th_TH": "th.pin",
             "ru_RU": "ru.inn", "es_MX": "mx.curp", "en_GB": None, "zh_TW": None}


def _id_ok(locale: str, value: str) -> bool:
    import importlib
    name = ID_CHECKS.get(locale, "us.ssn")
    if name is None:  # the UK's NI number and Taiwan's id: Faker's shape, no stdnum check
        return True
    try:
        return bool(importlib.import_module(f"stdnum.{name}").is_valid(value))
    except Exception:  # noqa: BLE001 - stdnum's own errors on odd input
        return False


def national_id(fake: Faker, rng: random.Random, locale: str) -> str | None:
    """Faker's id for the locale (a valid one: drawn again until its check passes); a US
    social security number in any of the forms people write it in."""
    for _ in range(60):
        value = fake.ssn()
        if _id_ok(locale, value):
            break
    else:
        return None
    if re.fullmatch(r"\d{3}-\d{2}-\d{4}", value):
        value = value.replace("-", rng.choice(SSN_SEPARATORS))
    return value


def card_number(fake: Faker, rng: random.Random) -> str:
    for _ in range(20):
        try:
            digits = fake.credit_card_number(rng.choice(CARD_ISSUERS))
        except KeyError:  # a locale with its own issuers (ru_RU: Mir...)
            digits = fake.credit_card_number()
        if digits[0] != "0":  # en_AU's provider also makes numbers no issuer has
            break
    separator = rng.choice(CARD_SEPARATORS)
    if rng.random() < 0.1:
        return " ".join(digits)  # spaced single digits
    groups, at = [], 0
    for size in _CARD_PRINT.get(len(digits), (len(digits),)):
        groups.append(digits[at:at + size])
        at += size
    return separator.join(groups)


def iban(fake: Faker, rng: random.Random) -> str:
    compact_iban = fake.iban()
    if rng.random() < 0.5:
        return compact_iban
    return " ".join(compact_iban[i:i + 4] for i in range(0, len(compact_iban), 4))


def phone(fake: Faker, rng: random.Random) -> str:
    """Faker's number (its national or international form for the locale); some in the
    international E.164 form and some with a `00` prefix."""
    import phonenumbers
    region = fake.current_country_code()
    for _ in range(20):
        value = fake.phone_number()
        try:  # a possible number of its country: Faker also writes a few no plan allows
            number = phonenumbers.parse(value, region)
            reason = phonenumbers.is_possible_number_with_reason(number)
            # Not a local-only number; and a bare run of digits only when it is an issued
            # number (an unissued bare run is an order number's or a timestamp's shape:
            # docs/data.md lists this limit).
            if reason == phonenumbers.ValidationResult.IS_POSSIBLE and (
                    not value.isdigit() or phonenumbers.is_valid_number(number)):
                break
        except phonenumbers.NumberParseException:
            continue
    draw = rng.random()
    if draw < 0.2 and not value.startswith("+"):
        try:  # E.164 of the same number, as wa.me and Signal links carry it
            parsed = phonenumbers.parse(value, region)
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        except (phonenumbers.NumberParseException, AttributeError, ValueError):
            return value
    return value


def password(fake: Faker, rng: random.Random) -> str:
    draw = rng.random()
    if draw < 0.5:
        return fake.password(length=rng.randint(8, 16))
    if draw < 0.7:  # a passphrase of several words
        return " ".join(fake.words(rng.randint(3, 5)))
    if draw < 0.85:  # a word and a number, as people pick them
        return rng.choice(fake.words(3)) + str(rng.randint(1, 9999))
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(24))


def value_of(kind: str, fake: Faker, rng: random.Random, locale: str) -> str | None:
    if kind == "email":
        return fake.email() if rng.random() < 0.7 else fake.free_email()
    if kind == "phone":
        return phone(fake, rng)
    if kind == "card":
        return card_number(fake, rng)
    if kind == "iban":
        return iban(fake, rng)
    if kind == "id":
        return national_id(fake, rng, locale)
    if kind == "ip":
        return fake.ipv4() if rng.random() < 0.6 else fake.ipv6()
    return password(fake, rng)


# --- shapes -------------------------------------------------------------------------------

def _split(value: str, rng: random.Random) -> str:
    """The value over two quick messages: cut at a separator (or the @) where it has one."""
    cuts = [i for i, c in enumerate(value) if c in " -./_@:"]
    if "@" in value:
        at = value.index("@")
        return value[:at] + "\n" + value[at:]
    if cuts:
        at = rng.choice(cuts)
        return value[:at] + "\n" + value[at + (value[at] == " "):]
    middle = len(value) // 2
    return value[:middle] + "\n" + value[middle:]


def _digits_plus(value: str) -> str:
    return ("+" if value.startswith(("+", "00")) else "") + re.sub(r"\D", "", value).removeprefix(
        "00" if value.startswith("00") else "")


def shapes_of_value(kind: str, value: str, language: str, rng: random.Random) -> Iterator[
        tuple[str, str]]:
    sentence, password_word, separators, here = LANGUAGES[language]
    key = rng.choice(VALUE_KEYS.get(kind, SECRET_KEYS))
    nick = rng.choice(NICK_NAMES)
    yield "alone", value
    yield "sentence", sentence.format(v=value)
    yield "key=value", f"{key}={value}" if " " not in value else f'{key}="{value}"'
    yield "code block", f"{here}:\n```\n{key}: {value}\n```"
    yield "nickname", rng.choice((f"{nick} | {value}", f"{nick} ({value})", f"{nick} ~ {value}"))
    yield "split", f"{here}\n{_split(value, rng)}"
    if kind == "email":
        yield "link", rng.choice((f"mailto:{value}", f"https://example.com/signup?email="
                                  f"{quote(value)}&ref=discord"))
    elif kind == "phone":
        number = _digits_plus(value)
        yield "link", rng.choice((f"https://wa.me/{number.lstrip('+')}", f"t.me/{number}",
                                  f"https://signal.me/#p/{number}", f"tel:{number}",
                                  f"https://api.whatsapp.com/send?phone={number.lstrip('+')}"))
    elif kind == "ip":
        host = f"[{value}]" if ":" in value else value
        yield "link", f"http://{host}:{rng.choice((80, 8080, 25565))}/status"
    else:
        yield "link", f"https://pay.example.com/form?{key}={quote(value.replace(' ', ''))}&step=2"


def shapes_of_secret(value: str, language: str, rng: random.Random) -> Iterator[
        tuple[str, str]]:
    """A password always comes with its name: alone, a random string is no one's secret."""
    sentence, password_word, separators, here = LANGUAGES[language]
    key = rng.choice(SECRET_KEYS)
    separator = rng.choice(separators)
    spaced = f" {separator} " if separator.isalpha() and language not in ("ja", "zh") else (
        f"{separator} " if separator in (":", "：", "'s") else separator or " ")
    said = f"{password_word}{spaced}{value}"
    if language == "en" and rng.random() < 0.4:
        bare = f"password {value}" if not value.replace(" ", "").isalpha() else f"pw: {value}"
        said = rng.choice((f"the wifi password's {value}", f"my password is {value}", bare))
    yield "alone", said
    yield "sentence", sentence.format(v=said)
    quoted = f'"{value}"' if " " in value or rng.random() < 0.3 else value
    yield "key=value", rng.choice((f"{key}={quoted}", f'"{key}": "{value}"', f"{key}: {quoted}"))
    yield "code block", f"```\n{key} = \"{value}\"\n```"
    yield "nickname", f"{rng.choice(NICK_NAMES)} ({password_word}: {value})"
    yield "split", f"{password_word}{spaced.rstrip()}\n{value}"
    yield "link", rng.choice((f"https://admin:{quote(value)}@db.example.com/",
                              f"https://example.com/login?password={quote(value)}&next=/"))


def pii_cases(seed: int, per_locale: int, locales=None) -> Iterator[Case]:
    """`per_locale` values of every kind in every locale, each in every shape."""
    rng = random.Random(seed)
    for locale in locales or LOCALES:
        fake = Faker(locale)
        fake.seed_instance(rng.randrange(2**32))
        language = LOCALES[locale]
        for kind in KINDS:
            for _ in range(per_locale):
                value = value_of(kind, fake, rng, locale)
                if value is None:
                    continue  # no valid id of this locale (see ID_CHECKS)
                shapes = (shapes_of_secret(value, language, rng) if kind == "secret"
                          else shapes_of_value(kind, value, language, rng))
                for shape, text in shapes:
                    yield Case(kind, locale, shape, text, value)


# --- the ordinary side --------------------------------------------------------------------

def _snowflake(rng: random.Random) -> str:
    return str(rng.randrange(10**17, 15 * 10**17))  # Discord ids from 2016 to 2026


def ordinary_value(fake: Faker, rng: random.Random) -> tuple[str, str]:
    """(what it is, a string of numbers or a link that is nobody's personal data)."""
    choice = rng.randrange(17)
    if choice == 0:
        return "date", fake.date(rng.choice(("%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y",
                                             "%d %B %Y", "%Y/%m/%d")))
    if choice == 1:
        return "time", fake.time(rng.choice(("%H:%M", "%H:%M:%S", "%I:%M %p")))
    if choice == 2:
        amount = rng.uniform(0.5, 25000)
        return "price", rng.choice((f"${amount:,.2f}", f"{amount:.2f} €", f"£{amount:.0f}",
                                    f"{amount:,.2f} zł".replace(",", " "), f"¥{amount * 100:,.0f}",
                                    f"R$ {amount:.2f}".replace(".", ",")))
    if choice == 3:
        n = rng.randint  # the calls stay in this order: the measurement is seeded
        return "version", rng.choice((f"v{n(0, 20)}.{n(0, 40)}.{n(0, 99)}",
                                      f"{n(1, 4)}.{n(0, 13)}.{n(0, 20)}",
                                      f"{n(1, 30)}.{n(0, 9)}.{n(0, 9)}.{n(0, 9999)}",
                                      f"{n(1, 9)}.{n(0, 9)}.0-rc.{n(1, 5)}"))
    if choice == 4:
        return "isbn", rng.choice((fake.isbn10(), fake.isbn13(), fake.isbn13().replace("-", ""),
                                   "ISBN " + fake.isbn10().replace("-", "")))
    if choice == 5:
        return "sha", rng.choice((fake.sha1(), fake.sha1()[:7], fake.sha256(), fake.md5(),
                                  fake.sha1()[:12]))
    if choice == 6:
        return "uuid", str(fake.uuid4())
    if choice == 7:
        return "coordinates", rng.choice((f"{fake.latitude()}, {fake.longitude()}",
                                          f"{float(fake.latitude()):.4f},{float(fake.longitude()):.4f}"))
    if choice == 8:
        return "score", rng.choice((f"{rng.randint(0, 9)}-{rng.randint(0, 9)}",
                                    f"{rng.randint(0, 30)}:{rng.randint(0, 30)}",
                                    f"{rng.randint(0, 99999)} pts",
                                    " ".join(str(i) for i in range(1, rng.randint(5, 16)))))
    if choice == 9:
        return "colour", rng.choice((fake.hex_color(), fake.hex_color().upper(),
                                     f"rgb({rng.randint(0, 255)}, {rng.randint(0, 255)}, "
                                     f"{rng.randint(0, 255)})"))
    if choice == 10:
        return "link", (f"{fake.url()}{fake.uri_path()}?page={rng.randint(1, 99)}&sort=asc"
                        f"&id={rng.randint(10**5, 10**9)}&utm_source=discord")
    if choice == 11:
        return "discord id", rng.choice((_snowflake(rng), f"https://discord.com/channels/"
                                         f"{_snowflake(rng)}/{_snowflake(rng)}/{_snowflake(rng)}"))
    if choice == 12:
        return "count", rng.choice((f"{rng.randint(1000, 99_999_999):,} views",
                                    f"{rng.randint(1, 100)}%", f"x{rng.randint(2, 64)}",
                                    f"{rng.randint(1, 5000)} km", f"#{rng.randint(1, 99999)}"))
    if choice == 13:
        return "year", str(rng.randint(1900, 2030))
    if choice == 14:
        return "range", rng.choice((f"{rng.randint(1, 12)}-{rng.randint(13, 24)}",
                                    f"pages {rng.randint(1, 300)}-{rng.randint(301, 600)}",
                                    f"{rng.randint(1990, 2020)}-{rng.randint(2021, 2030)}"))
    if choice == 15:
        return "hash tag", rng.choice((f"#{fake.word()}", f"@{fake.user_name()}",
                                       f"{fake.file_name()}", f"{fake.file_path()}"))
    return "git", rng.choice((f"commit {fake.sha1()}",
                              f"merge {fake.sha1()[:8]}..{fake.sha1()[:8]}",
                              f"{fake.uri()}/commit/{fake.sha1()}"))


def ordinary_cases(seed: int, per_locale: int, locales=None) -> Iterator[Case]:
    """Ordinary chat lines: a sentence of the locale's language around one or two values of
    the kinds above, which must come out unchanged."""
    rng = random.Random(seed + 1)
    for locale in locales or LOCALES:
        fake = Faker(locale)
        fake.seed_instance(rng.randrange(2**32))
        sentence = LANGUAGES[LOCALES[locale]][0]
        for _ in range(per_locale):
            what, value = ordinary_value(fake, rng)
            if rng.random() < 0.3:
                other, second = ordinary_value(fake, rng)
                what, value = f"{what}+{other}", f"{value} {rng.choice(('and', '/', '|'))} {second}"
            shape = rng.choice(("alone", "sentence", "code", "split"))
            text = {"alone": value, "sentence": sentence.format(v=value),
                    "code": f"`{value}`", "split": f"{fake.word()}\n{value}"}[shape]
            yield Case("ordinary", locale, what, text)
