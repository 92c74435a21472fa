"""Samplers choose hyperparameter values; one algorithm per module."""

from __future__ import annotations

from typing import Any

from tunelab.errors import ConfigurationError
from tunelab.samplers.auto import AutoSampler
from tunelab.samplers.base import Admission, Sampler, SampleRequest, Wait
from tunelab.samplers.gp import GPSampler
from tunelab.samplers.grid import GridSampler
from tunelab.samplers.random import RandomSampler
from tunelab.samplers.sobol import SobolSampler
from tunelab.samplers.tpe import TPESampler

SAMPLERS: dict[str, type[Sampler]] = {
    cls.name: cls
    for cls in (AutoSampler, RandomSampler, GridSampler, SobolSampler, TPESampler, GPSampler)
}
"""Sampler classes by the name a study stores (`"auto"`, `"random"`, `"grid"`, `"sobol"`, `"tpe"`, `"gp"`)."""


def make_sampler(spec: str | Sampler | dict[str, Any] | None, seed: int | None = None) -> Sampler:
    """A sampler from a name (see SAMPLERS), a stored JSON config, or itself."""
    if isinstance(spec, Sampler):
        return spec
    config: dict[str, Any] = dict(spec) if isinstance(spec, dict) else {"name": spec or "auto"}
    if seed is not None and "seed" not in config:
        config["seed"] = seed
    cls = SAMPLERS.get(str(config.get("name")).lower())
    if cls is None:
        raise ConfigurationError(
            f"unknown sampler {config.get('name')!r}; choose one of {', '.join(sorted(SAMPLERS))} "
            "or pass a Sampler instance"
        )
    return cls.from_json({**config, "name": cls.name})


__all__ = [
    "SAMPLERS",
    "Admission",
    "AutoSampler",
    "GPSampler",
    "GridSampler",
    "RandomSampler",
    "SampleRequest",
    "Sampler",
    "SobolSampler",
    "TPESampler",
    "Wait",
    "make_sampler",
]
