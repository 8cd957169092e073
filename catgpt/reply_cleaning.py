"""What the persona says, made safe to send: the reply path's last step, and the bot's.

    raw text ─► cut at another speaker's label (the reply path, which knows the speakers)
             ─► strip terminal escapes and control characters
             ─► strip the persona's own `name:` prefix ─► cut at a line that opens a turn
             ─► unmask links ─► neutralise mentions ─► "" when nothing visible is left
    (the bot then) ─► split at 2000 characters ─► the fallback line for an empty reply

Where a reply ends. Training writes every turn as `name: text` and ends it with eos, so a model
that skips eos goes on with `alice: ...`. The reply ends at (1) the label of any speaker of the
conversation or of the persona after whitespace (`turn_pattern`, which the reply path applies),
and (2) any later line that *starts* like a label, `word:` (one word, 1-32 characters, a letter
in it), whether or not that speaker is in the conversation (`bob:`): in the training format
nothing tells a turn label from the persona's own `edit:` line, and when unsure the reply is cut
short rather than putting words in someone else's mouth. The first line is the persona's (the
model writes it right after its own label: `re: the fish` is its words); labels at its very
start are the persona's own prefix (`mochi: mochi: hi` is `hi`), stripped before either cut.

Terminal escapes (CSI, OSC and the other ECMA-48 string controls, 7- and 8-bit forms) and every
C0/C1 control character but the newline and tab are removed, so no reply from a model or a
server can recolour, retitle or rewrite a terminal (the console, a log) or reach Discord raw;
line breaks of every kind (CR, CRLF, VT, FF, NEL, U+2028/9) read as a newline, and the bidi
embedding, override and isolate characters (which make text show in another order than it
reads) are removed too.

Mentions are neutralised in the text (a zero-width space breaks the syntax) *and* every send
uses `AllowedMentions.none()`: the first stops the blue highlight and a later edit from
pinging, the second stops a ping even if a pattern here is missed. Cleaning is idempotent
(cleaning a cleaned reply changes nothing), so the bot may clean again with the names only it
knows (its account's, its nickname in a server).

Pure functions; no discord, no torch: the reply path (`catgpt.reply`), the console and `eval`
use them without either.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence

DISCORD_LIMIT = 2000
MAX_CHUNKS = 3
FALLBACK = "(nothing came to mind, try me again?)"
ZWSP = "\u200b"

# Characters that show nothing: zero-width and format characters (soft hyphen, joiners,
# direction marks, word joiner, BOM, variation selectors, tags), fillers that render blank
# (Hangul fillers, the braille blank), and the combining grapheme joiner. Whitespace is `\s`.
_INVISIBLE_CLASS = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\U0001d159\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef"
)
_INVISIBLE = re.compile(f"[{_INVISIBLE_CLASS}]")
_GAP = f"[\\s{_INVISIBLE_CLASS}]*"  # what may hide between the letters of a near-miss
# Unicode categories that never show on their own: format, control, separators, and marks
# (which only decorate a letter before them).
_BLANK_CATEGORIES = {"Cf", "Cc", "Zs", "Zl", "Zp", "Mn", "Me"}

# <@123>, <@!123> (users), <@&123> (roles); a zero-width space after "<" stops Discord
# parsing them while they still read the same.
_MENTION = re.compile(r"<(@[!&]?\d+)>")
_CHANNEL = re.compile(r"<#(\d+)>")
# A masked link [text](url) shows `text` and hides where it goes; Discord also accepts <url>.
_MASKED_LINK = re.compile(r"\[([^\[\]\n]+)\]\(\s*<?(https?://[^\s<>()]+)>?\s*\)", re.IGNORECASE)


def _letter(ch: str) -> str:
    """`e` -> [eEｅＥ]: the letter, upper case, and their full-width forms."""
    forms = {ch.lower(), ch.upper()}
    forms |= {chr(ord(f) + 0xFEE0) for f in list(forms)}  # ASCII -> FULLWIDTH LATIN
    return "[" + "".join(sorted(forms)) + "]"


def _near_miss(word: str) -> str:
    return _GAP.join(_letter(ch) for ch in word)


# @everyone / @here and what reads like them: any case, full-width ＠ (and the small ﹫) or
# letters, spaces or invisible characters between the sign and the letters or among them, and
# anything after (Discord pings `@everyone_x` too: there is no word boundary in its rule).
_MASS = re.compile(
    f"(?P<at>[@\uff20\ufe6b])(?P<rest>{_GAP}(?:{_near_miss('everyone')}|{_near_miss('here')}))"
)

ChannelNames = Callable[[int], "str | None"] | Mapping[int, str]


# ---- stopping at another speaker's turn ------------------------------------------------------


def turn_pattern(names: Sequence[str]) -> re.Pattern:
    """`<whitespace>name:` for any speaker of the conversation: where a new turn begins.

    In the forms strip_name_prefix knows too (`**name**:`, `@name:`, `name :`), so a run of the
    persona's own labels at the start is recognised whole by cut_at_turn."""
    alternatives = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True) if n)
    return re.compile(rf"\s(?:\*\*)?@?(?:{alternatives})(?:\*\*)?[ \t]*:", re.IGNORECASE)


