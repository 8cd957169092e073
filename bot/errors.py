"""Errors the bot raises, and the ones a user can fix.

A `BotError` prints as one line, `where: what. fix`, so `catgpt-bot` can exit with it before
connecting to Discord. The engine's errors (busy, closed, failed generation) are answered in
Discord with a short message; they never take the bot down.
"""

from __future__ import annotations

from catgpt.errors import FixableError


class BotError(FixableError):
    """A mistake in the bot's settings or model folder: `where: what. fix`."""


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


class BackendError(BotError):
    """An inference server the bot cannot use at start-up: unreachable, wrong URL, wrong model."""


class ServerUnavailable(EngineError):
    """The inference server did not answer this request (down, restarting, or too slow).

    Nothing is remembered: the next request tries the server again, so the bot recovers by
    itself when the server comes back.
    """

    user_message = "My brain server is down, try again in a bit."
