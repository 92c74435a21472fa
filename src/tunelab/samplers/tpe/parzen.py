"""Parzen (kernel density) estimators over a mixed unit cube, as TPE builds them.

An estimator is a mixture of product kernels, one per observation (weight 1 each),
plus one uniform *prior* component (weight `prior_weight`), so its density is never
zero and a few observations cannot collapse the search. Each dimension is one of:

- CONTINUOUS: a value u in [0, 1]; kernels are Gaussians truncated to [0, 1] and the
  estimator returns densities.
- CELLS: k ordered values, value i owning the cell [i/k, (i+1)/k] and stored as its
  centre; kernels are the same truncated Gaussians, integrated over each cell, so steps
  get the probability *mass* of their cell (exact for any step size).
- CATEGORICAL: k unordered categories stored as indices; a kernel keeps 1 - e of its
  mass on its own category and spreads e uniformly over all k (Aitchison-Aitken style),
  with the same leak e = 1 / min(100, n + 1) as the bandwidth floor below.

Bandwidths (in unit-cube coordinates, so a log parameter is smoothed on its log scale):

- "scott" (joint, multivariate): one width per dimension,
  h = 1.059 * std * n ** (-1 / (d + 4)), d the number of dimensions;
- "neighbour" (univariate; Bergstra et al. 2011): each kernel as wide as the larger gap
  to its sorted neighbours; with `consider_endpoints` the bounds 0 and 1 count as
  neighbours of the outermost observations, otherwise those use their inner gap only.

Both are clipped to [1 / min(100, n + 1), 1] (the "magic clip" of Bergstra et al. 2011,
discussed by Watanabe 2023): the floor keeps a handful of good points from turning into
needles, and it shrinks as evidence grows.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tunelab.samplers._blas import one_blas_thread

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_MAX_FLOOR_DIVISOR = 100
_LOG_FLOOR = -1000.0
BANDWIDTH_RULES = ("scott", "neighbour")


class DimKind(enum.Enum):
    CONTINUOUS = "continuous"
    CELLS = "cells"
    CATEGORICAL = "categorical"


@dataclass(frozen=True)
class Dim:
    """How one coordinate of the unit cube is modelled; `size` counts cells or categories."""

    kind: DimKind
    size: int = 1

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"a dimension needs size >= 1, but got size={self.size}")


def bandwidth_floor(n: int) -> float:
    """The smallest kernel width (and the categorical leak) for n observations."""
    return 1.0 / min(_MAX_FLOOR_DIVISOR, n + 1)


def scott_bandwidths(points: np.ndarray) -> np.ndarray:
    """One width per dimension (column) for all its kernels: Scott's rule, magic-clipped."""
    n, d = points.shape
    floor = bandwidth_floor(n)
    if n < 2:
        return np.full(d, floor)
    h = 1.059 * np.std(points, axis=0, ddof=1) * n ** (-1.0 / (d + 4))
    return np.clip(h, floor, 1.0)


def neighbour_bandwidths(x: np.ndarray, consider_endpoints: bool) -> np.ndarray:
    """A width per kernel: the larger gap to its sorted neighbours, with the magic clip."""
    n = len(x)
    if n == 0:
        return np.empty(0)
    order = np.argsort(x, kind="stable")
    s = x[order]
    gaps = np.diff(s)
    left = np.concatenate(([s[0] if consider_endpoints else 0.0], gaps))
    right = np.concatenate((gaps, [1.0 - s[-1] if consider_endpoints else 0.0]))
    widths = np.empty(n)
    widths[order] = np.clip(np.maximum(left, right), bandwidth_floor(n), 1.0)
    return widths


