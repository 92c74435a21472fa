"""Samplers choose hyperparameter values; one algorithm per module."""

from __future__ import annotations

from typing import Any

from tunelab.samplers.base import Admission, Sampler, SampleRequest, Wait
from tunelab.samplers.grid import GridSampler
from tunelab.samplers.random import RandomSampler
from tunelab.samplers.sobol import SobolSampler

SAMPLERS: dict[str, type[Sampler]] = {
    cls.name: cls for cls in (RandomSampler, GridSampler, SobolSampler)
}


def make_sampler(spec: str | Sampler | dict[str, Any] | None, seed: int | None = None) -> Sampler:
    """A sampler from a name ('random', 'grid', 'sobol'), a stored JSON config, or itself."""
    if isinstance(spec, Sampler):
        return spec
    if spec is None:
        spec = "random"
    if isinstance(spec, dict):
        seed = spec.get("seed", seed)
        spec = str(spec.get("name"))
    cls = SAMPLERS.get(str(spec).lower())
    if cls is None:
        raise ValueError(
            f"unknown sampler {spec!r}; choose one of {', '.join(sorted(SAMPLERS))} "
            "or pass a Sampler instance"
        )
    return cls(seed=seed)


__all__ = [
    "SAMPLERS",
    "Admission",
    "GridSampler",
    "RandomSampler",
    "SampleRequest",
    "Sampler",
    "SobolSampler",
    "Wait",
    "make_sampler",
]
