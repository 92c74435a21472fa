"""Two `tunelab worker` processes on one SQLite study of two objectives with a constraint,
pruned by ASHA: every trial ends once, numbers are unique, values are stored as
2-vectors, infeasible trials are flagged, and the Pareto front is the brute-force one."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

import tunelab
from tunelab.schedulers import ASHAScheduler
from tunelab.types import TrialState

from .cli_workers import clean_exit, tunelab_cmd

pytestmark = pytest.mark.slow

N_TRIALS = 36
MAX_SIZE = 14.0

# Accuracy grows with the epochs and with size (units) up to a point; each trial writes
# "start N" and "end N" into its worker's own file, so the test sees how often each ran.
OBJECTIVE = """
import math, os, time
import tunelab

LOG = f"runs-{os.getpid()}.txt"


def objective(trial):
    x = trial.hp.Float("x", 0.0, 1.0)
    units = trial.hp.Int("units", 1, 20)
    with open(LOG, "a") as f:
        f.write(f"start {trial.number}\\n")
    try:
        for step in range(9):
            accuracy = (1 - (x - 0.6) ** 2) * (1 - math.exp(-(step + 1) / 3)) * units / (units + 4)
            trial.report(step, accuracy=accuracy, size=float(units))
            time.sleep(0.01)
            if trial.should_prune():
                raise tunelab.TrialPruned("pruned")
        return {"accuracy": accuracy, "size": float(units)}
    finally:
        with open(LOG, "a") as f:
            f.write(f"end {trial.number}\\n")
"""


def non_dominated(points: dict[int, tuple[float, float]]) -> set[int]:
    """Brute force over (accuracy to maximize, size to minimize)."""

    def beats(a: tuple[float, float], b: tuple[float, float]) -> bool:
        return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])

    return {n for n, p in points.items() if not any(beats(q, p) for q in points.values())}


def test_two_workers_share_a_study_of_two_objectives_with_a_constraint(tmp_path: Path) -> None:
    url = str(tmp_path / "s.db")
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    tunelab.create_study(
        "s",
        storage=url,
        metrics=["accuracy", "size"],
        directions=["maximize", "minimize"],
        constraints={"size": ("<=", MAX_SIZE)},
        sampler="random",
        seed=3,
        scheduler=ASHAScheduler(min_resource=1, max_resource=9, reduction_factor=3),
    ).close()
    worker = ("worker", "s", "--storage", url, "--script", "obj.py", "--trials", str(N_TRIALS))
    procs = [tunelab_cmd(*worker, cwd=tmp_path) for _ in range(2)]
    for proc in procs:
        clean_exit(proc, timeout=240)

    study = tunelab.load_study("s", storage=url)
    trials = study.trials
    assert sorted(t.number for t in trials) == list(range(N_TRIALS))  # unique, no gap
    assert len({t.worker for t in trials}) == 2
    assert {t.state for t in trials} == {TrialState.COMPLETE, TrialState.PRUNED}
    runs = Counter(
        line for log in tmp_path.glob("runs-*.txt") for line in log.read_text().splitlines()
    )
    assert len(list(tmp_path.glob("runs-*.txt"))) == 2
    assert runs == Counter({f"{kind} {n}": 1 for n in range(N_TRIALS) for kind in ("start", "end")})

    with sqlite3.connect(url) as db:  # what the file holds, not what the codec makes of it
        stored = dict(db.execute("SELECT number, values_json FROM tunelab_trials").fetchall())
    for t in trials:
        last = t.reports[-1]
        expected = (last.metrics["accuracy"], last.metrics["size"])
        assert json.loads(stored[t.number]) == list(expected)  # a 2-vector, pruned ones too
        assert t.values == expected
        assert t.feasible is (t.params["units"] <= MAX_SIZE)
        assert t.constraints["size"] == pytest.approx(t.params["units"] - MAX_SIZE)
        if t.state is TrialState.PRUNED:
            assert last.step < 8 and "rung" in (t.reason or "")
        else:
            assert last.step == 8
    # sizes over the bound break the constraint from step 0: ASHA ranks them last at a rung
    assert any("breaking a constraint" in (t.reason or "") for t in trials if not t.feasible)

    candidates = {
        t.number: t.values for t in trials if t.state is TrialState.COMPLETE and t.feasible
    }
    front = [t.number for t in study.best_trials]
    assert front
    assert front == sorted(non_dominated(candidates))  # type: ignore[arg-type]
    assert all(study.trials[n].feasible for n in front)
