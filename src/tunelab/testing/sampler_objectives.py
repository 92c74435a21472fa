"""Sampler conformance for studies of several objectives with a constraint: the checks of
sampler_conformance.py that read values, run where every trial returns two objectives
and a constraint metric. Kept apart so each file holds one subject.

    class TestMySamplerObjectives(MultiObjectiveConformance):
        def make_sampler(self, seed):
            return MySampler(seed=seed)

For samplers with `multi_objective = True`; the study refuses the others.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from tunelab.samplers import Sampler, SampleRequest
from tunelab.study import Study, create_study
from tunelab.testing.sampler_conformance import define_mixed_space
from tunelab.trial import FrozenTrial, Trial
from tunelab.types import TrialState

SamplerFactory = Callable[[int], Sampler]
METRICS = ("loss", "size")
DIRECTIONS = ("minimize", "maximize")
CONSTRAINTS = {"latency": ("<=", 600.0)}


def _objective(trial: Trial) -> dict[str, float]:
    define_mixed_space(trial.hp)
    key = repr(sorted(trial.params.items())).encode()
    return {
        "loss": float(zlib.crc32(key) % 1000),
        "size": float(zlib.adler32(key) % 1000),
        "latency": float(zlib.crc32(key[::-1]) % 1000),  # infeasible above 600: 4 in 10
    }


def run_multi_objective_study(
    sampler: Sampler, n_trials: int, seed: int | None = None, name: str = "objectives"
) -> Study:
    """`n_trials` trials of two objectives and one constraint over the mixed space."""
    study = create_study(
        name,
        storage=":memory:",
        metrics=list(METRICS),
        directions=list(DIRECTIONS),
        constraints=CONSTRAINTS,
        sampler=sampler,
        seed=seed,
    )
    study.optimize(_objective, n_trials=n_trials, catch=())
    return study


def check_multi_objective_values_inside_space(
    factory: SamplerFactory, n_trials: int = 30, seed: int = 7
) -> None:
    """Every trial completes with one value per objective, and every value is a valid,
    canonical value of its parameter."""
    study = run_multi_objective_study(factory(seed), n_trials, seed)
    trials = study.trials
    assert len(trials) == n_trials, f"the study ran {len(trials)} of {n_trials} trials"
    assert any(not t.feasible for t in trials) and any(t.feasible for t in trials)
    for t in trials:
        assert t.state is TrialState.COMPLETE, f"trial {t.number} is {t.state}: {t.reason}"
        assert t.values is not None and len(t.values) == len(METRICS), t.values
        for name, value in t.params.items():
            param = study.space.entries[name].param
            assert param.contains(value), f"trial {t.number}: {name}={value!r} not in {param}"
            assert param.canonical(value) == value, f"trial {t.number}: {name}={value!r}"


def _params(trials: list[FrozenTrial]) -> list[list[tuple[str, object]]]:
    return [list(t.params.items()) for t in trials]


def check_multi_objective_replay(
    factory: SamplerFactory, n_trials: int = 20, seed: int = 5
) -> None:
    """The same seed chooses the same values, and a fresh sampler given a trial's request
    (its objectives included) returns the value the study recorded."""
    study = run_multi_objective_study(factory(seed), n_trials, seed, name="a")
    again = run_multi_objective_study(factory(seed), n_trials, seed, name="b")
    assert _params(study.trials) == _params(again.trials), "the same seed gave different values"
    fresh, trials = factory(seed), study.trials
    for t in trials:
        chosen: dict[str, object] = {}
        before = tuple(h for h in trials if h.number < t.number)
        for name, value in t.params.items():
            entry = study.space.entries[name]
            request = SampleRequest(
                t.number, entry.param, entry.conditions, dict(chosen), study.space, before,
                study.direction, study.metric, study.objectives,
            )  # fmt: skip
            replayed = fresh.sample(request)
            assert replayed == value, (
                f"trial {t.number}: replaying {name!r} gave {replayed!r}, the study recorded "
                f"{value!r}"
            )
            chosen[name] = value


class MultiObjectiveConformance:
    """Subclass as `TestXxx` in a pytest module and define `make_sampler(seed)`."""

    def make_sampler(self, seed: int) -> Sampler:
        raise NotImplementedError

    def test_multi_objective_values_inside_space(self) -> None:
        check_multi_objective_values_inside_space(self.make_sampler)

    def test_multi_objective_replay(self) -> None:
        check_multi_objective_replay(self.make_sampler)
