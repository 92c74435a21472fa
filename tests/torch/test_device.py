"""Devices, precision and out-of-memory trials in fit(), on the CPU this machine has.

CUDA itself runs in benchmarks/gpu_check.sh on a lent GPU; here the choices are checked:
which device and precision each setting selects, that mixed precision trains for real
(bfloat16 autocast runs on the CPU), that the gradient scaler's skipped steps are not
taken for divergence unless they persist, and that an out-of-memory error ends one trial.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import tunelab
from tunelab import EndCause, TrialState
from tunelab.torch import TrainingError, fit, load_digits
from tunelab.torch import device as dev
from tunelab.torch.batches import InMemory
from tunelab.torch.config import read_config
from tunelab.torch.fit import task_of
from tunelab.torch.loop import Run

FIXED = dict(optimizer="adam", learning_rate=3e-3, batch_size=64, lr_schedule="constant")


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def test_auto_is_the_cpu_here_and_names_are_checked_before_training():
    assert not torch.cuda.is_available()
    assert dev.resolve_device("auto") == torch.device("cpu")
    assert dev.resolve_device(None) == torch.device("cpu")
    assert dev.resolve_device("cpu") == torch.device("cpu")
    for spec, message in [
        ("cuda", "this machine has no CUDA device"),
        ("cuda:1", "this machine has no CUDA device"),
        ("gpu0", "is not a device"),
        ("meta", "is not supported"),
    ]:
        with pytest.raises(TrainingError, match=message) as info:
            dev.resolve_device(spec)
        assert "\n" not in str(info.value)


def test_a_device_that_is_not_there_stops_the_search_at_the_first_trial(digits):
    study = tunelab.create_study("gpu", storage=":memory:", seed=0)
    with pytest.raises(TrainingError, match="no CUDA device"):
        study.optimize(lambda t: fit(mlp(), digits, t, device="cuda:0", **FIXED), n_trials=3)
    (trial,) = study.trials
    assert trial.state is TrialState.FAIL and trial.reports == ()


@pytest.mark.parametrize(
    ("amp", "bf16", "expected"),
    [
        ("auto", True, dev.Precision(torch.bfloat16)),
        ("auto", False, dev.Precision(torch.float16, scaled=True)),
        ("fp16", True, dev.Precision(torch.float16, scaled=True)),
        ("bf16", True, dev.Precision(torch.bfloat16)),
        ("off", True, dev.Precision()),
        (False, True, dev.Precision()),
    ],
)
def test_precision_on_a_cuda_card(monkeypatch, amp, bf16, expected):
    """The card's bfloat16 support is the one hardware fact asked; it is set here."""
    monkeypatch.setattr(dev, "_bf16_on", lambda device: bf16)
    assert dev.resolve_precision(amp, torch.device("cuda", 0)) == expected


def test_bf16_on_a_card_without_it_is_refused(monkeypatch):
    monkeypatch.setattr(dev, "_bf16_on", lambda device: False)
    with pytest.raises(
        TrainingError, match="needs a card with bfloat16 support, and cuda:0 has none"
    ):
        dev.resolve_precision("bf16", torch.device("cuda", 0))


def test_precision_on_the_cpu():
    cpu = torch.device("cpu")
    assert dev.resolve_precision("auto", cpu) == dev.Precision()  # slower there, so off
    assert dev.resolve_precision("bf16", cpu) == dev.Precision(torch.bfloat16)
    with pytest.raises(TrainingError, match=r"amp='fp16' needs a GPU.*use amp='off'"):
        dev.resolve_precision("fp16", cpu)
    with pytest.raises(TrainingError, match="amp must be one of auto, off, bf16, fp16"):
        dev.resolve_precision("half", cpu)


def test_bfloat16_autocast_trains_for_real(digits):
    study = tunelab.create_study("bf16", storage=":memory:", seed=0)
    study.optimize(lambda t: fit(mlp(), digits, t, amp="bf16", epochs=5, **FIXED), n_trials=1)
    (trial,) = study.trials
    assert trial.state is TrialState.COMPLETE
    assert trial.value > 0.85  # digits learn fast, in low precision too
    assert "max_memory_mb" not in trial.user_attrs  # no per-trial peak on the CPU


def test_peak_memory_is_a_cuda_metric(digits):
    study = tunelab.create_study("mem", storage=":memory:", metric="max_memory_mb")
    with pytest.raises(TrainingError, match=r"'max_memory_mb' \(measured on CUDA only\)"):
        study.optimize(lambda t: fit(mlp(), digits, t, **FIXED), n_trials=1)


class Overflows(nn.Module):
    """Outputs inf on the batches `bad(step)` picks, as float16 activations overflow."""

    def __init__(self, bad) -> None:
        super().__init__()
        self.net = mlp()
        self.bad = bad
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        if self.training:
            self.calls += 1
            if self.bad(self.calls):
                out = out * float("inf")
        return out


def scaled_run(digits, model: nn.Module, epochs: int):
    """fit()'s loop with a gradient scaler on the CPU (fit itself refuses fp16 there)."""
    study = tunelab.create_study("scaled", storage=":memory:", seed=0)
    trial = study.ask()
    source = InMemory(digits, torch.device("cpu"))
    config = read_config(trial.hp, source, {**FIXED, "epochs": epochs, "patience": 50})
    kind = task_of(digits, None)
    precision = dev.Precision(torch.bfloat16, scaled=True)
    run = Run(model, source, trial, config, kind, kind.loss(None), precision, source.device, {})
    return run, trial


def test_a_few_overflowing_batches_are_skipped_not_taken_for_divergence(digits):
    model = Overflows(lambda call: call % 7 == 0)  # one batch in seven overflows
    run, _ = scaled_run(digits, model, epochs=3)
    best = run.train(torch.Generator().manual_seed(0), 1)
    assert best["val_accuracy"] > 0.8
    assert run.scaler is not None and run.scaler.get_scale() < 2.0**16  # it backed off


def test_overflow_that_persists_is_divergence(digits):
    model = Overflows(lambda call: call > 3)  # every batch from the fourth on
    run, _ = scaled_run(digits, model, epochs=3)
    with pytest.raises(tunelab.TrialDiverged, match="diverged at epoch 0: training loss became"):
        run.train(torch.Generator().manual_seed(0), 1)


class RunsOutOfMemory(nn.Module):
    """Raises CUDA's out-of-memory error from its forward pass at batch sizes over 32."""

    def __init__(self) -> None:
        super().__init__()
        self.net = mlp()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and len(x) > 32:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.net(x)


def test_out_of_memory_ends_that_trial_and_the_search_goes_on(digits):
    study = tunelab.create_study("oom", storage=":memory:", seed=0)
    settings = {**FIXED, "batch_size": [16, 128], "epochs": 2}
    study.optimize(lambda t: fit(RunsOutOfMemory(), digits, t, **settings), n_trials=8)
    by_size = {}
    for t in study.trials:
        by_size.setdefault(t.params["batch_size"], set()).add((t.state, t.end_cause))
    assert by_size[128] == {(TrialState.PRUNED, EndCause.OUT_OF_MEMORY)}
    assert by_size[16] == {(TrialState.COMPLETE, EndCause.COMPLETED)}
    oom = next(t for t in study.trials if t.params["batch_size"] == 128)
    assert oom.reason == (
        "out of memory at batch_size=128 on cpu; a smaller batch size or model fits"
    )
    assert study.best_trial.params["batch_size"] == 16
