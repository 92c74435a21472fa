"""Which trials are good and which are bad: the split TPE models as l(x) and g(x).

Trials that were pruned or diverged still inform the model:

- COMPLETE trials rank by their value, best first (as the study's direction says);
  ties go to the older trial.
- PRUNED trials rank after every complete one: a trial that reached a later step is
  better than one stopped earlier, and at the same step the last reported value decides
  (trials that reported nothing come last).
- The best `n_good(len(ranked))` ranked trials are good; the other ranked trials are bad.
- FAIL trials (errors, NaN or exploding losses) are always bad: the region that broke
  training should be avoided, even though it has no value to rank. So is a COMPLETE
  trial without a finite value, should storage hold one.
- RUNNING trials of other workers are bad too when `constant_liar` is on: pretending the
  points being evaluated turned out badly keeps parallel workers from all sampling the
  same promising spot (the "constant liar" of Ginsbourger et al. 2010).
- WAITING trials, interrupted trials (Ctrl-C, lost worker) and the trial being sampled
  are left out: they say nothing about the quality of their parameters.
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


def n_good(n_ranked: int, gamma: float) -> int:
    """How many of `n_ranked` trials model l(x): ceil(gamma * n), between 1 and MAX_GOOD."""
    if n_ranked <= 0:
        return 0
    exact = math.ceil(gamma * n_ranked - 1e-9)  # 0.3 * 10 is 3.0000000000000004, not 4
    return min(max(1, exact), MAX_GOOD, n_ranked)


def has_value(t: FrozenTrial) -> bool:
    return t.value is not None and math.isfinite(t.value)


class Kind(enum.IntEnum):
    """What a trial is to the split (see the module docstring)."""

    LEFT_OUT = 0
    COMPLETE = 1  # with a finite value
    PRUNED = 2
    FAILED = 3  # FAIL, not interrupted; or COMPLETE without a finite value or infeasible
    RUNNING = 4


def kind_of(t: FrozenTrial) -> Kind:
    state = t.state
    if state is TrialState.COMPLETE:  # breaking a constraint: a region to avoid, as a failure
        return Kind.COMPLETE if has_value(t) and t.feasible else Kind.FAILED
    if state is TrialState.PRUNED:
        return Kind.PRUNED
    if state is TrialState.FAIL:
        return Kind.FAILED if t.counts_toward_budget else Kind.LEFT_OUT
    if state is TrialState.RUNNING:
        return Kind.RUNNING
    return Kind.LEFT_OUT


@dataclass(frozen=True)
class TrialArrays:
    """What the split reads of each trial of a history, one array each: its kind, number,
    value (NaN unless finite) and last reported step (-1 for none)."""

    kind: np.ndarray
    number: np.ndarray
    value: np.ndarray
    step: np.ndarray

    @classmethod
    def of(cls, history: Sequence[FrozenTrial]) -> TrialArrays:
        n = len(history)
        value = np.array([t.value for t in history], dtype=float).reshape(n)  # None: NaN
        value[~np.isfinite(value)] = math.nan
        return cls(
            np.array([kind_of(t) for t in history], dtype=np.int8).reshape(n),
            np.array([t.number for t in history], dtype=np.int64).reshape(n),
            value,
            np.array([_step(t) for t in history], dtype=float).reshape(n),
        )


def _step(t: FrozenTrial) -> int:
    return -1 if t.last_step is None else t.last_step


def trial_fields(t: FrozenTrial) -> tuple[int, int, float, int]:
    """One trial's entries in `TrialArrays` (for a trial or two, cheaper than arrays)."""
    value = t.value if t.value is not None and math.isfinite(t.value) else math.nan
    return kind_of(t).value, t.number, value, _step(t)


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
) -> Ranking:
    """Rank the trials and cut them into good and bad ones (see the module docstring)."""
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
    ranked = np.concatenate((complete, pruned))
    return Ranking(
        ranked,
        n_good(len(ranked), gamma),
        np.flatnonzero(kind == Kind.FAILED.value),
        np.flatnonzero(kind == Kind.RUNNING.value) if constant_liar else np.empty(0, dtype=np.intp),
        len(complete) + int(np.count_nonzero(~no_value)),
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

    def ranked(self) -> list[FrozenTrial]:
        """Good, then bad COMPLETE and PRUNED trials, best first."""
        return [*self.good, *self.bad[: self.n_ranked - len(self.good)]]


def split_trials(
    history: Sequence[FrozenTrial],
    direction: Direction,
    gamma: float,
    exclude: int | None = None,
    constant_liar: bool = True,
) -> Split:
    """`rank_trials` as the trials themselves."""
    ranking = rank_trials(history, direction, gamma, exclude, constant_liar)
    return Split(
        tuple(history[i] for i in ranking.good.tolist()),
        tuple(history[i] for i in ranking.bad.tolist()),
        len(ranking.ranked),
        ranking.n_valued,
    )
