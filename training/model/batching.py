"""How many examples go through the model at once, and how many make one optimizer step.

`--batch-size` is the batch of one optimizer step, however it is reached: split over the
processes of a distributed run, and within a process into passes whose gradients are
accumulated. The effective batch, so what the model learns, stays the same; only the memory
a pass needs changes. A pass's activations (attention scores above all) grow with the examples
in it, so on a CPU, where the machine is often a laptop with 8 GB, passes are small by default:
measured by bench/train_memory.py, one example of 512 tokens a pass keeps a 124M-135M base
under 4 GiB where 8 a pass took 9-10 GiB, and a step takes no longer: a CPU's matrix products
are as fast on one example's 512 rows as on eight's (docs/training.md, "Memory").
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from training.errors import ModelError

# Examples a pass by default, per device kind; a GPU passes the whole per-process batch when it
# has room (checked from its free memory), otherwise as a CPU does.
CPU_PASS = 1
SMALL_GPU_PASS = 4
ROOMY_GPU_BYTES = 16 * 2**30


@dataclass(frozen=True)
class Batching:
    per_step: int  # examples per optimizer step, all processes together
    per_pass: int  # examples per forward and backward pass, in one process
    accumulate: int  # passes per step, in one process
    processes: int
    why: str  # for the summary and catgpt.json
    # Activation checkpointing: each layer's activations recomputed in the backward pass
    # rather than kept, a third more compute for most of the activations' memory.
    checkpointing: bool = False

    def describe(self) -> str:
        spread = f" over {self.processes} processes" if self.processes > 1 else ""
        recompute = ", activations recomputed" if self.checkpointing else ""
        return (f"{self.per_step} examples a step{spread} = {self.per_pass} a pass x "
                f"{self.accumulate} accumulated{recompute} ({self.why})")


def per_process_batch(batch_size: int, processes: int) -> int:
    """--batch-size split over the processes, so a run under torchrun takes the same steps,
    and learns the same, as one process does."""
    if batch_size % processes:
        raise ModelError(
            f"--batch-size {batch_size} does not split evenly over {processes} processes",
            fix=f"Use a multiple of {processes}, e.g. "
            f"--batch-size {processes * max(1, batch_size // processes)}")
    return batch_size // processes


def plan_batching(batch_size: int, grad_accum: int | None, micro_batch: int | None,
                  device: str, processes: int = 1, free_gpu_bytes: int | None = None,
                  checkpointing: bool = False) -> Batching:
    """The passes for one run. `grad_accum` given: the older meaning, `batch_size` a pass and
    `grad_accum` passes a step; `micro_batch` given: that many a pass; neither: chosen here.
    Checkpointing is asked for, never chosen: on a CPU one example a pass already fits 4 GiB
    at the old speed, where recomputing would cost a quarter more time (docs/training.md)."""
    plan = _passes(batch_size, grad_accum, micro_batch, device, processes, free_gpu_bytes)
    return replace(plan, checkpointing=checkpointing)


def _passes(batch_size: int, grad_accum: int | None, micro_batch: int | None, device: str,
            processes: int, free_gpu_bytes: int | None) -> Batching:
    per_process = per_process_batch(batch_size, processes)
    if grad_accum is not None:
        return Batching(batch_size * grad_accum, per_process, grad_accum, processes,
                        "--grad-accum given")
    if micro_batch is not None:
        if per_process % micro_batch:
            raise ModelError(
                f"--micro-batch {micro_batch} does not divide the {per_process} examples each "
                "process takes a step",
                fix="Use a divisor of --batch-size (per process), e.g. --micro-batch 1")
        return Batching(batch_size, micro_batch, per_process // micro_batch, processes,
                        "--micro-batch given")
    if device == "cuda" and free_gpu_bytes is not None and free_gpu_bytes >= ROOMY_GPU_BYTES:
        return Batching(batch_size, per_process, 1, processes, "a GPU with room for the batch")
    target, why = ((SMALL_GPU_PASS, "a GPU with under 16 GB free") if device in ("cuda", "mps")
                   else (CPU_PASS, "a CPU: small passes keep memory low"))
    per_pass = max(d for d in range(1, min(target, per_process) + 1) if per_process % d == 0)
    return Batching(batch_size, per_pass, per_process // per_pass, processes, why)
