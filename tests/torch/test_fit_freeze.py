"""fit(..., checkpoint="last") under scheduler="freeze-thaw": the trial pauses at each
slice's end and goes on from its own checkpoint as if never stopped (real training on the
bundled digits)."""

from __future__ import annotations

from pathlib import Path

import pytest
from torch import nn

import tunelab
from tunelab import TrialState
from tunelab.schedulers import FreezeThawScheduler
from tunelab.torch import fit, load_digits

SETTINGS = dict(
    optimizer="adam",
    batch_size=64,
    lr_schedule="constant",
    weight_decay=0.0,
    patience=50,
    learning_rate=3e-3,
    epochs=4,
)


def _curve(trial: tunelab.FrozenTrial) -> list[float]:
    return [r.metrics["val_loss"] for r in trial.reports]


def test_a_paused_fit_goes_on_as_if_never_stopped(tmp_path):
    digits = load_digits()

    def objective(trial: tunelab.Trial) -> float:
        model = nn.Sequential(nn.Linear(64, trial.hp.Int("width", 8, 64, step=8)), nn.ReLU())
        model.append(nn.Linear(model[0].out_features, 10))
        return fit(model, digits, trial, seed=7, keep_models=0, checkpoint="last", **SETTINGS)

    def run(scheduler: FreezeThawScheduler | None) -> tunelab.FrozenTrial:
        study = tunelab.create_study(
            "fit", storage=f"sqlite:///{tmp_path}/{scheduler is not None}.db", scheduler=scheduler
        )
        study.enqueue({"width": 32})
        study.optimize(objective, n_trials=1)
        (trial,) = study.trials
        return trial

    whole = run(None)
    sliced = run(FreezeThawScheduler(slice=2, initial=1, min_chance=0.0))
    assert whole.state is sliced.state is TrialState.COMPLETE
    assert "resumes" not in whole.system_attrs and sliced.system_attrs["resumes"] == 1
    assert sliced.system_attrs["checkpoint"].endswith("trial-0/last.pt")
    assert [r.step for r in sliced.reports] == list(range(4))
    assert _curve(sliced) == pytest.approx(_curve(whole), rel=1e-5)
    assert sliced.value == pytest.approx(whole.value)


def test_a_paused_trial_whose_checkpoint_is_gone_fails_and_the_search_goes_on(tmp_path):
    digits = load_digits()
    settings = {**SETTINGS, "epochs": 2}

    def objective(trial: tunelab.Trial) -> float:
        if trial.resume_from is not None and trial.number == 0:
            Path(trial.resume_from).unlink()  # lost with a disk, say
        model = nn.Sequential(nn.Linear(64, 10))
        return fit(model, digits, trial, keep_models=0, checkpoint="last", **settings)

    study = tunelab.create_study(
        "gone",
        storage=f"sqlite:///{tmp_path}/gone.db",
        scheduler=FreezeThawScheduler(slice=1, initial=1, min_chance=0.0),
    )
    study.optimize(objective, n_trials=2)
    first, second = study.trials
    assert first.state is TrialState.FAIL and "which is gone" in (first.reason or "")
    assert [r.step for r in first.reports] == [0]  # its curve up to the pause is kept
    assert second.state is TrialState.COMPLETE
