"""The GP sampler passes the sampler conformance checks in a study of two objectives and a
constraint (tunelab.testing.sampler_objectives)."""

from __future__ import annotations

from tunelab.samplers import GPSampler, Sampler
from tunelab.testing.sampler_objectives import MultiObjectiveConformance


class TestGPSamplerObjectives(MultiObjectiveConformance):
    def make_sampler(self, seed: int) -> Sampler:
        return GPSampler(seed=seed, n_startup_trials=5)
