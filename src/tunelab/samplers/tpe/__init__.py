"""Tree-structured Parzen estimator: the sampler, its density estimators and its split."""

from __future__ import annotations

from tunelab.samplers.tpe.sampler import TPESampler

__all__ = ["TPESampler"]
