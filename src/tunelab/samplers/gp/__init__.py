"""Gaussian-process Bayesian optimisation; see sampler.py for how it plans trials."""

from __future__ import annotations

from tunelab.samplers.gp.sampler import GPSampler

__all__ = ["GPSampler"]
