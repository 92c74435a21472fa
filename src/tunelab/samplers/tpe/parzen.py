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
        # Everything in a kernel's log density that does not depend on the point, summed
        # over dimensions: log weight, Gaussian normaliser, truncation to [0, 1].
        const = np.log(self.weights[:n])
        self._scale: dict[int, np.ndarray] = {}  # 1 / (sqrt(2) sigma) per CONTINUOUS kernel
        self._cells: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._prior = float(np.log(self.weights[n]))
        with np.errstate(divide="ignore"):
            for j, dim in enumerate(self.dims):
                mu, sigma = points[:, j], self.sigma[:, j]
                if dim.kind is DimKind.CONTINUOUS:
                    const = const - np.log(sigma) - _LOG_SQRT_2PI - np.log(_unit_mass(mu, sigma))
                    self._scale[j] = 1.0 / (math.sqrt(2.0) * sigma)
                    continue
                self._prior -= math.log(dim.size)
                if dim.kind is DimKind.CELLS and n:
                    # Step-grid kernels share few distinct (centre, width) pairs: keep them
                    # once. With one width per dimension (Scott), the pairs are the cells.
                    if rule == "scott":
                        size = dim.size
                        pair_of = _cell_index(mu, size)
                        centres = (np.arange(size) + 0.5) / size
                        widths = np.full(size, sigma[0])
                    else:
                        pairs, pair_of = np.unique(mu + 1j * sigma, return_inverse=True)
                        pair_of = pair_of.reshape(-1)
                        centres, widths = pairs.real, pairs.imag
                    self._cells[j] = (centres, widths, pair_of)
                    const = const - np.log(_unit_mass(centres, widths))[pair_of]
        self._const = const

    @property
    def n_observations(self) -> int:
        return len(self.mu)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` points drawn from the mixture (the prior component draws uniformly)."""
        from scipy.special import ndtr, ndtri

        n = self.n_observations
        comp = rng.choice(n + 1, size=size, p=self.weights)
        prior = comp == n
        row = np.where(prior, 0, comp)  # any valid row for prior draws; overwritten below
        out = np.empty((size, len(self.dims)))
        for j, dim in enumerate(self.dims):
            u = rng.random(size)
            if dim.kind is DimKind.CATEGORICAL:
                uniform = rng.integers(dim.size, size=size).astype(float)
                own = self.mu[row, j] if n else uniform
                out[:, j] = np.where((u >= self.leak) & ~prior, own, uniform)
                continue
            if n:
                mu, sigma = self.mu[row, j], self.sigma[row, j]
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
        if n == 0:
            return np.full(m, self._prior)
        acc = np.empty((m, n))  # log of each weighted kernel at each point
        acc[:] = self._const
        buf = np.empty((m, n))
        for j, dim in enumerate(self.dims):
            xj, mu = x[:, j], self.mu[:, j]
            if dim.kind is DimKind.CONTINUOUS:
                np.subtract(xj[:, None], mu[None, :], out=buf)
                buf *= self._scale[j]
                np.square(buf, out=buf)
                acc -= buf
            elif dim.kind is DimKind.CELLS:
                acc += self._cell_log_mass(xj, j, dim.size)
            else:
                log_other = math.log(self.leak / dim.size)
                log_own = math.log(1.0 - self.leak + self.leak / dim.size)
                acc += log_other
                np.add(acc, log_own - log_other, out=acc, where=xj[:, None] == mu[None, :])
        # log-sum-exp over the kernels and the prior. Terms 80 nats below the largest add
        # less than 1e-34 each; clipping them keeps exp off its slow underflow path, and
        # float32 is ample for a sum of terms in (0, 1].
        top = np.maximum(acc.max(axis=1), self._prior)
        acc -= top[:, None]
        np.maximum(acc, -80.0, out=acc)
        total = np.exp(acc.astype(np.float32)).sum(axis=1, dtype=np.float64)
        total += np.exp(self._prior - top)
        return top + np.log(total)

    def _cell_log_mass(self, xj: np.ndarray, j: int, k: int) -> np.ndarray:
        """(m, n) log mass of each point's cell under each (untruncated) kernel, computed
        once per distinct (cell, kernel) pair."""
        cell_of = _cell_index(xj, k)
        cells = (np.arange(k) + 0.5) / k
        centres, widths, pair_of = self._cells[j]
        half = 0.5 / k
        with np.errstate(divide="ignore"):
            table = np.log(
                _interval_mass(
                    (cells - half)[:, None], (cells + half)[:, None], centres[None], widths[None]
                )
            )
        return table[cell_of][:, pair_of]
