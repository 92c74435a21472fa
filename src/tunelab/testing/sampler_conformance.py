"""The contract every sampler fulfils, as checks a test suite can run.

Each check takes a *factory*: a callable that builds a fresh sampler from a seed.
Run them all with `check_sampler(factory)` (and, for a sampler marked `multi_objective`,
`check_multi_objective(factory)`), or subclass `SeededSamplerConformance`
(samplers that draw at random) or `SamplerConformance` (deterministic ones, such as
grid) in a pytest module to get one test per check:

    class TestMySampler(SeededSamplerConformance):
        def make_sampler(self, seed):
            return MySampler(seed=seed)

The checks run real studies in memory over a mixed, conditional space, so they
test the sampler the way the study calls it (including `needs_lock` samplers).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from tunelab.errors import SearchSpaceError
from tunelab.samplers import Sampler, SampleRequest, make_sampler
from tunelab.space import Boolean, Choice, Fixed, Float, HyperParameters, Int, Param, SearchSpace
from tunelab.study import Study, create_study
from tunelab.study.front import InfeasibleAsFailed
from tunelab.trial import FrozenTrial, Trial
from tunelab.types import TrialState

SamplerFactory = Callable[[int], Sampler]
Params = dict[str, Any]


def define_mixed_space(hp: HyperParameters, continuous: bool = True) -> None:
    """A space with every type and sampling, conditional scopes and define-by-run loops.

    With `continuous=False` every Float has a step, so grid search can walk it.
    """
    optimizer = hp.Choice("optimizer", ["adam", "sgd", "rmsprop"])
    hp.Float("lr", 1e-5, 1e-1, sampling="log", step=None if continuous else 10)
    hp.Float("dropout", 0.0, 0.5, step=0.1)
    hp.Int("batch_size", 16, 256, step=2, sampling="log")
    hp.Int("units", 8, 512, sampling="log")
    hp.Int("filters", 4, 64, sampling="reverse_log")
    if continuous:
        hp.Float("beta", 0.9, 0.999, sampling="reverse_log")
        hp.Float("wd", -1.0, 1.0)
    hp.Boolean("batch_norm")
    hp.Fixed("epochs", 10)
    with hp.conditional_scope("optimizer", "sgd"):
        hp.Float("momentum", 0.5, 0.9, step=None if continuous else 0.2)
        hp.Boolean("nesterov")
    hp.Int("kernel", 3, 7, step=2, parent_name="optimizer", parent_values=["adam", "rmsprop"])
    for i in range(hp.Int("layers", 1, 3)):
        hp.Choice(f"width_{i}", [32, 64, 128])
    if optimizer == "adam":
        hp.Boolean("amsgrad")  # define-by-run: exists only when the code asks


def _objective(continuous: bool) -> Callable[[Trial], float]:
    def objective(trial: Trial) -> float:
        define_mixed_space(trial.hp, continuous)
        return float(zlib.crc32(repr(sorted(trial.params.items())).encode()) % 1000)

    return objective


def run_study(
    sampler: Sampler,
    n_trials: int,
    continuous: bool = True,
    seed: int | None = None,
    name: str = "conformance",
) -> Study:
    """Run `n_trials` trials over the mixed space in an in-memory study; return it."""
    study = create_study(
        name, storage=":memory:", metric="loss", direction="minimize", sampler=sampler, seed=seed
    )
    try:
        study.optimize(_objective(continuous), n_trials=n_trials, catch=())
    except SearchSpaceError as e:
        raise AssertionError(f"{sampler!r} chose a value outside the space: {e}") from e
    return study


def _params(trials: list[FrozenTrial]) -> list[list[tuple[str, Any]]]:
    return [list(t.params.items()) for t in trials]


def _replay(params: Mapping[str, Any], continuous: bool) -> HyperParameters:
    """Run the space definition with a resolver that answers from `params`."""

    def resolve(param: Param, conditions: Any) -> Any:
        if param.name not in params:
            raise AssertionError(f"active parameter {param.name!r} is missing from {params}")
        return params[param.name]

    hp = HyperParameters(resolver=resolve)
    define_mixed_space(hp, continuous)
    return hp


# -- the checks --------------------------------------------------------------------------------


def check_values_inside_space(
    factory: SamplerFactory, n_trials: int = 60, continuous: bool = True, seed: int = 7
) -> None:
    """Every value is valid and canonical; exactly the active parameters have values."""
    trials = run_study(factory(seed), n_trials, continuous, seed).trials
    assert trials, "the study ran no trials"
    for t in trials:
        _check_trial_values(t, continuous)


def _check_trial_values(t: FrozenTrial, continuous: bool) -> None:
    assert t.state is TrialState.COMPLETE, f"trial {t.number} is {t.state}: {t.reason}"
    hp = _replay(t.params, continuous)
    assert dict(hp.values) == dict(t.params), (
        f"trial {t.number}: params {dict(t.params)} are not the active set {hp.values}"
    )
    for name, value in t.params.items():
        param = hp.space[name]
        assert param.contains(value), f"trial {t.number}: {name}={value!r} not in {param}"
        canonical = param.canonical(value)
        assert canonical == value and type(canonical) is type(value), (
            f"trial {t.number}: {name}={value!r} is not in canonical form {canonical!r}"
        )


def check_sample_returns_valid_values(
    factory: SamplerFactory, n_draws: int = 40, continuous: bool = True, seed: int = 11
) -> None:
    """Called directly, `sample` returns a valid value of each type for many trials."""
    sampler = factory(seed)
    space = SearchSpace()
    params: list[Param] = [
        Int("i", -5, 5),
        Int("il", 1, 1024, sampling="log"),
        Int("is", 0, 100, step=7),
        Int("ils", 2, 512, step=2, sampling="log"),
        Int("irl", 1, 100, sampling="reverse_log"),
        Float("f", -1.0, 1.0, step=0.25),
        Float("fls", 1e-6, 1.0, step=10, sampling="log"),
        Choice("c", ("a", "b", "c")),
        Choice("cn", (0.5, 1, 2)),
        Boolean("b"),
        Fixed("x", 3),
    ]
    if continuous:
        params += [
            Float("fc", 0.0, 1.0),
            Float("fl", 1e-5, 1.0, sampling="log"),
            Float("frl", 0.1, 0.99, sampling="reverse_log"),
        ]
    for p in params:
        space.add(p)
    for number in range(n_draws):
        chosen: Params = {}
        for p in params:
            request = SampleRequest(number, p, (), dict(chosen), space, ())
            value = sampler.sample(request)
            assert p.contains(value), f"trial {number}: {p} got {value!r}"
            chosen[p.name] = p.canonical(value)


def check_same_seed_same_values(
    factory: SamplerFactory, n_trials: int = 25, continuous: bool = True, seed: int = 3
) -> None:
    """Two studies with the same seed choose the same values in the same order."""
    first = _params(run_study(factory(seed), n_trials, continuous, seed, name="a").trials)
    second = _params(run_study(factory(seed), n_trials, continuous, seed, name="b").trials)
    assert first == second, "the same seed gave different values"


def check_different_seeds_differ(
    factory: SamplerFactory, n_trials: int = 25, continuous: bool = True
) -> None:
    """Different seeds explore differently (for samplers that use randomness)."""
    first = _params(run_study(factory(1), n_trials, continuous, 1).trials)
    second = _params(run_study(factory(2), n_trials, continuous, 2).trials)
    assert first != second, "seeds 1 and 2 gave the same values"
    differing = sum(a != b for a, b in zip(first, second, strict=True))
    assert differing > n_trials // 2, f"only {differing} of {n_trials} trials differ"


def check_replay_reproduces_values(
    factory: SamplerFactory, n_trials: int = 20, continuous: bool = True, seed: int = 5
) -> None:
    """A sampler is a function of its request and seed: a fresh sampler, given the same
    space, history and chosen values, returns the value the study recorded. (Workers
    in other processes rebuild samplers from JSON and must agree.)"""
    study = run_study(factory(seed), n_trials, continuous, seed)
    trials, space = study.trials, study.space
    fresh = factory(seed)
    for t in trials:
        chosen: Params = {}
        for name, value in t.params.items():
            entry = space.entries[name]
            before = tuple(h for h in trials if h.number < t.number)
            request = SampleRequest(
                t.number, entry.param, entry.conditions, dict(chosen), space, before
            )
            again = fresh.sample(request)
            assert again == value, (
                f"trial {t.number}: replaying {name!r} gave {again!r}, the study recorded {value!r}"
            )
            chosen[name] = value


def check_config_is_json(
    factory: SamplerFactory,
    seed: int = 9,
    rebuild: Callable[[dict[str, Any]], Sampler] = make_sampler,
) -> None:
    """`to_json()` is plain JSON naming the sampler and its seed, and `rebuild` (how worker
    processes reopen a study's sampler) turns it back into an equal sampler."""
    sampler = factory(seed)
    config = json.loads(json.dumps(sampler.to_json()))
    assert config.get("name") == sampler.name, f"to_json() {config} does not name {sampler.name!r}"
    assert config.get("seed") == seed, f"to_json() {config} lost seed={seed}"
    rebuilt = rebuild(config)
    assert type(rebuilt) is type(sampler) and rebuilt.seed == sampler.seed


ALL_CHECKS: tuple[Callable[..., None], ...] = (
    check_values_inside_space,
    check_sample_returns_valid_values,
    check_same_seed_same_values,
    check_replay_reproduces_values,
    check_config_is_json,
)


def check_sampler(
    factory: SamplerFactory, *, continuous: bool = True, seed_sensitive: bool = True
) -> None:
    """Run every check. `continuous=False` for samplers that need discrete values (grid);
    `seed_sensitive=False` for samplers whose order does not depend on the seed."""
    for check in ALL_CHECKS:
        if check is check_config_is_json:
            check(factory)
        else:
            check(factory, continuous=continuous)
    if seed_sensitive:
        check_different_seeds_differ(factory, continuous=continuous)


class SamplerConformance:
    """Subclass as `TestXxx` in a pytest module and define `make_sampler(seed)`.
    Set `continuous = False` for samplers that need discrete values (grid)."""

    continuous: bool = True

    def make_sampler(self, seed: int) -> Sampler:
        raise NotImplementedError

    def test_values_inside_space(self) -> None:
        check_values_inside_space(self.make_sampler, continuous=self.continuous)

    def test_sample_returns_valid_values(self) -> None:
        check_sample_returns_valid_values(self.make_sampler, continuous=self.continuous)

    def test_same_seed_same_values(self) -> None:
        check_same_seed_same_values(self.make_sampler, continuous=self.continuous)

    def test_replay_reproduces_values(self) -> None:
        check_replay_reproduces_values(self.make_sampler, continuous=self.continuous)

    def test_config_is_json(self) -> None:
        check_config_is_json(self.make_sampler)


class SeededSamplerConformance(SamplerConformance):
    """`SamplerConformance` for samplers that draw at random: seeds must matter."""

    def test_different_seeds_differ(self) -> None:
        check_different_seeds_differ(self.make_sampler, continuous=self.continuous)


# -- several objectives ------------------------------------------------------------------------


def _two_objectives(continuous: bool) -> Callable[[Trial], dict[str, float]]:
    def objective(trial: Trial) -> dict[str, float]:
        define_mixed_space(trial.hp, continuous)
        key = repr(sorted(trial.params.items())).encode()
        loss, size = zlib.crc32(key) % 1000, zlib.adler32(key) % 1000
        return {"loss": float(loss), "size": float(size), "memory": float((loss + size) % 100)}

    return objective


def run_multi_objective_study(
    sampler: Sampler, n_trials: int, continuous: bool = True, seed: int | None = None
) -> Study:
    """`n_trials` trials over the mixed space in an in-memory study of two objectives
    (loss minimized, size maximized) and a constraint (memory <= 70) some trials break."""
    study = create_study(
        "conformance-mo",
        storage=":memory:",
        metrics=["loss", "size"],
        directions=["minimize", "maximize"],
        constraints={"memory": ("<=", 70)},
        sampler=sampler,
        seed=seed,
    )
    try:
        study.optimize(_two_objectives(continuous), n_trials=n_trials, catch=())
    except SearchSpaceError as e:
        raise AssertionError(f"{sampler!r} chose a value outside the space: {e}") from e
    return study


def check_multi_objective(
    factory: SamplerFactory, n_trials: int = 30, continuous: bool = True, seed: int = 13
) -> None:
    """For a sampler marked `multi_objective`: in a study of two objectives with a
    constraint, every value is valid, the same seed repeats the study, and a fresh
    sampler given the same request (objectives included) returns the recorded value."""
    sampler = factory(seed)
    assert sampler.multi_objective, f"{sampler!r} is not marked multi_objective"
    study = run_multi_objective_study(sampler, n_trials, continuous, seed)
    trials = study.trials
    assert any(not t.feasible for t in trials) and any(t.feasible for t in trials)
    for t in trials:
        _check_trial_values(t, continuous)
        assert t.values is not None and len(t.values) == 2, f"trial {t.number}: {t.values}"
    again = run_multi_objective_study(factory(seed), n_trials, continuous, seed).trials
    assert _params(again) == _params(trials), "the same seed gave different values"
    fresh, space = factory(seed), study.space
    shown = (lambda h: h) if fresh.reads_feasibility else InfeasibleAsFailed()
    for t in trials:
        before = shown(tuple(h for h in trials if h.number < t.number))
        chosen: Params = {}
        for name, value in t.params.items():
            entry = space.entries[name]
            request = SampleRequest(
                t.number,
                entry.param,
                entry.conditions,
                dict(chosen),
                space,
                before,
                study.direction,
                study.metric,
                study.objectives,
            )
            again_value = fresh.sample(request)
            assert again_value == value, (
                f"trial {t.number}: replaying {name!r} in a study of two objectives gave "
                f"{again_value!r}, the study recorded {value!r}"
            )
            chosen[name] = value