def cut_at_turn(text: str, pattern: re.Pattern) -> str:
    """The text before another turn begins; `text` unchanged when none does.

    Labels at the very start (any number: `mochi: mochi: hi`) are the persona's own prefix,
    which strip_name_prefix removes; a cut there would lose the whole reply. Another speaker's
    label at the start is left for clean_reply's line rule.
    """
    at = 0  # where the words after the leading labels begin
    while lead := pattern.match(" " + text[at:].lstrip()):
        at = len(text) - len(text[at:].lstrip()) + lead.end() - 1
    match = pattern.search(text, at)
    return text[: match.start()].lstrip() if match else text


# A line after the first that starts like a turn label: `bob:`, `**bob**:`, `@bob:` (one word, a
# letter in it, at most 32 characters as Discord names are, not counting the Markdown or `@`
# around it), then a space or the end. Not `10:30`, not `https://`, not `1.:`, not `:)`.
_LABEL_LINE = re.compile(
    r"\n[ \t]*[*_~@]*(?=[^\s:*~]*[^\W\d_])[^\s:*~]{1,32}[*_~]*:(?=\s|$)"
)


def cut_at_label_line(text: str) -> str:
    """The text before the first line that opens a turn, whoever's (see the module's doc).

    Not the first line: the model writes it right after the persona's own label, inside its
    turn, where `re: the fish` is the persona talking."""
    match = _LABEL_LINE.search(text)
    return text[: match.start()] if match else text


# ---- terminal escapes and control characters ---------------------------------------------------

# ECMA-48, which terminals follow. CSI: ESC [ (or 8-bit 0x9B), parameter bytes 0x30-0x3F,
# intermediate bytes 0x20-0x2F, one final byte 0x40-0x7E (colours, cursor moves, erasing).
_CSI = "(?:\x1b\\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
# The string controls OSC (titles, hyperlinks, clipboard), DCS, SOS, PM and APC: an opener
# (ESC ] P X ^ _, or 8-bit 0x9D 0x90 0x98 0x9E 0x9F), a payload, then ST (ESC \ or 0x9C) or
# BEL (xterm's OSC ending). An unterminated one runs to the next ESC or the end.
_STRING_CONTROL = "(?:\x1b[\\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\\\|\x9c)?"
# Any other escape: ESC, intermediate bytes, one final byte (ESC c resets a terminal).
_OTHER_ESCAPE = "\x1b[\x20-\x2f]*[\x30-\x7e]"
_ESCAPES = re.compile(f"{_STRING_CONTROL}|{_CSI}|{_OTHER_ESCAPE}")
_LINE_BREAKS = re.compile("\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# C0 and C1 controls but tab and newline; DEL; bidi embeddings, overrides and isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# Any character strip_controls changes: most replies have none, and one scan for them is the
# cheapest way to say so (the cleaning then costs about as much as before it existed).
_ANY_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """`text` without terminal escapes or control characters; line breaks as `\\n`."""
    if not _ANY_CONTROL.search(text):
        return text
    text = _ESCAPES.sub("", text)  # whole sequences first, so their payload goes too
    return _CONTROLS.sub("", _LINE_BREAKS.sub("\n", text))


# ---- the rules ---------------------------------------------------------------------------------


def strip_name_prefix(text: str, names: Iterable[str]) -> str:
    """Drop `mochi:` (or `@mochi:`, `**mochi**:`) the model may write before its own words."""
    alternatives = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True) if n)
    if not alternatives:
        return text.strip()
    prefix = re.compile(rf"^\s*(?:\*\*)?@?(?:{alternatives})(?:\*\*)?\s*:\s*", re.IGNORECASE)
    previous = None
    while previous != text:  # "mochi: mochi: hi" happens with undertrained models
        previous, text = text, prefix.sub("", text, count=1)
    return text.strip()


def unmask_links(text: str) -> str:
    """`[text](url)` -> `text (url)`: where a link goes is shown, never hidden behind words."""
    return _MASKED_LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)


def _channel_name(channel_names: ChannelNames | None, channel_id: int) -> str | None:
    if channel_names is None:
        return None
    if isinstance(channel_names, Mapping):
        return channel_names.get(channel_id)
    return channel_names(channel_id)


