"""The README's main job: the seed tutorial's MLP tuned on scikit-learn's digits."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import tunelab
from tunelab import TrialState

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "run_hparam_tuning.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("seed_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_seed_example_trains_real_models_and_reports_every_epoch(example, tmp_path):
    study = tunelab.create_study("digits", storage=str(tmp_path / "t.db"), seed=7)
    study.enqueue(
        {"hidden1": 256, "dropout1": 0.2, "hidden2": 64, "dropout2": 0.2, "learning_rate": 1e-2}
    )
    study.optimize(example.objective, n_trials=3)
    trials = study.trials
    assert all(t.state is TrialState.COMPLETE for t in trials)
    model_params = {"hidden1", "dropout1", "hidden2", "dropout2", "learning_rate"}
    assert model_params <= set(trials[0].params)
    assert trials[0].params["optimizer"] == "adam" and trials[0].params["epochs"] == 10
    for t in trials:
        epochs = sorted(t.intermediate("val_accuracy"))
        assert epochs == list(range(len(epochs))) and 1 <= len(epochs) <= 10
        best = t.user_attrs["best_epoch"]
        assert t.value == t.intermediate("val_accuracy")[best]
    # A sound configuration learns the digits; chance is 0.1.
    assert trials[0].value > 0.9
    losses = trials[0].intermediate("train_loss")
    assert losses[max(losses)] < losses[0] / 3


@pytest.mark.slow
def test_seeded_runs_repeat_to_the_last_digit(example):
    def run() -> list[tuple[dict, float]]:
        study = tunelab.create_study("r", storage=":memory:", seed=11)
        study.optimize(example.objective, n_trials=2)
        return [(dict(t.params), t.value) for t in study.trials]

    assert run() == run()


@pytest.mark.slow
def test_cnn_example_trains_with_tunable_augmentation():
    spec = importlib.util.spec_from_file_location("cnn_example", EXAMPLE.parent / "cnn_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    study = tunelab.create_study("cnn", storage=":memory:", seed=3)
    study.enqueue(
        {
            "augment": True,
            "aug_shift": 0.15,
            "aug_rotation": 10.0,
            "optimizer": "adam",
            "learning_rate": 3e-3,
            "lr_schedule": "constant",
            "conv_blocks": 2,
        }
    )
    study.optimize(module.objective, n_trials=1)
    (trial,) = study.trials
    assert trial.state is TrialState.COMPLETE, trial.reason
    assert trial.params["augment"] is True and "aug_flip" not in trial.params  # digits: no flips
    assert trial.value > 0.8
