"""Which engine answers: CATGPT_BACKEND picks the local one or an inference server's client.

Both have one surface (`reply`, `submit`, `persona_names`, `stop_accepting`, `aclose`, ...), so
the bot and the console take either. Each import happens only for the backend chosen: the
remote one must not bring torch into the process.
"""

from __future__ import annotations


def load_engine(settings):
    """The engine the settings name. Blocking (loads weights or asks the server): run it off
    the event loop. Raises BotError subclasses with one-line messages."""
    if settings.backend == "openai":
        from bot.remote_engine import RemoteEngine

        return RemoteEngine.from_settings(settings)
    from bot.engine import Engine

    return Engine.from_settings(settings)
