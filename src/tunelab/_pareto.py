"""Pareto dominance, non-dominated sorting, crowding distance, hypervolume and constrained
ranking for multi-objective studies: pure numpy functions, no I/O.

Every function takes objective values as an (n trials, m objectives) array and MINIMIZES
each column; callers negate the columns of maximized objectives first. NaN is refused
everywhere (it has no place in an order); +inf is a legal, very bad value."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]

# The all-pairs dominance matrix is filled in blocks of rows of about this many cells, so
# its temporaries stay at a few megabytes however many points there are.
_BLOCK_CELLS = 1 << 21


def _points(points: ArrayLike, name: str = "points") -> FloatArray:
    p = np.asarray(points, dtype=float)
    if p.ndim == 1 and p.size == 0:
        p = p.reshape(0, 0)
    if p.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (n trials, m objectives), but got shape {p.shape}"
        )
    if p.shape[0] and not p.shape[1]:
        raise ValueError(f"{name} must have at least one objective column, but got shape {p.shape}")
    nan_rows = np.isnan(p).any(axis=1)
    if nan_rows.any():
        raise ValueError(
            f"{name} must not contain NaN, but row {int(np.argmax(nan_rows))} does; "
            "drop those trials or give them a (large) finite value first"
        )
    return p + 0.0  # -0.0 becomes 0.0, so equal values sort and deduplicate as one


def _no_worse(p: FloatArray, q: FloatArray) -> BoolArray:
    """w[i, j]: p[i] <= q[j] in every objective. One objective at a time: 2-D passes are
    several times faster than reducing an (n, n, m) array over its short last axis."""
    no_worse = np.ones((len(p), len(q)), dtype=bool)
    for a, b in zip(p.T, q.T, strict=True):
        no_worse &= a[:, None] <= b[None, :]
    return no_worse


def dominates(a: ArrayLike, b: ArrayLike) -> bool:
    """True when a is no worse than b in every objective and better in at least one."""
    x = _points(np.reshape(np.asarray(a, dtype=float), (1, -1)), "a")[0]
    y = _points(np.reshape(np.asarray(b, dtype=float), (1, -1)), "b")[0]
    if x.shape != y.shape:
        raise ValueError(
            f"a and b must have one value per objective, but got {x.size} and {y.size}"
        )
    return bool((x <= y).all() and (x < y).any())


def _front_2d(p: FloatArray) -> BoolArray:
    # In (f0, f1) order only earlier points can dominate a point, and one does exactly when
    # the least f1 strictly before its group of equal points is <= its f1 (copies of a
    # point never dominate each other, so the group's own rows are left out).
    n = len(p)
    order = np.lexsort((p[:, 1], p[:, 0]))
    s = p[order]
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (s[1:] != s[:-1]).any(axis=1)
    start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    least_before = np.concatenate(([np.inf], np.minimum.accumulate(s[:, 1])))[start]
    mask = np.empty(n, dtype=bool)
    mask[order] = ~((start > 0) & (least_before <= s[:, 1]))
    return mask


def non_dominated_mask(points: ArrayLike) -> BoolArray:
    """Which points no other point dominates (copies of a front point all stay on it)."""
    p = _points(points)
    n, m = p.shape
    if n == 0:
        return np.zeros(0, dtype=bool)
    if m == 1:
        return np.asarray(p[:, 0] == p[:, 0].min())
    if m == 2:
        return _front_2d(p)
    # In lexicographic order no point is dominated by a later one, so the first candidate
    # left is on the front: keep it, drop what it dominates, repeat. One pass per front
    # point, each over the candidates still left.
    left = np.lexsort(p.T[::-1])
    columns = np.ascontiguousarray(p[left].T)  # one contiguous row per objective
    mask = np.zeros(n, dtype=bool)
    while len(left):
        mask[left[0]] = True
        head, columns, left = columns[:, 0], columns[:, 1:], left[1:]
        no_worse, better = head[0] <= columns[0], head[0] < columns[0]
        for a, b in zip(head[1:], columns[1:], strict=True):
            no_worse &= a <= b
            better |= a < b
        dominated = no_worse & better
        if dominated.any():
            columns, left = columns[:, ~dominated], left[~dominated]
    return mask


def _ranks_2d(u: FloatArray) -> IntArray:
    # u is unique and in (f0, f1) order, so the points dominating u[i] are exactly the
    # earlier ones with f1 <= u[i, 1]. least[k], the least f1 of front k so far, grows with
    # k (each member of front k+1 has a dominator in front k), so the fronts holding a
    # dominator form a prefix whose length is u[i]'s rank: a binary search per point.
    least: list[float] = []
    ranks = np.empty(len(u), dtype=np.intp)
    for i, y in enumerate(u[:, 1].tolist()):
        k = bisect_right(least, y)
        ranks[i] = k
        if k == len(least):
            least.append(y)
        else:
            least[k] = y
    return ranks


def _ranks_general(u: FloatArray) -> IntArray:
    # NSGA-II's fast non-dominated sort with its bookkeeping as arrays: count each point's
    # dominators, peel off the points with none, subtract what they dominated, repeat.
    # u is unique, so one point dominates another exactly when it is no worse anywhere.
    n = len(u)
    dom = np.empty((n, n), dtype=bool)
    step = max(1, _BLOCK_CELLS // n)
    for start in range(0, n, step):
        dom[start : start + step] = _no_worse(u[start : start + step], u)
    np.fill_diagonal(dom, False)
    count = dom.sum(axis=0)
    ranks = np.empty(n, dtype=np.intp)
    front, rank = np.flatnonzero(count == 0), 0
    while front.size:
        ranks[front] = rank
        count -= dom[front].sum(axis=0)
        count[front] = -1
        front, rank = np.flatnonzero(count == 0), rank + 1
    return ranks


def non_dominated_ranks(points: ArrayLike) -> IntArray:
    """Front index per point: 0 for the non-dominated, k for those that only points of
    fronts < k dominate (NSGA-II). Copies share a rank."""
    p = _points(points)
    n, m = p.shape
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    unique, inverse = np.unique(p, axis=0, return_inverse=True)
    if m == 1:
        ranks = np.arange(len(unique), dtype=np.intp)
    elif m == 2:
        ranks = _ranks_2d(unique)
    else:
        ranks = _ranks_general(unique)
    return ranks[inverse.reshape(-1)]


def crowding_distance(points: ArrayLike) -> FloatArray:
    """NSGA-II's crowding distance within one front: per objective, the gap between a
    point's neighbours over the front's range, summed; points holding an objective's least
    or greatest value are boundaries (infinite), so the front's extent is always kept.
    Equal values share one gap, between the nearest strictly smaller and strictly larger
    values, which keeps the result independent of the order of the points."""
    p = _points(points)
    if not np.isfinite(p).all():
        raise ValueError(
            "crowding_distance needs finite values: a front's range with inf in it is "
            "unbounded; clip the values to a finite worst first"
        )
    distance = np.zeros(len(p))
    for values in p.T:
        distinct = np.unique(values)
        at = np.searchsorted(distinct, values)
        inner = (at > 0) & (at < len(distinct) - 1)
        distance[~inner] = np.inf
        if inner.any():
            gap = distinct[at[inner] + 1] - distinct[at[inner] - 1]
            distance[inner] += gap / (distinct[-1] - distinct[0])
    return distance


def _reference(reference: ArrayLike, m: int) -> FloatArray:
    r = np.asarray(reference, dtype=float)
    if r.ndim != 1 or (m and r.size != m):
        raise ValueError(
            f"reference must hold one value per objective ({m}), but got shape {r.shape}"
        )
    if not np.isfinite(r).all():
        raise ValueError(f"reference must be finite, but got {r.tolist()}")
    return r


def _inside(p: FloatArray, r: FloatArray) -> BoolArray:
    """Points strictly better than the reference in every objective: only they add volume."""
    inside = np.asarray((p < r).all(axis=1))
    if np.isneginf(p[inside]).any():
        raise ValueError("hypervolume is unbounded: a point is -inf in some objective")
    return inside


def _hv_2d(p: FloatArray, r: FloatArray) -> float:
    # Sweep in f0 order: the strip from one f0 to the next is covered up to the least f1
    # seen so far, which makes dominated and repeated points add nothing.
    order = np.lexsort((p[:, 1], p[:, 0]))
    least_y = np.minimum.accumulate(p[order, 1])
    widths = np.diff(np.append(p[order, 0], r[0]))
    return float(widths @ (r[1] - least_y))


def _hv_3d(p: FloatArray, r: FloatArray) -> float:
    # Dimension sweep in f2 order: the slab up to the next f2 value is covered in (f0, f1)
    # by the staircase of the points seen so far (f0 rising, f1 falling), whose area is
    # updated as each point arrives: a point some step already covers changes nothing;
    # otherwise it lowers the covered level from its f0 up to the first step below it and
    # replaces the steps it covers. Each point enters and leaves once.
    p = p[np.argsort(p[:, 2], kind="stable")]
    tops = np.append(p[:, 2], r[2]).tolist()
    xs: list[float] = []
    ys: list[float] = []
    area = volume = 0.0
    for i, (x, y) in enumerate(p[:, :2].tolist()):
        j = bisect_left(xs, x)
        covered = (j > 0 and ys[j - 1] <= y) or (j < len(xs) and xs[j] == x and ys[j] <= y)
        if not covered:
            start, level, end = x, (ys[j - 1] if j else float(r[1])), j
            while end < len(xs) and ys[end] >= y:
                area += (xs[end] - start) * (level - y)
                start, level, end = xs[end], ys[end], end + 1
            area += ((xs[end] if end < len(xs) else float(r[0])) - start) * (level - y)
            xs[j:end], ys[j:end] = [x], [y]
        volume += area * (tops[i + 1] - tops[i])
    return volume


def _hv_sliced(p: FloatArray, r: FloatArray) -> float:
    # HSO: slice along the last objective; a slab is covered by the (m-1)-D front of the
    # points up to it in that order, kept up to date as each point arrives, and its
    # cross-section is recomputed only when that front changed.
    p = p[np.argsort(p[:, -1], kind="stable")]
    tops = np.append(p[:, -1], r[-1])
    front = np.empty((0, p.shape[1] - 1))
    section = total = 0.0
    for i, point in enumerate(p[:, :-1]):
        if not (front <= point).all(axis=1).any():
            front = np.vstack([front[~(point <= front).all(axis=1)], point])
            section = _hv(front, r[:-1])
        total += section * (tops[i + 1] - tops[i])
    return total


def _hv(p: FloatArray, r: FloatArray) -> float:
    """Hypervolume of points all strictly inside the reference."""
    n, m = p.shape
    if n == 0:
        return 0.0
    if m == 1:
        return float(r[0] - p[:, 0].min())
    if m == 2:
        return _hv_2d(p, r)
    return _hv_3d(p, r) if m == 3 else _hv_sliced(p, r)


def hypervolume(points: ArrayLike, reference: ArrayLike) -> float:
    """Exact volume dominated by the points and bounded by the reference point. Points not
    strictly better than the reference in every objective add nothing; so do dominated
    and repeated points."""
    p = _points(points)
    r = _reference(reference, p.shape[1])
    p = p.reshape(len(p), r.size)
    return _hv(p[_inside(p, r)], r)


def _exclusive(u: FloatArray, r: FloatArray) -> FloatArray:
    """Each point's exclusive volume; u is a unique, non-dominated set inside r."""
    n, m = u.shape
    if m == 1:
        return r - u[:, 0]  # the one point left
    if m == 2:
        # In (f0, f1) order f1 falls, so a point's exclusive box reaches from its own f0 to
        # the next point's, and from its own f1 up to the previous point's.
        return np.diff(np.append(u[:, 0], r[0])) * -np.diff(np.append(r[1], u[:, 1]))
    # What only u[i] covers is its box less its overlap with the others, which is the
    # volume of the others clipped to the box: smaller numbers than hv(all) - hv(all but
    # i), so less is lost to cancellation.
    out = np.empty(n)
    for i in range(n):
        clipped = np.maximum(np.delete(u, i, axis=0), u[i])
        out[i] = np.prod(r - u[i]) - _hv(clipped, r)
    return np.maximum(out, 0.0)


