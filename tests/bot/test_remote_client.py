"""The completions client's own rules, against a scripted stand-in server (aiohttp).

The real server (`transformers serve`, test_remote.py) never rate-limits or fails on cue;
this one answers what each test scripts, and counts the requests it got.
"""

from __future__ import annotations

import json
import logging

import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engines.completions_client import (
    CompletionResult,
    CompletionsClient,
    _CompletionAnswer,
    _ModelList,
    cut_at_stop,
    parse_answer,
    printable,
)
from bot.engines.remote import completion_from, sampling_from, stop_strings
from bot.errors import BackendError, EngineBusy, GenerationError, ServerUnavailable
from catgpt.prompt import Prompt
from catgpt.reply import Completion

KEY = "sk-test-0123456789abcdef-SECRET"
OK = {
    "id": "cmpl-1",
    "object": "text_completion",
    "created": 0,
    "model": "tiny",
    "choices": [{"index": 0, "text": " meow meow\nalice: hi", "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11},
}


@pytest.fixture
async def scripted():
    """A server answering /v1/completions from `answers` (status, body), in order."""
    answers: list[tuple[int, dict]] = []
    seen: list[dict] = []

    async def completions(request: web.Request) -> web.Response:
        seen.append({"json": await request.json(), "headers": dict(request.headers)})
        status, body = answers.pop(0) if len(answers) > 1 else answers[0]
        # 10 ms, not the SDK's 0.5-1 s backoff: the server says when to come back.
        headers = {"retry-after-ms": "10"} if status >= 429 else {}
        return web.json_response(body, status=status, headers=headers)

    app = web.Application()
    app.router.add_post("/v1/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    client = CompletionsClient(f"http://127.0.0.1:{port}/v1", model="tiny", api_key=KEY)
    try:
        yield client, answers, seen
    finally:
        await client.aclose()
        await runner.cleanup()


async def test_sends_only_openai_fields_and_cuts_the_stop_string(scripted):
    client, answers, seen = scripted
    answers.append((200, OK))
    result = await client.complete(
        "alice: hi<eos>mochi:", stop=["\nalice:"], max_tokens=12, sampling={"temperature": 0.0}
    )
    assert result.text == " meow meow" and result.finish_reason == "stop"
    assert result.completion_tokens == 6
    body = seen[0]["json"]
    assert set(body) == {"model", "prompt", "max_tokens", "stop", "temperature"}
    assert body["max_tokens"] == 12 and body["stop"] == ["\nalice:"]
    assert seen[0]["headers"]["Authorization"] == f"Bearer {KEY}"
    with pytest.raises(ValueError, match="top_k"):  # transformers serve would answer 422
        await client.complete("x", stop=[], max_tokens=1, sampling={"top_k": 50})
    assert len(seen) == 1


async def test_5xx_is_retried_then_answered(scripted):
    client, answers, seen = scripted
    answers.extend([(503, {"error": "loading"}), (500, {"error": "oops"}), (200, OK)])
    result = await client.complete("p", stop=["\nalice:"], max_tokens=4)
    assert result.text == " meow meow" and len(seen) == 3


async def test_still_rate_limited_after_the_retries_is_busy(scripted):
    client, answers, seen = scripted
    answers.append((429, {"error": "slow down"}))
    with pytest.raises(EngineBusy):
        await client.complete("p", stop=[], max_tokens=4)
    assert len(seen) == 3  # the first try and two retries


async def test_a_server_down_for_good_is_unavailable(scripted):
    client, answers, seen = scripted
    answers.append((502, {"error": "bad gateway"}))
    with pytest.raises(ServerUnavailable):
        await client.complete("p", stop=[], max_tokens=4)
    assert len(seen) == 3


async def test_a_refused_request_is_not_retried_and_the_key_stays_out_of_the_log(scripted, caplog):
    client, answers, seen = scripted
    # A server that echoes the request headers in its error body.
    answers.append((422, {"detail": f"unexpected field; headers: Bearer {KEY}"}))
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(GenerationError):
            await client.complete("p", stop=[], max_tokens=4)
    assert len(seen) == 1
    assert "HTTP 422" in caplog.text and "[key]" in caplog.text
    assert KEY not in caplog.text and KEY not in repr(client)


def test_cut_at_stop_takes_the_earliest():
    assert cut_at_stop(" a\nbob: b\nalice: c", ["\nalice:", "\nbob:"]) == " a"
    assert cut_at_stop("no stop here", ["\nalice:"]) == "no stop here"
    assert cut_at_stop("x", []) == "x"


def test_sampling_comes_from_generation_config_as_openai_fields():
    assert sampling_from({"do_sample": False, "temperature": 0.8}) == {"temperature": 0.0}
    assert sampling_from({}) == {"temperature": 0.0}  # transformers' default is greedy
    folder = {"do_sample": True, "temperature": 0.8, "top_p": 0.9, "top_k": 50,
              "repetition_penalty": 1.1}  # fmt: skip
    assert sampling_from(folder) == {"temperature": 0.8, "top_p": 0.9}


def test_stop_strings_open_other_turns_but_not_the_personas_own_label():
    prompt = Prompt([], "", ("mochi", "mochi-chan", "alice"), own_names=("mochi", "mochi-chan"))
    stops = stop_strings(prompt, "<eos>")
    assert stops == sorted(["<eos>", "\nmochi:", "\nmochi-chan:", "\nalice:", " alice:"])
    assert stop_strings(prompt, None) == sorted(set(prompt.stop_strings))


def test_a_server_answer_ends_like_a_local_completion():
    assert completion_from(CompletionResult(" hi", "stop")) == Completion(" hi", "eos")
    assert completion_from(CompletionResult(" hi", "length")) == Completion(" hi", "length")


# ---- issue 15: answers that are not what an OpenAI-compatible server sends -------------------


@pytest.fixture
async def raw_server():
    """A loopback server answering every path with `answer["body"]` as `answer["type"]`."""
    answer = {"body": b"", "type": "application/json"}

    async def respond(request: web.Request) -> web.Response:
        return web.Response(body=answer["body"], headers={"Content-Type": answer["type"]})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", respond)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1"
    client = CompletionsClient(url, model="tiny", max_retries=0)
    try:
        yield client, answer
    finally:
        await client.aclose()
        await runner.cleanup()


def choices(text) -> bytes:
    return json.dumps({"choices": [{"text": text, "finish_reason": "stop"}]}).encode()


BAD_COMPLETIONS = {
    "invalid JSON": (b"{not json", "application/json", "Invalid JSON"),
    "HTML": (b"<html><body>502 Bad Gateway</body></html>", "text/html", "(text/html,"),
    "a JSON list": (b"[1, 2]", "application/json", "Input should be an object"),
    "a number for text": (choices(12345), "application/json", "choices.0.text: Input should be"),
    "no choices": (b'{"choices": []}', "application/json", "choices: List should have"),
    "bad usage": (b'{"choices": [{"text": "hi"}], "usage": {"prompt_tokens": "5"}}',
                  "application/json", "usage.prompt_tokens"),  # fmt: skip
}


@pytest.mark.parametrize("case", sorted(BAD_COMPLETIONS))
async def test_a_bad_completion_is_one_log_line_and_the_apology(raw_server, caplog, case):
    client, answer = raw_server
    answer["body"], answer["type"], said = BAD_COMPLETIONS[case]
    with caplog.at_level(logging.WARNING):
        with pytest.raises(GenerationError):
            await client.complete("p", stop=[], max_tokens=4)
    [record] = caplog.records  # was a traceback (AttributeError, JSONDecodeError, TypeError)
    assert record.levelname == "ERROR" and record.exc_info is None
    line = record.getMessage()
    assert client.base_url in line and said in line and "\n" not in line, line


@pytest.mark.parametrize(
    ("body", "kind", "said"),
    [
        (b"<!doctype html><title>Open WebUI</title>", "text/html", "Invalid JSON"),
        (b"{not json", "application/json", "Invalid JSON"),
        (b"[]", "application/json", "Input should be an object"),
        (b'{"data": {"id": "tiny"}}', "application/json", "data: Input should be a valid array"),
        (b'{"data": [{"id": 7}]}', "application/json", "data.0.id: Input should be a valid str"),
    ],
)
async def test_a_bad_model_list_stops_the_start_in_one_line(raw_server, body, kind, said):
    client, answer = raw_server
    answer["body"], answer["type"] = body, kind
    with pytest.raises(BackendError) as caught:  # was a traceback at start-up
        await client.check()
    message = str(caught.value)
    assert message.startswith(f"{client.base_url}: GET {client.base_url}/models did not answer")
    assert said in message and "\n" not in message


async def test_escapes_from_the_server_reach_neither_the_reply_nor_the_log(raw_server, caplog):
    client, answer = raw_server
    answer["body"] = choices("\x1b]0;pwned\x07 meow \x1b[31mred\x1b[0m\nalice: hi")
    result = await client.complete("p", stop=["\nalice:"], max_tokens=4)
    assert result.text == " meow red"
    assert printable("\x1b[2Jgone\r\n") == "\\x1b[2Jgone\\r\\n"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),  # fmt: skip
    max_leaves=8,
)
# Answers near the real shape, so that many are read and the types are what is tested.
NEAR = st.fixed_dictionaries(
    {"choices": st.lists(st.fixed_dictionaries(
        {"text": JSON | st.text(max_size=8)}, optional={"finish_reason": JSON | st.just("stop")}),
        max_size=2)},
    optional={"usage": JSON | st.fixed_dictionaries({"prompt_tokens": JSON | st.integers()})},
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSON, NEAR).map(json.dumps).map(str.encode) | st.binary(max_size=20))
def test_any_answer_is_read_with_its_types_or_refused_in_one_line(body):
    try:
        answer = parse_answer(_CompletionAnswer, body, "application/json")
    except ValueError as error:
        assert "\n" not in str(error)
        assert str(error).endswith(f"(application/json, {len(body)} bytes)")
        return
    assert answer.choices and all(type(c.text) is str for c in answer.choices)
    assert all(c.finish_reason is None or type(c.finish_reason) is str for c in answer.choices)
    usage = answer.usage
    assert usage is None or all(
        v is None or type(v) is int for v in (usage.prompt_tokens, usage.completion_tokens)
    )


# Model lists near the real shape ({"data": [{"id": ...}]}), with any JSON where a field goes.
NEAR_MODELS = st.fixed_dictionaries(
    {"data": JSON | st.lists(st.fixed_dictionaries({"id": JSON | st.text(max_size=8)}),
                             max_size=3)},
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.one_of(JSON, NEAR_MODELS).map(json.dumps).map(str.encode) | st.binary(max_size=20),
       st.sampled_from(["application/json", "text/html; charset=utf-8", None]))  # fmt: skip
def test_any_model_list_is_read_with_its_types_or_refused_in_one_line(body, content_type):
    # GET /models at start-up: an HTML page or a JSON of another shape was a traceback.
    try:
        listed = parse_answer(_ModelList, body, content_type)
    except ValueError as error:
        kind = (content_type or "no content type").split(";")[0]
        assert "\n" not in str(error) and str(error).endswith(f"({kind}, {len(body)} bytes)")
        return
    assert all(type(model.id) is str for model in listed.data)
