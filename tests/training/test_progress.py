"""Training progress: a bar on a terminal, one plain line per logging step anywhere else."""

import logging

import pytest
from transformers import TrainerControl, TrainerState

from training.model.callbacks import StepReport


def run_steps(report: StepReport, steps: int = 20, every: int = 10) -> None:
    """What the Trainer calls during `steps` optimizer steps logged every `every` steps."""
    state, control = TrainerState(max_steps=steps, global_step=0, epoch=0.0), TrainerControl()
    report.on_train_begin(None, state, control)
    for step in range(1, steps + 1):
        state.global_step, state.epoch = step, step / steps
        report.on_step_end(None, state, control)
        if step % every == 0:
            report.on_log(None, state, control, logs={"loss": 2.5 - step / 100,
                                                      "learning_rate": 1e-4})  # fmt: skip
    report.on_log(None, state, control, logs={"eval_loss": 2.0})  # ValReport's to report
    report.on_train_end(None, state, control)


@pytest.fixture
def info_logs(caplog):
    caplog.set_level(logging.INFO, logger="training.model.callbacks")
    return caplog


def test_not_a_terminal_gives_one_line_per_logging_step(capsys, info_logs):
    run_steps(StepReport(interactive=False))
    err = capsys.readouterr().err
    assert "\r" not in err and "it/s" not in err  # no bar at all
    lines = [r.getMessage() for r in info_logs.records]
    assert len(lines) == 2  # steps 10 and 20; the eval entry is not a step line
    assert lines[0].startswith("step 10: loss 2.400, lr 1.00e-04 (of 20, epoch 0.50, ")
    assert lines[1].startswith("step 20: loss 2.300, lr 1.00e-04 (of 20, epoch 1.00, ")


def test_a_terminal_gets_the_bar_and_short_loss_lines(capsys, info_logs):
    run_steps(StepReport(interactive=True))
    captured = capsys.readouterr()
    assert "\r" in captured.err and "20/20" in captured.err  # tqdm redrawing its bar in place
    said = captured.out  # tqdm.write: above the bar, on stdout
    assert "step 10: loss 2.400, lr 1.00e-04" in said and "step 20: loss 2.300" in said
    assert not info_logs.records  # not logged twice


def test_the_mode_follows_stderr(monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    assert StepReport().interactive is True
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    assert StepReport().interactive is False
