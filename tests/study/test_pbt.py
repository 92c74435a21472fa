"""Population-based training in one process, on a plain objective whose "weights" are a
number in a JSON file: a bottom trial goes on from a copy of a top trial's checkpoint of
the same step with that trial's values, explored; the schedule of values each trial
trained with reads back; bad input is refused in one line naming the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tunelab
from tunelab.errors import ConfigurationError
from tunelab.schedulers import PB2Scheduler, PBTScheduler
from tunelab.study.pbt import found_schedule, schedule_of
from tunelab.study.replay import replay
from tunelab.types import TrialState

EPOCHS, INTERVAL, POPULATION = 8, 2, 4


def weights(folder: Path) -> Any:
    """Trains w towards 1 at the rate `lr`; the checkpoint is {"w", "next"}. The first
    report after a resume also holds the loaded w, evaluated before any training."""

    def objective(trial: tunelab.Trial) -> float:
        lr = trial.hp.Float("lr", 0.01, 0.5, sampling="log")
        w, start, loaded = 0.0, 0, None
        if trial.resume_from is not None:
            state = json.loads(Path(trial.resume_from).read_text())
            w, start, loaded = state["w"], state["next"], state["w"]
        trial.set_resumable(folder / f"trial-{trial.number}" / "state.json")
        Path(trial.checkpoint or "").parent.mkdir(parents=True, exist_ok=True)
        for epoch in range(start, EPOCHS):
            w += lr * (1.0 - w)
            extra = {} if loaded is None else {"loaded": loaded}
            loaded = None
            trial.report(epoch, acc=w, lr=lr, **extra)
            Path(trial.checkpoint or "").write_text(json.dumps({"w": w, "next": epoch + 1}))
            if epoch < EPOCHS - 1 and trial.should_pause():
                raise tunelab.TrialPaused
        return w

    return objective


def _study(scheduler: Any, storage: str = ":memory:") -> tunelab.Study:
    return tunelab.create_study(
        "pbt", storage=storage, metric="acc", direction="maximize", scheduler=scheduler
    )


@pytest.mark.parametrize("kind", [PBTScheduler, PB2Scheduler])  # PB2: the GP's values
def test_bottom_trials_take_a_top_trials_weights_and_explored_values(
    tmp_path: Path, kind: type[PBTScheduler]
) -> None:
    study = _study(kind(population_size=POPULATION, interval=INTERVAL, hyperparams=["lr"]))
    for lr in (0.02, 0.03, 0.2, 0.3):  # two slow trials that should copy the fast ones
        study.enqueue({"lr": lr})
    study.optimize(weights(tmp_path), n_trials=POPULATION)
    trials = {t.number: t for t in study.trials}
    assert all(t.state is TrialState.COMPLETE for t in trials.values())
    exploits = 0
    for t in trials.values():
        assert [r.step for r in t.reports] == list(range(EPOCHS))
        schedule = schedule_of(t)
        assert schedule[0] == {
            "step": 0,
            "params": {"lr": t.reports[0].metrics["lr"]},
            "parent": None,
        }
        assert t.params == schedule[-1]["params"]  # the stored params: the current values
        for entry in schedule[1:]:
            exploits += 1
            step, parent = entry["step"], trials[entry["parent"]]
            child_report = t.reports[step].metrics
            # the child goes on from the parent's weights of the step before ...
            assert child_report["loaded"] == pytest.approx(parent.reports[step - 1].metrics["acc"])
            # ... with the new values, which the objective sees through trial.hp
            assert child_report["lr"] == entry["params"]["lr"]
            assert parent.reports[step - 1].metrics["lr"] > 0.1  # a top trial's values
            assert 0.01 <= entry["params"]["lr"] <= 0.5
    assert exploits >= 2  # each of the slow trials at least once
    slow = [t for t in trials.values() if t.reports[0].metrics["lr"] < 0.1]
    assert all(t.value > 0.9 for t in slow)  # they caught up by taking the fast weights


def test_population_larger_than_the_budget_is_refused(tmp_path: Path) -> None:
    study = _study(PBTScheduler(population_size=8, interval=INTERVAL))
    with pytest.raises(ConfigurationError, match=r"population of 8.*budget is 3.*n_trials >= 8"):
        study.optimize(weights(tmp_path), n_trials=3)
    assert study.trials == []


def test_a_fixed_hyperparameter_cannot_be_perturbed(tmp_path: Path) -> None:
    def objective(trial: tunelab.Trial) -> float:
        trial.hp.Fixed("width", 32)
        return weights(tmp_path)(trial)

    study = _study(PBTScheduler(population_size=2, interval=INTERVAL, hyperparams=["lr", "width"]))
    with pytest.raises(ConfigurationError, match=r"'width' is fixed.*cannot be perturbed"):
        study.optimize(objective, n_trials=2)
    # refused once the space names it, at the next request: the first trial waits, intact
    (first,) = study.trials
    assert first.state is TrialState.PAUSED and len(first.reports) == INTERVAL


def test_an_objective_that_cannot_resume_is_told_how(tmp_path: Path) -> None:
    def objective(trial: tunelab.Trial) -> float:
        lr = trial.hp.Float("lr", 0.01, 0.5, sampling="log")
        for epoch in range(EPOCHS):
            trial.report(epoch, acc=lr * epoch)
        return lr

    study = _study(PBTScheduler(population_size=2, interval=INTERVAL))
    with pytest.raises(ConfigurationError, match=r"checkpoint='last'.*trial.set_resumable"):
        study.optimize(objective, n_trials=2)
    (trial,) = study.trials
    assert trial.state is TrialState.FAIL and "set_resumable" in (trial.reason or "")


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"population_size": 1}, "population_size must be an int >= 2"),
        ({"quantile": 0.7}, r"quantile must lie in \[0, 0.5\]"),
        ({"perturb": (0.8, -1)}, "perturb factors must be positive"),
        ({"hyperparams": "lr"}, "hyperparams must be a list of parameter names"),
    ],
)
def test_bad_settings_say_which(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        PBTScheduler(**settings)


def test_the_settings_round_trip_through_json() -> None:
    scheduler = PBTScheduler(population_size=4, interval=3, hyperparams=["lr"], perturb=(0.5, 2))
    again = tunelab.schedulers.make_scheduler(json.loads(json.dumps(scheduler.to_json())))
    assert isinstance(again, PBTScheduler) and again.config() == scheduler.config()


def test_the_found_schedule_replays_to_the_same_curve(tmp_path: Path) -> None:
    study = _study(PBTScheduler(population_size=POPULATION, interval=INTERVAL, hyperparams=["lr"]))
    for lr in (0.02, 0.03, 0.2, 0.3):
        study.enqueue({"lr": lr})
    study.optimize(weights(tmp_path / "pbt"), n_trials=POPULATION)
    child = next(t for t in study.trials if len(schedule_of(t)) > 1)  # it took weights
    schedule = found_schedule(study.trials, child.number)
    last_exploit = schedule_of(child)[-1]["step"]
    assert schedule[0]["trial"] != child.number and schedule[-1]["trial"] == child.number
    assert [e["step"] for e in schedule] == sorted({e["step"] for e in schedule})

    again = replay(study, child.number, weights(tmp_path / "replay"))
    assert again.state is TrialState.COMPLETE
    # a fresh trial trained with the lineage's values step by step reaches the curve its
    # weights had: the ancestors' before each exploit, the child's from the last one on
    trials = {t.number: t for t in study.trials}
    replayed = {r.step: r.metrics["acc"] for r in again.reports}
    assert sorted(replayed) == list(range(EPOCHS))
    for entry, end in zip(schedule, [e["step"] for e in schedule[1:]] + [EPOCHS], strict=True):
        owner = trials[entry["trial"]].intermediate("acc")
        for step in range(entry["step"], end):
            assert replayed[step] == pytest.approx(owner[step])
    assert schedule[-1]["step"] == last_exploit
    assert again.value == pytest.approx(child.value)
    assert [e["params"] for e in schedule_of(again)] == [e["params"] for e in schedule]
