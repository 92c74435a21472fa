"""The good / bad split of a study of several objectives: MOTPE's (Ozaki et al. 2020,
2022), with c-TPE's treatment of constraints (Watanabe & Hutter 2023).

Each objective is turned into one to minimize (a maximized one negated), and then:

- Feasible COMPLETE trials rank by non-dominated rank: the Pareto front of them first,
  then the front of what is left, and so on (NSGA-II's sort).
- The front that straddles the cut (it holds more trials than the good places left) is
  split by hypervolume: the good places go, one at a time, to the trial that adds the
  most volume to those of its front already chosen, bounded by a reference point just
  beyond the front's worst values (a greedy answer to the hypervolume subset selection
  problem, which MOTPE solves the same way). The greedy choice keeps the good trials
  spread along the trade-off instead of bunched where the front is dense. With two
  objectives one numpy pass scores every candidate at each step; with three, each
  candidate costs a hypervolume (computed lazily, `_lazy_greedy`), so past
  `_MAX_HV_EVALUATIONS` candidates x picks, and always with four or more objectives,
  NSGA-II's crowding distance (largest first) chooses instead, at a fraction of the
  cost. Crowding distance is the worse guide where the volume can
  still be had: it ranks a front's ends first, trials that are best in one objective
  but often far from the front in the others, while the greedy choice starts from the
  trials nearest the ideal point; l(x) built on the ends converges more slowly. So the
  budget of hypervolumes is set to cover the fronts of the first hundred or so trials
  of three objectives, where every suggestion counts. The rest of that front and of
  every other front follow in trial-number order (that order matters only when a
  conditional parameter's trials are cut again, observations.py).
- PRUNED trials rank after every complete one: a trial that reached a later step first,
  then by the non-dominated rank of the objective values of its last report among the
  pruned trials (those lacking an objective there last), then the older first.
- Trials that broke a constraint rank after all of those, by total violation, as in a
  study of one objective (split.py); FAIL trials are always bad, and so are RUNNING
  ones of other workers under the constant liar.

MOTPE also weighs each good trial's kernel in l(x) by its hypervolume contribution.
That is left out: at most 25 trials are good, the greedy selection above already
favours the ones that add volume, and equal weights keep the Parzen estimators the same
for one objective and several.

With a scheduler the model learns at the step enough trials reached (samplers/fidelity.py,
`several_model_history` here), and pruned trials that stopped before it rank as above.
Exact repeats of an evaluated configuration rank after everything else (`repeats`,
observations.py `repeated_rows`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tunelab._pareto import (
    crowding_distance,
    default_reference_point,
    hypervolume,
    non_dominated_ranks,
)
from tunelab.objectives import Objective
from tunelab.samplers.tpe.split import (
    Kind,
    Ranking,
    Split,
    TrialArrays,
    by_violation,
    n_good,
    ranking_of,
)
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

# Candidates x chosen points (three objectives) before the crowding distance takes over:
# with the lazy greedy choice about ten milliseconds at most, as much as a front of 100
# trials with 10 good places costs.
_MAX_HV_EVALUATIONS = 1000


def objective_rows(trials: Sequence[FrozenTrial], objectives: Sequence[Objective]) -> np.ndarray:
    """(n trials, m objectives) to minimize: a COMPLETE trial's values, a PRUNED one's
    last report of each objective; NaN where that is missing or not finite."""
    metrics = [o.metric for o in objectives]
    rows = np.full((len(trials), len(metrics)), math.nan)
    for i, t in enumerate(trials):
        if t.state is TrialState.COMPLETE:
            if t.values is not None and len(t.values) == len(metrics):
                rows[i] = t.values
        elif t.state is TrialState.PRUNED and t.reports:
            last = t.reports[-1].metrics
            rows[i] = [last.get(metric, math.nan) for metric in metrics]
    rows *= [-1.0 if o.direction is Direction.MAXIMIZE else 1.0 for o in objectives]
    rows[~np.isfinite(rows)] = math.nan
    return rows


def _gains_2d(points: np.ndarray, chosen: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Each point's volume beyond the chosen ones' (two objectives): its box less the
    hypervolume of the chosen points clipped to the box, all boxes in one pass."""
    box = np.prod(r - points, axis=1)
    if not len(chosen):
        return box
    clipped = np.maximum(chosen[None, :, :], points[:, None, :])  # (candidates, chosen, 2)
    order = np.argsort(clipped[:, :, 0], axis=1)
    x = np.take_along_axis(clipped[:, :, 0], order, axis=1)
    least_y = np.minimum.accumulate(np.take_along_axis(clipped[:, :, 1], order, axis=1), axis=1)
    widths = np.diff(np.concatenate((x, np.full((len(x), 1), r[0])), axis=1), axis=1)
    return box - (widths * (r[1] - least_y)).sum(axis=1)


def _lazy_greedy(front: np.ndarray, k: int, r: np.ndarray) -> list[int]:
    """The greedy picks (three objectives), each candidate's gain recomputed only while
    it could still be the largest: a point's gain never grows as points are chosen
    (hypervolume is submodular), so a stale gain bounds the true one, and the largest
    bound, once recomputed and still largest, is the pick. The same picks as scoring
    every candidate at every step, for a fraction of the hypervolumes."""
    box = np.prod(r - front, axis=1)
    bound = box.copy()
    chosen: list[int] = []
    for _ in range(k):
        fresh = np.zeros(len(front), dtype=bool)
        while True:
            j = int(np.argmax(bound))  # ties: the earlier row
            if fresh[j] or not chosen:
                break
            bound[j] = box[j] - hypervolume(np.maximum(front[chosen], front[j]), r)
            fresh[j] = True
        chosen.append(j)
        bound[j] = -math.inf
    return chosen


