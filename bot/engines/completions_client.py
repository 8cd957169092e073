"""An OpenAI-compatible completions server as the bot's model: the HTTP client.

vLLM, SGLang, TGI, llama.cpp's server, Ollama and `transformers serve` all answer
`POST /v1/completions` with a raw prompt. The bot renders the prompt from the model folder
itself (bot/engines/remote.py), so this client only sends text, stop strings, a token cap and
sampling values, and gets text back.

Why the official `openai` package (AsyncOpenAI) rather than aiohttp, which discord.py already
brings: its retry rules are the ones these servers are tested against (connection errors,
timeouts, 408/409/429 and every 5xx are retried with exponential backoff and jitter, 0.5 s
doubling up to 8 s, honouring `Retry-After` / `retry-after-ms`), its errors are typed
(RateLimitError, APIConnectionError, UnprocessableEntityError, ...) and its responses are
parsed models. With aiohttp we would write and test all of that ourselves.

What this module adds on top:
- a bound on requests in flight (an asyncio.Semaphore) and on requests waiting for a slot;
  past both the answer is EngineBusy at once, the local engine's "busy";
- one deadline per request, retries included (the SDK's default is 600 s, far too long for
  someone waiting on a chat reply);
- errors mapped to the bot's: a server that is down or too slow is ServerUnavailable (a short
  apology to the user; the next request simply tries again, so the bot recovers by itself),
  429 after the retries is EngineBusy, any other refusal is GenerationError (logged);
- the stop string cut off the text ourselves: the OpenAI spec, vLLM and llama.cpp leave it
  out, `transformers serve` leaves it in;
- a start-up check naming the URL and what failed (unreachable, HTTP error, model not served);
- every answer read as raw JSON and checked for the fields used, with their types (pydantic,
  which the SDK is built on; the SDK's own parsing is lax: an HTML page, a JSON list or
  `"text": 12345` came through as attribute errors and tracebacks). A bad answer is one line
  naming the URL and what was wrong: at start-up a BackendError, per reply a logged line and
  GenerationError (the user hears the apology);
- the completion's text without terminal escapes or control characters (catgpt.reply_cleaning), so
  the cut at a label sees what users will, and server text in log lines shown escaped.

The API key is a password: it is never logged, never in repr and never in an error message.
No torch and no discord here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import openai
from pydantic import BaseModel, Field, StrictInt, StrictStr, ValidationError

from bot.errors import BackendError, EngineBusy, GenerationError, ServerUnavailable
from catgpt.reply_cleaning import strip_controls

log = logging.getLogger(__name__)

# Only fields of OpenAI's CompletionCreateParams are sent: `transformers serve` answers 422 to
# anything else (top_k, repetition_penalty, min_p), and other servers differ in what extras
# they take. What the folder's generation_config.json says beyond these, the server applies
# from the same folder (transformers serve, vLLM) or from its own flags (llama.cpp).
SAMPLING_FIELDS = frozenset(
    {"temperature", "top_p", "seed", "frequency_penalty", "presence_penalty"}
)
# What the SDK sends when no key is set: some servers insist on a header. Passing it
# explicitly also stops the SDK from sending a real OPENAI_API_KEY from the environment to a
# server that is not OpenAI's.
NO_KEY = "none"
CHECK_TIMEOUT = 10.0  # seconds: a health check that takes longer is a failed one


@dataclass(frozen=True)
class CompletionResult:
    text: str  # cut before the earliest stop string
    finish_reason: str | None  # "stop" (eos or a stop string), "length" (max_tokens)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


# What is read from the server's answers, with its types; anything else in them is ignored.
class _ServedModel(BaseModel):
    id: StrictStr


class _ModelList(BaseModel):  # GET /models
    data: list[_ServedModel]


class _Choice(BaseModel):
    text: StrictStr
    finish_reason: StrictStr | None = None


class _Usage(BaseModel):
    prompt_tokens: StrictInt | None = None
    completion_tokens: StrictInt | None = None


class _CompletionAnswer(BaseModel):  # POST /completions
    choices: list[_Choice] = Field(min_length=1)
    usage: _Usage | None = None


def parse_answer(model: type[BaseModel], body: bytes, content_type: str | None) -> BaseModel:
    """An HTTP answer's body read as `model`; ValueError saying what was wrong, in one line."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]  # says where and what, never the value (it may be anything)
        where = ".".join(str(part) for part in first["loc"])
        what = f"{where}: {first['msg']}" if where else first["msg"]
        kind = printable((content_type or "no content type").split(";")[0])
        raise ValueError(f"{what} ({kind}, {len(body)} bytes)") from None


def _parse(model: type[BaseModel], raw) -> BaseModel:
    response = raw.http_response  # the SDK's raw answer: status checked, body not parsed
    return parse_answer(model, response.content, response.headers.get("content-type"))


