"""fit() reports the trial's costs, n_parameters (step 0) and train_seconds (every epoch,
cumulative), so studies of accuracy against size or training time need no user code."""

from __future__ import annotations

import types

import pytest
import torch
from torch import nn

import tunelab
from tunelab import TrialState
from tunelab.cli.script import find_objective
from tunelab.torch.data import Data, from_arrays
from tunelab.torch.fit import TrainingError, fit

FIXED = dict(
    optimizer="adam",
    learning_rate=1e-2,
    batch_size=32,
    lr_schedule="constant",
    weight_decay=0.0,
    epochs=3,
)
SIZES = (2, 4, 16, 32)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def blobs() -> Data:
    """Three well-separated classes in 8 dimensions, generated."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(240) % 3
    x = torch.randn(240, 8, generator=g) * 0.5 + nn.functional.one_hot(y, 8).float() * 3
    return from_arrays(x.numpy(), y.numpy(), seed=0)


def mlp(hidden: int, frozen: bool = False) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, 3))
    if frozen:
        model[0].requires_grad_(False)
    return model


def test_n_parameters_is_reported_at_step_0_and_counts_trainable_parameters(blobs):
    models = []

    def objective(t):
        models.append(mlp(16, frozen=True))
        return fit(models[-1], blobs, t, **FIXED)

    study = tunelab.create_study("costs", storage=":memory:", metric="val_accuracy")
    study.optimize(objective, n_trials=1, catch=())
    (trial,) = study.trials
    trainable = sum(p.numel() for p in models[0].parameters() if p.requires_grad)
    assert trainable == 16 * 3 + 3  # the frozen first layer is left out
    assert trial.intermediate("n_parameters") == {0: float(trainable)}


def test_train_seconds_is_reported_every_epoch_positive_and_non_decreasing(blobs):
    study = tunelab.create_study("costs", storage=":memory:", metric="val_accuracy")
    study.optimize(lambda t: fit(mlp(8), blobs, t, **FIXED, patience=10), n_trials=1, catch=())
    (trial,) = study.trials
    seconds = trial.intermediate("train_seconds")
    assert sorted(seconds) == [0, 1, 2]
    values = [seconds[s] for s in sorted(seconds)]
    assert values[0] > 0 and values == sorted(values)
    epochs = trial.intermediate("epoch_seconds")
    assert values[-1] >= sum(epochs.values())  # the whole training, not one epoch
    assert trial.value == trial.intermediate("val_accuracy")[trial.user_attrs["best_epoch"]]


def _size_study(objective, constraints=None) -> tunelab.Study:
    study = tunelab.create_study(
        "size",
        storage=":memory:",
        metrics=["val_accuracy", "n_parameters"],
        directions=["maximize", "minimize"],
        constraints=constraints,
        sampler="grid",
        seed=0,
    )
    study.optimize(objective, n_trials=len(SIZES), catch=())
    return study


def _by_size(trial) -> nn.Module:
    return mlp(trial.hp.Choice("hidden", list(SIZES)))


def test_a_study_of_accuracy_against_size_runs_a_kit_objective_unchanged(blobs):
    study = _size_study(lambda t: fit(_by_size(t), blobs, t, **FIXED))
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * len(SIZES)
    sizes = {t.params["hidden"]: t.values[1] for t in study.trials}
    assert sizes == {h: float(8 * h + h + 3 * h + 3) for h in SIZES}
    for t in study.trials:
        assert t.metrics["train_seconds"] > 0
        assert t.values[0] == t.intermediate("val_accuracy")[t.user_attrs["best_epoch"]]
    front = study.best_trials
    assert front and all(t.feasible for t in front)
    smallest = min(study.trials, key=lambda t: t.values[1])
    assert smallest in front  # nothing is smaller, so nothing dominates it


def test_a_kit_script_without_an_objective_serves_a_study_of_several_metrics(blobs):
    script = types.ModuleType("kit_script")
    script.build_model = lambda hp: mlp(hp.Choice("hidden", list(SIZES)))
    script.DATA = blobs
    script.FIT = dict(FIXED)
    objective = find_objective(script, "kit_script.py")
    study = _size_study(objective)
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    assert study.best_trials


def test_a_constraint_on_n_parameters_marks_big_models_infeasible(blobs):
    bound = 8 * 4 + 4 + 3 * 4 + 3  # hidden <= 4 fits
    study = _size_study(
        lambda t: fit(_by_size(t), blobs, t, **FIXED), {"n_parameters": ("<=", bound)}
    )
    feasible = {t.params["hidden"]: t.feasible for t in study.trials}
    assert feasible == {2: True, 4: True, 16: False, 32: False}
    assert {t.params["hidden"] for t in study.best_trials} <= {2, 4}


def test_a_metric_fit_does_not_return_is_refused_before_training(blobs):
    study = tunelab.create_study(
        "size",
        storage=":memory:",
        metrics=["val_accuracy", "latency"],
        directions=["maximize", "minimize"],
    )
    with pytest.raises(TrainingError, match="'latency' is not one fit\\(\\) returns"):
        study.optimize(lambda t: fit(mlp(4), blobs, t, **FIXED), n_trials=1, catch=())
