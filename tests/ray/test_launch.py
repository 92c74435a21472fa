"""The Ray launcher on a real local Ray instance (two CPUs) and a SQLite study file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import tunelab
import tunelab.ray
from tunelab.types import TrialState

ray = pytest.importorskip("ray")  # installed by the dev extra; importorskip only names it

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def make_objective() -> Callable[[tunelab.Trial], float]:
    """A closure: cloudpickle ships it by value (a test module is not importable on Ray)."""

    def objective(trial: tunelab.Trial) -> float:
        x = trial.hp.Float("x", -2.0, 2.0)
        trial.report(0, loss=x * x)
        return x * x

    return objective


objective = make_objective()


def test_launch_runs_the_study_budget_across_ray_tasks(local_ray: None, tmp_path: Path) -> None:
    url = str(tmp_path / "s.db")
    tunelab.create_study(
        "r", storage=url, metric="loss", direction="minimize", sampler="random"
    ).storage.close()
    ran = tunelab.ray.launch("r", url, objective, num_workers=2, n_trials=30)
    assert len(ran) == 2 and sum(ran) == 30
    study = tunelab.load_study("r", url)
    trials = study.trials
    assert len(trials) == 30 and all(t.state is TrialState.COMPLETE for t in trials)
    assert len({t.worker for t in trials}) == sum(1 for n in ran if n)  # one per Ray task
    study.storage.close()


def test_launch_reports_a_missing_study_clearly(local_ray: None, tmp_path: Path) -> None:
    url = str(tmp_path / "s.db")
    tunelab.create_study("other", storage=url).storage.close()
    with pytest.raises(tunelab.TunelabError, match="no study named 'nope'"):
        tunelab.ray.launch("nope", url, objective, num_workers=1, n_trials=1)


def test_launch_checks_its_arguments_before_starting_anything() -> None:
    with pytest.raises(ValueError, match="num_workers"):
        tunelab.ray.launch("s", "x.db", objective, num_workers=0)
    with pytest.raises(ValueError, match="'cpu' and 'gpu'"):
        tunelab.ray.launch("s", "x.db", objective, 1, resources_per_trial={"tpu": 1})
    with pytest.raises(ValueError, match="database URL"):
        tunelab.ray.launch("s", ":memory:", objective, 1)