def printable(text: str) -> str:
    """Server text for a log line: one line, control characters and escapes shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """`text` up to the earliest occurrence of any stop string."""
    ends = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return text[: min(ends)] if ends else text


class CompletionsClient:
    """One server, one model name; safe to use from one event loop only (the engine's)."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        concurrency: int = 32,
        queue_size: int = 32,
    ):
        if concurrency < 1 or queue_size < 0 or timeout <= 0:
            raise ValueError("concurrency >= 1, queue_size >= 0 and timeout > 0")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.queue_size = queue_size
        self._key = api_key
        self._client = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=api_key or NO_KEY,
            # Per attempt; `complete` also bounds the whole request, retries included.
            timeout=openai.Timeout(timeout, connect=min(5.0, timeout)),
            max_retries=max_retries,
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._waiting = 0

    def __repr__(self) -> str:  # the key stays out (a dataclass or default repr could show it)
        return f"CompletionsClient({self.base_url!r}, model={self.model!r})"

    def redact(self, text: str) -> str:
        """`text` with the API key blanked: server error bodies may echo request headers."""
        return text.replace(self._key, "[key]") if self._key else text

    # ---- start-up -----------------------------------------------------------------------------

    async def check(self) -> str:
        """Ask the server which models it serves; returns the model name this client will use.

        Raises BackendError naming the URL and what failed. With no model name set, a server
        serving exactly one model is taken at its word.
        """
        url = self.base_url
        try:
            raw = await self._client.with_options(
                max_retries=0, timeout=min(CHECK_TIMEOUT, self.timeout)
            ).models.with_raw_response.list()
        except openai.APIConnectionError as error:
            raise BackendError(
                f"cannot reach the inference server ({self._reason(error)})",
                where=url,
                fix="Start the server, or fix CATGPT_API_BASE.",
            ) from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
            raise BackendError(
                f"the server refused the API key (HTTP {error.status_code})",
                where=url,
                fix="Check CATGPT_API_KEY.",
            ) from None
        except openai.APIStatusError as error:
            raise BackendError(
                f"GET {url}/models answered HTTP {error.status_code}",
                where=url,
                fix="CATGPT_API_BASE is the server's OpenAI base URL, usually ending in /v1.",
            ) from None
        try:
            served = [model.id for model in _parse(_ModelList, raw).data]
        except ValueError as error:
            raise BackendError(
                f"GET {url}/models did not answer a model list ({error})",
                where=url,
                fix="CATGPT_API_BASE is the server's OpenAI base URL, usually ending in /v1.",
            ) from None
        listed = ", ".join(repr(name) for name in served[:5]) or "none"
        if self.model is None:
            if len(served) != 1:
                raise BackendError(
                    f"the server at {url} serves {len(served)} models ({listed})",
                    where="CATGPT_API_MODEL",
                    fix="Set CATGPT_API_MODEL to the one to use.",
                )
            self.model = served[0]
        elif self.model not in served:
            raise BackendError(
                f"the server at {url} does not serve {self.model!r} (it serves {listed})",
                where="CATGPT_API_MODEL",
                fix="Set CATGPT_API_MODEL to the name the server serves the model under.",
            )
        log.info("inference server %s serves %r", url, self.model)
        return self.model

    def _reason(self, error: BaseException) -> str:
        # APIConnectionError says "Connection error."; the cause says which ("refused").
        cause = error.__cause__ or error
        return printable(self.redact(str(cause) or type(cause).__name__))

    # ---- one request --------------------------------------------------------------------------

    async def complete(
        self,
        prompt: str,
        *,
        stop: Sequence[str],
        max_tokens: int,
        sampling: Mapping[str, float] | None = None,
    ) -> CompletionResult:
        """One completion, cut at the earliest stop string; raises the bot's EngineErrors."""
        sampling = dict(sampling or {})
        extra = set(sampling) - SAMPLING_FIELDS
        if extra:
            raise ValueError(f"not OpenAI completion fields: {sorted(extra)}")
        if self.model is None:
            raise RuntimeError("no model name: run check() first or pass model=")
        if self._slots.locked() and self._waiting >= self.queue_size:
            raise EngineBusy()
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            return await self._complete(prompt, list(stop), max_tokens, sampling)
        finally:
            self._slots.release()

    async def _complete(self, prompt, stop, max_tokens, sampling) -> CompletionResult:
        try:
            raw = await asyncio.wait_for(
                self._client.completions.with_raw_response.create(
                    model=self.model,
                    prompt=prompt,
                    # Always sent: without it servers pick their own cap (transformers serve:
                    # 1024), which can run past the context window into an HTTP 500.
                    max_tokens=max_tokens,
                    stop=stop or None,
                    **sampling,
                ),
                self.timeout,
            )
        except asyncio.TimeoutError:
            log.warning("no answer from %s within %.0fs", self.base_url, self.timeout)
            raise ServerUnavailable() from None
        except openai.APIConnectionError as error:  # refused, reset, DNS, per-attempt timeout
            log.warning("inference server %s unreachable: %s", self.base_url, self._reason(error))
            raise ServerUnavailable() from None
        except openai.RateLimitError:
            log.warning("inference server %s still rate-limiting after retries", self.base_url)
            raise EngineBusy() from None
        except openai.APIStatusError as error:
            status = error.status_code
            detail = printable(self.redact(str(error.body if error.body is not None else error)))
            detail = detail[:500]
            if status >= 500:
                log.warning("inference server %s: HTTP %d %s", self.base_url, status, detail)
                raise ServerUnavailable() from None
            log.error("inference server %s refused: HTTP %d %s", self.base_url, status, detail)
            raise GenerationError() from None
        try:
            answer = _parse(_CompletionAnswer, raw)
        except ValueError as error:
            log.error("inference server %s: POST /completions answered no completion: %s",
                      self.base_url, error)  # fmt: skip
            raise GenerationError() from None
        choice = answer.choices[0]
        usage = answer.usage
        return CompletionResult(
            text=cut_at_stop(strip_controls(choice.text), stop),
            finish_reason=choice.finish_reason,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
        )

    async def aclose(self) -> None:
        await self._client.close()
