"""Hyperparameters as coordinates of the unit cube the Parzen estimators work in.

Each parameter's own `to_unit` / `from_unit` do the mapping, so log parameters are
already on their log scale. What this module adds is the kind of each coordinate:

- Float without a step: CONTINUOUS.
- Int, stepped Float, ordered Choice: CELLS, one per value (value i of k maps to the
  centre of [i/k, (i+1)/k]), so densities become the mass of each value's cell.
- Int with log or reverse-log sampling and no step: its values are not evenly spread
  in the cube, so it is modelled as CONTINUOUS and every candidate is snapped to the
  coordinate of the integer it rounds to (densities are then read at that point).
- Boolean and unordered Choice: CATEGORICAL, stored as the value's index.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tunelab.samplers.tpe.parzen import Dim, DimKind
from tunelab.space import Boolean, Choice, Fixed, Float, Int, Param, SearchSpace
from tunelab.trial import FrozenTrial

_MAX_CACHED = 200_000
_MAX_KEPT_VALUES = 1024  # a discrete parameter's values are kept for decoding up to this many


def is_rounded(param: Param) -> bool:
    """An Int spread unevenly over the cube (log or reverse-log, no step)."""
    return isinstance(param, Int) and param.step is None and param.sampling != "linear"


def n_cells(param: Param) -> int:
    """How many values a discrete parameter has: its first value maps to 0.5 / k."""
    first = param.values[0] if isinstance(param, Choice) else param.min_value  # type: ignore[attr-defined]
    return max(1, round(0.5 / param.to_unit(first)))


def dim_of(param: Param) -> Dim:
    """The coordinate kind that models `param`."""
    if isinstance(param, Boolean):
        return Dim(DimKind.CATEGORICAL, 2)
    if isinstance(param, Choice):
        kind = DimKind.CELLS if param.ordered else DimKind.CATEGORICAL
        return Dim(kind, len(param.values))
    if (isinstance(param, Float) and param.step is None) or is_rounded(param):
        return Dim(DimKind.CONTINUOUS)
    if isinstance(param, (Int, Float)):
        return Dim(DimKind.CELLS, n_cells(param))
    raise ValueError(
        f"TPE models Int, Float, Choice and Boolean parameters, but got {param.describe()}"
    )


class Encoder:
    """Converts values to coordinates and back, and trials to rows of coordinates.

    A history of a thousand trials is not re-encoded at every call: each trial's row is
    remembered (by trial id and number, checked against its params), and so is each
    value's coordinate. Columns follow the space's order; a space that is not an
    extension of the last one (another study) starts the memory afresh.
    """

    def __init__(self) -> None:
        self.generation = 0  # grows whenever the columns or their parameters change
        self._space: tuple[SearchSpace, int] | None = None  # the space last used, its size
        self._reset()

    def _reset(self) -> None:
        self._known: dict[str, tuple[Param, Dim, dict[Any, float]]] = {}
        self._order: list[str] = []  # the space's names when last seen, Fixed ones included
        self._columns: list[str] = []
        self._position: dict[str, int] = {}
        self._ignored: set[str] = set()  # Fixed parameters: recorded, never modelled
        self._values: dict[str, tuple[Param, list[Any]]] = {}  # discrete ones' values (decode)
        # (trial id, number) -> (the params encoded, or None to encode again; the row)
        self._rows: dict[tuple[int, int], tuple[Mapping[str, Any] | None, np.ndarray]] = {}

    @property
    def columns(self) -> list[str]:
        """The modelled parameters, in the space's order: one column each."""
        return list(self._columns)

    # -- single values ------------------------------------------------------------------------
    def _entry(self, param: Param) -> tuple[Param, Dim, dict[Any, float]]:
        entry = self._known.get(param.name)
        if entry is None or not (entry[0] is param or entry[0] == param):
            entry = (param, dim_of(param), {})
            self._known[param.name] = entry
        return entry

    def dim(self, param: Param) -> Dim:
        return self._entry(param)[1]

    def coordinate(self, param: Param, value: Any) -> float:
        """The coordinate of `value` (NaN when it is not in the domain)."""
        _, dim, cache = self._entry(param)
        key = (type(value), value)  # keeps True apart from 1
        u = cache.get(key)
        if u is None:
            if len(cache) > _MAX_CACHED:
                cache.clear()
            u = cache[key] = _coordinate(param, dim, value)
        return u

    def snap(self, param: Param, coordinates: np.ndarray) -> np.ndarray:
        """Move candidates of a rounded Int onto the coordinates of their integers."""
        if not is_rounded(param):
            return coordinates
        return np.array([param.to_unit(param.from_unit(float(u))) for u in coordinates])

    def decode(self, param: Param, coordinate: float) -> Any:
        """The value at `coordinate` (inside the domain: `from_unit` maps the closed
        unit interval onto it, and the study checks every sampled value again). A
        discrete parameter's values are kept in a list, one per cell or category."""
        dim = self.dim(param)
        u = float(coordinate)
        k = dim.size
        if dim.kind is DimKind.CATEGORICAL:
            u = (u + 0.5) / k
        if dim.kind is DimKind.CONTINUOUS or k > _MAX_KEPT_VALUES:
            return param.from_unit(min(max(u, 0.0), 1.0))
        values = self._values.get(param.name)
        if values is None or values[0] is not param:
            values = (param, [param.from_unit((i + 0.5) / k) for i in range(k)])
            self._values[param.name] = values
        return values[1][min(math.floor(min(max(u, 0.0), 1.0) * k), k - 1)]  # as from_unit

    # -- whole trials ------------------------------------------------------------------------
    def use_space(self, space: SearchSpace) -> dict[str, int]:
        """Take the space's parameters as columns; return each name's column."""
        if self._space is not None and self._space[0] is space and self._space[1] == len(space):
            return self._position  # a space only grows: the same object at the same size
        generation = self.generation
        names = space.names()
        extends = names[: len(self._order)] == self._order
        if (
            not extends
            or len(self._rows) > _MAX_CACHED
            or any(
                name in space and not (entry[0] is space[name] or entry[0] == space[name])
                for name, entry in self._known.items()
            )
        ):
            self._reset()  # another study, or a space this memory does not fit
            generation += 1
        width = len(self._columns)
        for name in names[len(self._order) :]:
            param = space[name]
            if isinstance(param, Fixed):
                self._ignored.add(name)
            else:
                self._position[name] = len(self._columns)
                self._columns.append(name)
                self._entry(param)
        self._order = names
        if len(self._columns) > width:  # known trials hold none of the new parameters
            generation += 1
            pad = np.full(len(self._columns) - width, math.nan)
            for key, (params, row) in self._rows.items():
                self._rows[key] = (params, np.concatenate((row, pad)))
        self.generation = generation
        self._space = (space, len(space))
        return self._position

    def matrix(self, trials: Sequence[FrozenTrial], space: SearchSpace) -> np.ndarray:
        """One row of coordinates per trial, NaN where a trial lacks a parameter.
        Call `use_space` with the same space first."""
        rows = [self.row(t, space) for t in trials]
        if not rows:
            return np.empty((0, len(self._columns)))
        return np.concatenate(rows).reshape(len(rows), len(self._columns))

    def row(self, trial: FrozenTrial, space: SearchSpace) -> np.ndarray:
        """One trial's coordinates (a kept array: read it, never write to it)."""
        key = (trial.trial_id, trial.number)
        hit = self._rows.get(key)
        if hit is None or (hit[0] is not trial.params and hit[0] != trial.params):
            # new, still running, or from another study
            hit = self._rows[key] = self._encode(trial.params, space)
        return hit[1]

    def _encode(
        self, params: Mapping[str, Any], space: SearchSpace
    ) -> tuple[Mapping[str, Any] | None, np.ndarray]:
        row = np.full(len(self._columns), math.nan)
        complete = True
        for name, value in params.items():
            j = self._position.get(name)
            if j is not None:
                row[j] = self.coordinate(space[name], value)
            elif name not in self._ignored:
                complete = False  # not in the space yet: encode again next time
        return (params if complete else None), row


def _coordinate(param: Param, dim: Dim, value: Any) -> float:
    if not param.contains(value):
        return math.nan  # a value from another domain: this trial says nothing here
    u = float(param.to_unit(value))
    if dim.kind is DimKind.CONTINUOUS:
        return u
    index = min(math.floor(u * dim.size), dim.size - 1)
    if dim.kind is DimKind.CATEGORICAL:
        return float(index)
    return (index + 0.5) / dim.size
