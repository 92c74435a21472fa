"""Pareto fronts, ranks, crowding, hypervolume and constrained ranks against hand-computed
cases and brute force: pairwise dominance by definition, and the volume of a union of
boxes summed over the grid of all coordinate breakpoints (exact for small sets)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tunelab import _pareto
from tunelab._pareto import (
    constrained_ranks,
    constraint_violation,
    crowding_distance,
    default_reference_point,
    dominates,
    feasible_mask,
    hypervolume,
    hypervolume_contributions,
    non_dominated_mask,
    non_dominated_ranks,
)


def brute_mask(p: np.ndarray) -> np.ndarray:
    return np.array([not any(dominates(q, x) for q in p) for x in p], dtype=bool)


def brute_ranks(p: np.ndarray) -> np.ndarray:
    ranks = np.full(len(p), -1)
    left, rank = np.arange(len(p)), 0
    while left.size:
        front = left[brute_mask(p[left])]
        ranks[front] = rank
        left, rank = np.setdiff1d(left, front), rank + 1
    return ranks


def brute_hv(p: np.ndarray, ref: np.ndarray) -> float:
    """Sum the cells of the breakpoint grid whose lower corner some point dominates."""
    p = p[(p < ref).all(axis=1)]
    if not len(p):
        return 0.0
    axes = [np.unique(np.append(p[:, k], ref[k])) for k in range(len(ref))]
    lows = np.stack(np.meshgrid(*[a[:-1] for a in axes], indexing="ij"), axis=-1)
    sizes = np.prod(np.stack(np.meshgrid(*[np.diff(a) for a in axes], indexing="ij")), axis=0)
    covered = (p[:, None, :] <= lows.reshape(-1, len(ref))[None]).all(axis=-1).any(axis=0)
    return float(sizes.reshape(-1) @ covered)


def point_sets(max_n: int = 10, max_m: int = 4, min_m: int = 1) -> st.SearchStrategy:
    """Small sets on a coarse integer grid, so ties, copies and dominance are common."""
    return st.tuples(st.integers(0, max_n), st.integers(min_m, max_m)).flatmap(
        lambda nm: arrays(np.float64, nm, elements=st.integers(0, 5).map(float))
    )


# --- dominance, fronts and ranks ---


def test_dominance_needs_no_worse_everywhere_and_better_somewhere() -> None:
    assert dominates([1, 2], [1, 3])
    assert dominates([1, 2], [2, 3])
    assert not dominates([1, 2], [1, 2])  # a copy does not dominate
    assert not dominates([1, 3], [2, 2])  # a trade-off
    assert dominates([np.inf, 0], [np.inf, 1])
    with pytest.raises(ValueError, match="one value per objective"):
        dominates([1, 2], [1, 2, 3])


def test_hand_computed_front_and_ranks() -> None:
    # (1,4) (2,2) (4,1) trade off; (3,3) is behind (2,2); (4,4) behind all three of rank 0
    # and (3,3) as well; (2,2) twice: copies share the front.
    p = np.array([[3, 3], [1, 4], [2, 2], [4, 4], [4, 1], [2, 2]], dtype=float)
    assert non_dominated_mask(p).tolist() == [False, True, True, False, True, True]
    assert non_dominated_ranks(p).tolist() == [1, 0, 0, 2, 0, 0]
    # The same in 3-D (a constant third objective changes no dominance) takes the general path.
    p3 = np.c_[p, np.zeros(len(p))]
    assert non_dominated_mask(p3).tolist() == [False, True, True, False, True, True]
    assert non_dominated_ranks(p3).tolist() == [1, 0, 0, 2, 0, 0]
    assert non_dominated_ranks([[3.0], [1.0], [3.0], [2.0]]).tolist() == [2, 0, 2, 1]


@settings(max_examples=150, deadline=None)
@given(point_sets())
def test_fronts_and_ranks_agree_with_the_definition(p: np.ndarray) -> None:
    assert non_dominated_mask(p).tolist() == brute_mask(p).tolist()
    assert non_dominated_ranks(p).tolist() == brute_ranks(p).tolist()


@settings(max_examples=150, deadline=None)
@given(point_sets(max_n=14))
def test_ranks_are_layers_of_dominance(p: np.ndarray) -> None:
    ranks = non_dominated_ranks(p)
    assert np.array_equal(ranks == 0, non_dominated_mask(p))
    for i, j in itertools.permutations(range(len(p)), 2):
        if ranks[i] == ranks[j]:
            assert not dominates(p[i], p[j])
    for i in np.flatnonzero(ranks > 0):
        assert any(dominates(p[j], p[i]) for j in np.flatnonzero(ranks == ranks[i] - 1))
    assert set(ranks.tolist()) == set(range(len(set(ranks.tolist()))))  # no rank skipped


def test_block_wise_comparisons_match_all_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    p = np.random.default_rng(0).integers(0, 6, size=(40, 3)).astype(float)
    whole = non_dominated_ranks(p)
    monkeypatch.setattr(_pareto, "_BLOCK_CELLS", 7)  # blocks of one row
    assert np.array_equal(non_dominated_ranks(p), whole)
    assert np.array_equal(whole, brute_ranks(p))


# --- hypervolume ---


def test_hand_computed_volumes() -> None:
    # Staircase (1,3) (2,2) (3,1) under (4,4): columns of height 1, 2 and 3.
    assert hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]) == 6.0
    # Three boxes of volume 6 under (4,4,4), pairwise overlaps of 2, all three of 1:
    # 18 - 6 + 1 = 13; the 4-D lift with a 0 in the last objective under 1 keeps it.
    p3 = np.array([[1, 2, 3], [3, 1, 2], [2, 3, 1]], dtype=float)
    assert hypervolume(p3, [4, 4, 4]) == 13.0
    assert hypervolume(np.c_[p3, np.zeros(3)], [4, 4, 4, 1]) == 13.0
    assert hypervolume(np.c_[p3, np.zeros(3), np.full(3, 0.5)], [4, 4, 4, 1, 1]) == 6.5
    assert hypervolume([[2.0], [3.0]], [5.0]) == 3.0


@settings(max_examples=200, deadline=None)
@given(point_sets(max_n=8, max_m=5), st.integers(3, 6))
def test_volume_equals_the_union_of_boxes(p: np.ndarray, ref_value: int) -> None:
    ref = np.full(p.shape[1], float(ref_value))
    assert hypervolume(p, ref) == pytest.approx(brute_hv(p, ref), abs=1e-9)


@pytest.mark.parametrize("m, n", [(2, 30), (3, 25), (4, 12)])
def test_random_real_valued_sets_match_brute_force(m: int, n: int) -> None:
    rng = np.random.default_rng(m)
    for _ in range(5):
        # Points near a sphere's surface: most of them on the front, as the hard case.
        p = rng.random((n, m))
        p /= np.linalg.norm(p, axis=1, keepdims=True)
        ref = np.full(m, 1.05)
        assert hypervolume(p, ref) == pytest.approx(brute_hv(p, ref), rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(point_sets(max_n=8, max_m=4, min_m=2), st.randoms(use_true_random=False))
def test_dominated_copied_and_reordered_points_change_nothing(p, random) -> None:
    ref = np.full(p.shape[1], 6.0)
    hv = hypervolume(p, ref)
    behind = p + 1  # each dominated by its original
    order = list(range(2 * len(p)))
    random.shuffle(order)
    assert hypervolume(np.vstack([p, behind])[order], ref) == pytest.approx(hv)
    assert hypervolume(np.vstack([p, p, p]), ref) == pytest.approx(hv)


def test_points_not_strictly_inside_the_reference_add_nothing() -> None:
    assert hypervolume([[1, 4], [4, 1], [5, 0], [2, 2]], [4, 4]) == 4.0
    assert hypervolume([[4, 4], [np.inf, 0]], [4, 4]) == 0.0
    assert hypervolume(np.empty((0, 2)), [1, 1]) == 0.0
    assert hypervolume([], [1, 1]) == 0.0


# --- contributions ---


def test_hand_computed_contributions() -> None:
    # Staircase (1,3) (2,2) (3,1) under (4,4): only the corner cells are exclusive; the
    # copy of (2,2) makes both copies removable at no loss; (3,3) is dominated.
    front = [[1, 3], [2, 2], [3, 1], [2, 2], [3, 3]]
    assert hypervolume_contributions(front, [4, 4]).tolist() == [1, 0, 1, 0, 0]
    assert hypervolume_contributions([[1, 3], [2, 2], [3, 1]], [4, 4]).tolist() == [1, 1, 1]
    p3 = [[1, 2, 3], [3, 1, 2], [2, 3, 1]]  # 6 less its overlaps 2 + 2 - 1
    assert hypervolume_contributions(p3, [4, 4, 4]).tolist() == [3, 3, 3]
    assert hypervolume_contributions([[1.0], [2.0], [1.0]], [3.0]).tolist() == [0, 0, 0]
    # (2,2) lies inside (1,1)'s share but, dominated, does not cover any of it.
    assert hypervolume_contributions([[1, 1], [2, 2]], [3, 3]).tolist() == [4, 0]
    assert hypervolume_contributions([[1, 1, 1], [2, 2, 2]], [3, 3, 3]).tolist() == [8, 0]
    assert hypervolume_contributions([[1.0], [2.0]], [3.0]).tolist() == [2, 0]


@settings(max_examples=150, deadline=None)
@given(point_sets(max_n=8, max_m=4))
def test_contribution_is_what_the_front_loses_without_the_point(p: np.ndarray) -> None:
    ref = np.full(p.shape[1], 6.0)
    contributions = hypervolume_contributions(p, ref)
    on_front = non_dominated_mask(p)
    front = p[on_front]
    hv = hypervolume(p, ref)
    for k, i in enumerate(np.flatnonzero(on_front)):
        lost = hv - hypervolume(np.delete(front, k, axis=0), ref)
        assert contributions[i] == pytest.approx(lost, abs=1e-9)
    assert (contributions >= 0).all() and contributions.sum() <= hv + 1e-9
    assert (contributions[~on_front] == 0).all()


# --- crowding distance and the reference point ---


def test_hand_computed_crowding_distance() -> None:
    # Ranges 4 and 4; (1,2): gaps 3 and 3; (3,1): gaps 3 and 2; the ends are boundaries.
    p = np.array([[0, 4], [1, 2], [3, 1], [4, 0]], dtype=float)
    assert crowding_distance(p).tolist() == [np.inf, 1.5, 1.25, np.inf]
    assert crowding_distance(p[::-1]).tolist() == [np.inf, 1.25, 1.5, np.inf]
    # Copies share one gap, whichever order they come in.
    q = np.array([[0, 4], [1, 2], [1, 2], [4, 0]], dtype=float)
    assert crowding_distance(q).tolist() == [np.inf, 2.0, 2.0, np.inf]
    assert crowding_distance([[1.0, 2.0]]).tolist() == [np.inf]
    assert crowding_distance(np.empty((0, 2))).tolist() == []
    with pytest.raises(ValueError, match="finite"):
        crowding_distance([[0, np.inf], [1, 0]])


def test_default_reference_point_is_the_front_nadir_plus_a_tenth_of_its_range() -> None:
    p = np.array([[0, 10], [5, 5], [10, 0], [9, 9]], dtype=float)
    assert default_reference_point(p) == pytest.approx([11, 11])
    # A far-off dominated trial does not stretch it.
    assert default_reference_point(np.vstack([p, [1e6, 1e6]])) == pytest.approx([11, 11])
    # Free of units and offsets: it moves with each objective's affine rescaling.
    scaled = p * [2.0, 1e-3] + [-7.0, 100.0]
    assert default_reference_point(scaled) == pytest.approx([11 * 2 - 7, 11e-3 + 100])
    # One front value: the range of all points, else max(|nadir|, 1), sets the margin.
    assert default_reference_point([[1, 2], [1, 5]]) == pytest.approx([1.1, 2.3])
    assert default_reference_point([[0.0, -20.0]]) == pytest.approx([0.1, -18.0])
    ref = default_reference_point(p)
    assert (hypervolume_contributions(p[:3], ref) > 0).all()  # extremes add volume
    with pytest.raises(ValueError, match="at least one point"):
        default_reference_point(np.empty((0, 2)))


# --- constraints ---


def test_feasibility_and_violation_follow_the_sign_convention() -> None:
    c = np.array([[-1.0, 0.0], [0.5, -2.0], [2.0, 3.0]])
    assert feasible_mask(c).tolist() == [True, False, False]
    assert constraint_violation(c).tolist() == [0.0, 0.5, 5.0]
    assert feasible_mask(np.empty((3, 0))).tolist() == [True, True, True]
    with pytest.raises(ValueError, match="NaN"):
        feasible_mask([[np.nan]])
    with pytest.raises(ValueError, match="2-D"):
        constraint_violation([1.0, 2.0])


def test_constrained_ranks_put_every_feasible_trial_first() -> None:
    p = np.array([[1, 3], [3, 1], [2, 2.5], [3, 3], [0, 0], [0, 0], [5, 5]], dtype=float)
    violation = np.array([0, 0, 0, 0, 2.0, 0.5, 2.0])
    # Feasible: rank 0 (three trade-offs), rank 1 (3,3). Infeasible by violation alone,
    # however good their objectives: 0.5, then the two with 2 sharing a rank.
    assert constrained_ranks(p, violation).tolist() == [0, 0, 0, 1, 3, 2, 3]
    assert constrained_ranks(p[4:], violation[4:]).tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match=">= 0"):
        constrained_ranks(p, -violation)
    with pytest.raises(ValueError, match="one value per point"):
        constrained_ranks(p, violation[:3])


# --- edge cases ---


def test_empty_input_gives_empty_answers() -> None:
    for empty in ([], np.empty((0, 3))):
        assert non_dominated_mask(empty).shape == (0,)
        assert non_dominated_ranks(empty).shape == (0,)
        assert hypervolume_contributions(empty, [1, 1, 1]).shape == (0,)
        assert constrained_ranks(empty, []).shape == (0,)


def test_one_point() -> None:
    assert non_dominated_mask([[1, 2, 3]]).tolist() == [True]
    assert non_dominated_ranks([[1, 2, 3]]).tolist() == [0]
    assert hypervolume([[1, 2, 3]], [2, 4, 6]) == 6.0
    assert hypervolume_contributions([[1, 2, 3]], [2, 4, 6]).tolist() == [6.0]


@pytest.mark.parametrize(
    "call",
    [
        lambda p: non_dominated_mask(p),
        lambda p: non_dominated_ranks(p),
        lambda p: crowding_distance(p),
        lambda p: hypervolume(p, [9, 9]),
        lambda p: hypervolume_contributions(p, [9, 9]),
        lambda p: default_reference_point(p),
        lambda p: constrained_ranks(p, [0, 0]),
    ],
)
def test_nan_is_refused_by_name(call) -> None:
    with pytest.raises(ValueError, match=r"must not contain NaN, but row 1 does"):
        call([[1.0, 2.0], [np.nan, 0.0]])


def test_bad_shapes_and_references_are_refused() -> None:
    with pytest.raises(ValueError, match="2-D array"):
        non_dominated_mask([1.0, 2.0])
    with pytest.raises(ValueError, match="must have at least one objective"):
        non_dominated_ranks(np.empty((2, 0)))
    with pytest.raises(ValueError, match=r"one value per objective \(2\)"):
        hypervolume([[1, 2]], [3, 3, 3])
    with pytest.raises(ValueError, match="reference must be finite"):
        hypervolume([[1, 2]], [np.inf, 3])
    with pytest.raises(ValueError, match="unbounded"):
        hypervolume([[-np.inf, 2]], [3, 3])
