"""Finished Optuna trials replayed into a tunelab study through its public ask/tell: the
one path by which both the TunelabSampler's private study and an imported study get
their trials (parameters, intermediate values, values, state)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.trial import TrialState as OptunaState

import tunelab
from tunelab.space import Param
from tunelab.types import TrialState

FINISHED = (OptunaState.COMPLETE, OptunaState.PRUNED, OptunaState.FAIL)


def objectives_of(study: optuna.Study) -> dict[str, Any]:
    """`create_study` arguments for the Optuna study's objectives: its metric names if it
    set some (`set_metric_names`), else "value" (one objective) or "value_0", "value_1"…"""
    directions = [d.name.lower() for d in study.directions]
    names = study.metric_names
    if len(directions) == 1:
        return {"metric": names[0] if names else "value", "direction": directions[0]}
    metrics = names or [f"value_{i}" for i in range(len(directions))]
    return {"metrics": list(metrics), "directions": directions}


def holds(study: tunelab.Study, param: Param) -> bool:
    """Whether the study can hold `param`: a name keeps the domain it was first given."""
    space = study.space
    return param.name not in space or space[param.name] == param


def replay(
    study: tunelab.Study,
    record: optuna.trial.FrozenTrial,
    params: Mapping[str, tuple[Param, Any]],
    user_attrs: Mapping[str, Any] | None = None,
) -> tunelab.FrozenTrial:
    """Store one finished Optuna trial as a new tunelab trial with these parameters
    (name -> (tunelab parameter, its value)); those the study cannot hold are left out."""
    kept = {name: value for name, (param, value) in params.items() if holds(study, param)}
    if kept:
        study.enqueue(kept)
    trial = study.ask()
    return finish(study, trial, record, params, record.state, record.values, user_attrs)


def finish(
    study: tunelab.Study,
    trial: tunelab.Trial,
    record: optuna.trial.FrozenTrial,
    params: Mapping[str, tuple[Param, Any]],
    state: OptunaState,
    values: Sequence[float] | None,
    user_attrs: Mapping[str, Any] | None = None,
) -> tunelab.FrozenTrial:
    """End a running tunelab trial as the Optuna trial `record` ended. A parameter Optuna
    chose without asking the tunelab trial (a value `enqueue_trial` fixed, a constant) is
    given to it as an enqueued value, so it holds every value the objective used; one
    whose domain the study does not hold stays out."""
    for name, (param, value) in params.items():
        if name not in trial.params and holds(study, param):
            trial.fixed.setdefault(name, value)
            trial.hp.define(param)
    if not study.multi_objective:  # Optuna keeps intermediate values for one objective only
        for step, value in sorted(record.intermediate_values.items()):
            trial.report(step, **{study.metric: value})
    for key, value in (user_attrs or {}).items():
        trial.set_user_attr(key, value)
    if state is OptunaState.COMPLETE and values is not None:
        result: Any = values[0] if len(values) == 1 else tuple(values)
        return study.tell(trial, result)
    if state is OptunaState.PRUNED:
        return study.tell(trial, state=TrialState.PRUNED)
    return study.tell(trial, state=TrialState.FAIL, reason="failed in Optuna")
