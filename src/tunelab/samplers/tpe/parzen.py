"""A Parzen (kernel density) estimator over the unit cube, as TPE builds l(x) and g(x).

The estimator is a mixture of product kernels, one per observation (weight 1 each), plus
one uniform *prior* component (weight `prior_weight`), so its density is never zero and a
few observations cannot collapse the search. Coordinates are the space's unit cube
(`tunelab.space.encoding`); each dimension is modelled by its axis:

- CONTINUOUS: a Gaussian kernel truncated to [0, 1]; the estimator returns densities.
- ORDINAL (k cells, values at the cells' centres): the same truncated Gaussian,
  integrated over each cell, so a value gets the probability *mass* of its cell.
- CATEGORICAL (k categories): a kernel keeps 1 - e of its mass on its own category and
  spreads e evenly over all k (Aitchison-Aitken), with the same e as the width floor.

Bandwidths, in unit-cube coordinates (a log parameter is smoothed on its log scale):

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

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tunelab.errors import ConfigurationError
from tunelab.space import AxisKind

BANDWIDTH_RULES = ("scott", "neighbour")
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_MAX_FLOOR_DIVISOR = 100
_DRAWS_AT_ONCE = 8  # normal draws per truncated one, before redrawing the rare misses
_MAX_REDRAWS = 64
LOG_FLOOR = -1000.0  # log masses below this are nothing, kept finite


@dataclass(frozen=True)
class Dim:
    """How one coordinate is modelled: its axis (CONTINUOUS, ORDINAL or CATEGORICAL) and,
    for the last two, how many cells or categories it has."""

    kind: AxisKind
    size: int = 1

    def __post_init__(self) -> None:
        if self.kind is AxisKind.ROUNDED:
            raise ValueError("a rounded axis is modelled as CONTINUOUS (snap its candidates)")
        if self.size < 1:
            raise ValueError(f"a dimension needs size >= 1, but got size={self.size}")


def bandwidth_floor(n: int) -> float:
    """The smallest kernel width (and the categorical leak) for n observations."""
    return 1.0 / min(_MAX_FLOOR_DIVISOR, n + 1)


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


def scott_bandwidths(points: np.ndarray, dims: Sequence[Dim]) -> np.ndarray:
    """One width per dimension by Scott's rule, with the magic clip (a categorical
    dimension's width is never used: its kernel is the leak)."""
    n, d = points.shape
    floor = bandwidth_floor(n)
    if n < 2:
        return np.full(d, floor)
    centred = points - points.sum(axis=0) / n
    std = np.sqrt(np.square(centred).sum(axis=0) / (n - 1))
    std[[j for j, dim in enumerate(dims) if dim.kind is AxisKind.CATEGORICAL]] = 1.0
    return np.clip(1.059 * n ** (-1.0 / (d + 4)) * std, floor, 1.0)


