"""fit() on every task with real training: regression learns a known linear target,
binary and multilabel learn separable data, user metrics become the study's metric, and
a wrong loss, model width or metric is one clear line that stops the search at trial 1."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import tunelab
from tunelab import TrialState
from tunelab.torch import TrainingError, fit, from_arrays
from tunelab.torch.data import Data

FIXED = dict(
    optimizer="adam",
    learning_rate=3e-2,
    batch_size=32,
    lr_schedule="constant",
    weight_decay=0.0,
    epochs=30,
    patience=30,
)
RNG = np.random.default_rng(0)
X = RNG.normal(size=(300, 4)).astype(np.float32)
CLEAR = np.abs(X[:, 0] + X[:, 1]) > 0.3  # samples off the boundary x0 + x1 = 0


def study(metric: str = "val_loss", direction: str = "minimize") -> tunelab.Study:
    return tunelab.create_study("t", storage=":memory:", metric=metric, direction=direction)


def linear(outputs: int, inputs: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(inputs, outputs)


def train(data: Data, model: nn.Module, s: tunelab.Study | None = None, **kw: Any) -> Any:
    s = s or study()
    s.optimize(lambda t: fit(model, data, t, **{**FIXED, **kw}), n_trials=1)
    (trial,) = s.trials
    return trial


def last(trial: Any, name: str) -> float:
    curve = trial.intermediate(name)
    return curve[trial.user_attrs["best_epoch"]]


@pytest.fixture(scope="module")
def linear_target() -> tuple[Data, float]:
    w = np.array([1.5, -2.0, 0.5, 1.0], dtype=np.float32)
    y = X @ w + 3.0  # no noise: a linear model can fit it exactly
    return from_arrays(X, y, task="regression"), float(y.std())


def test_regression_learns_a_linear_target_to_a_tiny_error(linear_target):
    data, spread = linear_target
    trial = train(data, linear(1), study("val_rmse"))
    assert trial.state is TrialState.COMPLETE
    assert set(trial.reports[0].metrics) >= {
        "train_loss", "val_loss", "val_rmse", "val_mae", "val_r2", "lr"
    }  # fmt: skip
    assert "val_accuracy" not in trial.reports[0].metrics
    assert trial.value == last(trial, "val_rmse") < 0.05 * spread
    assert last(trial, "val_mae") < 0.05 * spread and last(trial, "val_r2") > 0.99
    assert math.isclose(last(trial, "val_loss"), last(trial, "val_rmse") ** 2, rel_tol=1e-3)


def test_val_r2_is_one_minus_the_error_over_the_spread(linear_target):
    """A model that always predicts the mean of the validation targets scores R² = 0."""
    data, _ = linear_target

    class Mean(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.zeros(()))  # trained, but at lr=0 never moves

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.scale * x[:, 0] + data.y_val.mean()

    trial = train(data, Mean(), learning_rate=0.0, epochs=1)
    assert abs(last(trial, "val_r2")) < 1e-6
    assert math.isclose(last(trial, "val_rmse"), float(data.y_val.std(correction=0)), rel_tol=1e-5)


@pytest.mark.parametrize("loss_fn", ["mae", "huber"])
def test_regression_trains_with_mae_or_huber(linear_target, loss_fn):
    data, spread = linear_target
    trial = train(data, linear(1), loss_fn=loss_fn)
    assert trial.state is TrialState.COMPLETE
    assert last(trial, "val_rmse") < 0.05 * spread
    if loss_fn == "mae":  # the reported loss is the loss trained on
        assert math.isclose(last(trial, "val_loss"), last(trial, "val_mae"), rel_tol=1e-4)


def test_several_regression_targets_are_learned_together():
    w = RNG.normal(size=(4, 3)).astype(np.float32)
    data = from_arrays(X, X @ w, task="regression")
    assert data.n_outputs == 3
    trial = train(data, linear(3), study("val_r2", "maximize"))
    assert trial.value > 0.99 and last(trial, "val_rmse") < 0.05


def test_binary_learns_separable_data_with_one_output():
    x = X[CLEAR]
    data = from_arrays(x, x[:, 0] + x[:, 1] > 0, task="binary")
    trial = train(data, linear(1), study("val_accuracy", "maximize"))
    assert trial.value == 1.0 and last(trial, "train_accuracy") >= 0.99
    assert last(trial, "val_loss") < 0.3  # binary cross-entropy of a confident model


def test_multilabel_learns_one_threshold_a_label():
    y = np.stack([X[:, 0] > 0, X[:, 1] > 0.5, X[:, 2] < -0.5], 1)
    data = from_arrays(X, y)
    assert (data.task, data.n_outputs) == ("multilabel", 3)
    trial = train(data, linear(3), study("val_accuracy", "maximize"))
    assert trial.value >= 0.95  # per-label accuracy: chance is well below


def f1(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    predicted = outputs.squeeze(1) > 0
    true = targets > 0.5
    tp = float((predicted & true).sum())
    return 2 * tp / max(float(predicted.sum() + true.sum()), 1.0)


def test_a_user_metric_is_reported_and_is_the_studys_metric():
    x = X[CLEAR]
    data = from_arrays(x, x[:, 0] + x[:, 1] > 0, task="binary")
    s = study("f1", "maximize")
    trial = train(data, linear(1), s, metrics={"f1": f1}, epochs=5, patience=5)
    assert trial.state is TrialState.COMPLETE
    curve = trial.intermediate("f1")
    assert sorted(curve) == list(range(5))  # every epoch
    assert trial.value == curve[trial.user_attrs["best_epoch"]] > 0.9
    assert s.best_value == trial.value


@pytest.mark.parametrize(
    ("metric", "fragment"),
    [
        (lambda out, y: 1 / 0, "metric 'bad' raised ZeroDivisionError: division by zero"),
        (lambda out, y: "high", "metric 'bad' returned 'high', not a number; return a float"),
        (lambda out, y: None, "metric 'bad' returned None, not a number"),
    ],
    ids=["raises", "text", "none"],
)
def test_a_broken_user_metric_stops_the_search_at_the_first_trial(linear_target, metric, fragment):
    data, _ = linear_target
    s = study("bad")
    with pytest.raises(TrainingError) as info:
        s.optimize(lambda t: fit(linear(1), data, t, metrics={"bad": metric}, **FIXED), n_trials=5)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    (trial,) = s.trials
    assert trial.state is TrialState.FAIL and fragment in (trial.reason or "")


def one_target() -> Data:
    return from_arrays(X, X[:, 0], task="regression")


BAD_SETUPS = [
    (
        "mse for classes",
        lambda: from_arrays(X, np.arange(300) % 3),
        3,
        {"loss_fn": "mse"},
        "loss_fn='mse' does not suit a classification task; use one of cross_entropy",
    ),
    (
        "cross-entropy for regression",
        one_target,
        1,
        {"loss_fn": "cross_entropy"},
        "use one of mse, mae, huber",
    ),
    (
        "several outputs for one target",
        one_target,
        3,
        {},
        "the model outputs shape (2, 3) for a batch of 2, but the data has one target per "
        "sample (regression): the last layer needs 1 output",
    ),
    (
        "two outputs for binary",
        lambda: from_arrays(X, X[:, 0] > 0, task="binary"),
        2,
        {},
        "(binary): the last layer needs 1 output",
    ),
    (
        "task disagrees",
        one_target,
        1,
        {"task": "binary"},
        "fit(task='binary') but the data was built for task='regression'",
    ),
    (
        "accuracy of a regression",
        one_target,
        1,
        {"study_metric": "val_accuracy"},
        "the study's metric 'val_accuracy' is not one fit() returns for this regression task",
    ),
]


@pytest.mark.parametrize(
    ("make", "outputs", "settings", "fragment"),
    [c[1:] for c in BAD_SETUPS],
    ids=[c[0] for c in BAD_SETUPS],
)
def test_a_setup_that_does_not_suit_the_task_stops_at_the_first_trial(
    make, outputs, settings, fragment
):
    data = make()
    settings = dict(settings)
    s = study(settings.pop("study_metric", "val_loss"))
    with pytest.raises(TrainingError) as info:
        s.optimize(lambda t: fit(linear(outputs), data, t, **FIXED, **settings), n_trials=5)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    (trial,) = s.trials
    assert trial.state is TrialState.FAIL and trial.reports == ()


def test_a_regression_diverges_at_a_huge_learning_rate_and_not_at_a_sound_one(linear_target):
    data, _ = linear_target
    sound = train(data, linear(1), learning_rate=1e-2)
    assert sound.state is TrialState.COMPLETE and not sound.user_attrs.get("diverged")
    wild = train(data, linear(1), optimizer="sgd", learning_rate=10.0)
    assert wild.state is TrialState.PRUNED and wild.user_attrs["diverged"]
    assert "diverged at epoch 0" in (wild.reason or "")
