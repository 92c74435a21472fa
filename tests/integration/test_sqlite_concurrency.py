"""Several worker processes on one SQLite file: no error reaches the user, the budget is
exact, trial numbers are unique, nothing is left RUNNING, and no grid cell runs twice."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from pathlib import Path

import pytest

import tunelab
from tunelab.types import TrialState

from .workers import Spawn, finish, open_study, start_together

pytestmark = pytest.mark.slow

GRID = set(itertools.product([1, 2, 3], ["x", "y"], [False, True]))  # 12 cells


def objective(trial: tunelab.Trial) -> float:
    x = trial.hp.Float("x", 0.0, 1.0)
    trial.hp.Choice("act", ["relu", "tanh", "gelu"])
    trial.report(0, loss=x + 1.0)
    trial.report(1, loss=x)
    trial.set_user_attr("pid", __import__("os").getpid())
    return x


def grid_objective(trial: tunelab.Trial) -> float:
    a = trial.hp.Choice("a", [1, 2, 3])
    b = trial.hp.Choice("b", ["x", "y"])
    c = trial.hp.Boolean("c")
    time.sleep(0.01)
    return a + len(b) + int(c)


def _assert_exact(study: tunelab.Study, n: int) -> list[tunelab.FrozenTrial]:
    trials = study.trials
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    assert not [t for t in trials if not t.state.is_finished], "a trial was left unfinished"
    done = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(done) == n
    assert len(trials) == n, [(t.number, t.state, t.reason) for t in trials if t not in done]
    counts = study.storage.count_trials(study.study_id)
    assert counts.budget_used == n and counts[TrialState.RUNNING] == 0
    return done


def _cells(trials: list[tunelab.FrozenTrial]) -> list[tuple[object, ...]]:
    return [(t.params["a"], t.params["b"], t.params["c"]) for t in trials]


def test_n_jobs_2_runs_exactly_the_budget(db_url: str) -> None:
    study = tunelab.create_study("s", storage=db_url, metric="loss", direction="minimize")
    study.optimize(objective, n_trials=60, n_jobs=2)  # raises if any worker had an error
    done = _assert_exact(open_study(db_url), 60)
    assert all([r.step for r in t.reports] == [0, 1] for t in done)
    assert len({t.user_attrs["pid"] for t in done}) == 2  # both workers did some


def test_two_independent_worker_processes(spawn: Spawn, tmp_path: Path, db_url: str) -> None:
    # both create the file, the schema and the study at the same moment, then share it
    procs = [spawn(n_trials=50, steps=2, sleep=0.005) for _ in range(2)]
    for proc in procs:
        finish(proc)
    study = open_study(db_url)
    done = _assert_exact(study, 50)
    assert all(len(t.reports) == 2 and set(t.params) == {"x", "units"} for t in done)

    # and once more, released together on the existing study
    for proc in start_together(spawn, tmp_path, 2, n_trials=90, steps=2, sleep=0.005):
        finish(proc)
    done = _assert_exact(study, 90)
    assert len({t.worker.split(":")[1] for t in done if t.number >= 50}) == 2  # type: ignore[union-attr]


def test_grid_with_two_jobs_runs_every_cell_once(db_url: str) -> None:
    study = tunelab.create_study(
        "g", storage=db_url, metric="loss", direction="minimize", sampler="grid"
    )
    study.optimize(grid_objective, n_trials=40, n_jobs=2)  # stops when the grid is exhausted
    trials = tunelab.load_study("g", db_url).trials
    done = [t for t in trials if t.state is TrialState.COMPLETE]
    cells = _cells(done)
    assert not [c for c, k in Counter(cells).items() if k > 1], "a grid cell ran twice"
    assert set(cells) == GRID
    others = [t for t in trials if t.state is not TrialState.COMPLETE]
    assert all(not t.counts_toward_budget for t in others), others  # no real failures


def test_grid_with_two_worker_processes(spawn: Spawn, tmp_path: Path, db_url: str) -> None:
    procs = start_together(
        spawn, tmp_path, 2, kind="grid", sampler="grid", sleep=0.02, n_trials=None
    )
    for proc in procs:
        finish(proc)
    study = open_study(db_url)
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    cells = _cells(done)
    assert sorted(cells) == sorted(GRID)  # every cell once, none twice
    assert len({t.worker.split(":")[1] for t in done}) == 2  # type: ignore[union-attr]
    assert study.storage.count_trials(study.study_id)[TrialState.RUNNING] == 0


def test_stress_four_processes_with_an_enqueued_queue(
    spawn: Spawn, tmp_path: Path, db_url: str
) -> None:
    study = tunelab.create_study("s", storage=db_url, metric="loss", direction="minimize")
    queued = [{"x": i / 20, "units": 8 * (1 + i % 8)} for i in range(20)]
    for params in queued:
        study.enqueue(params)
    for proc in start_together(spawn, tmp_path, 4, n_trials=120, steps=3):
        finish(proc)
    done = _assert_exact(open_study(db_url), 120)
    ran = Counter((t.params["x"], t.params["units"]) for t in done if t.number < 20)
    assert ran == Counter((p["x"], p["units"]) for p in queued)  # each queued config once
    assert len({t.worker.split(":")[1] for t in done}) >= 2  # type: ignore[union-attr]
