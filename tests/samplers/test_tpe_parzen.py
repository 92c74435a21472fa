"""The TPE's Parzen estimators: normalised mixtures whose densities equal the kernels summed
one by one with scipy's truncated normal, cell masses, categorical leaks, and draws that
follow them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunelab.samplers.tpe.parzen import (
    LOG_FLOOR,
    Dim,
    ParzenEstimator,
    cell_log_masses,
    cell_table,
    log_density_ratio,
    neighbour_bandwidths,
    truncated_normal,
)
from tunelab.space import AxisKind

CONT, ORD, CAT = AxisKind.CONTINUOUS, AxisKind.ORDINAL, AxisKind.CATEGORICAL


def _centres(rng: np.random.Generator, k: int, m: int) -> np.ndarray:
    """m coordinates of a k-valued dimension: cell centres, as the space encodes them."""
    return (rng.integers(0, k, m) + 0.5) / k


@pytest.mark.parametrize("rule", ["scott", "neighbour"])
@pytest.mark.parametrize("n", [0, 1, 5, 100])
def test_densities_are_normalised(rule: str, n: int) -> None:
    rng = np.random.default_rng(n)
    dims = [Dim(CONT), Dim(ORD, 5), Dim(CAT, 3)]
    points = np.column_stack([rng.beta(2, 5, n), _centres(rng, 5, n), _centres(rng, 3, n)])
    estimator = ParzenEstimator(points, dims, prior_weight=1.0, rule=rule)
    grid = np.linspace(0.0, 1.0, 2001)
    cells = (np.arange(5) + 0.5) / 5
    categories = (np.arange(3) + 0.5) / 3
    x, c, k = np.meshgrid(grid, cells, categories, indexing="ij")
    density = np.exp(estimator.log_pdf(np.column_stack([x.ravel(), c.ravel(), k.ravel()])))
    per_x = density.reshape(len(grid), -1).sum(axis=1)  # sum over cells and categories
    total = float(np.sum((per_x[1:] + per_x[:-1]) / 2) * (grid[1] - grid[0]))
    assert total == pytest.approx(1.0, abs=2e-3)


def _direct_log_pdf(estimator: ParzenEstimator, x: np.ndarray) -> np.ndarray:
    """The mixture summed kernel by kernel with scipy's distributions: the reference the
    matrix form of `log_pdf` must reproduce."""
    from scipy.stats import truncnorm

    n = estimator.n_observations
    total = np.full(len(x), estimator.weights[n])
    for dim in estimator.dims:
        total /= dim.size if dim.kind is not CONT else 1
    for i in range(n):
        kernel = np.full(len(x), estimator.weights[i])
        for j, dim in enumerate(estimator.dims):
            mu, sigma = estimator.mu[i, j], estimator.sigma[i, j]
            law = truncnorm((0 - mu) / sigma, (1 - mu) / sigma, loc=mu, scale=sigma)
            if dim.kind is CONT:
                kernel *= law.pdf(x[:, j])
            elif dim.kind is ORD:
                lo = np.floor(x[:, j] * dim.size) / dim.size
                kernel *= law.cdf(lo + 1 / dim.size) - law.cdf(lo)
            else:
                e = estimator.leak
                kernel *= np.where(x[:, j] == mu, 1 - e + e / dim.size, e / dim.size)
        total += kernel
    return np.log(total)


@pytest.mark.parametrize("rule", ["scott", "neighbour"])
@pytest.mark.parametrize("n", [1, 7, 60])
def test_log_pdf_equals_the_kernels_summed_one_by_one(rule: str, n: int) -> None:
    rng = np.random.default_rng(10 + n)
    dims = [Dim(CONT), Dim(ORD, 6), Dim(CAT, 4), Dim(CONT)]

    def draw(m: int) -> np.ndarray:
        return np.column_stack(
            [
                rng.beta(0.5, 0.5, m),  # crowds the bounds, where truncation matters
                _centres(rng, 6, m),
                _centres(rng, 4, m),
                rng.random(m),
            ]
        )

    estimator = ParzenEstimator(draw(n), dims, prior_weight=0.5, rule=rule)
    x = draw(50)
    assert np.allclose(estimator.log_pdf(x), _direct_log_pdf(estimator, x), rtol=0, atol=1e-6)


def test_the_density_ratio_is_the_difference_of_log_densities() -> None:
    rng = np.random.default_rng(2)
    dims = [Dim(CONT), Dim(ORD, 16)]
    good = np.column_stack([rng.random(10) * 0.2, _centres(rng, 16, 10)])
    bad = np.column_stack([rng.random(500), _centres(rng, 16, 500)])
    l_x, g_x = ParzenEstimator(good, dims), ParzenEstimator(bad, dims)
    x = l_x.sample(rng, 30)
    np.testing.assert_array_equal(log_density_ratio(l_x, g_x, x), l_x.log_pdf(x) - g_x.log_pdf(x))
    assert np.median(log_density_ratio(l_x, g_x, x)) > 0  # drawn where l beats g


@pytest.mark.parametrize("k", [1, 2, 5, 16, 40, 70])
@pytest.mark.parametrize("width", [0.002, 0.03, 0.3, 1.0])
def test_cell_masses_are_truncated_normal_cell_masses(k: int, width: float) -> None:
    """A kernel's log mass of each cell, from k normal tails (`cell_table`, kernels at
    cell centres) or from the cells' edges (`cell_log_masses`, anywhere), against scipy's
    truncated normal cell by cell; narrow kernels' far cells are floored, never -inf."""
    from scipy.stats import truncnorm

    centres = (np.arange(k) + 0.5) / k
    table = cell_table(k, width)
    anywhere = cell_log_masses(centres, np.full(k, width), k)
    assert table.shape == anywhere.shape == (k, k)
    edges = np.arange(k + 1) / k
    for c in range(k):
        mu = centres[c]
        law = truncnorm(-mu / width, (1 - mu) / width, loc=mu, scale=width)
        # the mass of each cell from whichever tail is smaller, as precise as scipy can be
        upper, lower = law.sf(edges), law.cdf(edges)
        mass = np.where(edges[1:] <= mu, lower[1:] - lower[:-1], upper[:-1] - upper[1:])
        with np.errstate(divide="ignore"):
            expected = np.maximum(np.log(mass), LOG_FLOOR)
        far = expected < -700  # scipy's own precision runs out there
        for got in (table[c], anywhere[c]):
            np.testing.assert_allclose(got[~far], expected[~far], rtol=1e-9, atol=1e-9)
            assert (got[far] < -600).all() and (got >= LOG_FLOOR).all()


