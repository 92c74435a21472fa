"""The Ray launcher on a real local Ray instance (two CPUs, no GPU) and a SQLite study
file."""

from __future__ import annotations

import contextlib
import time
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


def make_slow_objective(seconds: float) -> Callable[[tunelab.Trial], float]:
    def slow(trial: tunelab.Trial) -> float:
        time.sleep(seconds)
        return trial.hp.Float("x", -2.0, 2.0) ** 2

    return slow


def make_holder() -> Callable[[float], Iterator[str]]:
    """A task body that says it runs, then holds its resources for `seconds`."""

    def hold(seconds: float) -> Iterator[str]:
        yield "holding"
        time.sleep(seconds)
        yield "done"

    return hold


def new_study(tmp_path: Path) -> str:
    url = str(tmp_path / "s.db")
    tunelab.create_study(
        "r", storage=url, metric="loss", direction="minimize", sampler="random"
    ).storage.close()
    return url


def trials_of(url: str) -> int:
    study = tunelab.load_study("r", url)
    try:
        return len(study.trials)
    finally:
        study.storage.close()


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
    for bad in (0, -1.0, "60", True):
        with pytest.raises(ValueError, match=f"schedule_timeout_s={bad!r}"):
            tunelab.ray.launch("s", "x.db", objective, 1, schedule_timeout_s=bad)


def test_a_request_no_node_can_meet_fails_at_once(local_ray: None, tmp_path: Path) -> None:
    url = new_study(tmp_path)
    for resources, asked, has in (
        ({"gpu": 1}, "cpu 1, gpu 1", "cpu 2, gpu 0"),
        ({"cpu": 3}, "cpu 3", "cpu 2"),
    ):
        started = time.monotonic()
        with pytest.raises(tunelab.ray.ResourcesUnavailableError) as info:
            tunelab.ray.launch("r", url, objective, 1, resources_per_trial=resources, n_trials=1)
        assert time.monotonic() - started < 10  # Ray alone would wait forever
        assert str(info.value) == (
            f"resources_per_trial asks for {asked} per worker, but no node of the Ray cluster "
            f"has that: its 1 node(s) have at most {has} each ({has} in all); ask for less, "
            "or add a node that has it"
        )
    assert trials_of(url) == 0


def test_workers_that_cannot_start_in_time_are_cancelled(local_ray: None, tmp_path: Path) -> None:
    url = new_study(tmp_path)
    holder = ray.remote(num_cpus=2, max_retries=0)(make_holder()).remote(120)
    assert ray.get(next(holder)) == "holding"  # both CPUs are taken: no worker can start
    try:
        started = time.monotonic()
        with pytest.raises(tunelab.ray.ResourcesUnavailableError) as info:
            tunelab.ray.launch("r", url, objective, 2, n_trials=4, schedule_timeout_s=1.0)
        assert time.monotonic() - started < 30
        assert str(info.value) == (
            "no tunelab worker started on Ray within schedule_timeout_s=1 s: no node had cpu 1 "
            "free (free now: cpu 0), so the 2 waiting task(s) were cancelled; free or add such "
            "nodes, ask for less, or raise schedule_timeout_s"
        )
    finally:
        ray.cancel(holder, force=True)
    time.sleep(2)  # the CPUs are free again: a cancelled worker would start now
    assert trials_of(url) == 0


@contextlib.contextmanager
def published_node_types(*groups: dict[str, float]) -> Iterator[None]:
    """The cluster configuration an autoscaler (v2) publishes in the GCS, with these node
    types, for as long as the block runs."""
    from ray._raylet import GCS_AUTOSCALER_CLUSTER_CONFIG_KEY, GCS_AUTOSCALER_STATE_NAMESPACE
    from ray.core.generated import autoscaler_pb2
    from ray.experimental.internal_kv import _internal_kv_del, _internal_kv_put

    config = autoscaler_pb2.ClusterConfig(
        node_group_configs=[
            autoscaler_pb2.NodeGroupConfig(name=f"type{i}", resources=g, max_count=2)
            for i, g in enumerate(groups)
        ]
    )
    key, namespace = GCS_AUTOSCALER_CLUSTER_CONFIG_KEY, GCS_AUTOSCALER_STATE_NAMESPACE
    _internal_kv_put(key, config.SerializeToString(), namespace=namespace)
    try:
        yield
    finally:
        _internal_kv_del(key, namespace=namespace)


def test_with_an_autoscaler_the_node_types_it_can_start_count(
    local_ray: None, tmp_path: Path
) -> None:
    url = new_study(tmp_path)
    with (
        published_node_types({"CPU": 4}),
        pytest.raises(
            tunelab.ray.ResourcesUnavailableError,
            match="but no node of the Ray cluster has that and no node type its autoscaler can "
            "start has it: its 1 node",
        ),
    ):
        tunelab.ray.launch("r", url, objective, 1, resources_per_trial={"gpu": 1}, n_trials=1)
    # a GPU node type: the autoscaler may start one, so launch waits, but only so long
    with (
        published_node_types({"CPU": 4}, {"CPU": 8, "GPU": 1}),
        pytest.raises(
            tunelab.ray.ResourcesUnavailableError,
            match=r"no tunelab worker started on Ray within schedule_timeout_s=1 s: no node had "
            r"cpu 1, gpu 1 free \(free now: cpu [0-9.]+, gpu 0\), so the 1 waiting task\(s\) were",
        ),
    ):
        tunelab.ray.launch(
            "r", url, objective, 1, resources_per_trial={"gpu": 1}, schedule_timeout_s=1
        )
    assert trials_of(url) == 0


def test_a_worker_queued_behind_running_ones_is_not_cancelled(
    local_ray: None, tmp_path: Path
) -> None:
    url = new_study(tmp_path)
    # two CPUs: the third worker starts only when one of the first two ends, after the
    # schedule timeout; the timeout only guards the start of the first
    ran = tunelab.ray.launch(
        "r", url, make_slow_objective(0.5), 3, n_trials=20, schedule_timeout_s=4.0
    )
    assert len(ran) == 3 and sum(ran) == 20
    assert trials_of(url) == 20
