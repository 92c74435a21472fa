"""Parameters as GP inputs: one dimension in [0, 1] per parameter, the space's unit cube
(`tunelab.space.encoding`).

Numeric parameters keep their order there (log parameters are already log-scaled), so
the kernel compares them by distance. Categorical parameters (unordered Choice, Boolean)
only ask whether two values are equal (see kernel.py). Ordered numeric Choice is its
index.

Discrete parameters are *snapped*: a point of the cube moves to the unit position of the
value `from_unit` returns there, so the model always sees an input that can really be
run (`space.encoding.snap`; the parameter's `axis` says how: cell centres, or rounded
integers on a log scale).

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

from dataclasses import dataclass

import numpy as np

from tunelab.space import AxisKind, Fixed, Param
from tunelab.space.encoding import snap

SWEEP_MAX = 32
NEIGHBOUR_OFFSETS = np.array([-8, -4, -2, -1, 1, 2, 4, 8])
INACTIVE_ORDERED = 0.5
INACTIVE_CATEGORICAL = -1.0  # no category sits there (they are in [0, 1])


@dataclass(frozen=True)
class Dim:
    """One input dimension of the GP: a parameter and, for a conditional one, when it
    exists: (index of the parent's dim, unit positions of the parent's values that
    activate it); empty for a parameter every trial has."""

    param: Param
    active_when: tuple[tuple[int, tuple[float, ...]], ...] = ()

    @property
    def name(self) -> str:
        return self.param.name

    @property
    def axis(self) -> AxisKind:
        return self.param.axis

    @property
    def n_values(self) -> int:
        """Distinct values; 0 when continuous."""
        return self.param.cardinality or 0

    @property
    def categorical(self) -> bool:
        return self.axis is AxisKind.CATEGORICAL

    @property
    def inactive(self) -> float:
        """The input a trial without this parameter holds."""
        return INACTIVE_CATEGORICAL if self.categorical else INACTIVE_ORDERED

    @property
    def swept(self) -> bool:
        """Few values or no order: try every value rather than follow a gradient."""
        return self.categorical or (self.discrete and self.n_values <= SWEEP_MAX)

    @property
    def discrete(self) -> bool:
        return self.axis is not AxisKind.CONTINUOUS

    def encode(self, value: object) -> float:
        """The unit position of a valid value: `to_unit` already lands on the positions
        `snap_units` produces (cell centres, transformed integers)."""
        return float(self.param.to_unit(value))

    def decode(self, u: float) -> object:
        return self.param.from_unit(float(u))

    def snap_units(self, u: np.ndarray) -> np.ndarray:
        """Unit positions of the values `from_unit` picks for each `u` (clipped to [0, 1])."""
        u = np.clip(np.nan_to_num(np.asarray(u, dtype=float), nan=0.5), 0.0, 1.0)
        return snap(self.param, u)

    def all_units(self) -> np.ndarray:
        """Every value's unit position (swept dimensions only)."""
        if self.axis is AxisKind.ROUNDED:
            return self.param.to_unit_array(range(self._low(), self._high() + 1))
        return (np.arange(self.n_values) + 0.5) / self.n_values

    def neighbours(self, u: np.ndarray) -> np.ndarray:
        """Unit positions a few steps either side of each snapped `u`: shape (len(u), 8)."""
        if self.axis is not AxisKind.ROUNDED:
            n = self.n_values
            k = np.minimum(np.floor(np.clip(u, 0.0, 1.0) * n), n - 1)
            moved = np.clip(k[:, None] + NEIGHBOUR_OFFSETS, 0, n - 1)
            return (moved + 0.5) / n
        v = np.array(self.param.from_unit_array(np.clip(u, 0.0, 1.0)), dtype=np.int64)
        moved = np.clip(v[:, None] + NEIGHBOUR_OFFSETS, self._low(), self._high())
        return self.param.to_unit_array(moved.ravel().tolist()).reshape(moved.shape)

    def _low(self) -> int:
        return int(self.param.min_value)  # type: ignore[attr-defined]  # ROUNDED: an Int

    def _high(self) -> int:
        return int(self.param.max_value)  # type: ignore[attr-defined]


def make_dim(param: Param) -> Dim:
    """The input dimension for one tuned parameter."""
    if isinstance(param, Fixed):
        raise ValueError(f"{param.name!r} is Fixed: it has nothing to tune, so it is no GP input")
    return Dim(param)


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
