"""The region no point of a front dominates, below a reference point, as disjoint boxes.

Minimisation: a point z is dominated when some front point p has p <= z in every
objective. Expected hypervolume improvement is a sum over a partition of the
non-dominated region (ehvi.py), so it needs one.

Grid with the last objective merged: the breakpoints of objective j < m-1 are -inf, the
front's distinct values in j and the reference's r_j. Within one cell of that (m-1)-D
grid, the front points dominating a point in the first m-1 objectives are the same
everywhere (those no worse than the cell's lower corner), so the non-dominated part of
the cell's column is the slab below the least last objective among them (or below r_m).
One box per cell, lower bound -inf in the last objective; exact for any m. A front of n
points gives (n+1)^(m-1) boxes: n+1 in 2-D (the staircase under the front).

With 3+ objectives a large front would give very many boxes; beyond `max_boxes` only the
points that add the most hypervolume are kept (the region is then slightly too large, so
improvements near the dropped points are slightly overrated), which bounds the cost of
every acquisition evaluation. Cells are not merged: an unmerged grid is easy to check.
"""

from __future__ import annotations

import itertools

import numpy as np

from tunelab._pareto import hypervolume_contributions, non_dominated_mask

MAX_BOXES = 4096


def _front_inside(front: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Distinct non-dominated points strictly better than the reference everywhere."""
    p = np.asarray(front, dtype=float).reshape(-1, reference.size)
    p = p[(p < reference).all(axis=1)]
    if len(p) == 0:
        return p
    return np.unique(p[non_dominated_mask(p)], axis=0)


def _thin(front: np.ndarray, reference: np.ndarray, max_boxes: int) -> np.ndarray:
    """The front, or (with 3+ objectives and too many boxes) the points that add the most
    hypervolume: a slight underestimate of the dominated region, so a bounded cost."""
    m = front.shape[1]
    keep = len(front)
    while keep > 1 and (keep + 1) ** (m - 1) > max_boxes:
        keep -= 1
    if keep == len(front):
        return front
    share = hypervolume_contributions(front, reference)
    return front[np.sort(np.argsort(-share, kind="stable")[:keep])]


def non_dominated_boxes(
    front: np.ndarray, reference: np.ndarray, max_boxes: int = MAX_BOXES
) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper), each (B, m): disjoint boxes whose union is the set of points
    below `reference` (strictly) that no point of `front` dominates. Lower bounds may be
    -inf. Points of `front` outside the reference add nothing, as in a hypervolume."""
    r = np.asarray(reference, dtype=float).ravel()
    m = r.size
    p = _thin(_front_inside(np.asarray(front, dtype=float), r), r, max_boxes)
    if m == 1:
        top = p[:, 0].min() if len(p) else r[0]
        return np.array([[-np.inf]]), np.array([[top]])
    edges = [np.concatenate(([-np.inf], np.unique(p[:, j]), [r[j]])) for j in range(m - 1)]
    cells = list(itertools.product(*(range(len(e) - 1) for e in edges)))
    index = np.array(cells, dtype=np.intp).reshape(len(cells), m - 1)
    lower = np.column_stack([edges[j][index[:, j]] for j in range(m - 1)])
    upper = np.column_stack([edges[j][index[:, j] + 1] for j in range(m - 1)])
    covers = (p[None, :, : m - 1] <= lower[:, None, :]).all(axis=2)  # (cells, points)
    top = np.where(covers, p[None, :, m - 1], r[m - 1]).min(axis=1, initial=r[m - 1])
    lower = np.column_stack([lower, np.full(len(lower), -np.inf)])
    return lower, np.column_stack([upper, top])