def hypervolume_contributions(front: ArrayLike, reference: ArrayLike) -> FloatArray:
    """Per point of the front, the volume that no other point of the front dominates:
    hv(front) - hv(front without it). Dominated points, points outside the reference and
    copies of a point get 0. Dominated points are left out, not counted as cover: a front
    point's share does not shrink because worse trials lie behind it (selection within a
    front, as MOTPE's weights and MO-ASHA's tie-breaks use it)."""
    p = _points(front, "front")
    r = _reference(reference, p.shape[1])
    p = p.reshape(len(p), r.size)
    out = np.zeros(len(p))
    on = _inside(p, r)
    if not on.any():
        return out
    on[on] = non_dominated_mask(p[on])
    unique, inverse, counts = np.unique(p[on], axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    out[on] = np.where(counts[inverse] == 1, _exclusive(unique, r)[inverse], 0.0)
    return out


def default_reference_point(points: ArrayLike) -> FloatArray:
    """The nadir of the front (its worst value per objective) plus 10% of the front's range.

    The margin lets the front's extreme points add volume (at the nadir itself they add
    none in the objective they are worst at), and a margin relative to the range makes the
    choice independent of each objective's unit and offset. The front, not every trial,
    sets it, so one terrible trial does not stretch the reference and swamp the
    differences between good points. An objective in which the front has one value falls
    back to the range of all points, and failing that to 10% of max(|nadir|, 1): any
    positive margin scales every volume alike there."""
    p = _points(points)
    if len(p) == 0:
        raise ValueError("default_reference_point needs at least one point")
    if not np.isfinite(p).all():
        raise ValueError(
            "default_reference_point needs finite values; clip inf to a finite worst first"
        )
    front = p[non_dominated_mask(p)]
    nadir = front.max(axis=0)
    front_range = nadir - front.min(axis=0)
    all_range = p.max(axis=0) - p.min(axis=0)
    scale = np.where(
        front_range > 0,
        front_range,
        np.where(all_range > 0, all_range, np.maximum(np.abs(nadir), 1.0)),
    )
    return np.asarray(nadir + 0.1 * scale)


def _constraints(constraints: ArrayLike) -> FloatArray:
    c = np.asarray(constraints, dtype=float)
    if c.ndim != 2:
        raise ValueError(
            f"constraints must be a 2-D array (n trials, k constraints), but got shape {c.shape}"
        )
    if np.isnan(c).any():
        raise ValueError(
            "constraints must not contain NaN: a constraint that could not be evaluated "
            "should be reported as violated (a positive value)"
        )
    return c


def feasible_mask(constraints: ArrayLike) -> BoolArray:
    """A trial is feasible when every constraint value is <= 0 (Optuna's convention)."""
    return np.asarray((_constraints(constraints) <= 0).all(axis=1))


def constraint_violation(constraints: ArrayLike) -> FloatArray:
    """Total violation per trial: the sum of the positive constraint values (0 if feasible)."""
    return np.asarray(np.clip(_constraints(constraints), 0.0, None).sum(axis=1))


def constrained_ranks(points: ArrayLike, violation: ArrayLike) -> IntArray:
    """Ranks under Deb's constrained domination: feasible trials (violation 0) by their
    non-dominated rank among themselves, then the infeasible ones after all of them, by
    violation alone (equal violations share a rank), since a trial breaking a constraint
    is no answer however good its objectives."""
    p = _points(points)
    v = np.asarray(violation, dtype=float)
    if v.shape != (len(p),):
        raise ValueError(
            f"violation must hold one value per point ({len(p)}), but got shape {v.shape}"
        )
    if np.isnan(v).any() or (v < 0).any():
        raise ValueError("violation must be >= 0 and not NaN; use constraint_violation()")
    ranks = np.empty(len(p), dtype=np.intp)
    feasible = v == 0
    first_infeasible = 0
    if feasible.any():
        ranks[feasible] = non_dominated_ranks(p[feasible])
        first_infeasible = int(ranks[feasible].max()) + 1
    _, by_violation = np.unique(v[~feasible], return_inverse=True)
    ranks[~feasible] = first_infeasible + by_violation.reshape(-1)
    return ranks
