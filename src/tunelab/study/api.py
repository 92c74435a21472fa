"""create_study, load_study, list_studies, delete_study."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from tunelab._names import STUDY_NAME_MAX, name_problem
from tunelab.errors import ConfigurationError, StudyConflictError, StudyNotFoundError
from tunelab.objectives import Constraint, Objective, constraints_of, objectives_of
from tunelab.samplers import Sampler, make_sampler
from tunelab.schedulers import Scheduler, make_scheduler, scheduler_to_json
from tunelab.storage import BaseStorage, StudyRecord, StudySummary, get_storage
from tunelab.study.front import check_plugins
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
    metrics: Sequence[str] | None = None,
    directions: Sequence[str | Direction] | None = None,
    constraints: Mapping[str, tuple[str, float]] | None = None,
) -> Study:
    """Create a study, or load it if it exists with the same objectives and constraints.

    A study keeps its objectives and constraints for good; the sampler and scheduler given
    for an existing study replace the stored ones.

    Args:
        name: The study's name, unique in its storage; None for `study-<date>-<time>`.
        storage: A URL (`sqlite:///tuning.db`, `postgresql+psycopg://...`), a file path,
            `":memory:"` or a storage object; None for `$TUNELAB_STORAGE`, else
            `./tunelab.db`.
        metric: The metric the objective returns (or reports) and the study optimizes.
        direction: `"maximize"` or `"minimize"` (also `"max"`, `"min"`, a `Direction`).
        sampler: `"auto"` (the default: GP or TPE, see `AutoSampler`), `"tpe"`, `"gp"`,
            `"random"`, `"sobol"`, `"grid"` or a `Sampler`.
        load_if_exists: Load a study of that name instead of raising StudyConflictError.
        seed: Seeds the sampler chosen by name, so a run can be repeated.
        heartbeat_interval: Seconds between a running trial's heartbeats; a trial silent
            for 4 intervals (by default) is declared lost.
        max_retries: How many times a trial whose worker was lost is queued again with the
            same parameters (a new study's setting).
        scheduler: Stops poor trials early: `"asha"`, `"hyperband"`, `"median"`,
            `"extrapolate"`, `"rules"`, `"none"` (the default for a new study: no pruning),
            a JSON dict such as `{"name": "asha", "min_resource": 2}`, or a `Scheduler`.
        metrics: Several objectives, in place of `metric`: the objective then returns a
            dict holding every metric (or a tuple in their order), and `study.best_trials`
            is the Pareto front.
        directions: One direction per entry of `metrics`.
        constraints: Bounds on metrics a trial returns or reports, e.g.
            `{"n_parameters": ("<=", 100_000)}`; a trial breaking one is stored COMPLETE
            with `feasible=False` and is never best.

    Example:
        ```python
        study = tunelab.create_study("digits", metric="val_accuracy", direction="maximize",
                                     storage="tuning.db", scheduler="asha")
        study.optimize(objective, n_trials=50)
        ```
    """
    name = _check_name(time.strftime("study-%Y%m%d-%H%M%S") if name is None else name)
    objectives = objectives_of(metric, direction, metrics, directions)
    metric, direction = objectives[0].metric, objectives[0].direction
    bounds = constraints_of(constraints)
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
        _check_same_objectives(record, objectives, bounds, constraints is not None)
        chosen = chosen or make_sampler(dict(record.sampler))
        check_plugins(record, chosen, pruner if scheduler is not None else None)
        pruner = _study_scheduler(store, record, scheduler, pruner)
        return Study(record, store, chosen, pruner)
    chosen = chosen or make_sampler("auto")
    check_plugins(StudyRecord(0, name, metric, direction, objectives=objectives), chosen, pruner)
    settings: dict[str, Any] = {"heartbeat_interval": float(heartbeat_interval)}
    if max_retries:
        settings["max_retries"] = max_retries
    settings["scheduler"] = scheduler_to_json(pruner)
    try:
        record = store.create_study(
            name, metric, direction, chosen.to_json(), settings, objectives, bounds
        )
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
            metrics,
            directions,
            constraints,
        )
    return Study(record, store, chosen, pruner)


def _check_same_objectives(
    record: StudyRecord,
    objectives: tuple[Objective, ...],
    bounds: tuple[Constraint, ...],
    constraints_given: bool,
) -> None:
    """A study keeps the objectives (and constraints, when some are given) it was
    created with: reopening it with others is refused."""

    def shown(objs: tuple[Objective, ...]) -> str:
        if len(objs) == 1:
            return f"metric={objs[0].metric!r}, direction={objs[0].direction.value!r}"
        return f"metrics={[o.metric for o in objs]}, directions={[o.direction.value for o in objs]}"

    if record.objectives != objectives:
        raise StudyConflictError(
            f"study {record.name!r} exists with {shown(record.objectives)}, but "
            f"{shown(objectives)} was asked for; a study keeps its objectives: use the same "
            "ones, another study name, or delete the old study"
        )
    if constraints_given and record.constraints != bounds:
        raise StudyConflictError(
            f"study {record.name!r} exists with the constraints "
            f"{[c.describe() for c in record.constraints] or 'none'}, but "
            f"{[c.describe() for c in bounds] or 'none'} were asked for; a study keeps its "
            "constraints: use the same ones or another study name"
        )


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
    """Open an existing study; StudyNotFoundError, naming the studies there, if it is not.

    Args:
        name: The study's name.
        storage: A URL, a file path or a storage object; None for `$TUNELAB_STORAGE`, else
            `./tunelab.db`.
        sampler: The sampler for this session; None for the one stored with the study.
        scheduler: A scheduler that replaces the stored one; None keeps it.
    """
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
    """Every study in a storage, with its trial counts and best value.

    Args:
        storage: A URL, a file path or a storage object; None for the default
            (`$TUNELAB_STORAGE`, else `./tunelab.db`).

    Example:
        ```python
        for summary in tunelab.list_studies("tuning.db"):
            print(summary.record.name, summary.counts.total, summary.best_value)
        ```
    """
    store = (
        get_storage(storage, create_schema=False)
        if not isinstance(storage, BaseStorage)
        else storage
    )
    return store.list_studies()


def delete_study(name: str, storage: str | BaseStorage | None = None) -> None:
    """Delete a study with its trials and reports; StudyNotFoundError if there is none.

    Args:
        name: The study's name.
        storage: A URL, a file path or a storage object; None for the default
            (`$TUNELAB_STORAGE`, else `./tunelab.db`).
    """
    store = (
        get_storage(storage, create_schema=False)
        if not isinstance(storage, BaseStorage)
        else storage
    )
    if not store.delete_study(_check_name(name)):
        raise StudyNotFoundError(f"no study named {name!r} in {store.url}")
