"""The engine: a tiny real model for generation, fake generators for the worker's rules."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.engines.local import LocalEngine
from bot.errors import EngineBusy, EngineClosed, GenerationError
from catgpt.folder import PersonaCard
from catgpt.local_backend import load_replier
from catgpt.reply_cleaning import cut_at_turn, turn_pattern

from .conftest import DEADLINE, until, wait_until


def conversation(*lines: str) -> list[dict]:
    messages = []
    for line in lines:
        name, _, text = line.partition(": ")
        if name == "mochi":
            messages.append({"role": "assistant", "content": text})
        else:
            messages.append({"role": "user", "name": name, "content": text})
    return messages


CONVERSATIONS = [
    conversation("alice: hi mochi!"),
    conversation("bob: what game tonight?", "mochi: meow", "bob: the fish one?"),
    conversation("alice: did you eat the fish already", "bob: all of it"),
    conversation("carol: good night everyone"),
]


@pytest.fixture(scope="module")
def generator(tiny_model_dir):
    return load_replier(tiny_model_dir, device="cpu")


def test_loads_the_folder_contract(generator):
    assert generator.card.name == "mochi"
    assert generator.card.aliases == ("mochi-chan",)
    assert generator.backend.context_window == 128
    assert generator.max_new_tokens == 12  # from generation_config.json
    text = generator.prompts.tokenizer.decode(generator.prompts.build(CONVERSATIONS[0]).ids)
    assert text == "alice: hi mochi!<|endoftext|>mochi:"


def test_batched_greedy_replies_equal_unbatched(generator):
    alone = [generator.generate([c])[0] for c in CONVERSATIONS]
    together = generator.generate(CONVERSATIONS)
    assert together == alone
    assert any(alone), "the tiny model should say something"


def test_truncation_keeps_the_newest_turns(generator):
    long = conversation(*[f"alice: message number {n} about fish" for n in range(40)])
    ids = generator.prompts.build(long).ids
    assert len(ids) <= generator.backend.context_window - generator.max_new_tokens
    text = generator.prompts.tokenizer.decode(ids)
    assert "message number 39 about fish" in text
    assert "message number 0 " not in text
    assert text.startswith("alice: message number")  # whole turns were dropped, not halves
    assert text.endswith("mochi:")


def test_one_turn_longer_than_the_window_keeps_its_end(generator):
    ids = generator.prompts.build(conversation("alice: " + "fish " * 300 + "THE END")).ids
    assert len(ids) == generator.backend.context_window - generator.max_new_tokens
    assert generator.prompts.tokenizer.decode(ids).endswith("THE END<|endoftext|>mochi:")


def test_stops_when_the_model_starts_another_speakers_turn():
    pattern = turn_pattern(["mochi", "alice", "bob"])
    assert cut_at_turn(" nya~ sure thing alice: what", pattern) == "nya~ sure thing"
    assert cut_at_turn(" nya~\nBob: hey", pattern) == "nya~"
    assert cut_at_turn(" mochi: just me", pattern) == " mochi: just me"  # own prefix: kept
    assert cut_at_turn(" no labels here", pattern) == " no labels here"


async def test_engine_replies_like_the_generator(generator, tiny_model_dir):
    engine = LocalEngine(generator, queue_size=8, max_batch=4)
    try:
        replies = await asyncio.gather(*(engine.reply(c) for c in CONVERSATIONS))
    finally:
        assert engine.close(5.0)
    assert replies == [generator.generate([c])[0] for c in CONVERSATIONS]
    assert engine.stats["served"] == 4


class GatedGenerator:
    """Blocks inside generate() until released, so tests can fill the queue behind it."""

    card = PersonaCard(name="mochi")

    def __init__(self, fail_on: str | None = None):
        self.entered = threading.Event()
        self.release = threading.Event()
        self.batches: list[int] = []
        self.seen: list[str] = []  # every last line the worker generated for
        self.fail_on = fail_on
        self.should_stop = lambda: False  # the engine's abort flag, once generate() has it

    def generate(self, conversations, should_stop=None):
        self.batches.append(len(conversations))
        if should_stop is not None:
            self.should_stop = should_stop
        self.entered.set()
        assert self.release.wait(10)
        texts = [c[-1]["content"] for c in conversations]
        self.seen += texts
        if self.fail_on in texts:
            raise RuntimeError("boom")
        return [f"re: {t}" for t in texts]


def say(text: str) -> list[dict]:
    return [{"role": "user", "name": "alice", "content": text}]


def held_engine(first: str, *, queue_size: int, max_batch: int, fail_on: str | None = None):
    """An engine whose worker is inside generate() for `first`, held until generator.release."""
    generator = GatedGenerator(fail_on=fail_on)
    engine = LocalEngine(generator, queue_size=queue_size, max_batch=max_batch)
    running = engine.submit(say(first))
    assert generator.entered.wait(5)
    return generator, engine, running


def test_waiting_requests_are_batched_up_to_max_batch():
    generator, engine, first = held_engine("0", queue_size=10, max_batch=3)
    rest = [engine.submit(say(str(n))) for n in range(1, 6)]
    generator.release.set()
    assert [f.result(5) for f in [first, *rest]] == [f"re: {n}" for n in range(6)]
    assert generator.batches == [1, 3, 2]
    engine.close(5.0)


def test_full_queue_answers_busy_at_once():
    generator, engine, running = held_engine("running", queue_size=2, max_batch=1)
    waiting = [engine.submit(say("a")), engine.submit(say("b"))]
    # Submitted from another thread while the worker is held: a submit that waited for room
    # would still be waiting at the deadline, as nothing frees room until the release below.
    outcome = []

    def one_too_many():
        try:
            engine.submit(say("one too many"))
        except EngineBusy as error:
            outcome.append(error)

    submitter = threading.Thread(target=one_too_many, daemon=True)
    submitter.start()
    submitter.join(DEADLINE)
    assert not submitter.is_alive(), "submit waited for room instead of answering busy"
    assert len(outcome) == 1 and isinstance(outcome[0], EngineBusy)
    assert not generator.release.is_set()  # the worker was still busy the whole time
    generator.release.set()
    assert running.result(5) == "re: running"
    assert [f.result(5) for f in waiting] == ["re: a", "re: b"]
    engine.submit(say("room again")).result(5)  # the queue drained: not busy any more
    engine.close(5.0)


def test_a_failed_generation_does_not_kill_the_worker():
    generator = GatedGenerator(fail_on="bad")
    generator.release.set()
    engine = LocalEngine(generator, queue_size=4, max_batch=4)
    with pytest.raises(GenerationError):
        engine.submit(say("bad")).result(5)
    assert engine.submit(say("good")).result(5) == "re: good"
    assert engine.stats["failed"] == 1
    engine.close(5.0)


def test_one_bad_request_does_not_fail_its_batch():
    generator, engine, blocker = held_engine("first", queue_size=4, max_batch=4, fail_on="bad")
    futures = [engine.submit(say(t)) for t in ("ok 1", "bad", "ok 2")]
    generator.release.set()
    assert blocker.result(5) == "re: first"
    assert futures[0].result(5) == "re: ok 1"
    assert futures[2].result(5) == "re: ok 2"
    with pytest.raises(GenerationError):
        futures[1].result(5)
    engine.close(5.0)


def test_close_stops_taking_requests_and_cancels_what_cannot_finish():
    generator, engine, running = held_engine("running", queue_size=4, max_batch=1)
    queued = engine.submit(say("queued"))
    closer = threading.Thread(target=engine.close, args=(0.2,))
    closer.start()
    # close() stops taking requests before it waits for the worker.
    assert wait_until(lambda: not engine._accepting)
    with pytest.raises(EngineClosed):
        engine.submit(say("too late"))
    # Past its timeout close() raises the abort flag the generator is polling: wait for that
    # instead of sleeping past the timeout, then let the held generation return.
    assert wait_until(generator.should_stop)
    generator.release.set()
    closer.join(DEADLINE)
    assert not closer.is_alive()
    with pytest.raises(EngineClosed):
        running.result(5)
    with pytest.raises(EngineClosed):
        queued.result(5)


def test_a_cancelled_queued_request_is_never_generated():
    generator, engine, running = held_engine("running", queue_size=4, max_batch=4)
    queued = engine.submit(say("never mind"))
    assert queued.cancel()  # still waiting in the queue: it can be taken back
    kept = engine.submit(say("still wanted"))
    generator.release.set()
    assert running.result(5) == "re: running"
    assert kept.result(5) == "re: still wanted"
    assert queued.cancelled()
    assert generator.seen == ["running", "still wanted"]
    assert engine.stats["served"] == 2
    engine.close(5.0)


async def test_cancelling_the_awaiting_task_cancels_the_queued_request():
    # What discord.py does to a handler at shutdown, or a caller's timeout: the task awaiting
    # engine.reply() is cancelled while its request is still queued behind a generation.
    generator, engine, running = held_engine("running", queue_size=4, max_batch=4)
    task = asyncio.ensure_future(engine.reply(say("gone")))
    assert await until(lambda: engine._waiting == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    generator.release.set()
    assert await engine.reply(say("next")) == "re: next"
    assert generator.seen == ["running", "next"]
    await engine.aclose(5.0)


def test_close_finishes_queued_work_within_the_timeout():
    generator = GatedGenerator()
    generator.release.set()
    engine = LocalEngine(generator, queue_size=4, max_batch=1)
    futures = [engine.submit(say(str(n))) for n in range(3)]
    assert engine.close(5.0)
    assert [f.result(0) for f in futures] == ["re: 0", "re: 1", "re: 2"]


async def test_reply_never_blocks_the_event_loop():
    generator = GatedGenerator()
    engine = LocalEngine(generator, queue_size=4, max_batch=1)
    task = asyncio.ensure_future(engine.reply(say("slow")))
    # The loop keeps running other work while the generation is held inside the worker.
    ticks = 0
    assert await until(lambda: generator.entered.is_set())
    for _ in range(5):
        await asyncio.sleep(0)
        ticks += 1
    assert ticks == 5 and not task.done()
    generator.release.set()
    assert await task == "re: slow"
    await engine.aclose(5.0)


def test_a_folder_without_chat_template_is_named_in_the_error(tiny_model_dir, tmp_path):
    import shutil

    from bot.errors import ModelLoadError

    folder = tmp_path / "no-template"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "chat_template.jinja").unlink()
    with pytest.raises(ModelLoadError) as caught:
        LocalEngine.from_folder(folder, device="cpu")
    assert str(caught.value).startswith(f"{folder}: the tokenizer has no chat template")
