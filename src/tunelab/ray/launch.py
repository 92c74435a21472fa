"""`launch`: one Ray task per tunelab worker, each running `run_worker` on the study."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tunelab.errors import ConfigurationError, TunelabError
from tunelab.study.worker import run_worker

DEFAULT_RESOURCES = {"cpu": 1.0, "gpu": 0.0}


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
) -> int:
    """Runs inside a Ray worker process: one tunelab worker; returns the trials it ran."""
    ran = 0

    def count(study: Any, frozen: Any) -> None:
        nonlocal ran
        ran += 1

    run_worker(study_name, storage, objective, n_trials, timeout, callbacks=[count])
    return ran


def launch(
    study_name: str,
    storage: str,
    objective: Callable[[Any], Any],
    num_workers: int,
    resources_per_trial: Mapping[str, float] | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    address: str | None = None,
) -> list[int]:
    """Run `num_workers` tunelab workers as Ray tasks on the study in `storage` (a database
    URL every Ray node can reach) and wait for them; return how many trials each ran.

    Connects to the Ray cluster at `address` unless Ray is initialised already (no
    address: a local Ray). Each task reserves `resources_per_trial` ({"cpu": 1, "gpu": 0}
    by default); Ray sets CUDA_VISIBLE_DEVICES for tasks that reserve GPUs. `n_trials` is
    the study-wide total, as with `tunelab worker`."""
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
    if str(storage).strip() in (":memory:", "memory", "memory://"):
        raise ConfigurationError(
            "Ray workers run in other processes, which cannot share in-memory storage, but got "
            f"storage={storage!r}; give a database URL"
        )
    ray = _import_ray()
    if not ray.is_initialized():
        ray.init(address=address)
    task = ray.remote(num_cpus=resources["cpu"], num_gpus=resources["gpu"], max_retries=0)(
        _worker_task
    )
    refs = [
        task.remote(study_name, str(storage), objective, n_trials, timeout)
        for _ in range(num_workers)
    ]
    try:
        return [int(n) for n in ray.get(refs)]
    except ray.exceptions.RayTaskError as e:
        cause = e.cause if isinstance(e.cause, BaseException) else e
        raise TunelabError(f"a tunelab worker on Ray failed: {cause}") from None
