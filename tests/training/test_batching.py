"""training/model/batching.py: the passes change, the step does not (issue 18, memory)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.errors import ModelError
from training.model.batching import CPU_PASS, ROOMY_GPU_BYTES, plan_batching

DEVICES = st.sampled_from(["cpu", "mps", "cuda"])
FREE = st.one_of(st.none(), st.integers(0, 80 * 2**30))


@given(processes=st.integers(1, 8), per_process=st.integers(1, 64), device=DEVICES, free=FREE)
def test_the_step_is_the_batch_asked_for_whatever_the_passes(processes, per_process, device,
                                                             free):
    batch = processes * per_process
    plan = plan_batching(batch, None, None, device, processes, free)
    assert plan.per_step == batch
    assert plan.per_pass * plan.accumulate * plan.processes == batch
    if device == "cpu":
        assert plan.per_pass <= CPU_PASS
    if device == "cuda" and free is not None and free >= ROOMY_GPU_BYTES:
        assert plan.accumulate == 1
    assert "a pass" in plan.describe() and plan.why in plan.describe()


@given(batch=st.integers(1, 64), micro=st.integers(1, 64))
def test_a_micro_batch_given_is_used_when_it_divides(batch, micro):
    if batch % micro:
        with pytest.raises(ModelError, match="does not divide"):
            plan_batching(batch, None, micro, "cpu")
    else:
        plan = plan_batching(batch, None, micro, "cpu")
        assert (plan.per_pass, plan.accumulate, plan.per_step) == (micro, batch // micro, batch)


@given(batch=st.integers(1, 32), accum=st.integers(1, 8))
def test_grad_accum_keeps_its_older_meaning(batch, accum):
    plan = plan_batching(batch, accum, None, "cpu")
    assert (plan.per_pass, plan.accumulate, plan.per_step) == (batch, accum, batch * accum)


def test_a_batch_that_does_not_split_over_processes_is_one_line():
    with pytest.raises(ModelError, match="--batch-size 6 does not split evenly over 4"):
        plan_batching(6, None, None, "cpu", processes=4)


def test_train_says_which_passes_it_chose(make_dataset, tmp_path, capsys, monkeypatch):
    from training.cli import main
    from training.model import trainer

    # The other half of the memory plan: freed activations go back to the OS (catgpt/heap.py;
    # its own tests show the effect, bench/train_memory.py the 0.4 GB it saves).
    heap_calls = []
    monkeypatch.setattr(trainer, "return_large_blocks", lambda: heap_calls.append(1) or True)
    data = make_dataset(tmp_path / "data", n_train=16, n_val=4)
    code = main(["train", "--data", str(data), "--base", "tiny", "--out", str(tmp_path / "m"),
                 "--epochs", "1"])
    out = capsys.readouterr().out
    assert code == 0
    card = json.loads((tmp_path / "m" / "catgpt.json").read_text())["training"]
    assert card["batching"]["per_pass"] * card["batching"]["accumulate"] == 8
    assert "batches: 8 examples a step = 1 a pass x 8 accumulated (a CPU" in out
    assert heap_calls == [1]


def test_checkpointing_when_asked_trains_the_same_steps(make_dataset, tmp_path):
    from training.model.trainer import TrainArgs, train_model

    data = make_dataset(tmp_path / "data", n_train=16, n_val=4)
    cards = [train_model(TrainArgs(data=str(data), out=str(tmp_path / name), base="tiny",
                                   epochs=1, checkpointing=recompute))["training"]
             for name, recompute in (("plain", False), ("recomputed", True))]
    assert [c["batching"]["checkpointing"] for c in cards] == [False, True]
    assert cards[0]["steps"] == cards[1]["steps"]
    # Recomputing gives the same gradients: the same losses, to float noise.
    assert cards[1]["val_losses"] == pytest.approx(cards[0]["val_losses"], rel=1e-3)
