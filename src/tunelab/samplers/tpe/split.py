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

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

MAX_GOOD = 25  # good trials are the best 10% (gamma), but never more than this


def n_good(n_ranked: int, gamma: float) -> int:
    """How many of `n_ranked` trials model l(x): ceil(gamma * n), between 1 and MAX_GOOD."""
    if n_ranked <= 0:
        return 0
    exact = math.ceil(gamma * n_ranked - 1e-9)  # 0.3 * 10 is 3.0000000000000004, not 4
    return min(max(1, exact), MAX_GOOD, n_ranked)


@dataclass(frozen=True)
class Split:
    """Good and bad trials; `bad` holds the ranked ones first, then failed, then pending."""

    good: tuple[FrozenTrial, ...]
    bad: tuple[FrozenTrial, ...]
    n_ranked: int
    n_valued: int  # ranked trials with a value: what ends the start-up phase

    def ranked(self) -> list[FrozenTrial]:
        """Good, then bad COMPLETE and PRUNED trials, best first."""
        return [*self.good, *self.bad[: self.n_ranked - len(self.good)]]


def has_value(t: FrozenTrial) -> bool:
    return t.value is not None and math.isfinite(t.value)


def split_trials(
    history: Sequence[FrozenTrial],
    direction: Direction,
    gamma: float,
    exclude: int | None = None,
    constant_liar: bool = True,
) -> Split:
    """Rank the history and cut it into good and bad trials (see the module docstring)."""
    sign = 1.0 if direction is Direction.MINIMIZE else -1.0
    complete: list[tuple[float, int, FrozenTrial]] = []  # sort keys first: ties go to the older
    pruned: list[tuple[tuple[int, bool, float, int], FrozenTrial]] = []
    failed: list[FrozenTrial] = []
    pending: list[FrozenTrial] = []
    for t in history:
        if t.number == exclude:
            continue
        state = t.state
        if state is TrialState.COMPLETE:
            if has_value(t):
                complete.append((sign * t.value, t.number, t))  # type: ignore[operator]
            else:
                failed.append(t)
        elif state is TrialState.PRUNED:
            pruned.append((_pruned_rank(t, sign), t))
        elif state is TrialState.FAIL:
            if t.counts_toward_budget:  # not interrupted
                failed.append(t)
        elif state is TrialState.RUNNING and constant_liar:
            pending.append(t)
    complete.sort()  # (value, number) pairs are unique: trials are never compared
    pruned.sort()
    ranked = [item[-1] for item in complete] + [item[-1] for item in pruned]
    k = n_good(len(ranked), gamma)
    n_valued = len(complete) + sum(1 for item in pruned if not item[0][1])
    return Split(tuple(ranked[:k]), tuple(ranked[k:] + failed + pending), len(ranked), n_valued)


def _pruned_rank(t: FrozenTrial, sign: float) -> tuple[int, bool, float, int]:
    """Further first; then by last reported value; trials that reported nothing last."""
    step = t.last_step if t.last_step is not None else -1
    if has_value(t):
        return (-step, False, sign * t.value, t.number)  # type: ignore[operator]
    return (-step, True, 0.0, t.number)
