"""Hyperparameters whose values are listed: Choice, Boolean, and Fixed (one value).

Their values map to the centres of equal cells of [0, 1], one per value, in the listed
order; a Choice of numbers is ordered (`AxisKind.ORDINAL`) unless told otherwise, the
rest are categorical.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from tunelab.errors import SearchSpaceError
from tunelab.space.base import (
    AxisKind,
    Param,
    absent_where_nan,
    cell_index,
    check_fits_float,
    check_name,
    is_int,
    is_nan,
    is_number,
    unit_points,
)


def choice_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "str"
    return type(value).__name__


# Types whose values a Choice of each kind can hold without further checks (None: no value).
_TYPES_OF: dict[str, set[type]] = {
    "number": {int, float, type(None)},
    "str": {str, type(None)},
    "bool": {bool, type(None)},
}


@dataclass(frozen=True)
class Choice(Param):
    """One of a list of values (all numbers, all strings, or all booleans)."""

    values: tuple[Any, ...] = field(default=())
    ordered: bool | None = None
    default: Any = None
    kind: ClassVar[str] = "choice"

    def __post_init__(self) -> None:
        check_name(self.name)
        values = self.values
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise SearchSpaceError(
                f"{self.name!r}: Choice values must be a list, but got {values!r}"
            )
        for value in values:
            check_fits_float(self.name, "each value", value)
        if len(values) == 0:
            raise SearchSpaceError(
                f"{self.name!r}: Choice needs at least one value, but got an empty list"
            )
        kinds = {choice_kind(v) for v in values}
        if any(is_nan(v) for v in values):
            raise SearchSpaceError(
                f"{self.name!r}: Choice values must not be NaN (it equals nothing, so it "
                f"could never be chosen), but got {list(values)!r}"
            )
        if len(kinds) > 1 or not kinds <= {"bool", "number", "str"}:
            raise SearchSpaceError(
                f"{self.name!r}: Choice values must all be numbers, all strings or all "
                f"booleans, but got {list(values)!r} (types: {', '.join(sorted(kinds))})"
            )
        clean: list[Any]
        if kinds == {"number"}:
            # [1e-4, 1e-3, 1] is a list of floats; [32, 64] stays a list of ints.
            clean = (
                [int(v) for v in values] if all(map(is_int, values)) else [float(v) for v in values]
            )
        else:
            clean = list(values)
        if len(set(clean)) != len(clean):
            dupes = sorted({repr(v) for v in clean if clean.count(v) > 1})
            raise SearchSpaceError(
                f"{self.name!r}: Choice values must be unique, but {', '.join(dupes)} repeat"
            )
        object.__setattr__(self, "values", tuple(clean))
        ordered = self.ordered
        if ordered is None:
            ordered = kinds == {"number"}
        elif ordered and kinds != {"number"}:
            raise SearchSpaceError(
                f"{self.name!r}: ordered=True needs numeric values, but got {list(values)!r}"
            )
        object.__setattr__(self, "ordered", bool(ordered))
        if self.default is not None:
            if not self.contains(self.default):
                raise SearchSpaceError(
                    f"{self.name!r}: default={self.default!r} is not one of {list(clean)!r}"
                )
            object.__setattr__(self, "default", self.canonical(self.default))

    def _index(self, value: Any) -> int:
        kind = None
        for i, v in enumerate(self.values):
            if v == value:  # then the kind, so that True is not 1
                kind = kind or choice_kind(value)
                if choice_kind(v) == kind:
                    return i
        raise SearchSpaceError(f"{value!r} is not one of {list(self.values)!r}")

    def contains(self, value: Any) -> bool:
        try:
            self._index(value)
        except SearchSpaceError:
            return False
        return True

    def canonical(self, value: Any) -> Any:
        return self.values[self._index(value)]

    def from_unit(self, u: float) -> Any:
        n = len(self.values)
        return self.values[min(math.floor(min(max(float(u), 0.0), 1.0) * n), n - 1)]

    def to_unit(self, value: Any) -> float:
        return (self._index(value) + 0.5) / len(self.values)

    @property
    def axis(self) -> AxisKind:
        return AxisKind.ORDINAL if self.ordered else AxisKind.CATEGORICAL

    @property
    def cardinality(self) -> int:
        return len(self.values)

    def to_unit_array(self, values: Sequence[Any]) -> np.ndarray:
        n = len(self.values)
        cell = {v: (i + 0.5) / n for i, v in enumerate(self.values)}  # 1 and 1.0 are one key
        kind = choice_kind(self.values[0])
        if set(map(type, values)) <= _TYPES_OF[kind]:  # the usual column: one lookup a value
            return np.array([cell.get(v) for v in values], dtype=float).reshape(len(values))
        out = np.full(len(values), math.nan)
        for j, value in enumerate(values):
            try:
                u = cell.get(value)
            except TypeError:  # unhashable: not one of the values
                continue
            if u is not None and choice_kind(value) == kind:  # keeps True apart from 1
                out[j] = u
        return out

    def from_unit_array(self, u: np.ndarray) -> list[Any]:
        u, at = unit_points(u)
        values = self.values
        return absent_where_nan(u, [values[k] for k in cell_index(at, len(values)).tolist()])

    def grid_values(self) -> list[Any]:
        return list(self.values)

    def domain(self) -> dict[str, Any]:
        return {"values": list(self.values), "ordered": self.ordered}

    @property
    def default_value(self) -> Any:
        return self.values[0] if self.default is None else self.default


@dataclass(frozen=True)
class Boolean(Param):
    """True or False."""

    default: bool = False
    kind: ClassVar[str] = "bool"

    def __post_init__(self) -> None:
        check_name(self.name)
        if not isinstance(self.default, bool):
            raise SearchSpaceError(
                f"{self.name!r}: Boolean default must be True or False, but got {self.default!r}"
            )

    def contains(self, value: Any) -> bool:
        return isinstance(value, bool)

    def from_unit(self, u: float) -> bool:
        return bool(u >= 0.5)

    def to_unit(self, value: Any) -> float:
        return 0.75 if value else 0.25

    @property
    def axis(self) -> AxisKind:
        return AxisKind.CATEGORICAL

    @property
    def cardinality(self) -> int:
        return 2

    def to_unit_array(self, values: Sequence[Any]) -> np.ndarray:
        units = {True: 0.75, False: 0.25}
        return np.array(
            [units[v] if isinstance(v, bool) else math.nan for v in values], dtype=float
        ).reshape(len(values))

    def from_unit_array(self, u: np.ndarray) -> list[Any]:
        u, at = unit_points(u)
        return absent_where_nan(u, (at >= 0.5).tolist())

    def grid_values(self) -> list[bool]:
        return [False, True]

    def domain(self) -> dict[str, Any]:
        return {}

    @property
    def default_value(self) -> bool:
        return self.default


@dataclass(frozen=True)
class Fixed(Param):
    """A constant recorded with the trial, so reports show it beside the tuned values."""

    value: Any = None
    kind: ClassVar[str] = "fixed"

    def __post_init__(self) -> None:
        check_name(self.name)
        check_fits_float(self.name, "value", self.value)
        if choice_kind(self.value) not in ("bool", "number", "str"):
            raise SearchSpaceError(
                f"{self.name!r}: Fixed value must be a number, string or boolean, "
                f"but got {self.value!r}"
            )
        if is_nan(self.value):
            raise SearchSpaceError(
                f"{self.name!r}: Fixed value must not be NaN (it equals nothing, so no "
                "recorded value could match it)"
            )

    def contains(self, value: Any) -> bool:
        return choice_kind(value) == choice_kind(self.value) and value == self.value

    def from_unit(self, u: float) -> Any:
        return self.value

    def to_unit(self, value: Any) -> float:
        return 0.5

    @property
    def axis(self) -> AxisKind:
        return AxisKind.CATEGORICAL

    @property
    def cardinality(self) -> int:
        return 1

    def to_unit_array(self, values: Sequence[Any]) -> np.ndarray:
        return np.array(
            [0.5 if self.contains(v) else math.nan for v in values], dtype=float
        ).reshape(len(values))

    def from_unit_array(self, u: np.ndarray) -> list[Any]:
        u, _ = unit_points(u)
        return absent_where_nan(u, [self.value] * len(u))

    def grid_values(self) -> list[Any]:
        return [self.value]

    def domain(self) -> dict[str, Any]:
        return {"value": self.value}

    @property
    def default_value(self) -> Any:
        return self.value

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "name": self.name, "value": self.value}

    def same_domain(self, other: Param) -> bool:
        """A Fixed value may differ between trials (it can depend on another parameter,
        e.g. l1=1e-4 only when regularizer='l1'); it still may not become a tuned one."""
        return isinstance(other, Fixed)
