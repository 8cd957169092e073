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
    phone_region: str = "US"  # how numbers without a +country prefix are read


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
        text = repair_text(text)
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if _NEEDS_WORK.search(text):  # one scan; most messages have neither
            text = self._readable_markup(_CONTROL.sub("", text), mention_names or {})
        if not self.options.keep_pii:
            text = self.masker.mask(text)
        if "\n" in text:
            text = _MANY_BLANK_LINES.sub("\n\n", _TRAILING_SPACE.sub("\n", text))
        return text.strip()

    def _readable_markup(self, text: str, mention_names: dict[str, str]) -> str:
        def user(match: re.Match) -> str:
            name = mention_names.get(match.group(1)) or self.user_names.get(match.group(1))
            return "@" + _plain_name(name or "someone")

        def channel(match: re.Match) -> str:
            return "#" + _plain_name(self.channel_names.get(match.group(1)) or "channel")

        text = _CUSTOM_EMOJI.sub(r":\1:", text)
        text = _USER_MENTION.sub(user, text)
        text = _ROLE_MENTION.sub("@role", text)
        text = _CHANNEL_MENTION.sub(channel, text)
        text = _SLASH_COMMAND.sub(r"/\1", text)
        return _TIMESTAMP.sub(_readable_time, text)


def _plain_name(name: str) -> str:
    """A name as it may appear inside text: no markup brackets, one line."""
    return " ".join(name.replace("<", "").replace(">", "").split()) or "someone"


def _readable_time(match: re.Match) -> str:
    try:
        moment = datetime.fromtimestamp(int(match.group(1)), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return "(a date)"
    return moment.strftime("%Y-%m-%d %H:%M UTC")
