"""Search spaces: hyperparameter types, conditions and the `HyperParameters` container."""

from tunelab.space.conditions import Condition
from tunelab.space.encoding import UnitEncoding
from tunelab.space.hyperparameters import HyperParameters, hyperparameters_from
from tunelab.space.params import (
    AxisKind,
    Boolean,
    Choice,
    Fixed,
    Float,
    Int,
    Param,
    param_from_json,
)
from tunelab.space.search_space import Entry, SearchSpace

__all__ = [
    "AxisKind",
    "Boolean",
    "Choice",
    "Condition",
    "Entry",
    "Fixed",
    "Float",
    "HyperParameters",
    "Int",
    "Param",
    "SearchSpace",
    "UnitEncoding",
    "hyperparameters_from",
    "param_from_json",
]
