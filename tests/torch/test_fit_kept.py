"""fit() keeps what training produced: the best trials' weights (reloaded by load_best to
the same validation score, with disk use bounded), and a checkpoint of the last epoch
from which a later fit goes on exactly where the first stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import tunelab
from tunelab import TrialState
from tunelab.torch import TrainingError, evaluate, fit, load_best, load_digits

FIXED = dict(optimizer="adam", batch_size=64, lr_schedule="constant", weight_decay=0.0, patience=50)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def net(width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Dropout(0.2), nn.Linear(width, 10))


def build(hp) -> nn.Module:
    return net(hp.Int("width", 8, 64, step=8))


def test_the_best_trials_keep_weights_that_reload_to_their_score(digits, tmp_path):
    study = tunelab.create_study("kept", storage=f"sqlite:///{tmp_path}/runs.db", seed=0)
    settings = dict(FIXED, learning_rate=1e-2, epochs=3)
    study.optimize(lambda t: fit(build(t.hp), digits, t, keep_models=2, **settings), n_trials=6)
    files = sorted(tmp_path.glob("runs-artifacts/kept/trial-*/best.safetensors"))
    best_two = study.top_trials(2)
    assert [f.parent.name for f in files] == sorted(f"trial-{t.number}" for t in best_two)
    for k, trial in enumerate(best_two):
        model = load_best(study, build, k)
        _, accuracy = evaluate(model, digits.x_val, digits.y_val, nn.CrossEntropyLoss())
        assert accuracy == pytest.approx(trial.value, abs=1e-9)  # the best epoch's weights


def test_keep_models_zero_writes_nothing(digits, tmp_path):
    study = tunelab.create_study("none", storage=f"sqlite:///{tmp_path}/runs.db", seed=0)
    settings = dict(FIXED, learning_rate=1e-2, epochs=1)
    study.optimize(lambda t: fit(build(t.hp), digits, t, keep_models=0, **settings), n_trials=2)
    assert not (tmp_path / "runs-artifacts").exists()
    with pytest.raises(TrainingError, match="study 'none' has no kept weights"):
        load_best(study, build)


def test_an_unwritable_artifacts_folder_stops_the_search_before_training(digits, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    study = tunelab.create_study("ro", storage=":memory:", seed=0)
    with pytest.raises(TrainingError, match="is not writable") as info:
        study.optimize(
            lambda t: fit(build(t.hp), digits, t, artifacts=blocker, epochs=1, **FIXED),
            n_trials=2,
        )
    assert "\n" not in str(info.value)
    (trial,) = study.trials
    assert trial.state is TrialState.FAIL and trial.reports == ()


def _curve(trial) -> list[float]:
    return [r.metrics[m] for r in trial.reports for m in ("train_loss", "val_loss")]


def test_a_run_resumed_from_its_checkpoint_goes_on_as_if_never_stopped(digits, tmp_path):
    """Six epochs in one go, and three epochs then three more from the checkpoint: the same
    losses at every epoch (weights, optimizer moments, shuffling and dropout all resume)."""
    study = tunelab.create_study("resume", storage=f"sqlite:///{tmp_path}/runs.db", seed=0)
    settings = dict(FIXED, learning_rate=3e-3)

    def run(epochs: int, **kwargs) -> tunelab.FrozenTrial:
        trial = study.ask()
        torch.manual_seed(0)  # the same initial weights each time
        value = fit(net(32), digits, trial, seed=7, epochs=epochs, **settings, **kwargs)
        return study.tell(trial, value)

    whole = run(6, keep_models=0)
    first = run(3, keep_models=0, checkpoint="last")
    folder = Path(first.user_attrs["kept_checkpoint"]["path"]).parent
    assert (folder / "last.pt").is_file()
    rest = run(6, keep_models=0, resume_from=folder)
    assert [r.step for r in rest.reports] == [3, 4, 5]
    resumed = _curve(first) + _curve(rest)
    assert resumed == pytest.approx(_curve(whole), rel=1e-5)
    assert rest.user_attrs["epochs_run"] == 6


def test_resuming_into_another_model_names_the_tensor(digits, tmp_path):
    study = tunelab.create_study("mismatch", storage=f"sqlite:///{tmp_path}/runs.db", seed=0)
    trial = study.ask()
    fit(net(16), digits, trial, epochs=1, checkpoint="last", **FIXED)
    folder = Path(trial.user_attrs["kept_checkpoint"]["path"]).parent
    other = study.ask()
    with pytest.raises(TrainingError, match=r"'0.weight' has shape \(32, 64\) in the model"):
        fit(net(32), digits, other, epochs=2, resume_from=folder, **FIXED)
    with pytest.raises(TrainingError, match="checkpoint must be 'last'"):
        fit(net(32), digits, other, epochs=2, checkpoint="best", **FIXED)
