"""create_study, load_study, list_studies, delete_study."""

from __future__ import annotations

import time
from typing import Any

from tunelab._names import METRIC_NAME_MAX, STUDY_NAME_MAX, name_problem
from tunelab.errors import ConfigurationError, StudyConflictError, StudyNotFoundError
from tunelab.samplers import Sampler, make_sampler
from tunelab.schedulers import Scheduler, make_scheduler, scheduler_to_json
from tunelab.storage import BaseStorage, StudySummary, get_storage
from tunelab.study.liveness import DEFAULT_HEARTBEAT_S
from tunelab.study.study import Study
from tunelab.types import Direction


def _check_name(name: Any) -> str:
    problem = name_problem(
        "a study name", name.strip() if isinstance(name, str) else name, STUDY_NAME_MAX
    )
    if problem is not None:
        raise ConfigurationError(problem)
    return str(name).strip()


def create_study(
    name: str | None = None,
    storage: str | BaseStorage | None = None,
    metric: str = "val_accuracy",
    direction: str | Direction = "maximize",
    sampler: str | Sampler | None = None,
    load_if_exists: bool = True,
    seed: int | None = None,
    heartbeat_interval: float = DEFAULT_HEARTBEAT_S,
    max_retries: int = 0,
    scheduler: str | Scheduler | dict | None = None,
) -> Study:
    """Create a study, or load it if it exists with the same metric and direction.

    `storage` is a URL or file path (default: the SQLite file ./tunelab.db) or
    ':memory:'. `sampler` is 'auto' (default: GP or TPE, see samplers/auto.py), 'tpe',
    'gp', 'random', 'sobol', 'grid' or a Sampler. A trial whose worker is lost is queued
    again with the same parameters up to `max_retries` times (a new study's setting).
    `scheduler` stops poor trials early: 'asha', 'hyperband', 'median', 'rules', 'none'
    (the default for a new study: no pruning), a JSON dict or a Scheduler; given for an
    existing study, it replaces the stored one.
    """
    name = _check_name(time.strftime("study-%Y%m%d-%H%M%S") if name is None else name)
    problem = name_problem("metric", metric, METRIC_NAME_MAX)
    if problem is not None:
        raise ConfigurationError(problem)
    direction = Direction.parse(direction)
    if not (isinstance(heartbeat_interval, (int, float)) and heartbeat_interval > 0):
        raise ConfigurationError(
            f"heartbeat_interval must be > 0 seconds, got {heartbeat_interval!r}"
        )
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigurationError(f"max_retries must be a non-negative int, got {max_retries!r}")
    chosen = make_sampler(sampler, seed) if sampler is not None or seed is not None else None
    pruner = make_scheduler(scheduler)
    store = get_storage(storage)
    record = store.get_study(name)
    if record is not None:
        if not load_if_exists:
            raise StudyConflictError(
                f"a study named {name!r} already exists; pass load_if_exists=True to continue "
                "it, pick another name, or delete it (tunelab delete)"
            )
        if record.metric != metric or record.direction is not direction:
            raise StudyConflictError(
                f"study {name!r} exists with metric={record.metric!r}, "
                f"direction={record.direction.value!r}, but metric={metric!r}, "
                f"direction={direction.value!r} was asked for; use the same settings, "
                "another study name, or delete the old study"
            )
        pruner = _study_scheduler(store, record, scheduler, pruner)
        return Study(record, store, chosen or make_sampler(dict(record.sampler)), pruner)
    chosen = chosen or make_sampler("auto")
    settings: dict[str, Any] = {"heartbeat_interval": float(heartbeat_interval)}
    if max_retries:
        settings["max_retries"] = max_retries
    settings["scheduler"] = scheduler_to_json(pruner)
    try:
        record = store.create_study(name, metric, direction, chosen.to_json(), settings)
    except StudyConflictError:  # another process created it a moment ago
        return create_study(
            name,
            store,
            metric,
            direction,
            chosen,
            True,
            seed,
            heartbeat_interval,
            max_retries,
            scheduler_to_json(pruner) if scheduler is not None else None,
        )
    return Study(record, store, chosen, pruner)


def _study_scheduler(
    store: BaseStorage, record: Any, given: Any, made: Scheduler | None
) -> Scheduler | None:
    """The stored scheduler, or the one given, which then replaces the stored one so that
    every worker process (they load the study afresh) prunes alike."""
    if given is None:
        return make_scheduler(record.settings.get("scheduler"))
    stored = scheduler_to_json(made)
    if record.settings.get("scheduler") != stored:
        store.set_study_setting(record.study_id, "scheduler", stored)
    return made


def load_study(
    name: str,
    storage: str | BaseStorage | None = None,
    sampler: str | Sampler | dict | None = None,
    scheduler: str | Scheduler | dict | None = None,
) -> Study:
    """Open an existing study; its stored sampler and scheduler are used unless others are
    given (a scheduler given replaces the stored one)."""
    store = (
        get_storage(storage, create_schema=False)
        if not isinstance(storage, BaseStorage)
        else storage
    )
    record = store.get_study(_check_name(name))
    if record is None:
        names = [s.record.name for s in store.list_studies()]
        hint = f"studies here: {', '.join(names)}" if names else "this storage has no studies"
        raise StudyNotFoundError(f"no study named {name!r} in {store.url}; {hint}")
    return Study(
        record,
        store,
        make_sampler(sampler if sampler is not None else dict(record.sampler)),
        _study_scheduler(store, record, scheduler, make_scheduler(scheduler)),
    )


def list_studies(storage: str | BaseStorage | None = None) -> list[StudySummary]:
    store = (
        get_storage(storage, create_schema=False)
        if not isinstance(storage, BaseStorage)
        else storage
    )
    return store.list_studies()


def delete_study(name: str, storage: str | BaseStorage | None = None) -> None:
    store = (
        get_storage(storage, create_schema=False)
        if not isinstance(storage, BaseStorage)
        else storage
    )
    if not store.delete_study(_check_name(name)):
        raise StudyNotFoundError(f"no study named {name!r} in {store.url}")
