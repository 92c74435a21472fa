"""The learning-rate range test on a known toy problem: its suggestion trains well, while
100x above it diverges and 100x below it barely learns in the same time."""

from __future__ import annotations

import json
import math
import types

import numpy as np
import pytest
import torch
from torch import nn

from tunelab.cli.insight import run_lr_find
from tunelab.space import Float
from tunelab.torch import Data, LRFindResult, from_arrays, load_digits, lr_find
from tunelab.torch.optim import make_optimizer

pytestmark = pytest.mark.slow  # every test here trains a model (briefly)


@pytest.fixture(scope="module")
def digits() -> Data:
    torch.set_num_threads(1)
    return load_digits()


def mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def accuracy_after(data: Data, optimizer: str, lr: float, epochs: int = 3) -> float:
    """Validation accuracy after a few epochs at a constant rate (0 if it blew up)."""
    model = mlp()
    opt = make_optimizer(
        optimizer, model.parameters(), lr, 0.0, 0.9 if optimizer == "sgd" else None
    )
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        order = torch.randperm(data.n_train, generator=gen)
        for start in range(0, data.n_train, 64):
            idx = order[start : start + 64]
            loss = loss_fn(model(data.x_train[idx]), data.y_train[idx])
            if not torch.isfinite(loss):
                return 0.0
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return float((model(data.x_val).argmax(1) == data.y_val).float().mean())


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_the_suggestion_lies_in_the_good_region(digits, optimizer):
    result = lr_find(mlp(), digits, optimizer=optimizer)
    assert result.method == "steepest/2" and result.stopped_early  # it ran into the explosion
    assert result.low < result.suggestion < result.high <= result.min_loss_lr
    good = accuracy_after(digits, optimizer, result.suggestion)
    assert good > 0.85
    assert accuracy_after(digits, optimizer, result.suggestion * 100) < good - 0.3
    assert accuracy_after(digits, optimizer, result.suggestion / 100) < good - 0.3


def test_the_model_keeps_its_initial_weights(digits):
    model = mlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = lr_find(model, digits, num=30, end=1.0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert len(result.lrs) == len(result.losses) == len(result.raw_losses) <= 30
    assert result.lrs[0] == pytest.approx(1e-7)
    ratios = [b / a for a, b in zip(result.lrs, result.lrs[1:], strict=False)]
    assert max(ratios) == pytest.approx(min(ratios))  # exponential steps


def test_result_as_override_json_table_and_plot(digits, tmp_path):
    result = lr_find(mlp(), digits, num=40)
    override = result.as_override()["learning_rate"]
    assert override == Float("learning_rate", result.low, result.high, sampling="log")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["suggestion"] == result.suggestion and len(data["lrs"]) == len(result.lrs)
    rows = result.table(rows=8)
    assert 2 <= len(rows) <= 8 and all(math.isfinite(loss) for _, loss in rows)
    png = result.plot(tmp_path / "lr.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert isinstance(result, LRFindResult)


def test_bad_settings_are_refused(digits):
    with pytest.raises(ValueError, match="`0 < start < end` must hold"):
        lr_find(mlp(), digits, start=1.0, end=1e-3)
    with pytest.raises(ValueError, match="batch_size must be in"):
        lr_find(mlp(), digits, batch_size=10**6)
    with pytest.raises(ValueError, match="num must be an int >= 10"):
        lr_find(mlp(), digits, num=3)
    with pytest.raises(ValueError, match="the loss never fell below its first value"):
        lr_find(mlp(), digits, optimizer="sgd", start=1e3, end=1e6)


def test_the_range_test_uses_the_tasks_loss_on_regression_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 4)).astype(np.float32)
    data = from_arrays(x, x @ np.array([1.0, -2.0, 0.5, 3.0], dtype=np.float32), task="regression")
    torch.manual_seed(0)
    result = lr_find(nn.Linear(4, 1), data, num=60)  # MSE on (N,) targets, one output
    assert result.raw_losses[0] > 5 and min(result.raw_losses) < result.raw_losses[0] / 4
    assert 1e-5 < result.suggestion < 10


def test_same_seed_same_suggestion_for_a_model_with_dropout(digits):
    """Dropout draws from the global RNG during the test; lr_find seeds it and leaves
    the caller's random state as it found it."""

    def model() -> nn.Module:
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 10))

    first = lr_find(model(), digits, num=40, end=1.0, seed=3)
    torch.manual_seed(123)
    expected = torch.rand(1)
    net = model()
    torch.manual_seed(123)
    second = lr_find(net, digits, num=40, end=1.0, seed=3)
    assert torch.equal(torch.rand(1), expected)  # the caller's stream goes on undisturbed
    assert first.raw_losses == second.raw_losses and first.suggestion == second.suggestion
    other = lr_find(model(), digits, num=40, end=1.0, seed=4)
    assert other.raw_losses != first.raw_losses


def test_the_cli_builds_the_model_under_the_seed(digits):
    """`tunelab lr-find SCRIPT --seed N`: the script's build_model(hp) runs unseeded code
    (fresh PyTorch initialisation), so the seed must cover the model's construction."""
    kit = types.ModuleType("kit")
    kit.DATA = digits  # type: ignore[attr-defined]
    kit.build_model = lambda hp: nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))  # type: ignore[attr-defined]
    runs = [run_lr_find(kit, "kit.py", seed=seed, num=40, end=1.0) for seed in (0, 0, 1)]
    assert runs[0].raw_losses == runs[1].raw_losses
    assert runs[0].suggestion == runs[1].suggestion
    assert runs[2].raw_losses != runs[0].raw_losses
