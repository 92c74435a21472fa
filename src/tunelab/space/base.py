"""What every hyperparameter type shares: the `Param` contract, its place in the unit
cube (`AxisKind`, `cardinality`), and the checks its subclasses build on.

Model-based samplers work in [0, 1]. Every type maps its values there and back, one value
(`to_unit` / `from_unit`) or a whole column of a history at once (`to_unit_array` /
`from_unit_array`), and says how its values sit on that axis, so no sampler has to infer
it from the mapping.
"""

from __future__ import annotations

import enum
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tunelab._names import PARAM_NAME_MAX, name_problem
from tunelab.errors import SearchSpaceError

SAMPLINGS = ("linear", "log", "reverse_log")
MAX_GRID_VALUES = 100_000


def clean_float(value: float) -> float:
    """Round away binary noise such as 0.30000000000000004 (12 significant digits)."""
    return float(f"{value:.12g}")


def is_int(value: Any) -> bool:
    if type(value) is int:  # the common case, without the slower ABC check
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    if type(value) is float or type(value) is int:
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_nan(value: Any) -> bool:
    return is_number(value) and math.isnan(float(value))


class AxisKind(enum.Enum):
    """How a parameter's values sit on its unit axis.

    CONTINUOUS: every point of [0, 1] is a value (a Float without a step).
    ORDINAL: `cardinality` ordered values; value i owns the cell [i/n, (i+1)/n] and maps to
      its centre (ints, stepped floats, ordered numeric Choice).
    CATEGORICAL: cells as ORDINAL, but only equality means anything (unordered Choice,
      Boolean, Fixed).
    ROUNDED: integers on a log or reverse-log scale (an Int with such sampling and no
      step): `from_unit` rounds the continuous transform, so the values sit unevenly.
    """

    CONTINUOUS = "continuous"
    ORDINAL = "ordinal"
    CATEGORICAL = "categorical"
    ROUNDED = "rounded"


def cell_index(u: np.ndarray, n: int) -> np.ndarray:
    """The cell of [0, 1] cut into n equal cells that holds each u (clipped into [0, 1])."""
    return np.minimum(np.floor(np.clip(u, 0.0, 1.0) * n), n - 1).astype(np.intp)


def unit_points(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points as a flat float array, and the same with NaN (no value) moved to 0.5, so
    that a mapping can run over all of them before `absent_where_nan` blanks those."""
    u = np.asarray(u, dtype=float).reshape(-1)
    return u, np.nan_to_num(u, nan=0.5)


def as_floats(values: Sequence[Any]) -> np.ndarray:
    """Values as a float array, NaN for anything that is not a real number (None, text,
    booleans), so that one vectorised test can then check the domain."""
    if set(map(type, values)) <= _PLAIN_NUMBERS:  # the usual column: numpy converts it
        return np.array(values, dtype=float).reshape(len(values))
    return np.array([float(v) if is_number(v) else math.nan for v in values], dtype=float)


_PLAIN_NUMBERS = {int, float, type(None)}  # None (no value) becomes NaN


def absent_where_nan(u: np.ndarray, values: list[Any]) -> list[Any]:
    """None where the point is NaN (no value there), the values elsewhere."""
    missing = np.isnan(u)
    if not missing.any():
        return values
    return [None if m else v for m, v in zip(missing.tolist(), values, strict=True)]


def check_name(name: Any) -> None:
    """Raise unless `name` can name a hyperparameter in every storage."""
    problem = name_problem("a hyperparameter name", name, PARAM_NAME_MAX)
    if problem is not None:
        raise SearchSpaceError(problem)


def check_fits_float(name: str, label: str, value: Any) -> None:
    """Raise if the number `value` is an int too large for a float (every sampler works in
    floats): 10**400 would otherwise fail deep inside a transform."""
    if is_number(value):
        try:
            float(value)
        except OverflowError:
            raise SearchSpaceError(
                f"{name!r}: {label} must fit a float (below about 1.8e308 in size), but got "
                f"an int of {len(str(abs(int(value))))} digits; use a smaller number"
            ) from None


def check_sampling(name: str, sampling: str | None) -> str:
    sampling = "linear" if sampling is None else str(sampling).lower()
    if sampling not in SAMPLINGS:
        raise SearchSpaceError(
            f"{name!r}: sampling must be one of {', '.join(SAMPLINGS)}, but got {sampling!r}"
        )
    return sampling


@dataclass(frozen=True)
class Param:
    """Base of all hyperparameter types. Subclasses are frozen value objects."""

    name: str
    kind: ClassVar[str] = ""

    # -- contract every type fulfils -------------------------------------------------
    def contains(self, value: Any) -> bool:
        """Whether `value` is one of the parameter's values (in any equal form: `3.0` for an Int)."""
        raise NotImplementedError

    def to_unit(self, value: Any) -> float:
        """Where `value` sits on the unit axis [0, 1] that samplers work on."""
        raise NotImplementedError

    def from_unit(self, u: float) -> Any:
        """The value at point `u` of the unit axis [0, 1] (the inverse of `to_unit`)."""
        raise NotImplementedError

    def grid_values(self) -> list[Any]:
        """Every value, in order, for grid search (SearchSpaceError for a continuous range)."""
        raise NotImplementedError

    def domain(self) -> dict[str, Any]:
        """The fields that define which values are allowed (no default, no name)."""
        raise NotImplementedError

    @property
    def default_value(self) -> Any:
        """The value used when no sampler chooses: the `default` given, else the first value."""
        raise NotImplementedError

    @property
    def is_discrete(self) -> bool:
        """Whether the parameter has finitely many values (a Float without `step` has not)."""
        return True

    @property
    def axis(self) -> AxisKind:
        """How the values sit on the unit axis (see `AxisKind`)."""
        raise NotImplementedError

    @property
    def cardinality(self) -> int | None:
        """How many values the parameter has; None when any point of [0, 1] is one."""
        raise NotImplementedError

    def to_unit_array(self, values: Sequence[Any]) -> np.ndarray:
        """`to_unit` of each value at once; NaN for a value outside the domain (None, for
        a trial without the parameter)."""
        raise NotImplementedError

    def from_unit_array(self, u: np.ndarray) -> list[Any]:
        """`from_unit` of each point at once (NaN gives None: no value)."""
        raise NotImplementedError

    # -- shared behaviour ---------------------------------------------------------------
    def validate_value(self, value: Any) -> Any:
        """Return `value` in canonical form, or raise naming the domain."""
        if not self.contains(value):
            raise SearchSpaceError(
                f"{value!r} is not a valid value of {self.describe()}; "
                "pick a value inside the domain"
            )
        return self.canonical(value)

    def canonical(self, value: Any) -> Any:
        """`value` in the parameter's own form (`3` for an Int given `3.0`), assumed contained."""
        return value

    def describe(self) -> str:
        """The parameter as its definition reads, e.g. `Int('units', min_value=32, ...)`."""
        inner = ", ".join(f"{k}={v!r}" for k, v in self.domain().items())
        return f"{type(self).__name__}({self.name!r}, {inner})"

    def same_domain(self, other: Param) -> bool:
        """Whether `other` allows exactly the same values (name and default aside)."""
        if self is other or self == other:  # the usual case: the same definition again
            return True
        return type(self) is type(other) and self.domain() == other.domain()

    def to_json(self) -> dict[str, Any]:
        """The definition as JSON, as storage keeps it (read back with `param_from_json`)."""
        data: dict[str, Any] = {"type": self.kind, "name": self.name}
        data.update(self.domain())
        # The default as given (None when left out), so from_json rebuilds an equal param.
        data["default"] = getattr(self, "default", None)
        return data