def least_good(n_objectives: int) -> int:
    """The fewest good trials with m objectives: 2m - 1 (1 for one objective). Early on,
    ceil(gamma * n) is one to five trials, enough to mark a region around one optimum but
    not to span a front, which is a surface of m - 1 dimensions: with three objectives
    l(x) then models a few scattered points of it and the search spreads slowly. The
    floor matters only while gamma * n is below it (n < 50 for three objectives)."""
    return 2 * n_objectives - 1


def select_by_hypervolume(front: np.ndarray, k: int) -> np.ndarray:
    """Indices of `k` points of one front (rows to minimize, finite), in the order
    chosen: greedily the point adding the most hypervolume to those already chosen;
    by crowding distance for four or more objectives or a large front of three. Ties go
    to the earlier row."""
    n, m = front.shape
    if k >= n:
        return np.arange(n)
    if m > 3 or (m == 3 and n * k > _MAX_HV_EVALUATIONS):
        return np.argsort(-crowding_distance(front), kind="stable")[:k]
    r = default_reference_point(front)
    if m == 3:
        return np.array(_lazy_greedy(front, k, r), dtype=np.intp)
    left = np.arange(n)
    chosen: list[int] = []
    for _ in range(k):
        j = int(np.argmax(_gains_2d(front[left], front[chosen], r)))
        chosen.append(int(left[j]))
        left = np.delete(left, j)
    return np.array(chosen, dtype=np.intp)


def _complete_order(points: np.ndarray, number: np.ndarray, k: int) -> np.ndarray:
    """Positions of feasible complete trials best first, the first `k` good."""
    fronts = non_dominated_ranks(points) if len(points) else np.zeros(0, dtype=np.intp)
    order = np.lexsort((number, fronts))
    if k <= 0 or k >= len(order) or fronts[order[k - 1]] != fronts[order[k]]:
        return order  # the cut falls between two fronts
    cut = fronts[order[k]]
    start = int(np.searchsorted(fronts[order], cut))  # fronts[order] is sorted
    members = order[fronts[order] == cut]  # in trial-number order
    picks = select_by_hypervolume(points[members], k - start)
    rest = np.ones(len(members), dtype=bool)
    rest[picks] = False
    order[start : start + len(members)] = np.concatenate((members[picks], members[rest]))
    return order


def _pruned_order(points: np.ndarray, trials: TrialArrays, pruned: np.ndarray) -> np.ndarray:
    """Pruned trials: further first, then by the front of their last values among
    themselves (none last), then older first."""
    valued = ~np.isnan(points[pruned]).any(axis=1)
    fronts = np.full(len(pruned), len(pruned), dtype=np.intp)
    if valued.any():
        fronts[valued] = non_dominated_ranks(points[pruned[valued]])
    return pruned[np.lexsort((trials.number[pruned], fronts, -trials.step[pruned]))]


def rank_several(
    trials: TrialArrays,
    points: np.ndarray,
    gamma: float,
    exclude: int | None = None,
    constant_liar: bool = True,
    repeats: np.ndarray | None = None,
) -> Ranking:
    """Rank the trials by their objective `points` (objective_rows) and cut them into
    good and bad ones (see the module docstring). `repeats` (positions) rank last."""
    kind = np.where(trials.number == exclude, Kind.LEFT_OUT.value, trials.kind)
    if repeats is not None and len(repeats):
        kind[repeats] = Kind.LEFT_OUT.value
    valued = ~np.isnan(points).any(axis=1)
    is_complete = kind == Kind.COMPLETE.value
    complete = np.flatnonzero(is_complete & valued)
    failed = np.flatnonzero((kind == Kind.FAILED.value) | (is_complete & ~valued))
    pruned = _pruned_order(points, trials, np.flatnonzero(kind == Kind.PRUNED.value))
    infeasible = by_violation(trials, np.flatnonzero(kind == Kind.INFEASIBLE.value))
    least = least_good(points.shape[1])
    k = n_good(len(complete) + len(pruned) + len(infeasible), gamma, least)
    complete = complete[_complete_order(points[complete], trials.number[complete], k)]
    n_valued = len(complete) + int(valued[pruned].sum() + valued[infeasible].sum())
    groups: tuple[np.ndarray, ...] = (complete, pruned, infeasible)
    if repeats is not None and len(repeats):
        groups += (repeats,)
    return ranking_of(kind, groups, gamma, constant_liar, n_valued, failed, least)


def split_several(
    history: Sequence[FrozenTrial],
    objectives: Sequence[Objective],
    gamma: float,
    exclude: int | None = None,
    constant_liar: bool = True,
) -> Split:
    """`rank_several` of a history's trials, read afresh, as the trials themselves."""
    points = objective_rows(history, objectives)
    ranking = rank_several(TrialArrays.of(history), points, gamma, exclude, constant_liar)
    return Split.of(history, ranking)
