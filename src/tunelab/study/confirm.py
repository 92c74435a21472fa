"""Confirmation re-runs: the top distinct configurations of a study, run again with new
seeds, so that a lucky seed is not mistaken for a better configuration.

The re-runs are trials of a sibling study `<name>/seeds` in the same storage (same
metric and direction, random sampler, no scheduler), each an enqueued copy of one
configuration. Every trial gets its own seed (`trial.seed`, from the study name and trial
number; Python's, NumPy's and torch's generators are seeded with it before the objective
runs), so k re-runs of one configuration see k different seeds. The parent study records
what was confirmed in its `confirm` setting (JSON), so `tunelab show` and the report find
the re-runs later, and a repeated call only runs what is missing: re-runs that completed,
were pruned or failed in the objective count; interrupted ones are run again."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunelab.errors import ConfigurationError, StudyConflictError
from tunelab.samplers import make_sampler
from tunelab.schedulers import scheduler_to_json
from tunelab.study.liveness import DEFAULT_HEARTBEAT_S
from tunelab.trial import FrozenTrial, Trial
from tunelab.types import TrialState

if TYPE_CHECKING:
    from tunelab.study.study import Study

SUFFIX = "/seeds"
SETTING = "confirm"
SCHEMA = 1


@dataclass(frozen=True)
class Config:
    """One distinct configuration: its parameters and the study's trials that used it,
    best first."""

    params: dict[str, Any]
    trials: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        """The configuration as stored in the study's `confirm` setting."""
        return {"params": self.params, "trials": list(self.trials)}


@dataclass(frozen=True)
class Plan:
    """What a confirmation covers and how many re-runs are still missing."""

    sibling: str
    seeds: int
    configs: tuple[Config, ...]
    missing: int  # re-runs to queue
    waiting: int  # re-runs queued by an earlier, cut-off call

    def to_json(self) -> dict[str, Any]:
        """The record kept in the parent study's `confirm` setting."""
        return {
            "schema": SCHEMA,
            "study": self.sibling,
            "seeds": self.seeds,
            "configs": [c.to_json() for c in self.configs],
        }


def config_key(params: Mapping[str, Any]) -> str:
    """Two trials share a configuration when their parameters are equal as JSON."""
    return json.dumps(dict(params), sort_keys=True, default=repr)


def distinct_top(study: Study, k: int) -> list[Config]:
    """The `k` best distinct configurations, in the order of their best trial; trials
    that share one (the sampler came back to it, or a grid) are folded into it."""
    found: dict[str, list[FrozenTrial]] = {}
    for trial in study.top_trials(len(study.get_trials([TrialState.COMPLETE])) or 1):
        key = config_key(trial.params)
        if key not in found and len(found) == k:
            continue
        found.setdefault(key, []).append(trial)
    return [Config(dict(ts[0].params), tuple(t.number for t in ts)) for ts in found.values()]


def check_request(study: Study, top: Any, seeds: Any) -> None:
    """Refuse, before anything runs, counts that are not positive ints and a study of
    several objectives (no single ranking to confirm)."""
    for label, value in (("top", top), ("seeds", seeds)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(f"{label} must be a positive int, but got {label}={value!r}")
    if study.multi_objective:
        raise ConfigurationError(
            f"confirmation re-runs rank configurations by one metric, but study "
            f"{study.name!r} has several objectives {list(study.metrics)}; re-run a front "
            "trial's params with study.enqueue(trial.params) instead"
        )


def plan(study: Study, top: int, seeds: int) -> Plan:
    """The configurations to confirm and how many re-runs each still needs; stores
    nothing."""
    check_request(study, top, seeds)
    configs = distinct_top(study, top)
    if not configs:
        raise ConfigurationError(
            f"study {study.name!r} has no feasible complete trial to confirm; run some trials first"
        )
    name = study.name + SUFFIX
    record = study.storage.get_study(name)
    reruns = study.storage.get_trials(record.study_id) if record is not None else []
    missing = sum(max(seeds - len(runs_of(c, reruns)), 0) for c in configs)
    waiting = sum(t.state is TrialState.WAITING for t in reruns)
    return Plan(name, seeds, tuple(configs), missing, waiting)


def confirm_runs(
    study: Study,
    objective: Callable[[Trial], Any],
    top: int = 5,
    seeds: int = 3,
    *,
    n_jobs: int = 1,
) -> Plan:
    """Re-run the `top` best distinct configurations `seeds` times each (only the re-runs
    still missing) and record the confirmation in the study's settings."""
    todo = plan(study, top, seeds)
    sibling = open_sibling(study)
    study.storage.set_study_setting(study.study_id, SETTING, todo.to_json())
    reruns = sibling.trials
    for config in todo.configs:
        for _ in range(max(seeds - len(runs_of(config, reruns)), 0)):
            sibling.enqueue(config.params)
    if todo.missing + todo.waiting:
        sibling.optimize(objective, n_trials=todo.missing + todo.waiting, n_jobs=n_jobs, add=True)
    return todo


def runs_of(config: Config, reruns: list[FrozenTrial]) -> list[FrozenTrial]:
    """The re-runs that fill a seed slot of `config`: queued, running or ended, except
    those interrupted (which a later call runs again)."""
    key = config_key(config.params)
    return [
        t
        for t in reruns
        if config_key({k: (t.enqueued or t.params).get(k) for k in config.params}) == key
        and (t.state is not TrialState.FAIL or t.counts_toward_budget)
    ]


def open_sibling(study: Study) -> Study:
    """The study holding the re-runs, created on first use like `create_study` would
    (random sampler, no scheduler); built here because study.api imports this package's
    Study."""
    name = study.name + SUFFIX
    store = study.storage
    sampler = make_sampler("random")
    record = store.get_study(name)
    if record is None:
        settings = {
            "heartbeat_interval": float(
                study.settings.get("heartbeat_interval", DEFAULT_HEARTBEAT_S)
            ),
            "scheduler": scheduler_to_json(None),
        }
        try:
            record = store.create_study(
                name, study.metric, study.direction, sampler.to_json(), settings, study.objectives
            )
        except StudyConflictError:  # another process created it a moment ago
            record = store.get_study(name)
    if record is None:
        raise ConfigurationError(f"could not open the re-run study {name!r}")
    return type(study)(record, store, sampler)
