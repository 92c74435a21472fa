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
  h = 1.059 * std * n ** (-1 / (d + 4)), d the number of dimensions, rounded to a grid
  of 64 steps an octave (by < 0.55 %, far below what the rule itself can claim), so that
  a caller can keep per-kernel normalisers between fits while the data barely move;
- "neighbour" (univariate; Bergstra et al. 2011): each kernel as wide as the larger gap
  to its sorted neighbours; with `consider_endpoints` the bounds 0 and 1 count as
  neighbours of the outermost observations, otherwise those use their inner gap only.

Both are clipped to [1 / min(100, n + 1), 1] (the "magic clip" of Bergstra et al. 2011,
discussed by Watanabe 2023): the floor keeps a handful of good points from turning into
needles, and it shrinks as evidence grows.

Evaluating the density is one matrix product. In each dimension a kernel's log density
at x is bilinear in a *basis* of plain features, [u, u^2] for a number and a one-hot
index for a cell or category: -(x - mu)^2 / (2 sigma^2) is x^2 (-a) + x (2 a mu) - a mu^2
with a = 1 / (2 sigma^2), and a cell's or category's log mass is a table lookup. With
one width per kernel ("neighbour") the candidates take the basis and the kernels the
width-dependent coefficients; with one width per dimension ("scott") it is the other way
round, so the kernels' side is the basis of the observations alone: it never changes
and a caller that keeps it (HistoryTable) passes it in instead of rebuilding it.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_MAX_FLOOR_DIVISOR = 100
_LOG_FLOOR = -1000.0
_SNAP_STEPS = 64  # shared widths are rounded to 2 ** (k / 64)
_GRID_LOWEST = -7 * _SNAP_STEPS  # cell tables are kept for the grid's widths 2^-7 .. 1
_GRID_MAX_CELLS = 64  # ... for dimensions of up to this many cells
_FEW = 8  # up to this many points, `basis` loops in Python rather than over numpy calls
_SQRT2 = math.sqrt(2.0)
_MAX_REDRAWS = 64
_DRAWS_AT_ONCE = 8  # normal draws per truncated one, before redrawing the rare misses
_FLOAT32_FROM = 256  # from this many points, an estimator keeps a float32 basis too
_NONE = np.empty(0)
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

    @property
    def width(self) -> int:
        """How many basis features the dimension has."""
        return 2 if self.kind is DimKind.CONTINUOUS else self.size


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


@dataclass(frozen=True)
class _Layout:
    """Where each dimension's features lie in the basis, computed once per tuple of dims."""

    offsets: np.ndarray  # dimension j's features are offsets[j]:offsets[j + 1]
    cont: np.ndarray  # CONTINUOUS dimensions
    cont_list: list[int]  # the same, for plain-Python loops (never written to)
    cells: np.ndarray  # CELLS dimensions
    cells_list: list[int]  # the same, for plain-Python loops (never written to)
    cat: tuple[tuple[int, int], ...]  # (dimension, size) of CATEGORICAL ones
    cell_columns: np.ndarray  # basis columns of all cells, dimension by dimension
    cell_of_column: np.ndarray  # which of `cells` each of those columns belongs to
    log_values: float  # log of the number of cells and categories, over all dimensions
    discrete: np.ndarray  # CELLS and CATEGORICAL dimensions, in order
    sizes: np.ndarray  # their numbers of cells or categories
    is_cells: np.ndarray  # whether each of them is CELLS
    moments: np.ndarray  # (basis features, 2 d): basis column sums -> sums of x, then of x^2
    cell_dim_sizes: tuple[int, ...]  # k of each CELLS dimension
    cell_pad: int  # columns of a cell table: the largest k
    cell_k: np.ndarray  # k of each CELLS dimension, as floats
    cell_last: np.ndarray  # k - 1 of each, as ints
    ordered: np.ndarray  # CONTINUOUS and CELLS dimensions, in order
    cat_dims: np.ndarray  # CATEGORICAL dimensions
    cont_columns: np.ndarray  # the first basis column of each CONTINUOUS dimension
    cont_squares: np.ndarray  # and the second (u^2)
    cell_rows: np.ndarray  # 0, 1, ...: the rows of a stacked cell table


