"""Kendall's tau-b against hand-counted pairs, closed forms and scipy, on both routes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import kendalltau

from tunelab._stats import ALL_PAIRS_UP_TO, explained, kendall_tau


def test_untied_rankings_give_the_share_of_agreeing_pairs() -> None:
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)  # 2 agree, 1 disagrees


def test_ties_count_against_agreement() -> None:
    # Pairs of x=[1,2,2,3], y=[1,3,2,2]: 3 concordant, 1 discordant, 1 tied in x, 1 in y:
    # tau-b = (3 - 1) / sqrt((6 - 1) * (6 - 1)) = 0.4, where ignoring ties gave 2/4 = 0.5.
    assert kendall_tau([1, 2, 2, 3], [1, 3, 2, 2]) == pytest.approx(0.4)
    # Two epochs' values tied per block, final values all distinct and in the same order:
    # no pair disagrees, yet 4 of the 28 pairs say nothing: sqrt(24 / 28) = 0.926, not 1.
    assert kendall_tau([1, 1, 2, 2, 3, 3, 4, 4], range(8)) == pytest.approx(math.sqrt(6 / 7))
    assert kendall_tau([1, 1, 2], [5, 6, 7]) == pytest.approx(2 / math.sqrt(2 * 3))


def test_no_two_different_values_on_a_side_has_no_tau() -> None:
    assert kendall_tau([1, 1], [2, 3]) is None
    assert kendall_tau([1, 2, 3], [4, 4, 4]) is None
    assert kendall_tau([5], [6]) is None
    assert kendall_tau([], []) is None


@pytest.mark.parametrize("n", [ALL_PAIRS_UP_TO, ALL_PAIRS_UP_TO + 2])
def test_both_routes_give_the_closed_form_for_tied_blocks(n: int) -> None:
    # n/2 blocks of two tied x values, y strictly increasing: S = n0 - n/2, no x tie in y.
    n0 = n * (n - 1) / 2
    x = np.repeat(np.arange(n // 2), 2)
    assert kendall_tau(x, np.arange(n)) == pytest.approx(math.sqrt((n0 - n / 2) / n0))
    assert kendall_tau([1.0] * n, np.arange(n)) is None


@pytest.mark.parametrize("n", [7, 40, ALL_PAIRS_UP_TO, ALL_PAIRS_UP_TO + 1, 600])
def test_agrees_with_scipy_on_heavily_tied_data(n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.integers(0, 5, n).astype(float)  # few distinct values, as rounded accuracies
    y = x + rng.integers(-2, 3, n)
    assert kendall_tau(x, y) == pytest.approx(kendalltau(x, y, variant="b").statistic, abs=1e-12)


def test_rejects_what_it_cannot_rank() -> None:
    with pytest.raises(ValueError, match="one length"):
        kendall_tau([1, 2], [1])
    with pytest.raises(ValueError, match="finite"):
        kendall_tau([1.0, math.nan, 2.0], [1.0, 2.0, 3.0])


def test_explained_is_the_copula_rho_squared() -> None:
    assert explained(1.0) == pytest.approx(1.0) and explained(-0.4) == 0.0
    assert explained(None) == 0.0 and explained(0.5) == pytest.approx(0.5)