def log_unit_mass(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Log Normal(mu, sigma) mass of [0, 1] for centres inside it: one minus both tails,
    so that wide and narrow kernels alike keep their precision."""
    from scipy.special import ndtr  # scipy.special takes ~0.2 s to import: only when used

    return np.log1p(-(ndtr(-mu / sigma) + ndtr((mu - 1.0) / sigma)))


def cell_log_masses(mu: np.ndarray, sigma: np.ndarray, k: int) -> np.ndarray:
    """(len(mu), k) log mass of each of the k equal cells of [0, 1] under Normal(mu,
    sigma) truncated to [0, 1]. Each cell's mass is taken on the side of its smaller tail,
    so that narrow kernels keep their precision far out; masses below exp(LOG_FLOOR)
    count as that (a finite floor keeps a one-hot product free of 0 * -inf)."""
    from scipy.special import ndtr

    lo = np.arange(k) / k
    a = (lo[None, :] - mu[:, None]) / sigma[:, None]
    b = (lo[None, :] + 1.0 / k - mu[:, None]) / sigma[:, None]
    mass = np.where(
        a > 0.0,
        ndtr(-a) - ndtr(-b),  # the cell lies above the centre
        np.where(b < 0.0, ndtr(b) - ndtr(a), 1.0 - ndtr(a) - ndtr(-b)),
    )
    with np.errstate(divide="ignore"):
        log_mass = np.log(np.maximum(mass, 0.0)) - log_unit_mass(mu, sigma)[:, None]
    return np.maximum(log_mass, LOG_FLOOR)


def cell_table(k: int, width: float) -> np.ndarray:
    """(k, k) `cell_log_masses` of kernels of one width centred in each cell (row: the
    kernel's cell, column: the cell asked). With the kernel at a cell's centre every cell
    edge lies half a cell plus a whole number of cells away, so the table needs the
    normal's upper tail at only k points, q[j] at (j + 1/2) / k: the cell d cells away
    holds q[d-1] - q[d] (1 - 2 q[0] for its own), and truncation to [0, 1] keeps
    1 - q[c] - q[k-1-c] of the kernel in cell c. A handful of math.erfc calls: cheaper
    than array calls at these sizes."""
    scale = 1.0 / (k * width * math.sqrt(2.0))
    q = [0.5 * math.erfc((j + 0.5) * scale) for j in range(k)]
    at_offset = [math.log1p(-2.0 * q[0])]
    at_offset += [math.log(a - b) if a > b else -math.inf for a, b in itertools.pairwise(q)]
    unit = [math.log1p(-(q[c] + q[k - 1 - c])) for c in range(k)]
    cells = np.arange(k)
    offsets = np.abs(cells[None, :] - cells[:, None])
    return np.maximum(np.array(at_offset)[offsets] - np.array(unit)[:, None], LOG_FLOOR)


def cells_of(u: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The cell (or category) of each coordinate, as an index, column j of u having
    sizes[j] cells."""
    return np.minimum(np.floor(u * sizes), sizes - 1).astype(np.intp)


class ParzenEstimator:
    """A kernel density estimate over mixed dimensions, with a uniform prior component.

    `points` is an (n, d) array of unit-cube coordinates, one row per observation.
    """

    def __init__(
        self,
        points: np.ndarray,
        dims: Sequence[Dim],
        prior_weight: float = 1.0,
        rule: str = "scott",
        consider_endpoints: bool = False,
    ) -> None:
        if rule not in BANDWIDTH_RULES:
            raise ConfigurationError(f"rule must be one of {BANDWIDTH_RULES}, but got {rule!r}")
        if not prior_weight > 0:
            raise ConfigurationError(f"prior_weight must be > 0, but got {prior_weight!r}")
        self.dims = tuple(dims)
        self.mu = np.asarray(points, dtype=float).reshape(-1, len(self.dims))
        self.prior_weight = float(prior_weight)
        n = self.n_observations = len(self.mu)
        self.leak = bandwidth_floor(n)
        self.shared = rule == "scott"  # one width per dimension, rather than per kernel
        kinds = [dim.kind for dim in self.dims]
        self._continuous = [j for j, kind in enumerate(kinds) if kind is AxisKind.CONTINUOUS]
        self._ordered = [j for j, kind in enumerate(kinds) if kind is not AxisKind.CATEGORICAL]
        self._discrete = [j for j, kind in enumerate(kinds) if kind is not AxisKind.CONTINUOUS]
        self._sizes = np.array([self.dims[j].size for j in self._discrete], dtype=np.intp)
        self._log_prior = math.log(prior_weight / (n + prior_weight)) - float(
            np.log(self._sizes).sum()
        )
        c = self._continuous
        if self.shared:
            self.widths = scott_bandwidths(self.mu, self.dims)
            w = self.widths[c]
            log_norm = float(np.log(w).sum()) + len(c) * _LOG_SQRT_2PI
            log_norm = log_norm + log_unit_mass(self.mu[:, c], w).sum(axis=1)
        else:
            columns = [
                neighbour_bandwidths(self.mu[:, j], consider_endpoints)
                for j in range(len(self.dims))
            ]
            self._sigma = np.stack(columns, axis=1).reshape(self.mu.shape)
            s = self._sigma[:, c]
            log_norm = (np.log(s) + _LOG_SQRT_2PI + log_unit_mass(self.mu[:, c], s)).sum(axis=1)
        # a kernel's log weight, less its continuous normalisers
        self._log_weight = -math.log(n + prior_weight) - log_norm
        # per discrete dimension (see _log_masses); stored by column, as np.take (in
        # _log_kernels) is slow with a strided index array
        self._own = np.asfortranarray(cells_of(self.mu[:, self._discrete], self._sizes))
        self._masses = [self._log_masses(j, i) for i, j in enumerate(self._discrete)]
        if self.shared:
            self._kernel_side()

    @property
    def sigma(self) -> np.ndarray:
        """(n, d) kernel widths."""
        if self.shared:
            return np.broadcast_to(self.widths, self.mu.shape)
        return self._sigma

    def _log_masses(self, j: int, i: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The log mass of each cell (rows) under each kind of kernel (columns), and each
        kernel's kind: its own cell or category, or itself (None) with per-kernel widths."""
        k = self.dims[j].size
        if self.dims[j].kind is AxisKind.CATEGORICAL:
            e = self.leak
            table = np.full((k, k), math.log(e / k))
            np.fill_diagonal(table, math.log(1.0 - e + e / k))
            return table, self._own[:, i]
        if self.shared:  # kernels sit at cell centres with one width: k kinds of kernel
            return cell_table(k, float(self.widths[j])).T, self._own[:, i]
        return cell_log_masses(self.mu[:, j], self._sigma[:, j], k).T, None

    def _kernel_side(self) -> None:
        """With shared widths the continuous part of every kernel's log density is one
        matrix product: -|a - b|^2 / 2 = a.b - |a|^2 / 2 - |b|^2 / 2 for coordinates
        scaled by the widths (a the candidate's, b the kernel's). The kernels' side is
        built here, once per fit."""
        c = self._continuous
        self._scaled = self.mu[:, c] / self.widths[c]
        self._const = self._log_weight - 0.5 * np.square(self._scaled).sum(axis=1)

    @property
    def weights(self) -> np.ndarray:
        """Mixture weights: one per observation, then the prior's."""
        n, w = self.n_observations, self.prior_weight
        out = np.full(n + 1, 1.0 / (n + w))
        out[-1] = w / (n + w)
        return out

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """Log density (mass along ORDINAL and CATEGORICAL dimensions) at each row of x."""
        x = np.asarray(x, dtype=float).reshape(-1, len(self.dims))
        if self.n_observations == 0:
            return np.full(len(x), self._log_prior)
        log_kernels, common = self._log_kernels(x)
        log_prior = self._log_prior - common  # the prior lacks the kernels' common term
        top = np.maximum(log_kernels.max(axis=1), log_prior)
        log_kernels -= top[:, None]
        total = np.exp(log_kernels, out=log_kernels).sum(axis=1) + np.exp(log_prior - top)
        return common + top + np.log(total)

    def _log_kernels(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(len(x), n): each kernel's log weight and log density at each row of x, less
        a term all kernels share at that row (returned beside it: added once per row)."""
        c = self._continuous
        if self.shared:  # (see _kernel_side)
            a = x[:, c] / self.widths[c]
            out = a @ self._scaled.T
            out += self._const
            common = -0.5 * np.square(a).sum(axis=1)
        else:
            z = (x[:, None, c] - self.mu[None, :, c]) / self._sigma[None, :, c]
            out = self._log_weight - 0.5 * np.square(z).sum(axis=2)
            common = np.zeros(len(x))
        cells = cells_of(x[:, self._discrete], self._sizes)
        for i, (masses, kind_of_kernel) in enumerate(self._masses):
            by_kind = masses[cells[:, i]]  # the log mass of each candidate's cell
            if kind_of_kernel is None:
                out += by_kind
            else:  # np.take returns rows, where [:, kind_of_kernel] returns columns
                out += np.take(by_kind, kind_of_kernel, axis=1)
        return out, common

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` points drawn from the mixture (the prior component draws uniformly)."""
        n, d = self.n_observations, len(self.dims)
        component = np.minimum((rng.random(size) * (n + self.prior_weight)).astype(np.intp), n)
        prior = component == n
        row = np.where(prior, 0, component)  # any row for prior draws: overwritten below
        u = rng.random((size, d))
        out = np.empty((size, d))
        ordered = self._ordered
        if ordered:
            x = u[:, ordered]
            if n:
                sigma = self.widths[ordered] if self.shared else self._sigma[row[:, None], ordered]
                drawn = truncated_normal(rng, self.mu[row[:, None], ordered], sigma)
                x = np.where(prior[:, None], x, drawn)
            out[:, ordered] = x
        for i, j in enumerate(self._discrete):
            k = self.dims[j].size
            if self.dims[j].kind is AxisKind.CATEGORICAL:
                uniform = rng.integers(k, size=size)
                own = self._own[row, i] if n else uniform
                out[:, j] = (np.where((u[:, j] >= self.leak) & ~prior, own, uniform) + 0.5) / k
        # each discrete coordinate at its cell's centre, as the space encodes it (a
        # category's centre stays where it is)
        discrete, sizes = self._discrete, self._sizes
        out[:, discrete] = (cells_of(out[:, discrete], sizes) + 0.5) / sizes
        return out


def log_density_ratio(l_x: ParzenEstimator, g_x: ParzenEstimator, x: np.ndarray) -> np.ndarray:
    """log l(x) - log g(x) at each row of x: TPE's acquisition (expected improvement is
    monotone in it)."""
    return l_x.log_pdf(x) - g_x.log_pdf(x)


def truncated_normal(rng: np.random.Generator, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Normal(mu, sigma) draws truncated to [0, 1] by rejection: each takes the first of
    _DRAWS_AT_ONCE normal draws that falls inside, and the rare one with none inside is
    redrawn until one does. A kernel's centre lies in [0, 1] and its width is at most 1,
    so at least a third of its mass is inside (usually over half)."""
    mu, sigma = np.broadcast_arrays(mu, sigma)
    x = rng.standard_normal((_DRAWS_AT_ONCE, *mu.shape)) * sigma + mu
    x = x.reshape(_DRAWS_AT_ONCE, mu.size)
    inside = (x >= 0.0) & (x <= 1.0)
    first = inside.argmax(axis=0)  # 0 where none is inside: redrawn below
    every = np.arange(mu.size)
    flat = x[first, every]
    for index in np.flatnonzero(~inside[first, every]).tolist():
        for _ in range(_MAX_REDRAWS):
            flat[index] = value = rng.normal(mu.flat[index], sigma.flat[index])
            if 0.0 <= value <= 1.0:
                break
        else:  # p < (2/3)^(8 + 64) per draw
            flat[index] = min(max(value, 0.0), 1.0)
    return flat.reshape(mu.shape)