@functools.lru_cache(maxsize=64)
def _layout(dims: tuple[Dim, ...]) -> _Layout:
    widths = [dim.width for dim in dims]
    offsets = np.cumsum([0, *widths]).astype(np.intp)
    kinds = [dim.kind for dim in dims]
    cells = [j for j, kind in enumerate(kinds) if kind is DimKind.CELLS]
    sizes = [dims[j].size for j in cells]
    cont = [j for j, kind in enumerate(kinds) if kind is DimKind.CONTINUOUS]
    discrete = [j for j, kind in enumerate(kinds) if kind is not DimKind.CONTINUOUS]
    return _Layout(
        offsets=offsets,
        cont=np.array(cont, np.intp),
        cont_list=cont,
        cells=np.array(cells, np.intp),
        cells_list=cells,
        cat=tuple((j, dims[j].size) for j, kind in enumerate(kinds) if kind is DimKind.CATEGORICAL),
        cell_columns=np.concatenate(
            [np.arange(offsets[j], offsets[j + 1]) for j in cells] or [_NONE]
        ).astype(np.intp),
        cell_of_column=np.repeat(np.arange(len(cells)), sizes).astype(np.intp),
        log_values=sum(math.log(dims[j].size) for j in discrete),
        discrete=np.array(discrete, np.intp),
        sizes=np.array([dims[j].size for j in discrete], np.intp),
        is_cells=np.array([kinds[j] is DimKind.CELLS for j in discrete]),
        moments=_moments(dims, offsets),
        cell_dim_sizes=tuple(sizes),
        cell_pad=max(sizes, default=1),
        cell_k=np.array(sizes, dtype=float),
        cell_last=np.array(sizes, dtype=np.intp) - 1,
        ordered=np.array(
            [j for j, kind in enumerate(kinds) if kind is not DimKind.CATEGORICAL], np.intp
        ),
        cat_dims=np.array(
            [j for j, kind in enumerate(kinds) if kind is DimKind.CATEGORICAL], np.intp
        ),
        cont_columns=offsets[cont],
        cont_squares=offsets[cont] + 1,
        cell_rows=np.arange(sum(sizes), dtype=np.intp),
    )


def _moments(dims: Sequence[Dim], offsets: np.ndarray) -> np.ndarray:
    d = len(dims)
    out = np.zeros((int(offsets[-1]), 2 * d))
    for j, dim in enumerate(dims):
        at = int(offsets[j])
        if dim.kind is DimKind.CONTINUOUS:
            out[at, j] = out[at + 1, d + j] = 1.0
        elif dim.kind is DimKind.CELLS:
            centres = (np.arange(dim.size) + 0.5) / dim.size
            out[at : at + dim.size, j] = centres
            out[at : at + dim.size, d + j] = centres**2
    return out


def basis(points: np.ndarray, dims: Sequence[Dim]) -> np.ndarray:
    """(n, sum of widths): [u, u^2] per CONTINUOUS dimension and a one-hot cell or category
    per other dimension. A NaN coordinate (a trial without the parameter) gives zeros."""
    layout = _layout(tuple(dims))
    points = np.asarray(points, dtype=float).reshape(-1, len(dims))
    width = int(layout.offsets[-1])
    if len(points) <= _FEW:  # a trial or two (HistoryTable's updates): plain Python is faster
        rows = [basis_row(x, dims, width) for x in points.tolist()]
        return np.array(rows, dtype=float).reshape(len(points), width)
    out = np.zeros((len(points), width))
    if len(layout.cont):
        x = np.nan_to_num(points[:, layout.cont])
        at = layout.offsets[layout.cont]
        out[:, at] = x
        out[:, at + 1] = np.square(x)
    if len(layout.discrete):
        values = points[:, layout.discrete]
        held = ~np.isnan(values)
        index = np.where(held, values, 0.0)
        index = np.where(layout.is_cells, np.floor(index * layout.sizes), index).astype(np.intp)
        index = np.minimum(index, layout.sizes - 1) + layout.offsets[layout.discrete]
        out[np.nonzero(held)[0], index[held]] = 1.0
    return out


def basis_row(x: Sequence[float], dims: Sequence[Dim], width: int) -> list[float]:
    """`basis` of one point, in plain Python: `width` is the sum of the dims' widths."""
    out = [0.0] * width
    at = 0
    for u, dim in zip(x, dims, strict=True):
        if dim.kind is DimKind.CONTINUOUS:
            if u == u:  # not NaN: the trial holds the parameter
                out[at] = u
                out[at + 1] = u * u
            at += 2
        else:
            k = dim.size
            if u == u:
                out[
                    at + (min(math.floor(u * k), k - 1) if dim.kind is DimKind.CELLS else int(u))
                ] = 1.0
            at += k
    return out


