"""create_study, load_study, list_studies, delete_study."""

from __future__ import annotations

import time
from typing import Any

from tunelab.errors import StudyConflictError, StudyNotFoundError
from tunelab.samplers import Sampler, make_sampler
from tunelab.storage import BaseStorage, StudySummary, get_storage
from tunelab.study.study import Study
from tunelab.types import Direction

DEFAULT_HEARTBEAT_S = 10.0


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a study name must be a non-empty string, but got {name!r}")
    return name.strip()


def create_study(
    name: str | None = None,
    storage: str | BaseStorage | None = None,
    metric: str = "val_accuracy",
    direction: str | Direction = "maximize",
    sampler: str | Sampler | None = None,
    load_if_exists: bool = True,
    seed: int | None = None,
    heartbeat_interval: float = DEFAULT_HEARTBEAT_S,
) -> Study:
    """Create a study, or load it if it exists with the same metric and direction.

    `storage` is a URL or file path (default: the SQLite file ./tunelab.db) or
    ':memory:'. `sampler` is 'auto' (default: GP or TPE, see samplers/auto.py), 'tpe',
    'gp', 'random', 'sobol', 'grid' or a Sampler.
    """
    name = _check_name(name or time.strftime("study-%Y%m%d-%H%M%S"))
    if not isinstance(metric, str) or not metric:
        raise ValueError(f"metric must be a non-empty string, but got {metric!r}")
    direction = Direction.parse(direction)
    if not (isinstance(heartbeat_interval, (int, float)) and heartbeat_interval > 0):
        raise ValueError(f"heartbeat_interval must be > 0 seconds, got {heartbeat_interval!r}")
    chosen = make_sampler(sampler, seed) if sampler is not None or seed is not None else None
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
        return Study(record, store, chosen or make_sampler(dict(record.sampler)))
    chosen = chosen or make_sampler("auto")
    settings = {"heartbeat_interval": float(heartbeat_interval)}
    try:
        record = store.create_study(name, metric, direction, chosen.to_json(), settings)
    except StudyConflictError:  # another process created it a moment ago
        return create_study(name, store, metric, direction, chosen, True, seed, heartbeat_interval)
    return Study(record, store, chosen)


def load_study(
    name: str, storage: str | BaseStorage | None = None, sampler: str | Sampler | dict | None = None
) -> Study:
    """Open an existing study; its stored sampler is used unless another is given."""
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
        record, store, make_sampler(sampler if sampler is not None else dict(record.sampler))
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


def reopen(name: str, url: str, sampler: Sampler) -> Study:
    """Open a study afresh from its URL with the parent's sampler: what each worker does."""
    return load_study(name, url, sampler)
