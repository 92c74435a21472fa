"""Random search: each value drawn independently through the parameter's unit mapping."""

from __future__ import annotations

from typing import Any

from tunelab.samplers.base import Sampler, SampleRequest


class RandomSampler(Sampler):
    """Uniform in the unit cube, so log parameters are log-uniform and steps are respected."""

    name = "random"
    multi_objective = True  # it never reads values

    def sample(self, request: SampleRequest) -> Any:
        u = self.rng(request.trial_number, request.param.name).random()
        return request.param.from_unit(u)
