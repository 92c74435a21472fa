"""Search spaces: hyperparameter types, conditions and the `HyperParameters` container."""

from tunelab.space.conditions import Condition
from tunelab.space.hyperparameters import HyperParameters
from tunelab.space.params import Boolean, Choice, Fixed, Float, Int, Param, param_from_json
from tunelab.space.search_space import Entry, SearchSpace

__all__ = [
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
    "param_from_json",
]
