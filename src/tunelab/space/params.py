"""One small class per hyperparameter type, and their JSON registry.

Each type validates its domain on construction, checks membership, maps values to and
from the unit interval (so model-based samplers work in [0, 1]), lists its grid values,
and round-trips through JSON. Names and arguments follow Keras Tuner's `HyperParameters`
so an existing `build_model(hp)` runs unchanged. The base class is in base.py, the
numeric ranges in numeric.py, the listed values in choices.py.
"""

from __future__ import annotations

from typing import Any

from tunelab.errors import SearchSpaceError
from tunelab.space.base import MAX_GRID_VALUES, SAMPLINGS, AxisKind, Param
from tunelab.space.choices import Boolean, Choice, Fixed
from tunelab.space.numeric import Float, Int

__all__ = [
    "MAX_GRID_VALUES",
    "SAMPLINGS",
    "AxisKind",
    "Boolean",
    "Choice",
    "Fixed",
    "Float",
    "Int",
    "Param",
    "param_from_json",
]

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
    kind = data.pop("type", None)
    cls = _TYPES.get(str(kind))
    if cls is None:
        raise SearchSpaceError(
            f"unknown hyperparameter type {kind!r} in stored data; "
            f"known types: {', '.join(sorted(_TYPES))}"
        )
    if cls is Choice:
        data["values"] = tuple(data.get("values", ()))
    return cls(**data)
