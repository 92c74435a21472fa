"""`import_study`: an Optuna study's finished trials as a new tunelab study, for
warm-starting tunelab on them and for tunelab's reports.

Everything is read and checked before anything is written: a distribution tunelab cannot
express, a name given two distributions, or a target that exists already is one line,
and no study is created."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution

import tunelab
from tunelab.errors import (
    ConfigurationError,
    SearchSpaceError,
    StudyConflictError,
    StudyNotFoundError,
    first_line,
)
from tunelab.optuna.distributions import import_param
from tunelab.optuna.replay import FINISHED, objectives_of, replay
from tunelab.space import Param

NUMBER_ATTR = "optuna_number"  # user attributes every imported trial gets
STARTED_ATTR = "optuna_datetime_start"
COMPLETED_ATTR = "optuna_datetime_complete"


def open_optuna_study(url: str, name: str) -> optuna.Study:
    """Load an Optuna study without creating anything: a SQLite URL must name an existing
    file (Optuna would create an empty database)."""
    prefix = "sqlite:///"
    if "://" not in url:
        raise ConfigurationError(
            f"{url!r} is not a database URL; give an Optuna SQLite file as {prefix}{url}"
        )
    if url.startswith(prefix) and url != prefix + ":memory:":
        path = Path(url[len(prefix) :])
        if not path.is_file():
            raise StudyNotFoundError(
                f"no Optuna database at {str(path)!r}; give the URL of an existing one, "
                "e.g. sqlite:///optuna.db"
            )
    try:
        # skip_table_creation: a database that is not Optuna's is refused, not given tables
        storage = optuna.storages.RDBStorage(url, skip_table_creation=True)
        names = optuna.get_all_study_names(storage)
    except Exception as error:  # the driver's errors: no Optuna tables, no server, …
        raise ConfigurationError(
            f"{url} is not an Optuna database ({first_line(error)}); give the storage URL "
            "that optuna.create_study was given"
        ) from None
    if name not in names:
        hint = f"studies there: {', '.join(names)}" if names else "it has no studies"
        raise StudyNotFoundError(f"no Optuna study named {name!r} in {url}; {hint}")
    return optuna.load_study(study_name=name, storage=storage)


def _domains(trials: list[optuna.trial.FrozenTrial]) -> dict[str, Param]:
    """One tunelab parameter per name; a name with two distributions is refused."""
    first: dict[str, BaseDistribution] = {}
    params: dict[str, Param] = {}
    for trial in trials:
        for name, dist in trial.distributions.items():
            if name not in first:
                first[name], params[name] = dist, import_param(name, dist)
            elif dist != first[name]:
                raise SearchSpaceError(
                    f"parameter {name!r} has two distributions in this study, {first[name]} "
                    f"and {dist} (trial {trial.number}); tunelab keeps one domain per name"
                )
    return params


def _user_attrs(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """The trial's JSON user attributes, and where it came from."""
    attrs: dict[str, Any] = {}
    for key, value in trial.user_attrs.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            continue
        attrs[key] = value
    attrs[NUMBER_ATTR] = trial.number
    for key, when in (
        (STARTED_ATTR, trial.datetime_start),
        (COMPLETED_ATTR, trial.datetime_complete),
    ):
        if when is not None:
            attrs[key] = when.isoformat()
    return attrs


def import_study(
    optuna_storage: str,
    study_name: str,
    storage: str | None = None,
    name: str | None = None,
) -> tunelab.Study:
    """Copy the COMPLETE, PRUNED and FAIL trials of Optuna study `study_name` in
    `optuna_storage` (e.g. "sqlite:///optuna.db") into a new tunelab study `name` (default:
    the same name) in `storage` (default: ./tunelab.db). Running and waiting trials are not
    copied. Returns the tunelab study."""
    source = open_optuna_study(optuna_storage, study_name)
    target = study_name if name is None else name
    trials = source.get_trials(deepcopy=False, states=FINISHED)
    domains = _domains(trials)
    rows: list[tuple[optuna.trial.FrozenTrial, dict[str, tuple[Param, Any]], dict[str, Any]]] = []
    for trial in trials:
        values = {n: (domains[n], _value(domains[n], trial, n)) for n in trial.params}
        rows.append((trial, values, _user_attrs(trial)))
    store = tunelab.get_storage(storage)
    if any(s.record.name == target for s in tunelab.list_studies(store)):
        raise StudyConflictError(
            f"a tunelab study named {target!r} exists already; import under another name "
            "(--name / name=) or delete it first"
        )
    study = tunelab.create_study(target, store, load_if_exists=False, **objectives_of(source))
    try:
        for trial, values, attrs in rows:
            replay(study, trial, values, attrs)
    finally:
        study.close()
    return study


def _value(param: Param, trial: optuna.trial.FrozenTrial, name: str) -> Any:
    value = trial.params[name]
    if not param.contains(value):
        raise SearchSpaceError(
            f"trial {trial.number} holds {name}={value!r}, which is outside "
            f"{param.describe()}; fix or delete that trial in Optuna first"
        )
    return param.canonical(value)


__all__ = ["import_study", "open_optuna_study"]
