"""`launch`: one Ray task per tunelab worker, each running `run_worker` on the study.

Ray waits without end for a task no node can run. So launch first checks that some node
(or node type the autoscaler may start) has what one worker asks for, and then gives the
workers `schedule_timeout_s` to start: each task announces its start by yielding once,
and if none has started by then, all are cancelled. Once one has started the request is
schedulable, and the others may wait for a free node as long as it takes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from tunelab.errors import ConfigurationError, TunelabError
from tunelab.ray.cluster import ResourcesUnavailableError, check_schedulable, ray_request, shown
from tunelab.study.worker import run_worker

DEFAULT_RESOURCES = {"cpu": 1.0, "gpu": 0.0}
DEFAULT_SCHEDULE_TIMEOUT_S = 300.0  # an autoscaler may take minutes to start a node
STARTED = "started"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError("tunelab.ray needs Ray: pip install 'tunelab[ray]'") from None
    return ray


def _worker_task(
    study_name: str,
    storage: str,
    objective: Callable[[Any], Any],
    n_trials: int | None,
    timeout: float | None,
) -> Iterator[int | str]:
    """Runs inside a Ray worker process: one tunelab worker. Yields STARTED at once, then
    the number of trials it ran."""
    yield STARTED
    ran = 0

    def count(study: Any, frozen: Any) -> None:
        nonlocal ran
        ran += 1

    run_worker(study_name, storage, objective, n_trials, timeout, callbacks=[count])
    yield ran


def launch(
    study_name: str,
    storage: str,
    objective: Callable[[Any], Any],
    num_workers: int,
    resources_per_trial: Mapping[str, float] | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    address: str | None = None,
    schedule_timeout_s: float | None = DEFAULT_SCHEDULE_TIMEOUT_S,
) -> list[int]:
    """Run `num_workers` tunelab workers as Ray tasks on the study in `storage` (a database
    URL every Ray node can reach) and wait for them; return how many trials each ran.

    Raises ResourcesUnavailableError at once when no node of the cluster (nor any node
    type its autoscaler may start) has `resources_per_trial`, and after
    `schedule_timeout_s` seconds when no worker has started.

    Args:
        study_name: The study, created beforehand (`tunelab.create_study`).
        storage: The study's database URL, reachable from every Ray node (PostgreSQL, or
            SQLite on a shared file system).
        objective: The objective each worker runs; Ray ships it to the nodes.
        num_workers: How many worker tasks to start.
        resources_per_trial: What each task reserves, `{"cpu": 1, "gpu": 0}` by default;
            Ray sets CUDA_VISIBLE_DEVICES for tasks that reserve GPUs.
        n_trials: The study-wide total the workers stop at, as with `tunelab worker`; None
            for no limit.
        timeout: Seconds after which the workers start no new trial; None for no limit.
        address: The Ray cluster to connect to, unless Ray is initialised already; None
            for a local Ray.
        schedule_timeout_s: Seconds to wait for the first worker to start; None waits
            without end.
    """
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise ConfigurationError(
            f"num_workers must be a positive int, but got num_workers={num_workers!r}"
        )
    resources = {**DEFAULT_RESOURCES, **(resources_per_trial or {})}
    unknown = sorted(set(resources) - set(DEFAULT_RESOURCES))
    if unknown:
        raise ConfigurationError(
            f"resources_per_trial takes 'cpu' and 'gpu', got {unknown}; e.g. {{'cpu': 2, 'gpu': 1}}"
        )
    if schedule_timeout_s is not None and (
        isinstance(schedule_timeout_s, bool)
        or not isinstance(schedule_timeout_s, (int, float))
        or not schedule_timeout_s > 0
    ):
        raise ConfigurationError(
            "schedule_timeout_s must be a positive number of seconds or None (wait without "
            f"end), but got schedule_timeout_s={schedule_timeout_s!r}"
        )
    if str(storage).strip() in (":memory:", "memory", "memory://"):
        raise ConfigurationError(
            "Ray workers run in other processes, which cannot share in-memory storage, but got "
            f"storage={storage!r}; give a database URL"
        )
    ray = _import_ray()
    if not ray.is_initialized():
        ray.init(address=address)
    check_schedulable(ray, resources)
    task = ray.remote(num_cpus=resources["cpu"], num_gpus=resources["gpu"], max_retries=0)(
        _worker_task
    )
    runs = [
        task.remote(study_name, str(storage), objective, n_trials, timeout)
        for _ in range(num_workers)
    ]
    _await_a_start(ray, runs, schedule_timeout_s, resources)
    try:
        return [_trials_run(ray, run) for run in runs]
    except ray.exceptions.RayTaskError as e:
        cause = e.cause if isinstance(e.cause, BaseException) else e
        raise TunelabError(f"a tunelab worker on Ray failed: {cause}") from None


def _await_a_start(
    ray: Any, runs: list[Any], timeout: float | None, resources: Mapping[str, float]
) -> None:
    """Return once a worker started (or failed); cancel them all if none has in time."""
    if timeout is None or ray.wait(runs, num_returns=1, timeout=timeout)[0]:
        return
    for run in runs:
        ray.cancel(run)
    free = {k: float(ray.available_resources().get(k, 0.0)) for k in ray_request(resources)}
    raise ResourcesUnavailableError(
        f"no tunelab worker started on Ray within schedule_timeout_s={timeout:g} s: no node "
        f"had {shown(ray_request(resources))} free (free now: {shown(free)}), so the "
        f"{len(runs)} waiting task(s) were cancelled; free or add such nodes, ask for less, "
        "or raise schedule_timeout_s"
    )


def _trials_run(ray: Any, run: Any) -> int:
    """The trials one worker task ran: the item after its STARTED (getting that first
    item raises what the task raised before it)."""
    ray.get(next(run))
    return int(ray.get(next(run)))
