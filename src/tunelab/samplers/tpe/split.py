"""Which trials are good and which are bad: the split TPE models as l(x) and g(x).

Trials that were pruned or diverged still inform the model:

- COMPLETE trials rank by their value, best first (as the study's direction says);
  ties go to the older trial.
- PRUNED trials rank after every complete one: a trial that reached a later step is
  better than one stopped earlier, and at the same step the last reported value decides
  (trials that reported nothing come last).
- Trials that broke a constraint (COMPLETE or PRUNED with `feasible` False) rank after
  all of those, by total violation (the sum of their positive constraint values), least
  first, then older first (c-TPE, Watanabe & Hutter 2023, and Deb's constrained
  domination): they never rank ahead of a trial that broke none, yet while no trial is
  feasible the least violating ones are the good ones, so the search moves toward the
  feasible region instead of away from everything it has seen. A pruned trial broke no
  constraint it knows of, so it ranks ahead of them.
- The best `n_good(len(ranked))` ranked trials are good; the other ranked trials are bad.
- FAIL trials (errors, NaN or exploding losses) are always bad: the region that broke
  training should be avoided, even though it has no value to rank. So is a COMPLETE
  trial without a finite value (in every objective), should storage hold one.
- RUNNING trials of other workers are bad too when `constant_liar` is on: pretending the
  points being evaluated turned out badly keeps parallel workers from all sampling the
  same promising spot (the "constant liar" of Ginsbourger et al. 2010).
- WAITING trials, interrupted trials (Ctrl-C, lost worker) and the trial being sampled
  are left out: they say nothing about the quality of their parameters.

This module ranks by one value; mo_split.py ranks studies of several objectives the same
way, with the Pareto order in place of the value's.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

MAX_GOOD = 25  # good trials are the best 10% (gamma), but never more than this


def n_good(n_ranked: int, gamma: float, least: int = 1) -> int:
    """How many of `n_ranked` trials model l(x): ceil(gamma * n), between `least` and
    MAX_GOOD (see mo_split.least_good for why several objectives ask for more)."""
    if n_ranked <= 0:
        return 0
    exact = math.ceil(gamma * n_ranked - 1e-9)  # 0.3 * 10 is 3.0000000000000004, not 4
    return min(max(least, exact), MAX_GOOD, n_ranked)


def has_value(t: FrozenTrial) -> bool:
    """A finite value, or with several objectives a finite value for each."""
    value = t.value
    if value is not None:
        return math.isfinite(value)
    return t.values is not None and all(map(math.isfinite, t.values))


def violation(t: FrozenTrial) -> float:
    """Total constraint violation: the sum of the positive constraint values (0 for a
    feasible trial; inf when a stored value is not a number, as it holds no bound)."""
    if t.feasible:
        return 0.0
    total = 0.0
    for v in t.constraints.values():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
            return math.inf
        total += max(float(v), 0.0)
    return total


class Kind(enum.IntEnum):
    """What a trial is to the split (see the module docstring)."""

    LEFT_OUT = 0
    COMPLETE = 1  # with a finite value
    PRUNED = 2
    FAILED = 3  # FAIL, not interrupted; or COMPLETE without a finite value
    RUNNING = 4
    INFEASIBLE = 5  # COMPLETE (with a finite value) or PRUNED, breaking a constraint


def kind_of(t: FrozenTrial) -> Kind:
    state = t.state
    if state is TrialState.COMPLETE:
        if not has_value(t):
            return Kind.FAILED
        return Kind.COMPLETE if t.feasible else Kind.INFEASIBLE
    if state is TrialState.PRUNED or state is TrialState.PAUSED:  # a curve cut short
        return Kind.PRUNED if t.feasible else Kind.INFEASIBLE
    if state is TrialState.FAIL:
        return Kind.FAILED if t.counts_toward_budget else Kind.LEFT_OUT
    if state is TrialState.RUNNING:
        return Kind.RUNNING
    return Kind.LEFT_OUT


@dataclass(frozen=True)
class TrialArrays:
    """What the split reads of each trial of a history, one array each: its kind, number,
    value (NaN unless finite), last reported step (-1 for none) and total constraint
    violation (0 unless INFEASIBLE)."""

    kind: np.ndarray
    number: np.ndarray
    value: np.ndarray
    step: np.ndarray
    violation: np.ndarray

    @classmethod
    def of(cls, history: Sequence[FrozenTrial]) -> TrialArrays:
        n = len(history)
        value = np.array([t.value for t in history], dtype=float).reshape(n)  # None: NaN
        value[~np.isfinite(value)] = math.nan
        kinds = [kind_of(t) for t in history]
        broken = [
            violation(t) if k is Kind.INFEASIBLE else 0.0
            for t, k in zip(history, kinds, strict=True)
        ]
        return cls(
            np.array(kinds, dtype=np.int8).reshape(n),
            np.array([t.number for t in history], dtype=np.int64).reshape(n),
            value,
            np.array([_step(t) for t in history], dtype=float).reshape(n),
            np.array(broken, dtype=float).reshape(n),
        )


def _step(t: FrozenTrial) -> int:
    return -1 if t.last_step is None else t.last_step


FIELDS = ("kind", "number", "value", "step", "violation")  # TrialArrays' arrays


def trial_fields(t: FrozenTrial) -> tuple[int, int, float, int, float]:
    """One trial's entries in `TrialArrays` (for a trial or two, cheaper than arrays)."""
    value = t.value if t.value is not None and math.isfinite(t.value) else math.nan
    kind = kind_of(t)
    broken = violation(t) if kind is Kind.INFEASIBLE else 0.0
    return kind.value, t.number, value, _step(t), broken


