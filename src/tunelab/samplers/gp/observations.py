"""From a study's history to the GP's training data: inputs, outputs and pending points.

Which parameters, in the order of the study's space and without Fixed ones: those every
COMPLETE trial has, and the conditional ones (declared with `hp.conditional_scope`) that
some COMPLETE trial has, whose parents are modelled and whose absence in the other COMPLETE
trials their conditions explain. A trial without such a parameter holds its inactive
position (encoding.py). Parameters that appear in only some trials for reasons the space
does not declare are left to the caller, which samples them quasi-randomly.

Which outputs (lower is better; a MAXIMIZE study's values are negated):

* COMPLETE with a finite value: the value.
* PRUNED: a scheduler stopped it because it looked worse than its peers, and its last
  reported value is from an earlier step than finished trials' values, so it is not
  directly comparable. It counts as at least as bad as the median COMPLETE value and at
  most as bad as the worst, i.e. its last value clipped to [median, worst]; with no
  reported value, the worst.
* FAIL (crashed, diverged, returned NaN): the worst COMPLETE value, which steers the
  search away from its region without letting one huge number wreck the scaling.

Once a scheduler has stopped trials early, `learning_history` first turns the history into
BOHB's view (Falkner et al., 2018; samplers/fidelity.py `model_history`): every trial that
reached the highest step enough trials reached (or a lower one that ranks alike) is COMPLETE
with its value at that step, so pruned trials teach the model their partial curves; those
stopped before that step are left out, as in BOHB. The TPE keeps them, ranked last, but a
GP has no rank to give them, only a value: clipped to [median, worst] at that step (the
rule above), a late bloomer stopped after one epoch next to the optimum drags the fitted
surface down where the best trials are. Measured on late-bloomer curves under Hyperband
(benchmarks/RESULTS.md, issue 5, "The GP learns from pruned trials"): with them kept, 21
of 60 seeds reached random search's best within its budget; left out, 60 of 60 (median
522 of its 2700 epochs). With too few reports to choose a step, or without
scheduler-pruned trials, the history is used as it is.

PRUNED and FAIL trials that stopped before asking every modelled parameter are left out.
RUNNING and WAITING trials (other than the one being planned) whose params cover the
modelled ones are *pending*: the caller conditions on them (kriging believer). RUNNING
trials with a lower number whose params do not (yet) cover them are *being planned* by
another worker from nearly the same history, so they will most likely pick the point this
worker would pick first; the caller counts them (`planning`) and steps past their likely
choices (see planner.py). Without this, workers that start together suggest the same point.

Data cap: with more than `max_train` usable trials, the best half (by output) and the most
recent of the rest are kept, so the model stays accurate where it matters (near the
optimum) and current (recent trials), while the cubic cost of fitting stays bounded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from tunelab.errors import SearchSpaceError
from tunelab.samplers.fidelity import learning_view
from tunelab.samplers.gp.encoding import Dim, make_dim
from tunelab.space import Condition, Entry, Fixed, SearchSpace, UnitEncoding
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

_PENDING_STATES = (TrialState.RUNNING, TrialState.WAITING, TrialState.PAUSED)  # no value yet


@dataclass(frozen=True)
class Observations:
    """Training data in the unit cube; `y` is lower-is-better, not yet standardised."""

    dims: tuple[Dim, ...]
    x: np.ndarray  # (n, d)
    y: np.ndarray  # (n,)
    complete: np.ndarray  # (n,) bool: rows from COMPLETE trials (not imputed)
    pending: np.ndarray  # (m, d)
    planning: int = 0  # lower-numbered RUNNING trials whose modelled params are not all known

    @property
    def categorical(self) -> np.ndarray:
        return np.array([d.categorical for d in self.dims], dtype=bool)


def learning_history(
    history: Sequence[FrozenTrial], metric: str | None, direction: Direction
) -> Sequence[FrozenTrial]:
    """The trials the GP learns from: `history` itself, or, once a scheduler has stopped
    trials, the trials valued at one fidelity (see the module doc). A last value from
    epoch 3 and a final one from epoch 27 are not comparable, so without this every pruned
    trial counts as "no better than the median", the promising ones of a slow start too."""
    return learning_view(history, metric, direction, keep_stopped_below=False)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _parent_units(dim: Dim, condition: Condition) -> tuple[float, ...] | None:
    """Unit positions of the parent values that meet `condition` (None if none is valid)."""
    units = []
    for value in condition.parent_values:
        try:
            units.append(dim.encode(value))
        except (SearchSpaceError, TypeError, ValueError):
            continue
    return tuple(units) or None


def _rule(
    entry: Entry, dims: Sequence[Dim], index: dict[str, int]
) -> tuple[tuple[int, tuple[float, ...]], ...] | None:
    """An entry's conditions as (parent dim, activating unit positions); None when it has
    none or a parent is not modelled."""
    rule = []
    for c in entry.conditions:
        parent = index.get(c.parent_name)
        units = None if parent is None else _parent_units(dims[parent], c)
        if parent is None or units is None:
            return None
        rule.append((parent, units))
    return tuple(rule) or None


def valued(trial: FrozenTrial, n_objectives: int) -> bool:
    """Whether the trial holds a finite value for each of the study's objectives."""
    if n_objectives == 1:
        return _finite(trial.value)
    values = trial.values
    return values is not None and len(values) == n_objectives and all(map(_finite, values))