def neutralise_mentions(text: str, channel_names: ChannelNames | None = None) -> str:
    """Users, roles, @everyone, @here and their look-alikes stop being mentions; `<#id>` becomes
    `#name` when `channel_names` knows the channel (a mapping or a function), else it is defused.
    """
    # Not discord.utils.escape_mentions: this module stays discord-free (console, `eval`), and
    # that one skips ids under 17 digits, @EVERYONE in capitals and every look-alike.
    text = _MENTION.sub(lambda m: f"<{ZWSP}{m.group(1)}>", text)

    def channel(match: re.Match) -> str:
        name = _channel_name(channel_names, int(match.group(1)))
        return f"#{name}" if name else f"<{ZWSP}#{match.group(1)}>"

    text = _CHANNEL.sub(channel, text)
    # One zero-width space right after the sign, the invisible characters among the letters
    # dropped, visible spaces kept: `@every\u200bone` -> `@\u200beveryone`, stable when repeated.
    return _MASS.sub(lambda m: m["at"] + ZWSP + _INVISIBLE.sub("", m["rest"]), text)


def is_blank(text: str) -> bool:
    """Nothing a reader would see: whitespace, zero-width and format characters, lone marks."""
    return all(
        ch.isspace() or _INVISIBLE.match(ch) or unicodedata.category(ch) in _BLANK_CATEGORIES
        for ch in text
    )


def clean_reply(
    text: str, names: Iterable[str], *, channel_names: ChannelNames | None = None
) -> str:
    """One generated reply as it may be shown: "" when nothing visible is left."""
    # U+FFFD is what decoding leaves of a character cut in half (an emoji at the token limit).
    text = strip_controls(text.replace("\ufffd", ""))
    text = cut_at_label_line(strip_name_prefix(text, names))
    text = neutralise_mentions(unmask_links(text), channel_names)
    return "" if is_blank(text) else text.strip()


# ---- sending -----------------------------------------------------------------------------------


def split_message(text: str, limit: int = DISCORD_LIMIT, max_chunks: int = MAX_CHUNKS) -> list[str]:
    """Split at paragraph, line or word boundaries into <= `limit`-char chunks; trim the rest."""
    # Not discord.ext.commands.Paginator: discord-free here, and it raises on a line longer than
    # a page (a model's reply is often one long line) where this cuts at a word.
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        if len(chunks) == max_chunks:
            last = chunks[-1]
            chunks[-1] = last[: limit - 1].rstrip() + "…"
            break
        if len(rest) <= limit:
            chunks.append(rest)
            break
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:  # no good boundary: a hard cut beats a tiny chunk
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].strip()
    return chunks


# At most this many separate messages for one reply sent as bursts; further lines join the last.
MAX_BURSTS = 4
_FENCE = "```"


def split_bursts(text: str, max_bursts: int = MAX_BURSTS) -> list[str]:
    """The reply as the quick messages it reads as: one per line, a code block kept whole.

    `prepare` merges a person's messages sent within --merge-window into one turn, joined by
    line breaks, so the model writes a thought sent as several messages as several lines.
    """
    bursts: list[str] = []
    fenced = False
    for line in text.split("\n"):
        if fenced or not line.strip():
            if bursts and (fenced or line.strip()):
                bursts[-1] += "\n" + line
        else:
            bursts.append(line)
        if line.count(_FENCE) % 2:
            fenced = not fenced
    bursts = [b.strip() for b in bursts if b.strip()]
    if len(bursts) > max_bursts:
        bursts[max_bursts - 1 :] = ["\n".join(bursts[max_bursts - 1 :])]
    return bursts


def prepare_reply(
    text: str,
    names: Iterable[str],
    *,
    channel_names: ChannelNames | None = None,
    fallback: str = FALLBACK,
    limit: int = DISCORD_LIMIT,
    max_chunks: int = MAX_CHUNKS,
    bursts: bool = False,
) -> list[str]:
    """The messages to send for one reply; never empty (the fallback line stands in).

    bursts: one message per line (split_bursts), each still split at Discord's limit.
    """
    text = clean_reply(text, names, channel_names=channel_names)
    if not bursts:
        return split_message(text, limit, max_chunks) or [fallback]
    messages = [chunk for burst in split_bursts(text) for chunk in split_message(burst, limit)]
    return messages[: MAX_BURSTS + max_chunks] or [fallback]


def typing_pause(message: str) -> float:
    """Seconds of "typing..." before a burst: longer for longer lines, at least one second
    (Discord allows about five messages per five seconds in a channel), at most three."""
    return min(3.0, 1.0 + len(message) / 80)