@pytest.mark.parametrize(("mu", "sigma"), [(0.05, 0.3), (0.5, 1.0), (0.97, 0.02), (0.0, 0.01)])
def test_kernel_draws_follow_the_truncated_normal(mu: float, sigma: float) -> None:
    """Kernels are drawn by rejection, several normal draws at once and the rare draw with
    none inside redrawn alone (at the bound with width 0.01, about one in 256): the draws
    must follow the normal truncated to [0, 1] (Kolmogorov-Smirnov against truncnorm)."""
    from scipy.stats import kstest, truncnorm

    rng = np.random.default_rng(11)
    x = truncated_normal(rng, np.full((4000, 2), mu), np.full(2, sigma))
    assert x.shape == (4000, 2) and ((x >= 0) & (x <= 1)).all()
    law = truncnorm(-mu / sigma, (1 - mu) / sigma, loc=mu, scale=sigma)
    for column in x.T:
        assert kstest(column, law.cdf).pvalue > 1e-3


@pytest.mark.parametrize("rule", ["scott", "neighbour"])
def test_samples_lie_on_the_dimensions_domains(rule: str) -> None:
    rng = np.random.default_rng(0)
    dims = [Dim(CONT), Dim(ORD, 4), Dim(CAT, 3)]
    points = np.array([[0.0, 0.125, 5 / 6], [1.0, 0.875, 1 / 6], [0.5, 0.375, 0.5]])
    draws = ParzenEstimator(points, dims, rule=rule).sample(rng, 500)
    assert ((draws[:, 0] >= 0) & (draws[:, 0] <= 1)).all()
    assert set(draws[:, 1]) <= {0.125, 0.375, 0.625, 0.875}
    assert set(draws[:, 2]) == {1 / 6, 0.5, 5 / 6}


def test_a_categorical_kernel_keeps_most_of_its_mass_on_its_own_category() -> None:
    """With n observations a kernel leaks e = 1 / min(100, n + 1) of its mass evenly
    over the k categories (Aitchison-Aitken)."""
    estimator = ParzenEstimator(np.full((9, 1), 0.5), [Dim(CAT, 3)], prior_weight=1.0)
    e = estimator.leak
    assert e == pytest.approx(0.1)
    own = (9 * (1 - e + e / 3) + 1 / 3) / 10  # nine kernels and the prior
    assert np.exp(estimator.log_pdf(np.array([[0.5], [1 / 6]]))) == pytest.approx(
        [own, (9 * e / 3 + 1 / 3) / 10]
    )


def test_neighbour_bandwidths_are_the_larger_gap_clipped() -> None:
    x = np.array([0.1, 0.5, 0.52, 0.9])
    floor = 1 / 5
    assert neighbour_bandwidths(x, False).tolist() == pytest.approx([0.4, 0.4, 0.38, 0.38])
    assert neighbour_bandwidths(x, True)[0] == pytest.approx(0.4)  # max(0.1, 0.4)
    assert neighbour_bandwidths(np.array([0.5, 0.5]), False).tolist() == [floor * 5 / 3] * 2


def test_an_estimator_without_observations_is_the_uniform_prior() -> None:
    estimator = ParzenEstimator(np.empty((0, 2)), [Dim(CONT), Dim(ORD, 4)])
    assert np.allclose(estimator.log_pdf(np.array([[0.1, 0.125], [0.9, 0.625]])), -math.log(4))
    draws = estimator.sample(np.random.default_rng(0), 50)
    assert draws.shape == (50, 2)


def test_bad_estimator_arguments() -> None:
    with pytest.raises(ValueError, match="rule must be one of"):
        ParzenEstimator(np.zeros((1, 1)), [Dim(CONT)], rule="silverman")
    with pytest.raises(ValueError, match="prior_weight must be > 0"):
        ParzenEstimator(np.zeros((1, 1)), [Dim(CONT)], prior_weight=0.0)
    with pytest.raises(ValueError, match="size >= 1"):
        Dim(ORD, 0)
    with pytest.raises(ValueError, match="CONTINUOUS"):
        Dim(AxisKind.ROUNDED)
