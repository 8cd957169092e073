"""The two buttons under a round: "A" and "B". What a vote does is the quiz cog's business."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord

Vote = Callable[[discord.Interaction, int], Awaitable[None]]


class VoteView(discord.ui.View):
    def __init__(self, on_vote: Vote):
        # No discord.py timeout: the quiz's own timer ends the round (and tests drive it).
        super().__init__(timeout=None)
        self.on_vote = on_vote

    @discord.ui.button(label="A", style=discord.ButtonStyle.primary)
    async def choose_a(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self.on_vote(interaction, 0)

    @discord.ui.button(label="B", style=discord.ButtonStyle.primary)
    async def choose_b(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self.on_vote(interaction, 1)

    def closed(self) -> VoteView:
        """This view with its buttons greyed out, for the revealed message; stops listening."""
        for item in self.children:
            item.disabled = True
        self.stop()
        return self
