"""Which engine answers: CATGPT_BACKEND picks the local one or an inference server's client.

    bot/engines/local.py               LocalEngine: a worker thread batching the Replier over
                                       the weights in this process (catgpt/local_backend.py)
    bot/engines/remote.py              RemoteEngine: the same Replier, its backend an
                                       OpenAI-compatible completions server
    bot/engines/completions_client.py  the HTTP client RemoteEngine's backend calls

Both have one surface (`reply`, `submit`, `card`, `stop_accepting`, `close`, `aclose`), so
the bot and the console take either; `card` is the persona (catgpt.folder.PersonaCard) the
Replier read from catgpt.json at load, so nothing else re-reads it. Each import happens only
for the backend chosen: the remote one must not bring torch into the process.
"""

from __future__ import annotations

from catgpt.errors import missing_extra
from catgpt.heap import trim_heap

# What `pip install 'catgpt[local]'` adds to the slim install (pyproject.toml).
LOCAL_EXTRA = frozenset({"torch"})


def load_engine(settings):
    """The engine the settings name. Blocking (loads weights or asks the server): run it off
    the event loop. Raises BotError subclasses with one-line messages."""
    engine = _load(settings)
    trim_heap()  # what loading freed goes back to the OS (catgpt/heap.py)
    return engine


def _load(settings):
    if settings.backend == "openai":
        from bot.engines.remote import RemoteEngine

        return RemoteEngine.from_settings(settings)
    try:
        from bot.engines.local import LocalEngine

        return LocalEngine.from_settings(settings)
    except ModuleNotFoundError as error:
        # A bot host with the slim install (no torch) asked for the local backend.
        raise missing_extra(error, extra="local", modules=LOCAL_EXTRA,
                            needed_for="CATGPT_BACKEND=local (the weights in the bot's process)"
                            ) from None
