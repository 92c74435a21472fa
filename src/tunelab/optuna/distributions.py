"""Optuna's distributions as tunelab parameters.

Two forms. The sampler's (`sampler_param`) is private to a `TunelabSampler`: a categorical
becomes an unordered Choice of its choices' indices (Optuna's own internal form), so any
list of choices works, None and mixed types included, and a single-valued distribution
becomes a Fixed one that no sampler is asked about. The importer's (`import_param`) is what
a user reads in tunelab's reports: the choices themselves, which tunelab holds only when
they are all numbers, all strings or all booleans.
"""

from __future__ import annotations

from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from tunelab.errors import SearchSpaceError
from tunelab.space import Choice, Fixed, Float, Int, Param


def cannot_express(name: str, distribution: BaseDistribution, why: str) -> SearchSpaceError:
    """The one line for a distribution tunelab has no parameter for."""
    return SearchSpaceError(f"parameter {name!r}: tunelab cannot express {distribution}: {why}")


def numeric_param(name: str, distribution: FloatDistribution | IntDistribution) -> Param:
    """Float or Int with the same range, step and log scale (Optuna never combines log
    with a step, so neither can this)."""
    kind = Float if isinstance(distribution, FloatDistribution) else Int
    step = distribution.step
    if isinstance(distribution, IntDistribution) and step == 1:
        step = None
    try:
        return kind(
            name,
            distribution.low,
            distribution.high,
            step=step,
            sampling="log" if distribution.log else "linear",
        )
    except SearchSpaceError as error:
        raise cannot_express(name, distribution, str(error)) from None


def sampler_param(name: str, distribution: BaseDistribution) -> Param:
    """The parameter a TunelabSampler's own study holds for `distribution`."""
    if isinstance(distribution, CategoricalDistribution):
        if distribution.single():
            return Fixed(name, value=0)
        return Choice(name, values=tuple(range(len(distribution.choices))), ordered=False)
    if isinstance(distribution, (FloatDistribution, IntDistribution)):
        if distribution.single():
            return Fixed(name, value=to_sampler_value(distribution, distribution.low))
        return numeric_param(name, distribution)
    raise cannot_express(name, distribution, "it is not a Float, Int or Categorical distribution")


def to_sampler_value(distribution: BaseDistribution, value: Any) -> Any:
    """Optuna's value as the sampler's parameter holds it (a choice's index)."""
    if isinstance(distribution, CategoricalDistribution):
        return int(distribution.to_internal_repr(value))
    if isinstance(distribution, IntDistribution):
        return int(value)
    return float(value)


def from_sampler_value(distribution: BaseDistribution, value: Any) -> Any:
    """The sampler parameter's value as Optuna's trial expects it."""
    if isinstance(distribution, CategoricalDistribution):
        return distribution.to_external_repr(value)
    if isinstance(distribution, IntDistribution):
        return int(value)
    return float(value)


def import_param(name: str, distribution: BaseDistribution) -> Param:
    """The parameter an imported study holds: the choices themselves, not their indices."""
    if isinstance(distribution, CategoricalDistribution):
        try:
            return Choice(name, values=tuple(distribution.choices), ordered=False)
        except SearchSpaceError as error:
            why = str(error).partition(": ")[2] or str(error)
            raise cannot_express(name, distribution, why) from None
    if isinstance(distribution, (FloatDistribution, IntDistribution)):
        return numeric_param(name, distribution)
    raise cannot_express(name, distribution, "it is not a Float, Int or Categorical distribution")
