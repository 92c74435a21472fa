"""Parameters as GP inputs: one dimension in [0, 1] per parameter, via its `to_unit`.

Numeric parameters keep their order there (log parameters are already log-scaled), so
the kernel compares them by distance. Unordered Choice and Boolean are *categorical*:
the kernel only asks whether two values are equal (see kernel.py). Ordered numeric
Choice is its index.

Discrete parameters (ints, stepped floats, choices, booleans) are *snapped*: a point of
the cube moves to the unit position of the value `from_unit` returns there, so the model
always sees an input that can really be run. Snapping is vectorised here for speed and
must agree with `to_unit(from_unit(u))` (a test checks it). Three shapes cover all types:

* continuous: Float without step; no snapping;
* bins: `from_unit` cuts [0, 1] into n equal bins (linear ints, stepped ints and floats,
  choices, booleans); the unit position of bin k is (k + ½)/n;
* rounded: Int with log or reverse-log sampling and no step; `from_unit` rounds the
  continuous transform, so snapping rounds in value space.

Ordered discrete parameters with more than `SWEEP_MAX` values are *relaxed* by the
acquisition optimiser (moved by gradient, then snapped and refined by neighbour moves);
the others, and every categorical one, are *swept* (every value tried).

Conditional parameters (declared with `hp.conditional_scope`) are modelled too: where a
trial's conditions are not met, the parameter does not exist, and its input holds a fixed
*inactive* position (imputation): 0.5 for an ordered input, and for a categorical one a
position no category has, so "absent" is one more category. All inactive trials then agree
on that input, and the parent's own input tells the branches apart. `activate` applies the
same rule to candidate points, so the acquisition is scored on configurations that can
exist.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import cast

import numpy as np

from tunelab.space import Boolean, Choice, Fixed, Float, Int, Param

SWEEP_MAX = 32
NEIGHBOUR_OFFSETS = np.array([-8, -4, -2, -1, 1, 2, 4, 8])
INACTIVE_ORDERED = 0.5
INACTIVE_CATEGORICAL = -1.0  # no category sits there (they are in [0, 1])


class Snap(enum.Enum):
    CONTINUOUS = "continuous"
    BINS = "bins"
    ROUNDED = "rounded"


@dataclass(frozen=True)
class Dim:
    """One input dimension of the GP: a parameter and how it sits in the unit interval."""

    param: Param
    snap: Snap
    n_values: int  # distinct values; 0 when continuous
    categorical: bool
    # Conditions, as (index of the parent's dim, unit positions of the parent's values that
    # activate this one); empty for a parameter every trial has.
    active_when: tuple[tuple[int, tuple[float, ...]], ...] = ()

    @property
    def name(self) -> str:
        return self.param.name

    @property
    def inactive(self) -> float:
        """The input a trial without this parameter holds."""
        return INACTIVE_CATEGORICAL if self.categorical else INACTIVE_ORDERED

    @property
    def swept(self) -> bool:
        """Few values or no order: try every value rather than follow a gradient."""
        return self.categorical or (self.snap is not Snap.CONTINUOUS and self.n_values <= SWEEP_MAX)

    @property
    def discrete(self) -> bool:
        return self.snap is not Snap.CONTINUOUS

    def encode(self, value: object) -> float:
        """The unit position of a valid value: `to_unit` already lands on the positions
        `snap_units` produces (bin centres, transformed integers)."""
        return float(self.param.to_unit(value))

    def decode(self, u: float) -> object:
        return self.param.from_unit(float(u))

    def snap_units(self, u: np.ndarray) -> np.ndarray:
        """Unit positions of the values `from_unit` picks for each `u` (clipped to [0, 1])."""
        u = np.clip(np.nan_to_num(np.asarray(u, dtype=float), nan=0.5), 0.0, 1.0)
        if self.snap is Snap.CONTINUOUS:
            return u
        if self.snap is Snap.BINS:
            n = self.n_values
            return (np.minimum(np.floor(u * n), n - 1) + 0.5) / n
        lo, hi = self._bounds()
        return self._to_unit(np.clip(np.round(self._from_unit(u)), lo, hi))

    def all_units(self) -> np.ndarray:
        """Every value's unit position (swept dimensions only)."""
        if self.snap is Snap.BINS:
            return (np.arange(self.n_values) + 0.5) / self.n_values
        lo, hi = self._bounds()
        return self._to_unit(np.arange(lo, hi + 1.0))

    def neighbours(self, u: np.ndarray) -> np.ndarray:
        """Unit positions a few steps either side of each snapped `u`: shape (len(u), 8)."""
        if self.snap is Snap.BINS:
            n = self.n_values
            k = np.minimum(np.floor(np.clip(u, 0.0, 1.0) * n), n - 1)
            moved = np.clip(k[:, None] + NEIGHBOUR_OFFSETS, 0, n - 1)
            return (moved + 0.5) / n
        lo, hi = self._bounds()
        v = np.clip(np.round(self._from_unit(u)), lo, hi)
        return self._to_unit(np.clip(v[:, None] + NEIGHBOUR_OFFSETS, lo, hi))

    # Vectorised copies of the log / reverse-log transforms of params.Int (rounded dims).
    def _bounds(self) -> tuple[float, float]:
        p = cast(Int, self.param)  # only rounded dims, which are Int, get here
        return float(p.min_value), float(p.max_value)

    def _span(self) -> float:
        lo, hi = self._bounds()
        return math.log(hi) - math.log(lo)

    def _from_unit(self, u: np.ndarray) -> np.ndarray:
        lo, hi = self._bounds()
        span = self._span()
        if hi == lo or span == 0:
            return np.full_like(u, lo)
        if cast(Int, self.param).sampling == "log":
            v = np.exp(math.log(lo) + u * span)
        else:
            v = hi + lo - lo * (hi / lo) ** (1.0 - u)
        return np.clip(v, lo, hi)

    def _to_unit(self, v: np.ndarray) -> np.ndarray:
        lo, hi = self._bounds()
        span = self._span()
        if hi == lo or span == 0:
            return np.full_like(v, 0.5, dtype=float)
        if cast(Int, self.param).sampling == "log":
            return (np.log(v) - math.log(lo)) / span
        return 1.0 - (np.log(np.maximum(hi + lo - v, lo)) - math.log(lo)) / span


