"""Every built-in sampler passes the sampler conformance suite."""

from __future__ import annotations

import pytest

from tunelab.samplers import (
    SAMPLERS,
    AutoSampler,
    GPSampler,
    GridSampler,
    RandomSampler,
    Sampler,
    SobolSampler,
    TPESampler,
    make_sampler,
)
from tunelab.testing.sampler_conformance import (
    SamplerConformance,
    SeededSamplerConformance,
    check_different_seeds_differ,
    check_multi_objective,
    check_sampler,
    check_values_inside_space,
)


class TestRandomSampler(SeededSamplerConformance):
    def make_sampler(self, seed: int) -> Sampler:
        return RandomSampler(seed=seed)


class TestSobolSampler(SeededSamplerConformance):
    def make_sampler(self, seed: int) -> Sampler:
        return SobolSampler(seed=seed)


class TestTPESampler(SeededSamplerConformance):
    def make_sampler(self, seed: int) -> Sampler:
        return TPESampler(seed=seed, n_startup_trials=5)


class TestGPSampler(SeededSamplerConformance):
    def make_sampler(self, seed: int) -> Sampler:
        return GPSampler(seed=seed, n_startup_trials=5)


class TestAutoSampler(SeededSamplerConformance):
    def make_sampler(self, seed: int) -> Sampler:
        return AutoSampler(seed=seed)


class TestGridSampler(SamplerConformance):
    continuous = False

    def make_sampler(self, seed: int) -> Sampler:
        return GridSampler(seed=seed)


class _ConstantSampler(Sampler):
    """Always the middle of the unit interval: valid, but ignores its seed."""

    name = "constant"

    def sample(self, request):
        return request.param.from_unit(0.5)


class _OutOfRangeSampler(RandomSampler):
    """Breaks the contract: the lower bound minus one."""

    def sample(self, request):
        value = super().sample(request)
        if request.param.name == "units":
            return request.param.min_value - 1
        return value


def test_suite_rejects_a_sampler_that_ignores_its_seed():
    check_values_inside_space(_ConstantSampler)  # valid values ...
    with pytest.raises(AssertionError, match="seeds 1 and 2 gave the same values"):
        check_different_seeds_differ(_ConstantSampler)  # ... but no randomness


def test_suite_rejects_values_outside_the_space():
    with pytest.raises(AssertionError, match=r"outside the space.*'units'"):
        check_sampler(lambda seed: _OutOfRangeSampler(seed=seed))


@pytest.mark.parametrize("name", sorted(n for n, cls in SAMPLERS.items() if cls.multi_objective))
def test_samplers_marked_multi_objective_serve_a_study_of_two_objectives(name: str) -> None:
    check_multi_objective(
        lambda seed: make_sampler({"name": name, "seed": seed}), continuous=name != "grid"
    )


def test_the_multi_objective_check_refuses_a_sampler_not_marked_so() -> None:
    with pytest.raises(AssertionError, match="not marked multi_objective"):
        check_multi_objective(_ConstantSampler)
