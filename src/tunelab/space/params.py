"""One small class per hyperparameter type.

Each type validates its domain on construction, checks membership, maps values
to and from the unit interval (so model-based samplers work in [0, 1]), lists
its grid values, and round-trips through JSON. Names and arguments follow
Keras Tuner's `HyperParameters` so an existing `build_model(hp)` runs unchanged.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tunelab.errors import SearchSpaceError

SAMPLINGS = ("linear", "log", "reverse_log")
MAX_GRID_VALUES = 100_000
_MAX_KEPT_STEPS = 4096  # grid values a stepped Float keeps (see Float._stepped)


def _clean_float(value: float) -> float:
    """Round away binary noise such as 0.30000000000000004 (12 significant digits)."""
    return float(f"{value:.12g}")


def _is_int(value: Any) -> bool:
    if type(value) is int:  # the common case, without the slower ABC check
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    if type(value) is float or type(value) is int:
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_nan(value: Any) -> bool:
    return _is_number(value) and math.isnan(float(value))


def _check_sampling(name: str, sampling: str | None) -> str:
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
        raise NotImplementedError

    def to_unit(self, value: Any) -> float:
        raise NotImplementedError

    def from_unit(self, u: float) -> Any:
        raise NotImplementedError

    def grid_values(self) -> list[Any]:
        raise NotImplementedError

    def domain(self) -> dict[str, Any]:
        """The fields that define which values are allowed (no default, no name)."""
        raise NotImplementedError

    @property
    def default_value(self) -> Any:
        raise NotImplementedError

    @property
    def is_discrete(self) -> bool:
        return True

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
        return value

    def describe(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.domain().items())
        return f"{type(self).__name__}({self.name!r}, {inner})"

    def same_domain(self, other: Param) -> bool:
        if self is other or self == other:  # the usual case: the same definition again
            return True
        return type(self) is type(other) and self.domain() == other.domain()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.kind, "name": self.name}
        data.update(self.domain())
        # The default as given (None when left out), so from_json rebuilds an equal param.
        data["default"] = getattr(self, "default", None)
        return data

    @staticmethod
    def from_json(data: dict[str, Any]) -> Param:
        data = dict(data)
        kind = data.pop("type", None)
        cls = _TYPES.get(str(kind))
        if cls is None:
            raise SearchSpaceError(
                f"unknown hyperparameter type {kind!r} in stored data; "
                f"known types: {', '.join(sorted(_TYPES))}"
            )
        return cls(**data)


# ----------------------------------------------------------------------------------------
# Numeric ranges: Int and Float share the transforms; they differ in rounding and steps.
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Numeric(Param):
    min_value: Any = 0
    max_value: Any = 1
    step: Any = None
    sampling: str = "linear"
    default: Any = None

    def _validate_range(self) -> None:
        name = self.name
        if not _is_number(self.min_value) or not _is_number(self.max_value):
            raise SearchSpaceError(
                f"{name!r}: min_value and max_value must be numbers, but got "
                f"(min_value={self.min_value!r}, max_value={self.max_value!r})"
            )
        if not (math.isfinite(float(self.min_value)) and math.isfinite(float(self.max_value))):
            raise SearchSpaceError(
                f"{name!r}: min_value and max_value must be finite, but got "
                f"(min_value={self.min_value!r}, max_value={self.max_value!r})"
            )
        if self.min_value > self.max_value:
            raise SearchSpaceError(
                f"{name!r}: `min_value <= max_value` must hold, but got "
                f"(min_value={self.min_value!r}, max_value={self.max_value!r}); swap them"
            )
        if self.sampling in ("log", "reverse_log") and self.min_value <= 0:
            raise SearchSpaceError(
                f"{name!r}: {self.sampling} sampling needs `min_value > 0`, but got "
                f"min_value={self.min_value!r}; use a positive lower bound or linear sampling"
            )
        if self.step is not None:
            if not _is_number(self.step) or self.step <= 0:
                raise SearchSpaceError(
                    f"{name!r}: step must be a positive number, but got step={self.step!r}"
                )
            if self.sampling == "log":
                if self.step <= 1:
                    raise SearchSpaceError(
                        f"{name!r}: with log sampling the step is a multiplier and must be "
                        f"> 1, but got step={self.step!r} (e.g. step=2 gives 1, 2, 4, 8…)"
                    )
                if self.max_value > self.min_value and self.step > self.max_value / self.min_value:
                    raise SearchSpaceError(
                        f"{name!r}: the step multiplier must not exceed max_value/min_value, "
                        f"but got step={self.step!r} for range [{self.min_value}, "
                        f"{self.max_value}]; use a smaller step"
                    )
            elif self.max_value > self.min_value and self.step > self.max_value - self.min_value:
                raise SearchSpaceError(
                    f"{name!r}: step must not be larger than the range, but got "
                    f"step={self.step!r} for range [{self.min_value}, {self.max_value}]; "
                    "use a smaller step"
                )
            if self.sampling == "reverse_log":
                raise SearchSpaceError(
                    f"{name!r}: reverse_log sampling takes no step; drop step= or use linear"
                )

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
        log_span = math.log(hi) - math.log(lo) if self.sampling != "linear" else hi - lo
        if hi == lo or log_span == 0:  # adjacent floats can have equal logarithms
            return 0.5
        if self.sampling == "log":
            return (math.log(v) - math.log(lo)) / log_span
        if self.sampling == "reverse_log":
            # Dense near max_value: v = max + min - min * (max/min) ** (1 - u)
            inner = min(max(hi + lo - v, lo), hi)  # hi + lo - lo may round above hi
            return 1.0 - (math.log(inner) - math.log(lo)) / log_span
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
        object.__setattr__(self, "sampling", _check_sampling(self.name, self.sampling))
        for label in ("min_value", "max_value"):
            v = getattr(self, label)
            if _is_number(v) and float(v).is_integer():
                object.__setattr__(self, label, int(v))
            elif _is_number(v):
                raise SearchSpaceError(
                    f"{self.name!r}: Int needs integer bounds, but got {label}={v!r}; "
                    "use Float for fractional values"
                )
        if self.step is not None and _is_number(self.step):
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
        if not _is_number(value) or not float(value).is_integer():
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
        object.__setattr__(self, "sampling", _check_sampling(self.name, self.sampling))
        for label in ("min_value", "max_value", "step"):
            v = getattr(self, label)
            if _is_number(v):
                object.__setattr__(self, label, float(v))
        self._validate_range()
        self._check_default()
        if self.default is not None:
            object.__setattr__(self, "default", self.canonical(self.default))

    @property
    def is_discrete(self) -> bool:
        return self.step is not None

    def contains(self, value: Any) -> bool:
        if not _is_number(value):
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
        clean = _clean_float(raw)
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


# ----------------------------------------------------------------------------------------
# Categorical types
# ----------------------------------------------------------------------------------------


def _choice_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "str"
    return type(value).__name__


@dataclass(frozen=True)
class Choice(Param):
    """One of a list of values (all numbers, all strings, or all booleans)."""

    values: tuple[Any, ...] = field(default=())
    ordered: bool | None = None
    default: Any = None
    kind: ClassVar[str] = "choice"

    def __post_init__(self) -> None:
        values = self.values
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise SearchSpaceError(
                f"{self.name!r}: Choice values must be a list, but got {values!r}"
            )
        if len(values) == 0:
            raise SearchSpaceError(
                f"{self.name!r}: Choice needs at least one value, but got an empty list"
            )
        kinds = {_choice_kind(v) for v in values}
        if any(_is_nan(v) for v in values):
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
                [int(v) for v in values]
                if all(map(_is_int, values))
                else [float(v) for v in values]
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
                kind = kind or _choice_kind(value)
                if _choice_kind(v) == kind:
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
        if _choice_kind(self.value) not in ("bool", "number", "str"):
            raise SearchSpaceError(
                f"{self.name!r}: Fixed value must be a number, string or boolean, "
                f"but got {self.value!r}"
            )
        if _is_nan(self.value):
            raise SearchSpaceError(
                f"{self.name!r}: Fixed value must not be NaN (it equals nothing, so no "
                "recorded value could match it)"
            )

    def contains(self, value: Any) -> bool:
        return _choice_kind(value) == _choice_kind(self.value) and value == self.value

    def from_unit(self, u: float) -> Any:
        return self.value

    def to_unit(self, value: Any) -> float:
        return 0.5

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


_TYPES: dict[str, type[Param]] = {
    "int": Int,
    "float": Float,
    "choice": Choice,
    "bool": Boolean,
    "fixed": Fixed,
}


def param_from_json(data: dict[str, Any]) -> Param:
    """Rebuild a hyperparameter from its `to_json()` form."""
    data = dict(data)
    if data.get("type") == "choice":
        data["values"] = tuple(data.get("values", ()))
    return Param.from_json(data)