def _interval_mass(lo: np.ndarray, hi: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Normal(mu, sigma) mass of [lo, hi], computed on the side of the smaller tail so that
    narrow intervals far from mu keep their precision."""
    from scipy.special import ndtr  # scipy.special costs ~0.2 s to import: only when used

    a = (lo - mu) / sigma
    b = (hi - mu) / sigma
    upper = a > 0
    return np.where(upper, ndtr(-a) - ndtr(-b), ndtr(b) - ndtr(a))


def _unit_mass(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Normal(mu, sigma) mass of [0, 1] for centres inside it (never a far tail)."""
    from scipy.special import ndtr

    return ndtr((1.0 - mu) / sigma) - ndtr(-mu / sigma)


def _cell_index(centres: np.ndarray, k: int) -> np.ndarray:
    """Which of k cells each coordinate lies in (cell i is [i/k, (i+1)/k])."""
    return np.minimum(np.floor(centres * k), k - 1).astype(np.intp)


class ParzenEstimator:
    """A kernel density estimate over mixed dimensions, with a uniform prior component.

    `points` is an (n, d) array: unit coordinates for CONTINUOUS dimensions, cell centres
    for CELLS and category indices for CATEGORICAL ones.
    """

    def __init__(
        self,
        points: np.ndarray,
        dims: Sequence[Dim],
        prior_weight: float = 1.0,
        rule: str = "scott",
        consider_endpoints: bool = False,
    ) -> None:
        points = np.asarray(points, dtype=float).reshape(-1, len(dims))
        if rule not in BANDWIDTH_RULES:
            raise ValueError(f"rule must be one of {BANDWIDTH_RULES}, but got {rule!r}")
        if not prior_weight > 0:
            raise ValueError(f"prior_weight must be > 0, but got {prior_weight!r}")
        n, d = points.shape
        self.dims = tuple(dims)
        self.mu = points
        weights = np.ones(n + 1)
        weights[n] = prior_weight
        self.weights = weights / weights.sum()
        self.leak = bandwidth_floor(n)
        if rule == "scott":
            self.sigma = np.broadcast_to(scott_bandwidths(points), (n, d))
        else:
            self.sigma = np.stack(
                [neighbour_bandwidths(points[:, j], consider_endpoints) for j in range(d)], axis=1
            ).reshape(n, d)
        # log_pdf is one matrix product: each dimension turns a point x into a few
        # features f(x) and each kernel i into coefficients c_i, with f(x) . c_i the
        # kernel's log density in that dimension up to a per-kernel constant. A Gaussian
        # -(x - mu)^2 / (2 sigma^2) expands to x^2 * (-a) + x * (2 a mu) - a mu^2; a cell
        # or category is a one-hot feature picking the kernel's log mass of it.
        widths = [2 if dim.kind is DimKind.CONTINUOUS else dim.size for dim in self.dims]
        self._offsets = offsets = np.cumsum([0, *widths])
        coef = np.empty((n, int(offsets[-1])))
        const = np.full(n, math.log(self.weights[0]) if n else 0.0)
        self._prior = float(np.log(self.weights[n]))
        cont = [j for j, dim in enumerate(self.dims) if dim.kind is DimKind.CONTINUOUS]
        if cont and n:
            mu, sigma = points[:, cont], self.sigma[:, cont]
            a = 0.5 / np.square(sigma)
            with np.errstate(divide="ignore"):
                const -= (
                    np.log(sigma)
                    + _LOG_SQRT_2PI
                    + np.log(_unit_mass(mu, sigma))
                    + a * np.square(mu)
                ).sum(axis=1)
            coef[:, offsets[cont]] = -a
            coef[:, offsets[cont] + 1] = 2.0 * a * mu
        for j, dim in enumerate(self.dims):
            if dim.kind is DimKind.CONTINUOUS:
                continue
            self._prior -= math.log(dim.size)
            block = coef[:, offsets[j] : offsets[j + 1]]
            if dim.kind is DimKind.CELLS:
                block[:] = _cell_log_masses(
                    points[:, j], self.sigma[:, j], dim.size, rule == "scott"
                )
            else:
                log_other = math.log(self.leak / dim.size)
                log_own = math.log(1.0 - self.leak + self.leak / dim.size)
                const += log_other
                block[:] = _one_hot(points[:, j], dim.size) * (log_own - log_other)
        self._const = const
        self._coefficients = coef

    @property
    def n_observations(self) -> int:
        return len(self.mu)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` points drawn from the mixture (the prior component draws uniformly)."""
        from scipy.special import ndtr, ndtri

        n, d = self.n_observations, len(self.dims)
        comp = rng.choice(n + 1, size=size, p=self.weights)
        prior = comp == n
        row = np.where(prior, 0, comp)  # any valid row for prior draws; overwritten below
        u = rng.random((size, d))
        out = np.empty((size, d))
        kinds = [dim.kind for dim in self.dims]
        ordered = [j for j, kind in enumerate(kinds) if kind is not DimKind.CATEGORICAL]
        if ordered:
            x = u[:, ordered]
            if n:
                mu, sigma = self.mu[row][:, ordered], self.sigma[row][:, ordered]
                lo, hi = ndtr(-mu / sigma), ndtr((1.0 - mu) / sigma)
                drawn = mu + sigma * ndtri(lo + x * (hi - lo))
                x = np.clip(np.where(prior[:, None], x, drawn), 0.0, 1.0)
            out[:, ordered] = x
        cells = [j for j, kind in enumerate(kinds) if kind is DimKind.CELLS]
        if cells:
            k = np.array([self.dims[j].size for j in cells], dtype=float)
            out[:, cells] = (np.minimum(np.floor(out[:, cells] * k), k - 1) + 0.5) / k
        for j, kind in enumerate(kinds):
            if kind is DimKind.CATEGORICAL:
                uniform = rng.integers(self.dims[j].size, size=size).astype(float)
                own = self.mu[row, j] if n else uniform
                out[:, j] = np.where((u[:, j] >= self.leak) & ~prior, own, uniform)
        return out

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """Log density (mass for CELLS and CATEGORICAL dimensions) at each row of `x`."""
        x = np.asarray(x, dtype=float).reshape(-1, len(self.dims))
        m, n = len(x), self.n_observations
        if n == 0:
            return np.full(m, self._prior)
        features = np.zeros((m, self._coefficients.shape[1]))
        for j, dim in enumerate(self.dims):
            xj, at = x[:, j], int(self._offsets[j])
            if dim.kind is DimKind.CONTINUOUS:
                features[:, at] = np.square(xj)
                features[:, at + 1] = xj
            else:
                index = (
                    _cell_index(xj, dim.size) if dim.kind is DimKind.CELLS else xj.astype(np.intp)
                )
                features[np.arange(m), at + index] = 1.0
        with one_blas_thread():
            acc = features @ self._coefficients.T  # (m, n) log kernels
        acc += self._const
        # log-sum-exp over the kernels and the prior. Terms 80 nats below the largest add
        # less than 1e-34 each; clipping them keeps exp off its slow underflow path, and
        # float32 is ample for a sum of terms in (0, 1].
        top = np.maximum(acc.max(axis=1), self._prior)
        acc -= top[:, None]
        np.maximum(acc, -80.0, out=acc)
        total = np.exp(acc.astype(np.float32)).sum(axis=1, dtype=np.float64)
        total += np.exp(self._prior - top)
        return top + np.log(total)


def _one_hot(index: np.ndarray, k: int) -> np.ndarray:
    """Rows of the k x k identity picked by integer-valued `index`."""
    out = np.zeros((len(index), k))
    out[np.arange(len(index)), np.asarray(index, dtype=np.intp)] = 1.0
    return out


def _cell_log_masses(mu: np.ndarray, sigma: np.ndarray, k: int, shared: bool) -> np.ndarray:
    """(n, k) log mass of each of k cells under each kernel truncated to [0, 1], floored at
    _LOG_FLOOR (a mass below exp(-1000) is nothing, and a finite floor keeps the one-hot
    product free of 0 * -inf). Kernels share few distinct (centre, width) pairs, computed
    once each: with one width for all kernels (`shared`), the pairs are the cells."""
    cells = (np.arange(k) + 0.5) / k
    if shared:
        pair_of = _cell_index(mu, k)
        centres, widths = cells, np.full(k, sigma[0] if len(sigma) else 1.0)
    else:
        pairs, pair_of = np.unique(mu + 1j * sigma, return_inverse=True)
        pair_of = pair_of.reshape(-1)
        centres, widths = pairs.real, pairs.imag
    half = 0.5 / k
    with np.errstate(divide="ignore"):
        table = (
            np.log(
                _interval_mass(
                    (cells - half)[None], (cells + half)[None], centres[:, None], widths[:, None]
                )
            )
            - np.log(_unit_mass(centres, widths))[:, None]
        )
    return np.maximum(table, _LOG_FLOOR)[pair_of]
