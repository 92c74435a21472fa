"""Numeric ranges: Int and Float share the transforms; they differ in rounding and steps.

A range maps to [0, 1] by its sampling (linear, log, or reverse-log: dense near the top).
A discrete range (ints, stepped floats) cuts [0, 1] into one equal cell per value, so the
cube does not favour values that a log transform happens to spread wide. An Int on a log
scale without a step is the exception (`AxisKind.ROUNDED`): it has too many values for
cells to help, so it keeps the continuous transform and rounds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tunelab.errors import SearchSpaceError
from tunelab.space.base import (
    MAX_GRID_VALUES,
    AxisKind,
    Param,
    absent_where_nan,
    as_floats,
    cell_index,
    check_fits_float,
    check_name,
    check_sampling,
    clean_float,
    is_number,
    unit_points,
)
from tunelab.space.ranges import check_range

_MAX_KEPT_STEPS = 4096  # grid values a stepped Float keeps (see Float._stepped)


@dataclass(frozen=True)
class _Numeric(Param):
    min_value: Any = 0
    max_value: Any = 1
    step: Any = None
    sampling: str = "linear"
    default: Any = None

    def _validate_range(self) -> None:
        check_range(self.name, self.min_value, self.max_value, self.step, self.sampling)

    def _check_default(self) -> None:
        if self.default is not None and not self.contains(self.default):
            raise SearchSpaceError(
                f"{self.name!r}: default={self.default!r} is outside the domain "
                f"[{self.min_value}, {self.max_value}]"
                + (f" with step={self.step}" if self.step is not None else "")
                + "; pick a default inside it or leave it out"
            )

    # Continuous transform between value and unit interval, by sampling.
    def _t(self, v: float) -> float:
        lo, hi = float(self.min_value), float(self.max_value)
        span = math.log(hi / lo) if self.sampling != "linear" else hi - lo
        if hi == lo or span == 0:
            return 0.5
        # log(v / lo), not log(v) - log(lo): exact at lo, and precise on narrow ranges
        if self.sampling == "log":
            return math.log(v / lo) / span
        if self.sampling == "reverse_log":
            # Dense near max_value: v = max + min - min * (max/min) ** (1 - u)
            inner = min(max(hi + lo - v, lo), hi)  # hi + lo - lo may round above hi
            return 1.0 - math.log(inner / lo) / span
        return (v - lo) / (hi - lo)

    def _t_inv(self, u: float) -> float:
        lo, hi = float(self.min_value), float(self.max_value)
        u = min(max(float(u), 0.0), 1.0)
        if self.sampling == "log":
            v = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        elif self.sampling == "reverse_log":
            v = hi + lo - lo * (hi / lo) ** (1.0 - u)
        else:
            v = lo + u * (hi - lo)
        return min(max(v, lo), hi)

    def _t_array(self, v: np.ndarray) -> np.ndarray:
        """`_t` of each value (NaN stays NaN)."""
        lo, hi = float(self.min_value), float(self.max_value)
        span = math.log(hi / lo) if self.sampling != "linear" else hi - lo
        if hi == lo or span == 0:
            return np.where(np.isnan(v), math.nan, 0.5)
        if self.sampling == "log":
            return np.log(v / lo) / span
        if self.sampling == "reverse_log":
            inner = np.clip(hi + lo - v, lo, hi)
            return 1.0 - np.log(inner / lo) / span
        return (v - lo) / (hi - lo)

    def _t_inv_array(self, u: np.ndarray) -> np.ndarray:
        """`_t_inv` of each point (NaN stays NaN)."""
        lo, hi = float(self.min_value), float(self.max_value)
        u = np.clip(u, 0.0, 1.0)
        if self.sampling == "log":
            v = np.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        elif self.sampling == "reverse_log":
            v = hi + lo - lo * (hi / lo) ** (1.0 - u)
        else:
            v = lo + u * (hi - lo)
        return np.clip(v, lo, hi)

    def _step_index_array(self, v: np.ndarray) -> np.ndarray:
        """The (fractional) step index of each value: `_index_of`, vectorised."""
        if self.sampling == "log":
            return np.log(v / self.min_value) / math.log(self.step)
        return (v - self.min_value) / self.step

    def _on_step_array(self, v: np.ndarray) -> np.ndarray:
        k = self._step_index_array(v)
        n = self._n_steps()
        return (np.abs(k - np.round(k)) < 1e-6) & (k >= -1e-6) & (k <= n - 1 + 1e-6)

    # Stepped domains: value k of n.
    def _n_steps(self) -> int:
        memo = self.__dict__.get("_memo")
        if memo is not None:
            return memo[0]
        lo, hi, step = self.min_value, self.max_value, self.step
        if hi == lo:
            return 1
        if self.sampling == "log":
            return math.floor(math.log(hi / lo) / math.log(step) + 1e-9) + 1
        return math.floor((hi - lo) / step + 1e-9) + 1

    def _kth(self, k: int) -> float:
        if self.sampling == "log":
            return self.min_value * self.step**k
        return self.min_value + k * self.step

    def _index_of(self, value: float) -> float:
        if self.sampling == "log":
            return math.log(value / self.min_value) / math.log(self.step)
        return (value - self.min_value) / self.step

    def _on_step(self, value: float) -> bool:
        k = self._index_of(value)
        return abs(k - round(k)) < 1e-6 and -1e-6 <= k <= self._n_steps() - 1 + 1e-6

    def domain(self) -> dict[str, Any]:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "step": self.step,
            "sampling": self.sampling,
        }

    @property
    def default_value(self) -> Any:
        return self.canonical(self.min_value) if self.default is None else self.default


@dataclass(frozen=True)
class Int(_Numeric):
    """An integer in [min_value, max_value] (both included)."""

    kind: ClassVar[str] = "int"

    def __post_init__(self) -> None:
        check_name(self.name)
        object.__setattr__(self, "sampling", check_sampling(self.name, self.sampling))
        for label in ("min_value", "max_value", "step", "default"):
            check_fits_float(self.name, label, getattr(self, label))
        for label in ("min_value", "max_value"):
            v = getattr(self, label)
            if is_number(v) and float(v).is_integer():
                object.__setattr__(self, label, int(v))
            elif is_number(v) and math.isfinite(float(v)):  # inf, NaN: check_range says so
                raise SearchSpaceError(
                    f"{self.name!r}: Int needs integer bounds, but got {label}={v!r}; "
                    "use Float for fractional values"
                )
        if self.step is not None and is_number(self.step):
            if not float(self.step).is_integer():
                raise SearchSpaceError(
                    f"{self.name!r}: Int needs an integer step, but got step={self.step!r}"
                )
            object.__setattr__(self, "step", int(self.step))
        self._validate_range()
        if self.step == 1 and self.sampling == "linear":
            object.__setattr__(self, "step", None)
        self._check_default()
        if self.default is not None:
            object.__setattr__(self, "default", int(self.default))  # 3.0 -> 3

    def contains(self, value: Any) -> bool:
        if not is_number(value) or not float(value).is_integer():
            return False
        if not self.min_value <= value <= self.max_value:
            return False
        return self.step is None or self._on_step(int(value))

    def canonical(self, value: Any) -> int:
        return int(value)

    def _n_values(self) -> int:
        if self.step is not None:
            return self._n_steps()
        return self.max_value - self.min_value + 1

    def from_unit(self, u: float) -> int:
        if self.step is None and self.sampling != "linear":
            # Any integer, log- or reverse-log-distributed.
            return int(min(max(round(self._t_inv(u)), self.min_value), self.max_value))
        n = self._n_values()
        k = min(math.floor(min(max(float(u), 0.0), 1.0) * n), n - 1)
        if self.step is None:
            return self.min_value + k
        return round(self._kth(k))

    def to_unit(self, value: Any) -> float:
        if self.step is None and self.sampling != "linear":
            return self._t(float(value))
        n = self._n_values()
        k = (int(value) - self.min_value) if self.step is None else round(self._index_of(value))
        return (k + 0.5) / n

    @property
    def axis(self) -> AxisKind:
        if self.step is None and self.sampling != "linear":
            return AxisKind.ROUNDED
        return AxisKind.ORDINAL

    @property
    def cardinality(self) -> int:
        if self.step is None:
            return self.max_value - self.min_value + 1
        return self._n_steps()

    def to_unit_array(self, values: Sequence[Any]) -> np.ndarray:
        x = as_floats(values)
        ok = (x >= self.min_value) & (x <= self.max_value)  # False for NaN, silently
        x = np.where(ok, x, self.min_value)  # a harmless value where it is masked anyway
        ok &= x == np.floor(x)
        if self.step is not None:
            ok &= self._on_step_array(x)
        if self.step is None and self.sampling != "linear":
            u = self._t_array(x)
        else:
            k = x - self.min_value if self.step is None else np.round(self._step_index_array(x))
            u = (k + 0.5) / self._n_values()
        return np.where(ok, u, math.nan)

    def from_unit_array(self, u: np.ndarray) -> list[Any]:
        u, at = unit_points(u)
        if self.step is None and self.sampling != "linear":
            v = np.clip(np.round(self._t_inv_array(at)), self.min_value, self.max_value)
            out: list[Any] = [int(x) for x in v.tolist()]
        else:
            k = cell_index(at, self._n_values()).tolist()
            if self.step is None:
                out = [self.min_value + i for i in k]
            else:
                out = [round(self._kth(i)) for i in k]
        return absent_where_nan(u, out)

    def grid_values(self) -> list[int]:
        n = self._n_values()
        if n > MAX_GRID_VALUES:
            raise SearchSpaceError(
                f"{self.describe()} has {n} values, too many for grid search; give a step"
            )
        if self.step is None:
            return list(range(self.min_value, self.max_value + 1))
        return [round(self._kth(k)) for k in range(n)]


@dataclass(frozen=True)
class Float(_Numeric):
    """A real number in [min_value, max_value], optionally on a step grid."""

    kind: ClassVar[str] = "float"

    def __post_init__(self) -> None:
        check_name(self.name)
        object.__setattr__(self, "sampling", check_sampling(self.name, self.sampling))
        for label in ("min_value", "max_value", "step", "default"):
            check_fits_float(self.name, label, getattr(self, label))
        for label in ("min_value", "max_value", "step"):
            v = getattr(self, label)
            if is_number(v):
                object.__setattr__(self, label, float(v))
        self._validate_range()
        self._check_default()
        if self.default is not None:
            object.__setattr__(self, "default", self.canonical(self.default))

    @property
    def is_discrete(self) -> bool:
        return self.step is not None

    def contains(self, value: Any) -> bool:
        if not is_number(value):
            return False
        v = float(value)
        if math.isnan(v):
            return False
        span = self.max_value - self.min_value
        tol = 1e-9 * max(abs(self.max_value), abs(self.min_value), span, 1e-300)
        if not self.min_value - tol <= v <= self.max_value + tol:
            return False
        return self.step is None or self._on_step(v)

    def canonical(self, value: Any) -> float:
        if self.step is not None:
            return self._stepped(round(self._index_of(float(value))))
        return min(max(float(value), self.min_value), self.max_value)

    def _stepped(self, k: int) -> float:
        """Value k of the step grid, without binary noise (0.3, not 0.30000000000000004)
        unless rounding would move it off its step or out of the range. Kept per k: a
        sampler asks for the same few values over and over."""
        memo: tuple[int, dict[int, float]] | None = self.__dict__.get("_memo")
        if memo is None:  # made on first use, after __post_init__ has settled the fields
            memo = self.__dict__["_memo"] = (self._n_steps(), {})
        kept = memo[1]
        value = kept.get(k)
        if value is None:
            value = self._compute_stepped(k)
            if len(kept) < _MAX_KEPT_STEPS:
                kept[k] = value
        return value

    def _compute_stepped(self, k: int) -> float:
        k = min(max(k, 0), self._n_steps() - 1)
        raw = min(self._kth(k), self.max_value)
        clean = clean_float(raw)
        if self.min_value <= clean <= self.max_value and abs(self._index_of(clean) - k) < 1e-9:
            return clean
        return raw

    def from_unit(self, u: float) -> float:
        if self.step is None:
            return self._t_inv(u)
        n = self._n_steps()
        k = min(math.floor(min(max(float(u), 0.0), 1.0) * n), n - 1)
        return self._stepped(k)

    def to_unit(self, value: Any) -> float:
        if self.step is None:
            return self._t(float(value))
        return (round(self._index_of(float(value))) + 0.5) / self._n_steps()

    @property
    def axis(self) -> AxisKind:
        return AxisKind.CONTINUOUS if self.step is None else AxisKind.ORDINAL

    @property
    def cardinality(self) -> int | None:
        return None if self.step is None else self._n_steps()

    def to_unit_array(self, values: Sequence[Any]) -> np.ndarray:
        x = as_floats(values)
        lo, hi = self.min_value, self.max_value
        tol = 1e-9 * max(abs(hi), abs(lo), hi - lo, 1e-300)
        ok = (x >= lo - tol) & (x <= hi + tol)  # False for NaN, silently
        x = np.clip(np.where(ok, x, lo), lo, hi)  # masked where not ok; canonical where ok
        if self.step is None:
            u = self._t_array(x)
        else:
            ok &= self._on_step_array(x)
            u = (np.round(self._step_index_array(x)) + 0.5) / self._n_steps()
        return np.where(ok, u, math.nan)

    def from_unit_array(self, u: np.ndarray) -> list[Any]:
        u, at = unit_points(u)
        if self.step is None:
            out: list[Any] = self._t_inv_array(at).tolist()
        else:
            out = [self._stepped(k) for k in cell_index(at, self._n_steps()).tolist()]
        return absent_where_nan(u, out)

    def grid_values(self) -> list[float]:
        if self.step is None:
            raise SearchSpaceError(
                f"{self.describe()} is continuous: grid search needs a step; "
                "give step= or use Choice with explicit values"
            )
        n = self._n_steps()
        if n > MAX_GRID_VALUES:
            raise SearchSpaceError(
                f"{self.describe()} has {n} values, too many for grid search; use a larger step"
            )
        return [self._stepped(k) for k in range(n)]