def log_unit_mass(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Log Normal(mu, sigma) mass of [0, 1] for centres inside it: one minus both tails,
    so that wide and narrow kernels alike keep their precision."""
    from scipy.special import ndtr  # scipy.special costs ~0.2 s to import: only when used

    z = np.empty((2, *np.broadcast(mu, sigma).shape))  # (np.broadcast: no Python-level work)
    np.divide(-mu, sigma, out=z[0])
    np.divide(mu - 1.0, sigma, out=z[1])
    tails = ndtr(z, out=z)
    return np.log1p(-(tails[0] + tails[1]))


def log_unit_mass_of(mu: float, sigma: float) -> float:
    """`log_unit_mass` of one kernel in plain Python: for a trial or two, numpy's fixed
    cost per call is most of the price."""
    return math.log1p(
        -0.5 * (math.erfc(mu / (sigma * _SQRT2)) + math.erfc((1.0 - mu) / (sigma * _SQRT2)))
    )


def _cell_log_masses(centres: np.ndarray, widths: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """(rows, max size) log mass of each cell of a k-cell dimension under a Normal(centre,
    width) kernel truncated to [0, 1], for several (centre, width, k) rows at once (rows
    of smaller k are padded with _LOG_FLOOR). Masses below exp(-1000) count as nothing:
    a finite floor keeps a one-hot product free of 0 * -inf.

    A cell's mass is a difference of the normal CDF at its edges, taken on the side of
    the smaller tail (F below the centre, F - 1 above it, plus 1 for the cell that holds
    the centre), so that narrow cells far out keep their precision."""
    from scipy.special import ndtr

    k = int(sizes.max()) if len(sizes) else 1
    edges = np.arange(k + 1) / sizes[:, None].astype(float)
    z = (edges - centres[:, None]) / widths[:, None]
    below = z <= 0
    tail = ndtr(-np.abs(z))
    cdf = np.where(below, tail, -tail)  # F(z), or F(z) - 1 above the centre
    mass = np.diff(cdf, axis=1) + (below[:, :-1] & ~below[:, 1:])
    top = np.arange(len(sizes)), sizes  # edge k is 1
    unit = cdf[top] - cdf[:, 0] + (below[:, 0] & ~below[top])  # mass of [0, 1]
    with np.errstate(divide="ignore"):
        table = np.log(mass) - np.log(unit)[:, None]
    table = np.maximum(table, _LOG_FLOOR)
    table[np.arange(k)[None, :] >= sizes[:, None]] = _LOG_FLOOR
    return table


@dataclass(frozen=True)
class PointSet:
    """The observations of one estimator. A caller that keeps things about its points
    between fits passes them: `basis(points, dims)`, and (shared widths only) the log
    mass of [0, 1] under a kernel of a given width at each point's coordinate in a
    CONTINUOUS dimension, summed over the dimensions asked, `unit_mass(dimensions,
    widths)`; widths come from a fixed grid (`snap`), so the same widths recur from one
    fit to the next. With `mask`, only the points it marks are kernels: a caller that
    keeps every trial in one table passes the table and marks a subset instead of
    copying a thousand rows (the others weigh nothing, and may hold NaN)."""

    points: np.ndarray
    basis: np.ndarray | None = None
    unit_mass: Callable[[list[int], list[float]], np.ndarray] | None = None
    mask: np.ndarray | None = None
    basis32: np.ndarray | None = None  # `basis` in float32, kept too (see log_density_ratio)


def snap(width: float) -> float:
    """Round a width to a grid of 64 steps an octave (changes it by < 0.55 %). In plain
    Python: a fit has a handful."""
    return 2.0 ** (round(math.log2(width) * _SNAP_STEPS) / _SNAP_STEPS)


def fit_estimators(
    sets: Sequence[PointSet],
    dims: Sequence[Dim],
    prior_weight: float = 1.0,
    rule: str = "scott",
    consider_endpoints: bool = False,
) -> list[ParzenEstimator]:
    """One estimator per set of points over the same dimensions, such as TPE's l(x) and
    g(x). With shared widths ("scott") they are fitted together: one BLAS pass a set for
    the spreads, the handful of widths in plain Python, and cell tables shared between
    fits of equal snapped widths. At these sizes the fixed cost of each numpy call, not
    arithmetic, is what a suggestion pays for."""
    if rule not in BANDWIDTH_RULES:
        raise ValueError(f"rule must be one of {BANDWIDTH_RULES}, but got {rule!r}")
    if not prior_weight > 0:
        raise ValueError(f"prior_weight must be > 0, but got {prior_weight!r}")
    dims = tuple(dims)
    layout = _layout(dims)
    if rule == "neighbour":
        return [_fit_neighbour(o, dims, layout, prior_weight, consider_endpoints) for o in sets]
    return _fit_shared(sets, dims, layout, prior_weight)


def _new(
    dims: tuple[Dim, ...],
    layout: _Layout,
    points: np.ndarray,
    mask: np.ndarray | None,
    n: int,
    prior_weight: float,
    shared: bool,
) -> ParzenEstimator:
    made = ParzenEstimator.__new__(ParzenEstimator)
    made.dims, made._layout, made.mu, made._shared = dims, layout, points, shared
    made.n_observations, made._mask, made._prior_weight = n, mask, prior_weight
    made._kernel32 = None
    made.leak = bandwidth_floor(n)
    made._prior = math.log(prior_weight / (n + prior_weight)) - layout.log_values
    return made


def _fit_neighbour(
    o: PointSet, dims: tuple[Dim, ...], layout: _Layout, prior_weight: float, ends: bool
) -> ParzenEstimator:
    """A width per kernel: the larger gap to its sorted neighbours in each dimension."""
    d = len(dims)
    x = np.asarray(o.points, dtype=float).reshape(-1, d)
    if o.mask is not None:
        x = x[np.asarray(o.mask, dtype=np.bool_)]
    n = len(x)
    made = _new(dims, layout, x, None, n, prior_weight, False)
    const = np.full(n, _kernel_log_weight(made, n, prior_weight))
    made._sigma = np.stack([neighbour_bandwidths(x[:, j], ends) for j in range(d)], axis=1).reshape(
        n, d
    )
    if len(layout.cont) and n:
        sigma = made._sigma[:, layout.cont]
        const -= (np.log(sigma) + log_unit_mass(x[:, layout.cont], sigma)).sum(axis=1)
        const -= len(layout.cont) * _LOG_SQRT_2PI
    made._const = const
    made._kernel = made._kernel_coefficients(x, const)
    return made


def _kernel_log_weight(made: ParzenEstimator, n: int, prior_weight: float) -> float:
    """A kernel's log weight, with the leak of every categorical dimension folded in."""
    const = math.log(1.0 / (n + prior_weight))
    for _, k in made._layout.cat:
        const += math.log(made.leak / k)
    return const


def _fit_shared(
    sets: Sequence[PointSet], dims: tuple[Dim, ...], layout: _Layout, prior_weight: float
) -> list[ParzenEstimator]:
    d = len(dims)
    cont = layout.cont_list
    cat = set(layout.cat_dims.tolist())
    out: list[ParzenEstimator] = []
    sums = np.empty((len(sets), layout.moments.shape[0]))
    for i, o in enumerate(sets):
        x = o.points
        if not (type(x) is np.ndarray and x.ndim == 2 and x.dtype == np.float64):
            x = np.asarray(x, dtype=float).reshape(-1, d)
        kernels = basis(x, dims) if o.basis is None else o.basis
        if o.mask is None:
            mask, n = None, len(x)
            np.dot(np.ones(n), kernels, out=sums[i])  # one BLAS pass a set
        else:
            mask = np.asarray(o.mask, dtype=np.bool_)
            n = int(np.count_nonzero(mask))
            np.dot(mask.astype(float), kernels, out=sums[i])
        made = _new(dims, layout, x, mask, n, prior_weight, True)
        made._kernel = kernels
        if len(x) >= _FLOAT32_FROM:
            made._kernel32 = kernels.astype(np.float32) if o.basis32 is None else o.basis32
        out.append(made)
    # spreads (ddof 1) from the sums of x and x^2 (`layout.moments`), Scott's rule, the
    # magic clip and the snap: a few numbers a set, cheaper in Python than in numpy calls
    for made, o, moments in zip(out, sets, (sums @ layout.moments).tolist(), strict=True):
        n = made.n_observations
        floor = made.leak
        if n < 2:
            widths = [floor] * d
        else:
            factor = 1.059 * n ** (-1.0 / (d + 4))
            widths = []
            for j in range(d):
                if j in cat:
                    std = 1.0
                else:
                    s1 = moments[j]
                    std = math.sqrt(max((moments[d + j] - s1 * s1 / n) / (n - 1), 0.0))
                w = snap(min(max(factor * std, floor), 1.0))
                widths.append(min(max(w, floor), 1.0))
        made._widths = np.array(widths)
        made._width_list = widths
        const = _kernel_log_weight(made, n, prior_weight)
        x = made.mu
        if cont:
            cw = [widths[j] for j in cont]
            const -= sum(math.log(w) for w in cw) + len(cont) * _LOG_SQRT_2PI
            if o.unit_mass is not None:
                mass = o.unit_mass(cont, cw)
            elif len(x):
                # (rows a mask leaves out may hold NaN: it propagates without a warning)
                mass = log_unit_mass(x[:, layout.cont], np.array(cw)).sum(axis=1)
            else:
                mass = _NONE
            vector = np.subtract(const, mass)
        else:
            vector = np.full(len(x), const)
        made._const = vector if made._mask is None else np.where(made._mask, vector, -np.inf)
        if len(layout.cells):
            made._tables = _stacked_tables(
                tuple(
                    (k, widths[j], layout.cell_pad)
                    for k, j in zip(layout.cell_dim_sizes, layout.cells_list, strict=True)
                )
            )
    return out


_STACKED: dict[tuple[tuple[int, float, int], ...], np.ndarray] = {}


def _stacked_tables(keys: tuple[tuple[int, float, int], ...]) -> np.ndarray:
    """The cell tables of every CELLS dimension, stacked (row r: log mass of each cell
    under the kernel centred in the r-th cell of all those dimensions); kept per tuple of
    (k, snapped width, pad), so a fit whose widths recur does one dictionary lookup."""
    stacked = _STACKED.get(keys)
    if stacked is None:
        found = {key: _CELL_TABLES.get(key) for key in keys}
        found.update(_cell_tables({key for key, table in found.items() if table is None}))
        stacked = np.concatenate([found[key] for key in keys])
        stacked.flags.writeable = False
        if len(_STACKED) >= _MAX_CELL_TABLES:
            _STACKED.clear()
        _STACKED[keys] = stacked
    return stacked


_CELL_TABLES: dict[tuple[int, float, int], np.ndarray] = {}  # (k, width, pad) -> table
_MAX_CELL_TABLES = 512


def _cell_tables(keys: set[tuple[int, float, int]]) -> dict[tuple[int, float, int], np.ndarray]:
    """The tables for `keys`, kept in _CELL_TABLES (see `cell_table`). Widths are snapped,
    so a few tables serve many fits; a table is shared, never written to."""
    if len(_CELL_TABLES) + len(keys) > _MAX_CELL_TABLES:
        _CELL_TABLES.clear()
    made: dict[tuple[int, float, int], np.ndarray] = {}
    for key in keys:
        table = cell_table(*key)
        table.flags.writeable = False
        made[key] = _CELL_TABLES[key] = table
    return made


def cell_table(k: int, width: float, pad: int) -> np.ndarray:
    """`_cell_table`, from the kept tails of the whole snap grid (`_cell_grid`) when
    `width` lies on it and k is small, as snapped widths do."""
    if k <= _GRID_MAX_CELLS:
        step = round(math.log2(width) * _SNAP_STEPS)
        if _GRID_LOWEST <= step <= 0 and 2.0 ** (step / _SNAP_STEPS) == width:
            log_mass, log_unit = _cell_grid(k)
            table = np.full((k, pad), _LOG_FLOOR)
            at = step - _GRID_LOWEST
            table[:, :k] = np.subtract(log_mass[at][_offsets(k)], log_unit[at][:, None])
            return np.maximum(table, _LOG_FLOOR, out=table)
    return _cell_table(k, width, pad)


@functools.lru_cache(maxsize=16)
def _cell_grid(k: int) -> tuple[np.ndarray, np.ndarray]:
    """For every width of the snap grid from 2^-7 (below the smallest clip, 1/100) to 1:
    the log mass of the cell d = 0..k-1 cells away from a kernel's own, and of [0, 1]
    for a kernel in cell c = 0..k-1 (see `_cell_table`). One vectorised pass the first
    time a cell count is seen, instead of k calls of math.erfc at each new width."""
    from scipy.special import ndtr

    widths = np.array([2.0 ** (i / _SNAP_STEPS) for i in range(_GRID_LOWEST, 1)])
    q = ndtr(-(np.arange(k) + 0.5) / (k * widths[:, None]))  # upper tails, (grid, k)
    with np.errstate(divide="ignore"):
        log_mass = np.log(np.concatenate((1.0 - 2.0 * q[:, :1], q[:, :-1] - q[:, 1:]), axis=1))
    log_mass[:, 0] = np.log1p(-2.0 * q[:, 0])
    log_unit = np.log1p(-(q + q[:, ::-1]))
    log_mass.flags.writeable = log_unit.flags.writeable = False
    return log_mass, log_unit


def _cell_table(k: int, width: float, pad: int) -> np.ndarray:
    """(k, pad) log masses of the k cells of [0, 1] under a Normal kernel of `width`
    centred in each cell and truncated to [0, 1] (row: the kernel's cell), padded with
    _LOG_FLOOR. With the kernel at a cell's centre every cell edge lies half a cell plus
    a whole number of cells away, so the table needs the normal's upper tail at only
    k points, q[j] at (j + 1/2) / k: the cell d cells away holds q[d-1] - q[d]
    (1 - 2 q[0] for its own), the truncation keeps 1 - q[c] - q[k-1-c]. Tails, not the
    CDF, keep narrow kernels' far cells precise; k calls of math.erfc cost less than
    one scipy call with cold caches."""
    scale = 1.0 / (k * width * _SQRT2)
    q = [0.5 * math.erfc((j + 0.5) * scale) for j in range(k)]
    log_mass = [math.log1p(-2.0 * q[0])]
    log_mass += [math.log(m) if m > 0.0 else -math.inf for m in map(float.__sub__, q, q[1:k])]
    log_unit = [math.log1p(-(q[c] + q[k - 1 - c])) for c in range(k)]
    table = np.full((k, pad), _LOG_FLOOR)
    table[:, :k] = np.subtract(np.array(log_mass)[_offsets(k)], np.array(log_unit)[:, None])
    return np.maximum(table, _LOG_FLOOR, out=table)


@functools.lru_cache(maxsize=64)
def _offsets(k: int) -> np.ndarray:
    """|i - c| for a k x k table: how many cells lie between cell c and cell i."""
    cells = np.arange(k)
    return np.abs(cells[None, :] - cells[:, None])


class ParzenEstimator:
    """A kernel density estimate over mixed dimensions, with a uniform prior component.

    `points` is an (n, d) array: unit coordinates for CONTINUOUS dimensions, cell centres
    for CELLS and category indices for CATEGORICAL ones. With the "scott" rule a caller
    that keeps `basis(points, dims)` may pass it as `points_basis`; `fit_estimators`
    builds several at once.
    """

    dims: tuple[Dim, ...]
    mu: np.ndarray  # the points; with a mask (PointSet) only those of weight > 0 are kernels
    n_observations: int  # how many kernels
    leak: float
    _mask: np.ndarray | None  # which points are kernels (None: all)
    _prior_weight: float
    _layout: _Layout
    _shared: bool
    _prior: float
    _const: np.ndarray  # log k_i(x) = const_i + row(x) + features(x) . kernel_i
    _kernel: np.ndarray  # see the module docstring: with shared widths, the plain basis
    _kernel32: np.ndarray | None  # the same in float32 (many kernels, shared widths)
    _widths: np.ndarray  # shared widths, one per dimension
    _width_list: list[float]  # the same, for plain-Python arithmetic
    _sigma: np.ndarray  # per-kernel widths
    _tables: np.ndarray  # shared widths: cell log masses (see cell_table)

    def __init__(
        self,
        points: np.ndarray,
        dims: Sequence[Dim],
        prior_weight: float = 1.0,
        rule: str = "scott",
        consider_endpoints: bool = False,
        points_basis: np.ndarray | None = None,
    ) -> None:
        (made,) = fit_estimators(
            [PointSet(points, points_basis)], dims, prior_weight, rule, consider_endpoints
        )
        self.__dict__.update(made.__dict__)

    @property
    def weights(self) -> np.ndarray:
        """Mixture weights: one per point (0 for a point the mask leaves out), then the
        prior's."""
        n, w = self.n_observations, self._prior_weight
        out = np.full(len(self.mu) + 1, 1.0 / (n + w))
        if self._mask is not None:
            out[:-1][~self._mask] = 0.0
        out[-1] = w / (n + w)
        return out

    @property
    def sigma(self) -> np.ndarray:
        """(n, d) kernel widths."""
        if self._shared:
            return np.broadcast_to(self._widths, self.mu.shape)
        return self._sigma

    def _kernel_coefficients(self, points: np.ndarray, const: np.ndarray) -> np.ndarray:
        """Per-kernel widths: each kernel's coefficients on the candidates' basis."""
        n = len(points)
        at = self._layout.offsets
        coef = np.zeros((n, int(at[-1])))
        if not n:
            return coef
        for j, dim in enumerate(self.dims):
            block = coef[:, at[j] : at[j + 1]]
            mu, sigma = points[:, j], self.sigma[:, j]
            if dim.kind is DimKind.CONTINUOUS:
                a = 0.5 / np.square(sigma)
                block[:, 0] = 2.0 * a * mu
                block[:, 1] = -a
                const -= a * np.square(mu)
            elif dim.kind is DimKind.CELLS:
                pairs, pair_of = np.unique(mu + 1j * sigma, return_inverse=True)
                table = _cell_log_masses(pairs.real, pairs.imag, np.full(len(pairs), dim.size))
                block[:] = table[pair_of.reshape(-1)]
            else:
                own = math.log(1.0 - self.leak + self.leak / dim.size)
                block[np.arange(n), mu.astype(np.intp)] = own - math.log(self.leak / dim.size)
        return coef

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` points drawn from the mixture (the prior component draws uniformly)."""
        n, d = len(self.mu), len(self.dims)
        layout = self._layout
        if self._mask is None:  # every point weighs 1, the prior prior_weight
            comp = np.minimum((rng.random(size) * (n + self._prior_weight)).astype(np.intp), n)
        else:  # rng.choice(n + 1, size, p=weights) without its argument checks
            cdf = self.weights.cumsum()
            cdf /= cdf[-1]
            comp = cdf.searchsorted(rng.random(size), side="right")
        prior = comp == n
        row = np.where(prior, 0, comp)  # any valid row for prior draws; overwritten below
        u = rng.random((size, d))
        out = np.empty((size, d))
        ordered = layout.ordered
        if len(ordered):
            x = u[:, ordered]
            if n:
                mu = self.mu[row[:, None], ordered]
                sigma = (
                    self._widths[ordered] if self._shared else self._sigma[row[:, None], ordered]
                )
                drawn = _truncated_normal(rng, mu, sigma)
                x = np.where(prior[:, None], x, drawn)
            out[:, ordered] = x
        if len(layout.cells):
            k = layout.cell_k
            out[:, layout.cells] = (np.minimum(np.floor(out[:, layout.cells] * k), k - 1) + 0.5) / k
        for j, categories in layout.cat:
            uniform = rng.integers(categories, size=size).astype(float)
            own = self.mu[row, j] if n else uniform
            out[:, j] = np.where((u[:, j] >= self.leak) & ~prior, own, uniform)
        return out

    def _features(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The candidates' side of the product, and a per-candidate term (shared widths)."""
        if not self._shared:
            return basis(x, self.dims), None
        layout = self._layout
        features = np.zeros((len(x), int(layout.offsets[-1])))
        row = None
        if len(layout.cont):
            a = 0.5 / np.square(self._widths[layout.cont])
            xc = x[:, layout.cont]
            features[:, layout.cont_columns] = xc * (2.0 * a)
            features[:, layout.cont_squares] = -a
            row = -(np.square(xc) @ a)
        if len(layout.cells):
            k = layout.cell_k
            cell = np.minimum(np.floor(x[:, layout.cells] * k), k - 1).astype(np.intp)
            features[:, layout.cell_columns] = self._tables[
                layout.cell_rows, cell[:, layout.cell_of_column]
            ]
        for j, categories in layout.cat:
            own = math.log(1.0 - self.leak + self.leak / categories)
            index = layout.offsets[j] + x[:, j].astype(np.intp)
            features[np.arange(len(x)), index] = own - math.log(self.leak / categories)
        return features, row

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """Log density (mass for CELLS and CATEGORICAL dimensions) at each row of `x`.
        Callers with many kernels run it under `one_blas_thread()` (samplers/_blas.py)."""
        x = np.asarray(x, dtype=float).reshape(-1, len(self.dims))
        if self.n_observations == 0:
            return np.full(len(x), self._prior)
        features, row = self._features(x)
        return self._sum_kernels(features, row)

    def _sum_kernels(
        self, features: np.ndarray, row: np.ndarray | None, fast: bool = False
    ) -> np.ndarray:
        """log(sum of the kernels and the prior) at candidates given their features;
        `fast`: the product in float32 where the estimator has many kernels (see
        log_density_ratio)."""
        if fast and self._kernel32 is not None:
            # (m, n) log kernels, less each candidate's row(x)
            acc = features.astype(np.float32) @ self._kernel32.T
            acc += self._const.astype(np.float32)
        else:
            acc = features @ self._kernel.T
            acc += self._const
        # log-sum-exp over the kernels and the prior, row(x) taken out of the kernels:
        # log(sum_i e^(a_i + r) + e^p) = r + log(sum_i e^a_i + e^(p - r)). Terms 80 nats
        # below the largest add less than 1e-34 each; clipping them keeps exp off its slow
        # underflow path, and float32 is ample for a sum of terms in (0, 1].
        prior = self._prior if row is None else self._prior - row
        top = np.maximum(np.maximum.reduce(acc, axis=1), prior)  # (no method wrapper)
        acc -= top.astype(acc.dtype)[:, None]
        np.maximum(acc, -80.0, out=acc)
        terms = acc if acc.dtype == np.float32 else acc.astype(np.float32)
        total = np.add.reduce(np.exp(terms, out=terms), axis=1, dtype=np.float64)
        total += np.exp(prior - top)
        out = top + np.log(total)
        return out if row is None else out + row


def _truncated_normal(rng: np.random.Generator, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Normal(mu, sigma) draws truncated to [0, 1] by rejection: each takes the first of
    _DRAWS_AT_ONCE normal draws that falls inside, and the rare one with none inside is
    redrawn until one does. A kernel's centre lies in [0, 1] and its width is at most 1,
    so at least a third of its mass is inside (usually over half). Plain numpy, a fixed
    handful of calls: scipy's inverse CDF, or a round of calls per redraw, costs more
    with cold caches than the arithmetic."""
    shape = np.broadcast(mu, sigma).shape
    size = math.prod(shape)
    x = rng.standard_normal((_DRAWS_AT_ONCE, *shape))
    x *= sigma
    x += mu
    x = x.reshape(_DRAWS_AT_ONCE, size)
    inside = (x >= 0.0) & (x <= 1.0)
    first = inside.argmax(axis=0)  # 0 where none is inside: checked below
    every = _arange(size)
    flat = x[first, every]
    missed = np.flatnonzero(~inside[first, every])
    if len(missed):
        mu_flat = np.broadcast_to(mu, shape).reshape(-1)
        sigma_flat = np.broadcast_to(sigma, shape).reshape(-1)
        for index in missed.tolist():
            for _ in range(_MAX_REDRAWS):
                flat[index] = value = rng.normal(mu_flat[index], sigma_flat[index])
                if 0.0 <= value <= 1.0:
                    break
            else:  # p < (2/3)^(8 + 64) per draw
                flat[index] = min(max(value, 0.0), 1.0)
    return flat.reshape(shape)


@functools.lru_cache(maxsize=16)
def _arange(n: int) -> np.ndarray:
    """0, 1, ..., n - 1, kept (never written to): an index a draw of n values reuses."""
    every = np.arange(n)
    every.flags.writeable = False
    return every


def log_density_ratio(
    numerator: ParzenEstimator, denominator: ParzenEstimator, x: np.ndarray
) -> np.ndarray:
    """log l(x) - log g(x) at each row of `x`, TPE's acquisition. Two estimators with
    shared widths over the same dimensions (fit together) share the candidates' side of
    the work: coordinates, cells and their squares are taken once. A denominator with
    many kernels (g(x): nearly every trial) sums them with a float32 product: its log
    is then off by a few 1e-4 nats at the narrowest width the clip allows (1e-6 at
    usual ones; tests pin both), far below what separates the candidates compared."""
    if not (type(x) is np.ndarray and x.ndim == 2 and x.dtype == np.float64):
        x = np.asarray(x, dtype=float).reshape(-1, len(numerator.dims))
    pair = (numerator, denominator)
    if not (
        numerator._shared
        and denominator._shared
        and numerator.dims == denominator.dims
        and numerator.n_observations
        and denominator.n_observations
    ):
        return numerator.log_pdf(x) - denominator.log_pdf(x)
    layout = numerator._layout
    m = len(x)
    features = np.zeros((2, m, int(layout.offsets[-1])))
    rows: list[np.ndarray | None] = [None, None]
    if len(layout.cont):
        # per estimator and dimension a = 1 / (2 sigma^2): features 2 a x and -a, rows -a x^2
        half = [[-0.5 / (e._width_list[j] ** 2) for j in layout.cont_list] for e in pair]
        minus_a = np.array(half)  # (2, c)
        xc = x[:, layout.cont]
        features[:, :, layout.cont_columns] = xc * (-2.0 * minus_a)[:, None, :]
        features[:, :, layout.cont_squares] = minus_a[:, None, :]
        both = np.square(xc) @ minus_a.T  # (m, 2)
        rows = [both[:, 0], both[:, 1]]
    if len(layout.cells):
        # the cell of each coordinate (>= 0: truncation is the floor), the last one's for 1
        cell = np.minimum((x[:, layout.cells] * layout.cell_k).astype(np.intp), layout.cell_last)
        index = cell[:, layout.cell_of_column]
        for f, e in zip(features, pair, strict=True):
            f[:, layout.cell_columns] = e._tables[layout.cell_rows, index]
    for j, categories in layout.cat:
        index = layout.offsets[j] + x[:, j].astype(np.intp)
        for f, e in zip(features, pair, strict=True):
            own = math.log(1.0 - e.leak + e.leak / categories)
            f[np.arange(m), index] = own - math.log(e.leak / categories)
    return numerator._sum_kernels(features[0], rows[0]) - denominator._sum_kernels(
        features[1], rows[1], fast=True
    )