def model_dims(
    space: SearchSpace, history: Sequence[FrozenTrial], n_objectives: int = 1
) -> tuple[Dim, ...]:
    """The parameters the GP models (see the module doc), in the space's order."""
    complete = [t for t in history if t.state is TrialState.COMPLETE and valued(t, n_objectives)]
    if not complete:
        return ()
    dims: list[Dim] = []
    index: dict[str, int] = {}
    for entry in space:
        name = entry.param.name
        if isinstance(entry.param, Fixed):
            continue
        having = [name in t.params for t in complete]
        active_when: tuple[tuple[int, tuple[float, ...]], ...] = ()
        if not all(having):
            rule = _rule(entry, dims, index)
            if rule is None or not any(having):
                continue
            if any(entry.is_active(t.params) for t in complete if entry.param.name not in t.params):
                continue  # absent where its conditions hold: they do not explain it
            active_when = rule
        index[name] = len(dims)
        dims.append(replace(make_dim(entry.param), active_when=active_when))
    return tuple(dims)


def _points(dims: tuple[Dim, ...], trials: Sequence[FrozenTrial]) -> list[list[float] | None]:
    """Each trial's point (the space's unit cube, `UnitEncoding`), or None when it lacks
    a parameter it should have (it stopped before asking) or holds an invalid value.
    Inactive conditional inputs hold their inactive position."""
    matrix = UnitEncoding(tuple(d.param for d in dims)).encode([t.params for t in trials])
    return [_complete(dims, row) for row in matrix.tolist()]


def _complete(dims: tuple[Dim, ...], point: list[float]) -> list[float] | None:
    for j, d in enumerate(dims):
        if point[j] != point[j]:  # NaN: absent or invalid
            if not d.active_when or _active(point, d):
                return None
            point[j] = d.inactive
    return point


def _active(point: Sequence[float], dim: Dim) -> bool:
    """Whether `dim`'s conditions hold at `point` (its parents' inputs come earlier)."""
    return all(any(abs(point[p] - u) <= 1e-9 for u in units) for p, units in dim.active_when)


@dataclass(frozen=True)
class Gathered:
    """The finished trials to learn from, each with its point; pending points; and how
    many lower-numbered trials other workers are planning (see the module doc)."""

    trials: tuple[FrozenTrial, ...]
    points: tuple[list[float], ...]
    pending: np.ndarray  # (m, d)
    planning: int


def gather(
    history: Sequence[FrozenTrial],
    dims: tuple[Dim, ...],
    current: int,
    usable: Callable[[FrozenTrial], bool],
) -> Gathered:
    """Sort the history for planning trial number `current`: finished trials that are
    `usable` and hold every modelled parameter, pending points, and trials being planned."""
    trials: list[FrozenTrial] = []
    points: list[list[float]] = []
    pending: list[list[float]] = []
    planning = 0
    for t, point in zip(history, _points(dims, history), strict=True):
        if t.number == current:
            continue
        if t.state in _PENDING_STATES:
            if point is not None:
                pending.append(point)
            elif t.state is TrialState.RUNNING and t.number < current:
                planning += 1
            continue
        if point is None or not usable(t):
            continue
        trials.append(t)
        points.append(point)
    d = len(dims)
    return Gathered(
        tuple(trials),
        tuple(points),
        np.array(pending, dtype=float).reshape(len(pending), d),
        planning,
    )


def impute(values: np.ndarray, states: Sequence[TrialState]) -> np.ndarray:
    """Outputs for every row from one column of values (NaN where a trial has none), by
    the module doc's rule: COMPLETE as they are, PRUNED clipped to [median, worst] of the
    COMPLETE ones, FAIL (or no value) the worst. Needs some COMPLETE row."""
    complete = np.array([s is TrialState.COMPLETE for s in states], dtype=bool)
    pruned = np.array([s is TrialState.PRUNED for s in states], dtype=bool) & ~np.isnan(values)
    done = values[complete]
    median, worst = float(np.median(done)), float(done.max())
    clipped = np.minimum(np.maximum(values, median), worst)
    return np.where(complete, values, np.where(pruned, clipped, worst))


def collect(
    history: Sequence[FrozenTrial],
    dims: tuple[Dim, ...],
    direction: Direction,
    current: int,
    max_train: int,
) -> Observations:
    """Training rows and pending points for planning trial number `current`."""
    sign = -1.0 if direction is Direction.MAXIMIZE else 1.0
    g = gather(
        history, dims, current, lambda t: t.state is not TrialState.COMPLETE or _finite(t.value)
    )
    d = len(dims)
    states = [t.state for t in g.trials]
    if TrialState.COMPLETE not in states:
        return Observations(
            dims, np.empty((0, d)), np.empty(0), np.empty(0, bool), np.empty((0, d)), g.planning
        )
    values = np.array(
        [sign * t.value if t.value is not None and _finite(t.value) else np.nan for t in g.trials]
    )
    y = impute(values, states)
    keep = cap(np.array([t.number for t in g.trials]), y, max_train)
    return Observations(
        dims,
        np.array([g.points[i] for i in keep], dtype=float).reshape(len(keep), d),
        y[keep],
        np.array([states[i] is TrialState.COMPLETE for i in keep], dtype=bool),
        g.pending,
        g.planning,
    )


def cap(numbers: np.ndarray, y: np.ndarray, max_train: int) -> np.ndarray:
    """Indices of the rows to train on, in trial order: all, or the best half plus the
    most recent of the rest."""
    if len(y) <= max_train:
        return np.arange(len(y))
    by_value = np.lexsort((numbers, y))  # ties go to the earlier trial
    best = by_value[: max_train // 2]
    rest = np.setdiff1d(np.arange(len(y)), best)
    recent = rest[np.argsort(-numbers[rest], kind="stable")][: max_train - len(best)]
    return np.sort(np.concatenate([best, recent]))
