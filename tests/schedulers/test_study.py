"""Schedulers inside real studies: stored verdicts, visible reports, JSON resume, fit."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import tunelab
from tunelab.errors import TrialPruned
from tunelab.schedulers import ASHAScheduler, HyperbandScheduler, MedianStoppingScheduler
from tunelab.storage.sql import SQLStorage
from tunelab.types import TrialState


def objective(trial: tunelab.Trial) -> float:
    x = trial.hp.Float("x", 0.0, 1.0)
    for step in range(9):
        trial.report(step, loss=x + math.exp(-(step + 1) / 3), other=float(step))
        if trial.should_prune():
            raise TrialPruned("stopped by the objective")
    return x + math.exp(-3)


def test_pruned_trials_keep_reports_reason_rung_and_last_value(tmp_path: Path) -> None:
    url = str(tmp_path / "s.db")
    study = tunelab.create_study(
        "s",
        storage=url,
        metric="loss",
        direction="minimize",
        sampler="random",
        seed=1,
        scheduler=ASHAScheduler(min_resource=1, max_resource=9, reduction_factor=3),
    )
    study.optimize(objective, n_trials=20)
    study.close()
    fresh = tunelab.load_study("s", storage=SQLStorage(url))
    pruned = fresh.get_trials([TrialState.PRUNED])
    assert len(pruned) >= 8
    for t in pruned:
        steps = [r.step for r in t.reports]
        assert steps == list(range(len(steps))) and steps[-1] in (0, 2)  # rungs 1 and 3
        assert t.value == t.reports[-1].metrics["loss"]
        assert t.reports[-1].metrics["other"] == steps[-1]
        assert (t.reason or "").startswith(f"asha: rung {t.system_attrs['rung']} (resource")
        assert t.system_attrs["pruned_by"] == "asha"
        assert t.system_attrs["pruned_at_step"] == steps[-1]
    complete = fresh.get_trials([TrialState.COMPLETE])
    assert complete and all(len(t.reports) == 9 for t in complete)
    assert "pruned_by" not in complete[0].system_attrs


def test_the_scheduler_is_stored_as_json_and_used_on_resume(tmp_path: Path) -> None:
    url = str(tmp_path / "s.db")
    hb = HyperbandScheduler(
        min_resource=1, max_resource=9, reduction_factor=3, seed=4, adaptive=False
    )
    study = tunelab.create_study(
        "s",
        storage=url,
        metric="loss",
        direction="minimize",
        sampler="random",
        seed=2,
        scheduler=hb,
    )
    assert dict(study.settings)["scheduler"] == hb.to_json()
    study.optimize(objective, n_trials=10)
    study.close()
    again = tunelab.load_study("s", storage=url)
    assert isinstance(again.scheduler, HyperbandScheduler)
    assert again.scheduler.to_json() == hb.to_json()
    again.optimize(objective, n_trials=30)  # resumes to 30 with the same brackets
    trials = again.trials
    assert len(trials) == 30
    assert all(t.system_attrs["bracket"] == hb.bracket_of(t.number) for t in trials)
    assert any(t.state is TrialState.PRUNED for t in trials if t.number >= 10)
    # create_study on the existing study without a scheduler keeps the stored one
    kept = tunelab.create_study("s", storage=url, metric="loss", direction="minimize")
    assert isinstance(kept.scheduler, HyperbandScheduler)


def test_a_scheduler_given_for_an_existing_study_replaces_the_stored_one(tmp_path: Path) -> None:
    url = str(tmp_path / "s.db")
    tunelab.create_study("s", storage=url, metric="loss", direction="minimize").close()
    assert tunelab.load_study("s", storage=url).scheduler is None
    study = tunelab.load_study("s", storage=url, scheduler={"name": "median", "min_trials": 3})
    assert isinstance(study.scheduler, MedianStoppingScheduler) and study.scheduler.min_trials == 3
    reread = tunelab.load_study("s", storage=url)  # what a worker process opens
    assert isinstance(reread.scheduler, MedianStoppingScheduler)
    assert (
        tunelab.create_study(
            "s", storage=url, metric="loss", direction="minimize", scheduler="none"
        ).scheduler
        is None
    )
    assert tunelab.load_study("s", storage=url).scheduler is None


def test_without_a_scheduler_nothing_is_pruned() -> None:
    study = tunelab.create_study(
        storage=":memory:", metric="loss", direction="minimize", sampler="random"
    )
    assert study.scheduler is None and study.settings["scheduler"] == {"name": "none"}
    study.optimize(objective, n_trials=6)
    assert all(t.state is TrialState.COMPLETE for t in study.trials)


def test_an_unknown_scheduler_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown scheduler 'ashaa'; choose one of"):
        tunelab.create_study(storage=":memory:", scheduler="ashaa")


def test_ask_tell_loop_with_should_prune() -> None:
    study = tunelab.create_study(
        storage=":memory:",
        metric="loss",
        direction="minimize",
        scheduler=ASHAScheduler(reduction_factor=2),
    )
    first = study.ask()
    first.report(0, loss=1.0)
    assert not first.should_prune()
    study.tell(first, 1.0)
    second = study.ask()
    second.report(0, loss=2.0)
    assert second.should_prune()
    frozen = study.tell(second, state=TrialState.PRUNED)
    assert frozen.value == 2.0 and frozen.system_attrs["rung"] == 0
    assert "ranks 2 of 2" in (frozen.reason or "")


@pytest.mark.slow
def test_fit_obeys_asha_on_real_training() -> None:
    torch = pytest.importorskip("torch")
    from torch import nn

    from tunelab.torch.data import Data, load_digits
    from tunelab.torch.fit import fit

    data = load_digits()
    data = Data(data.x_train[:300], data.y_train[:300], data.x_val, data.y_val, data.num_classes)

    def train(trial: tunelab.Trial) -> float:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
        return fit(
            model,
            data,
            trial,
            optimizer="sgd",
            momentum=0.0,
            nesterov=False,
            batch_size=64,
            lr_schedule="constant",
            weight_decay=0.0,
            epochs=5,
            patience=5,
        )

    study = tunelab.create_study(
        storage=":memory:",
        metric="val_accuracy",
        sampler="random",
        seed=0,
        scheduler=ASHAScheduler(max_resource=5),
    )
    for lr in (0.1, 0.05, 1e-4):
        study.enqueue({"learning_rate": lr})
    study.optimize(train, n_trials=3, catch=())
    by_lr = {t.params["learning_rate"]: t for t in study.trials}
    slow = by_lr[1e-4]
    assert slow.state is TrialState.PRUNED and slow.system_attrs["pruned_by"] == "asha"
    assert len(slow.reports) in (1, 3) and "val_accuracy" in slow.reports[-1].metrics
    assert by_lr[0.1].state is TrialState.COMPLETE and len(by_lr[0.1].reports) == 5
