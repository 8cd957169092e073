"""Cleaning message text: readable mentions and emoji, valid Unicode, masked personal data.

Discord stores mentions and custom emoji as markup (`<@123>`, `<:blobcat:456>`); a model
trained on that markup learns to emit ids. They become what a reader sees instead:
`@Alice`, `:blobcat:`. Text that merely looks like a control token (`<|endoftext|>`) is left
alone on purpose: it is the chat template's job to keep it text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from training.data.messages import Message
from training.data.pii import PiiMasker
from training.readers.base import repair_text

_CUSTOM_EMOJI = re.compile(r"<a?:(\w{1,64}):\d{1,25}>")
_USER_MENTION = re.compile(r"<@!?(\d{1,25})>")
_ROLE_MENTION = re.compile(r"<@&(\d{1,25})>")
_CHANNEL_MENTION = re.compile(r"<#(\d{1,25})>")
_SLASH_COMMAND = re.compile(r"</([\w -]{1,64}):\d{1,25}>")
_TIMESTAMP = re.compile(r"<t:(-?\d{1,13})(?::[tTdDfFR])?>")
# Control characters other than newline and tab; they render as nothing or garbage.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
_NEEDS_WORK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]|<[@#:a/t]")


@dataclass
class CleaningOptions:
    keep_pii: bool = False
    phone_region: str = "US"  # tried first for numbers without a +country prefix


class TextCleaner:
    """Cleans message text; learns user and channel names from the messages it sees."""

    def __init__(self, options: CleaningOptions | None = None):
        self.options = options or CleaningOptions()
        self.masker = PiiMasker(self.options.phone_region)
        self.user_names: dict[str, str] = {}
        self.channel_names: dict[str, str] = {}

    @property
    def pii_counts(self):
        return self.masker.counts

    def learn(self, message: Message) -> None:
        """Remember names so later `<@id>` / `<#id>` markup can be shown as names."""
        self.user_names.setdefault(message.author_id, message.author_name)
        self.channel_names.setdefault(message.channel_id, message.channel_name)
        for user_id, name in message.mention_names.items():
            if name:
                self.user_names.setdefault(user_id, name)

    def clean(self, text: str, mention_names: dict[str, str] | None = None) -> str:
        """One text made readable and masked (prepare does the two apart: `readable` per
        message, `mask` per turn, so a value split over two messages is still caught)."""
        return self.mask(self.readable(text, mention_names))

    def readable(self, text: str, mention_names: dict[str, str] | None = None) -> str:
        """Valid Unicode, markup as names, no control characters, tidy whitespace."""
        if text.isprintable() and "<" not in text:
            # Most messages: one line with no control character, line break, lone
            # surrogate or markup; one C-level scan says so.
            return text.strip()
        text = repair_text(text)
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if _NEEDS_WORK.search(text):  # one scan; most messages have neither
            text = self._readable_markup(_CONTROL.sub("", text), mention_names or {})
        return _tidy(text)

    def mask(self, text: str) -> str:
        """Personal data masked (unless --keep-pii)."""
        if self.options.keep_pii:
            return text
        masked = self.masker.mask(text)
        # A masked text comes back normalised (NFKC), which can turn an odd space into a
        # plain one: tidy it again.
        return masked if masked is text else _tidy(masked)

    def _readable_markup(self, text: str, mention_names: dict[str, str]) -> str:
        def user(match: re.Match) -> str:
            name = mention_names.get(match.group(1)) or self.user_names.get(match.group(1))
            return "@" + _plain_name(name or "someone")

        def channel(match: re.Match) -> str:
            return "#" + _plain_name(self.channel_names.get(match.group(1)) or "channel")

        text = _CUSTOM_EMOJI.sub(_emoji, text)
        text = _USER_MENTION.sub(user, text)
        text = _ROLE_MENTION.sub("@role", text)
        text = _CHANNEL_MENTION.sub(channel, text)
        text = _SLASH_COMMAND.sub(_command, text)
        return _TIMESTAMP.sub(_readable_time, text)


# Functions rather than r":\1:" templates: re parses a template string on every call.
def _emoji(match: re.Match) -> str:
    return f":{match.group(1)}:"


def _command(match: re.Match) -> str:
    return f"/{match.group(1)}"


def _tidy(text: str) -> str:
    if "\n" in text:
        text = _MANY_BLANK_LINES.sub("\n\n", _TRAILING_SPACE.sub("\n", text))
    return text.strip()


def _plain_name(name: str) -> str:
    """A name as it may appear inside text: no markup brackets, one line."""
    return " ".join(name.replace("<", "").replace(">", "").split()) or "someone"


def _readable_time(match: re.Match) -> str:
    try:
        moment = datetime.fromtimestamp(int(match.group(1)), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return "(a date)"
    return moment.strftime("%Y-%m-%d %H:%M UTC")
