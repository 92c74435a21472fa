"""The search space of a TunelabSearchCV: estimator parameter names mapped to tunelab
parameters, checked against the estimator before any study is touched."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab.errors import ConfigurationError, ConfigurationTypeError
from tunelab.space import Param
from tunelab.trial import Trial


def checked_space(estimator: Any, param_space: Any) -> dict[str, Param]:
    """`param_space` as a dict, or a one-line error naming what is wrong and the fix: a key
    the estimator does not have (with its valid names), a value that is not a tunelab
    parameter, two keys that share one tunelab name with different domains."""
    if not isinstance(param_space, Mapping) or not param_space:
        raise ConfigurationTypeError(
            "param_space must be a non-empty dict of estimator parameter name -> tunelab "
            f"parameter, e.g. {{'alpha': Float('alpha', 1e-5, 1e-1, sampling='log')}}, but got "
            f"{param_space!r:.80}"
        )
    valid = estimator.get_params(deep=True)
    by_name: dict[str, Param] = {}
    for key, param in param_space.items():
        if key not in valid:
            raise ConfigurationError(
                f"param_space names {key!r}, which {type(estimator).__name__} does not have; "
                f"its parameters are: {', '.join(sorted(valid))}"
            )
        if not isinstance(param, Param):
            raise ConfigurationTypeError(
                f"param_space[{key!r}] must be a tunelab.space parameter (Int, Float, Choice, "
                f"Boolean, Fixed), but got {param!r:.80}; e.g. Choice({key!r}, [...]) for a "
                "list of values"
            )
        seen = by_name.setdefault(param.name, param)
        if seen != param:
            raise ConfigurationError(
                f"param_space holds two different parameters named {param.name!r} (one is "
                f"under {key!r}); give each its own name"
            )
    return dict(param_space)


def draw(trial: Trial, space: Mapping[str, Param]) -> dict[str, Any]:
    """The trial's value of every parameter, keyed by estimator parameter name."""
    return {key: trial.hp.define(param) for key, param in space.items()}


def estimator_params(space: Mapping[str, Param], trial_params: Mapping[str, Any]) -> dict[str, Any]:
    """A stored trial's values keyed by estimator parameter name (for cv_results_)."""
    return {key: trial_params.get(param.name) for key, param in space.items()}
