"""Worker processes sharing one study in a real PostgreSQL database."""

from __future__ import annotations

import pytest

import tunelab
from tunelab import TrialState


@pytest.mark.slow
def test_two_worker_processes_run_exactly_the_budget(postgres_url):
    study = tunelab.create_study("pg", storage=postgres_url, metric="loss", direction="minimize")
    study.optimize(lambda t: (t.hp.Float("x", -2, 2) - 1) ** 2, n_trials=40, n_jobs=2)
    trials = tunelab.load_study("pg", storage=postgres_url).trials
    assert sorted(t.number for t in trials) == list(range(40))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert len({t.worker for t in trials}) == 2


@pytest.mark.slow
def test_grid_cells_run_once_across_workers(postgres_url):
    def objective(trial):
        return trial.hp.Int("a", 1, 6) * 10 + trial.hp.Choice("b", [1, 2, 3])

    study = tunelab.create_study(
        "g", storage=postgres_url, sampler="grid", metric="v", direction="minimize"
    )
    study.optimize(objective, n_jobs=2)
    cells = [tuple(t.params.items()) for t in tunelab.load_study("g", postgres_url).trials]
    assert len(cells) == 18 and len(set(cells)) == 18