@dataclass(frozen=True)
class Ranking:
    """Positions in the history: the ranked trials (best first; the first `n_good` are
    good), the failed ones and the pending ones (bad whatever their rank)."""

    ranked: np.ndarray
    n_good: int
    failed: np.ndarray
    pending: np.ndarray
    n_valued: int  # ranked trials with a value: what ends the start-up phase

    @property
    def good(self) -> np.ndarray:
        return self.ranked[: self.n_good]

    @property
    def bad(self) -> np.ndarray:
        """The other ranked trials, then the failed, then the pending ones."""
        return np.concatenate((self.ranked[self.n_good :], self.failed, self.pending))


def rank(
    trials: TrialArrays,
    direction: Direction,
    gamma: float,
    exclude: int | None = None,
    constant_liar: bool = True,
    infeasible_seen: bool = True,
) -> Ranking:
    """Rank the trials and cut them into good and bad ones (see the module docstring).
    `infeasible_seen=False` promises that no trial is INFEASIBLE (saves a pass)."""
    sign = 1.0 if direction is Direction.MINIMIZE else -1.0
    # kinds compared as plain ints: numpy inspects an IntEnum operand through its enum
    # class at every call, which costs more than the comparison
    kind = np.where(trials.number == exclude, Kind.LEFT_OUT.value, trials.kind)
    value = sign * trials.value
    complete = np.flatnonzero(kind == Kind.COMPLETE.value)
    complete = complete[np.lexsort((trials.number[complete], value[complete]))]  # ties: older
    # pruned: further first, then by value, those without a value last, then older first
    pruned = np.flatnonzero(kind == Kind.PRUNED.value)
    no_value = np.isnan(value[pruned])
    if len(pruned):
        keys = (trials.number[pruned], np.nan_to_num(value[pruned]), no_value, -trials.step[pruned])
        pruned = pruned[np.lexsort(keys)]
    groups: tuple[np.ndarray, ...] = (complete, pruned)
    n_valued = len(complete) + int(np.count_nonzero(~no_value))
    if infeasible_seen:
        infeasible = by_violation(trials, np.flatnonzero(kind == Kind.INFEASIBLE.value))
        groups += (infeasible,)
        n_valued += int(np.count_nonzero(~np.isnan(value[infeasible])))
    return ranking_of(kind, groups, gamma, constant_liar, n_valued)


def by_violation(trials: TrialArrays, infeasible: np.ndarray) -> np.ndarray:
    """INFEASIBLE trials least violating first, ties to the older one."""
    if len(infeasible) < 2:
        return infeasible
    return infeasible[np.lexsort((trials.number[infeasible], trials.violation[infeasible]))]


def ranking_of(
    kind: np.ndarray,
    ranked: tuple[np.ndarray, ...],
    gamma: float,
    constant_liar: bool,
    n_valued: int,
    failed: np.ndarray | None = None,
    least: int = 1,
) -> Ranking:
    """The Ranking of the ranked groups in order, with the FAILED (or `failed`) trials and,
    under the constant liar, the RUNNING ones bad."""
    order = np.concatenate(ranked)
    return Ranking(
        order,
        n_good(len(order), gamma, least),
        np.flatnonzero(kind == Kind.FAILED.value) if failed is None else failed,
        np.flatnonzero(kind == Kind.RUNNING.value) if constant_liar else np.empty(0, dtype=np.intp),
        n_valued,
    )


def rank_trials(
    history: Sequence[FrozenTrial],
    direction: Direction,
    gamma: float,
    exclude: int | None = None,
    constant_liar: bool = True,
) -> Ranking:
    """`rank` of a history's trials, read afresh."""
    return rank(TrialArrays.of(history), direction, gamma, exclude, constant_liar)


@dataclass(frozen=True)
class Split:
    """Good and bad trials; `bad` holds the ranked ones first, then failed, then pending."""

    good: tuple[FrozenTrial, ...]
    bad: tuple[FrozenTrial, ...]
    n_ranked: int
    n_valued: int

    @classmethod
    def of(cls, history: Sequence[FrozenTrial], ranking: Ranking) -> Split:
        return cls(
            tuple(history[i] for i in ranking.good.tolist()),
            tuple(history[i] for i in ranking.bad.tolist()),
            len(ranking.ranked),
            ranking.n_valued,
        )

    def ranked(self) -> list[FrozenTrial]:
        """Good, then bad ranked trials (COMPLETE, PRUNED, INFEASIBLE), best first."""
        return [*self.good, *self.bad[: self.n_ranked - len(self.good)]]


def split_trials(
    history: Sequence[FrozenTrial],
    direction: Direction,
    gamma: float,
    exclude: int | None = None,
    constant_liar: bool = True,
) -> Split:
    """`rank_trials` as the trials themselves."""
    return Split.of(history, rank_trials(history, direction, gamma, exclude, constant_liar))
