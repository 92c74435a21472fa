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

Both are clipped to [1 / min(100, n + 1), 1] ("magic clip", Bergstra et al. 2011;
Watanabe 2023 section 3): the floor keeps a handful of good points from turning into
needles, and it shrinks as evidence grows.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_MAX_FLOOR_DIVISOR = 100
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


def scott_bandwidth(x: np.ndarray, n_dims: int) -> float:
    """One width for all kernels of a dimension: Scott's rule with the magic clip."""
    n = len(x)
    floor = bandwidth_floor(n)
    if n < 2:
        return floor
    h = 1.059 * float(np.std(x, ddof=1)) * n ** (-1.0 / (n_dims + 4))
    return min(max(h, floor), 1.0)


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


def _logsumexp(a: np.ndarray) -> np.ndarray:
    top = np.max(a, axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return (top + np.log(np.sum(np.exp(a - top), axis=1, keepdims=True)))[:, 0]


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
        self._log_w = np.log(self.weights)
        self.leak = bandwidth_floor(n)
        self.sigma = np.ones((n, d))
        self._log_z = np.zeros((n, d))  # log mass each truncated kernel keeps in [0, 1]
        for j, dim in enumerate(self.dims):
            if dim.kind is DimKind.CATEGORICAL:
                continue
            if rule == "scott":
                self.sigma[:, j] = scott_bandwidth(points[:, j], d)
            else:
                self.sigma[:, j] = neighbour_bandwidths(points[:, j], consider_endpoints)
            with np.errstate(divide="ignore"):
                self._log_z[:, j] = np.log(
                    _interval_mass(np.zeros(n), np.ones(n), points[:, j], self.sigma[:, j])
                )

    @property
    def n_observations(self) -> int:
        return len(self.mu)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` points drawn from the mixture (the prior component draws uniformly)."""
        from scipy.special import ndtr, ndtri

        n = self.n_observations
        comp = rng.choice(n + 1, size=size, p=self.weights)
        prior = comp == n
        k_idx = np.where(prior, 0, comp)  # any valid row for prior draws; overwritten below
        out = np.empty((size, len(self.dims)))
        for j, dim in enumerate(self.dims):
            u = rng.random(size)
            if dim.kind is DimKind.CATEGORICAL:
                uniform = rng.integers(dim.size, size=size).astype(float)
                own = self.mu[k_idx, j] if n else uniform
                keep = (u >= self.leak) & ~prior
                out[:, j] = np.where(keep, own, uniform)
                continue
            if n:
                mu, sigma = self.mu[k_idx, j], self.sigma[k_idx, j]
                lo, hi = ndtr(-mu / sigma), ndtr((1.0 - mu) / sigma)
                drawn = mu + sigma * ndtri(lo + u * (hi - lo))
                x = np.clip(np.where(prior, u, drawn), 0.0, 1.0)
            else:
                x = u
            if dim.kind is DimKind.CELLS:
                x = (np.minimum(np.floor(x * dim.size), dim.size - 1) + 0.5) / dim.size
            out[:, j] = x
        return out

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """Log density (mass for CELLS and CATEGORICAL dimensions) at each row of `x`."""
        x = np.asarray(x, dtype=float).reshape(-1, len(self.dims))
        m, n = len(x), self.n_observations
        acc = np.zeros((m, n))
        prior = 0.0
        for j, dim in enumerate(self.dims):
            xj, mu, sigma = x[:, j], self.mu[:, j], self.sigma[:, j]
            if dim.kind is DimKind.CONTINUOUS:
                z = (xj[:, None] - mu[None, :]) / sigma[None, :]
                acc -= 0.5 * z * z + (np.log(sigma) + _LOG_SQRT_2PI + self._log_z[:, j])[None, :]
            elif dim.kind is DimKind.CELLS:
                prior -= math.log(dim.size)
                if n:
                    acc += self._cell_log_mass(xj, j, dim.size)
            else:
                prior -= math.log(dim.size)
                log_other = math.log(self.leak / dim.size)
                log_own = math.log(1.0 - self.leak + self.leak / dim.size)
                acc += np.where(xj[:, None] == mu[None, :], log_own, log_other)
        terms = np.concatenate((acc + self._log_w[None, :n], np.full((m, 1), prior + self._log_w[n])), axis=1)
        return _logsumexp(terms)

    def _cell_log_mass(self, xj: np.ndarray, j: int, k: int) -> np.ndarray:
        """(m, n) log mass of each point's cell under each kernel. Points and kernels take
        few distinct values on a step grid, so the mass is computed once per distinct pair."""
        cells, cell_of = np.unique(xj, return_inverse=True)
        kernels = np.stack((self.mu[:, j], self.sigma[:, j]), axis=1)
        pairs, pair_of = np.unique(kernels, axis=0, return_inverse=True)
        half = 0.5 / k
        with np.errstate(divide="ignore"):
            table = np.log(
                _interval_mass(
                    (cells - half)[:, None], (cells + half)[:, None], pairs[None, :, 0], pairs[None, :, 1]
                )
            )
        log_z = self._log_z[:, j]
        return table[cell_of.reshape(-1)][:, pair_of.reshape(-1)] - log_z[None, :]
