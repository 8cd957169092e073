"""The persona's own voice (CATGPT_WEBHOOK=on, issue 17 §3): replies go out through a channel
webhook under the persona's name and picture instead of the bot account's, so a channel reads
like a conversation with them, never like one with the real person: the name always carries
LABEL ("mochi (bot)"), which no setting removes, and Discord marks webhook posts as apps too.

One webhook per channel (a thread posts through its parent's, with `thread=`), made by the bot
and found again by its creator and name after a restart, so it never piles up webhooks. The
picture is `avatar.png` in the model folder when there is one (set when the webhook is made).
Without Manage Webhooks in a channel the bot answers as itself there, with one log line per
channel (not per message). Webhooks cannot send Discord replies, so such answers go out plainly.

Messages from our webhooks are the persona's (`is_ours`): its context and "a reply to the
bot" read them so. The ids are learned when a webhook is found or made; bounded.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import discord

from bot.bounded import LRU
from bot.cogs import NO_MENTIONS

log = logging.getLogger(__name__)

LABEL = " (bot)"  # not configurable: people must see they are talking with a model
AVATAR = "avatar.png"
WEBHOOK_NAME = "CatGPT"
_NAME_MAX = 80  # Discord's limit for a webhook's username
# Channels that hold webhooks (a DM has none; a thread uses its parent's).
_WITH_WEBHOOKS = (discord.TextChannel, discord.VoiceChannel, discord.ForumChannel)


def persona_username(persona: str) -> str:
    """The name every webhook message shows: the persona's, cut to fit, with the label whole.

    Discord refuses usernames containing "discord" or "clyde"; those are spaced apart.
    """
    name = re.sub(
        r"(?i)(disc)(ord)|(cly)(de)", lambda m: " ".join(g for g in m.groups() if g), persona
    )
    return f"{name[: _NAME_MAX - len(LABEL)].strip() or 'persona'}{LABEL}"


def read_avatar(folder: Path) -> bytes | None:
    path = Path(folder) / AVATAR
    return path.read_bytes() if path.is_file() else None


class WebhookVoice:
    def __init__(self, bot: discord.Client, *, persona: str, avatar: bytes | None, enabled: bool):
        self.bot = bot
        self.enabled = enabled
        self.username = persona_username(persona)
        self.avatar = avatar
        # Parent channel id -> its webhook, or None where the bot may not use one (logged once).
        self._hooks: LRU[int, discord.Webhook | None] = LRU(1000)
        self._ids: LRU[int, None] = LRU(1000)  # our webhooks' ids

    def is_ours(self, message: discord.Message) -> bool:
        return message.webhook_id is not None and message.webhook_id in self._ids

    def __contains__(self, webhook_id: object) -> bool:
        """A webhook id is ours (what MentionContext asks of `persona_webhooks`)."""
        return webhook_id in self._ids

    def forget(self, channel) -> None:
        self._hooks.pop(getattr(channel, "parent_id", None) or channel.id, None)

    async def webhook_for(self, channel) -> discord.Webhook | None:
        """The webhook to speak through in `channel` (a thread: its parent's); None: speak as
        the bot account (off, a DM, a channel without webhooks, or no permission)."""
        if not self.enabled:
            return None
        parent = channel.parent if isinstance(channel, discord.Thread) else channel
        if not isinstance(parent, _WITH_WEBHOOKS):
            return None
        if parent.id in self._hooks:
            return self._hooks[parent.id]
        hook = None
        if not parent.permissions_for(parent.guild.me).manage_webhooks:
            self._fallback(parent, "no Manage Webhooks permission")
        else:
            try:
                hook = await self._find_or_make(parent)
            except discord.Forbidden as error:
                self._fallback(parent, f"Discord refused: {error.text or error.status}")
            except discord.HTTPException as error:  # a hiccup: ask again next time
                log.info("webhook in #%s unavailable this time: %s", parent.id, error)
                return None
        self._hooks[parent.id] = hook
        if hook is not None:
            self._ids[hook.id] = None
        return hook

    async def _find_or_make(self, parent) -> discord.Webhook:
        me = self.bot.user
        for hook in await parent.webhooks():
            if hook.user is not None and hook.user.id == me.id and hook.name == WEBHOOK_NAME:
                return hook
        return await parent.create_webhook(
            name=WEBHOOK_NAME, avatar=self.avatar, reason="CatGPT: the persona's labelled voice"
        )

    def _fallback(self, parent, why: str) -> None:
        log.warning(
            "#%s (%s): answering as the bot account, not through a webhook: %s. Give the bot "
            "Manage Webhooks there, or set CATGPT_WEBHOOK=off.",
            getattr(parent, "name", "?"),
            parent.id,
            why,
        )

    async def send(self, hook: discord.Webhook, channel, text: str) -> discord.Message:
        """`text` in `channel` under the persona's labelled name; pings no one."""
        thread = channel if isinstance(channel, discord.Thread) else discord.utils.MISSING
        return await hook.send(
            text,
            username=self.username,
            allowed_mentions=NO_MENTIONS,
            suppress_embeds=True,
            thread=thread,
            wait=True,
        )
