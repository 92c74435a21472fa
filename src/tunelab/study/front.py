"""A study of several objectives as trials: their values as one minimization matrix (a
maximized objective's column negated, as tunelab._pareto expects), the Pareto front of
the feasible complete trials, and the order `Study.top_trials` gives them.

Also the history a sampler that does not read feasibility sees: an infeasible trial is
shown as a failed one (a region to avoid, with no value to rank), so no such sampler
takes a trial that breaks a constraint for a good one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tunelab._pareto import (
    crowding_distance,
    default_reference_point,
    hypervolume,
    non_dominated_mask,
    non_dominated_ranks,
)
from tunelab.errors import ConfigurationError
from tunelab.objectives import Objective
from tunelab.samplers import SAMPLERS, Sampler
from tunelab.schedulers import SCHEDULERS, Scheduler
from tunelab.storage import StudyRecord
from tunelab.trial import FrozenTrial, rank_key, sorted_by_value
from tunelab.trial.frozen import evolve
from tunelab.types import Direction, TrialState


def rankable(trials: Sequence[FrozenTrial], n_objectives: int) -> list[FrozenTrial]:
    """Feasible COMPLETE trials holding one value per objective: the candidates for best."""
    return [
        t
        for t in trials
        if t.state is TrialState.COMPLETE
        and t.values is not None
        and len(t.values) == n_objectives
        and t.feasible
    ]


def minimized(trials: Sequence[FrozenTrial], objectives: Sequence[Objective]) -> np.ndarray:
    """(n trials, m objectives), every column to be minimized."""
    signs = np.array([-1.0 if o.direction is Direction.MAXIMIZE else 1.0 for o in objectives])
    values = np.array([t.values for t in trials], dtype=float).reshape(len(trials), len(signs))
    return values * signs


def best_by(
    trials: Sequence[FrozenTrial], objectives: Sequence[Objective], metric: str
) -> FrozenTrial | None:
    """The feasible COMPLETE trial best in the objective of `metric`; ties go to the
    earlier trial."""
    column = [o.metric for o in objectives].index(metric)
    direction = objectives[column].direction
    candidates = rankable(trials, len(objectives))
    if not candidates:
        return None
    return min(candidates, key=lambda t: rank_key(t.values[column], t.number, direction))  # type: ignore[index]


def check_plugins(record: StudyRecord, sampler: Sampler, scheduler: Scheduler | None) -> None:
    """Refuse, in one line, a sampler or scheduler that cannot serve the study's
    objectives (before anything is stored)."""
    if not record.multi_objective:
        return
    if not sampler.multi_objective:
        serving = sorted(n for n, cls in SAMPLERS.items() if cls.multi_objective)
        raise ConfigurationError(
            f"the {sampler.name or type(sampler).__name__} sampler does not handle several "
            f"objectives yet; use one of {', '.join(serving)} for the study's metrics "
            f"{[o.metric for o in record.objectives]}"
        )
    if scheduler is not None and not scheduler.multi_objective:
        serving = sorted(n for n, cls in SCHEDULERS.items() if cls.multi_objective)
        raise ConfigurationError(
            f"pruning by the {scheduler.name or type(scheduler).__name__} scheduler in a study "
            f"of several objectives is not supported yet; use one of {', '.join(serving)}, or "
            "scheduler='none'"
        )


def pareto_front(
    trials: Sequence[FrozenTrial], objectives: Sequence[Objective]
) -> list[FrozenTrial]:
    """The feasible COMPLETE trials no other one dominates, in trial-number order."""
    candidates = rankable(trials, len(objectives))
    if not candidates:
        return []
    mask = non_dominated_mask(minimized(candidates, objectives))
    return [t for t, on in zip(candidates, mask, strict=True) if on]


def ranked(trials: Sequence[FrozenTrial], objectives: Sequence[Objective]) -> list[FrozenTrial]:
    """Feasible COMPLETE trials best first: by non-dominated rank (the front first, then
    the front of what is left, ...), within a rank by crowding distance, largest first
    (the ends of a front and its sparse parts, which say most about the trade-off), then
    by trial number. With one objective this is the order of the values."""
    candidates = rankable(trials, len(objectives))
    if not candidates:
        return []
    points = minimized(candidates, objectives)
    ranks = non_dominated_ranks(points)
    crowding = np.zeros(len(candidates))
    for rank in np.unique(ranks):
        members = ranks == rank
        crowding[members] = crowding_distance(points[members])
    order = sorted(
        range(len(candidates)),
        key=lambda i: (ranks[i], -crowding[i], candidates[i].number),
    )
    return [candidates[i] for i in order]


def top(
    trials: Sequence[FrozenTrial], objectives: Sequence[Objective], k: int
) -> list[FrozenTrial]:
    """The best `k` feasible COMPLETE trials, best first (`Study.top_trials`, and which
    trials keep their weights): by value with one objective, else in `ranked` order."""
    if len(objectives) > 1:
        return ranked(trials, objectives)[:k]
    return sorted_by_value(trials, objectives[0].direction)[:k]


def measurable(
    trials: Sequence[FrozenTrial], objectives: Sequence[Objective]
) -> tuple[list[FrozenTrial], np.ndarray]:
    """The rankable trials whose values are all finite, in trial-number order, with their
    minimization matrix: what a hypervolume can be measured over (an infinite value has
    no finite volume and no place in a reference point)."""
    candidates = sorted(rankable(trials, len(objectives)), key=lambda t: t.number)
    points = minimized(candidates, objectives)
    keep = np.isfinite(points).all(axis=1)
    return [t for t, k in zip(candidates, keep, strict=True) if k], points[keep]


def hypervolume_now(
    trials: Sequence[FrozenTrial], objectives: Sequence[Objective]
) -> tuple[int, float | None]:
    """The size of the Pareto front so far and its hypervolume with respect to
    `default_reference_point` of the values so far (the front's nadir plus 10% of its
    range, in the minimization convention), so the reference moves as the front does:
    for watching a running study, not for comparing two moments of it."""
    _, points = measurable(trials, objectives)
    if not len(points):
        return 0, None
    return int(non_dominated_mask(points).sum()), hypervolume(
        points, default_reference_point(points)
    )


def hypervolume_history(
    trials: Sequence[FrozenTrial], objectives: Sequence[Objective]
) -> tuple[list[FrozenTrial], list[float], np.ndarray | None]:
    """After each measurable trial (in trial-number order), the hypervolume of the front
    of the trials up to it, all with respect to ONE reference: `default_reference_point`
    of every measurable trial of the study. One fixed reference makes the curve
    non-decreasing and its last value the hypervolume of the study's front. Returns the
    trials, the hypervolumes and the reference (minimization convention; None when no
    trial is measurable)."""
    done, points = measurable(trials, objectives)
    if not done:
        return [], [], None
    reference = default_reference_point(points)
    front = np.empty((0, points.shape[1]))
    volume, out = 0.0, []
    for point in points:
        inside = bool((point < reference).all())
        if inside and not (front <= point).all(axis=1).any():  # it adds volume
            front = np.vstack([front[~(point <= front).all(axis=1)], point])
            volume = hypervolume(front, reference)
        out.append(volume)
    return done, out, reference


class InfeasibleAsFailed:
    """Maps a history to the one a sampler that does not read feasibility sees. The
    records it makes are kept, so a sampler that caches by record identity (TPE) sees
    the same object at every read."""

    def __init__(self) -> None:
        self._made: dict[int, tuple[FrozenTrial, FrozenTrial]] = {}
        self._last: tuple[Sequence[FrozenTrial], Sequence[FrozenTrial]] | None = None

    def __call__(self, history: Sequence[FrozenTrial]) -> Sequence[FrozenTrial]:
        if self._last is not None and self._last[0] is history:
            return self._last[1]  # the same read, for the next parameter of a trial
        shown: Sequence[FrozenTrial] = history
        if not all(t.feasible or t.state is not TrialState.COMPLETE for t in history):
            shown = [
                self._failed(t) if t.state is TrialState.COMPLETE and not t.feasible else t
                for t in history
            ]
        self._last = (history, shown)
        return shown

    def _failed(self, trial: FrozenTrial) -> FrozenTrial:
        made = self._made.get(trial.trial_id)
        if made is None or made[0] is not trial:
            made = (trial, evolve(trial, state=TrialState.FAIL, value=None, values=None))
            self._made[trial.trial_id] = made
        return made[1]
