"""Errors the bot raises, and the ones a user can fix.

A `BotError` prints as one line, `where: what. fix`, so `catgpt-bot` can exit with it before
connecting to Discord. The engine's errors (busy, closed, failed generation) are answered in
Discord with a short message; they never take the bot down.
"""

from __future__ import annotations


class BotError(Exception):
    """A mistake the user can fix: `where: what. fix`."""

    exit_code = 1

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None):
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        if self.fix:
            text = f"{text.rstrip('.')}. {self.fix}"
        return text


class SettingsError(BotError):
    """A missing or malformed setting (environment or .env)."""


class ModelLoadError(BotError):
    """A model folder the engine cannot serve."""


class EngineError(Exception):
    """Base for the engine's run-time answers; each has a short text a user may see."""

    user_message = "Something went wrong on my side, sorry."


class EngineBusy(EngineError):
    """The request queue is full; answered at once rather than queued without end."""

    user_message = "I'm swamped right now, try again in a moment."


class EngineClosed(EngineError):
    """The engine is shutting down and takes no more requests."""

    user_message = "I'm going to sleep now, talk later."


class GenerationError(EngineError):
    """Generation failed for this request (logged with its traceback); the worker lives on."""

    user_message = "Sorry, my thoughts got tangled. Try again?"
