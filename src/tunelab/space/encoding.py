"""The one unit-cube encoding of a history: trials' parameter values as a matrix and back.

Column j holds parameter j's `to_unit` coordinate (NaN where a trial lacks the parameter
or holds a value outside its domain); a row of coordinates decodes through `from_unit`.
`snap` moves any point of the cube onto the coordinates of the values `from_unit` picks
there, so a model can score the configuration that would really run. What each axis
means (continuous, n ordered cells, n categories, rounded integers) is the parameter's
`axis` and `cardinality`; samplers add only what their model needs on top.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunelab.space.base import AxisKind, Param, cell_index
from tunelab.space.choices import Fixed
from tunelab.space.search_space import SearchSpace


def snap(param: Param, u: np.ndarray) -> np.ndarray:
    """The coordinate of the value `param.from_unit` picks at each point (clipped into
    [0, 1]; NaN stays NaN): a cell's centre, or a rounded integer's coordinate."""
    u = np.asarray(u, dtype=float)
    axis = param.axis
    if axis is AxisKind.CONTINUOUS:
        return np.clip(u, 0.0, 1.0)
    if axis is AxisKind.ROUNDED:
        flat = u.reshape(-1)
        return param.to_unit_array(param.from_unit_array(flat)).reshape(u.shape)
    n = param.cardinality or 1
    centres = (cell_index(np.nan_to_num(u), n) + 0.5) / n
    return np.where(np.isnan(u), np.nan, centres)


@dataclass(frozen=True)
class UnitEncoding:
    """Coordinates of some parameters, one column each, in the order given."""

    params: tuple[Param, ...]

    @classmethod
    def of(cls, space: SearchSpace | Iterable[Param], tuned_only: bool = True) -> UnitEncoding:
        """The parameters of a space (or any params), in order; `tuned_only` leaves out
        Fixed ones, which have nothing to model."""
        params = [e.param for e in space] if isinstance(space, SearchSpace) else list(space)
        return cls(tuple(p for p in params if not (tuned_only and isinstance(p, Fixed))))

    @property
    def names(self) -> list[str]:
        """The parameters' names, one per column."""
        return [p.name for p in self.params]

    def encode(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """(len(rows), len(params)) coordinates; NaN where a row lacks a parameter or
        holds a value outside its domain."""
        out = np.empty((len(rows), len(self.params)))
        for j, param in enumerate(self.params):
            name = param.name
            out[:, j] = param.to_unit_array([row.get(name) for row in rows])
        return out

    def encode_row(self, row: Mapping[str, Any]) -> np.ndarray:
        """`encode` of one row through each parameter's own `to_unit`: for a row or two
        this is several times cheaper than the array path's fixed cost per column (the
        two agree to the last bit or two of a log transform)."""
        out = np.full(len(self.params), math.nan)
        for j, param in enumerate(self.params):
            value = row.get(param.name)
            if value is not None and param.contains(value):
                out[j] = param.to_unit(value)
        return out

    def decode(self, matrix: np.ndarray) -> list[dict[str, Any]]:
        """One dict of values per row; a NaN coordinate leaves its parameter out."""
        matrix = np.asarray(matrix, dtype=float).reshape(-1, len(self.params))
        columns = [p.from_unit_array(matrix[:, j]) for j, p in enumerate(self.params)]
        names = self.names
        return (
            [
                {name: v for name, v in zip(names, values, strict=True) if v is not None}
                for values in zip(*columns, strict=True)
            ]
            if columns
            else [{} for _ in range(len(matrix))]
        )

    def snap(self, matrix: np.ndarray) -> np.ndarray:
        """Every column of `matrix` snapped (see `snap`)."""
        matrix = np.asarray(matrix, dtype=float).reshape(-1, len(self.params))
        out = np.empty_like(matrix)
        for j, param in enumerate(self.params):
            out[:, j] = snap(param, matrix[:, j])
        return out