def _n_bins(param: Param) -> int:
    """How many equal bins `from_unit` cuts [0, 1] into: the first bin's centre is ½/n."""
    return max(1, round(0.5 / param.to_unit(param.from_unit(0.0))))


def make_dim(param: Param) -> Dim:
    """The input dimension for one tuned parameter."""
    if isinstance(param, Fixed):
        raise ValueError(f"{param.name!r} is Fixed: it has nothing to tune, so it is no GP input")
    if isinstance(param, Boolean):
        return Dim(param, Snap.BINS, 2, categorical=True)
    if isinstance(param, Choice):
        return Dim(param, Snap.BINS, len(param.values), categorical=not param.ordered)
    if isinstance(param, Float) and param.step is None:
        return Dim(param, Snap.CONTINUOUS, 0, categorical=False)
    if isinstance(param, Int) and param.step is None and param.sampling != "linear":
        return Dim(param, Snap.ROUNDED, param.max_value - param.min_value + 1, categorical=False)
    if isinstance(param, (Int, Float)):
        return Dim(param, Snap.BINS, _n_bins(param), categorical=False)
    raise ValueError(
        f"{param.name!r}: the GP sampler does not know how to encode {type(param).__name__}; "
        "use Int, Float, Choice or Boolean"
    )


def active_mask(dims: tuple[Dim, ...], x: np.ndarray) -> np.ndarray:
    """(P, d) bool: which inputs of each point exist under its parents' values. Parents
    come before their children (the space's order), so a child of an inactive parent is
    inactive too: the parent's inactive position matches none of its values."""
    mask = np.ones(x.shape, dtype=bool)
    for j, dim in enumerate(dims):
        for parent, units in dim.active_when:
            hit = np.zeros(len(x), dtype=bool)
            for u in units:
                hit |= np.abs(x[:, parent] - u) <= 1e-9
            mask[:, j] &= hit & mask[:, parent]
    return mask


def activate(dims: tuple[Dim, ...], x: np.ndarray) -> np.ndarray:
    """Put every conditional input that does not exist at its inactive position, and snap
    those that do (in place; returned)."""
    if not any(d.active_when for d in dims):
        return x
    mask = active_mask(dims, x)
    for j, dim in enumerate(dims):
        if dim.active_when:
            on = mask[:, j]
            x[on, j] = dim.snap_units(x[on, j])  # a real value where it just became active
            x[~on, j] = dim.inactive
    return x


def snap_all(dims: tuple[Dim, ...], x: np.ndarray) -> np.ndarray:
    """Snap every column of `x` (P, d) to a value its parameter can take, and conditional
    inputs whose conditions fail to their inactive position."""
    out = np.empty_like(x, dtype=float)
    for j, dim in enumerate(dims):
        out[:, j] = dim.snap_units(x[:, j])
    return activate(dims, out)
