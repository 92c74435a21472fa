"""TPESampler: the sampler contract, the good/bad split, the Parzen estimators, and
that it searches better than random on problems where that is certain."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

import tunelab
from tunelab.samplers import RandomSampler, Sampler, SampleRequest, SobolSampler
from tunelab.samplers.tpe import TPESampler
from tunelab.samplers.tpe.encoding import Encoder, dim_of, is_rounded
from tunelab.samplers.tpe.groups import co_occurring_groups
from tunelab.samplers.tpe.parzen import (
    Dim,
    DimKind,
    ParzenEstimator,
    PointSet,
    basis,
    fit_estimators,
    log_unit_mass,
    snap,
)
from tunelab.samplers.tpe.split import MAX_GOOD, n_good, split_trials
from tunelab.space import Boolean, Choice, Float, Int, Param, SearchSpace
from tunelab.testing.sampler_conformance import (
    SeededSamplerConformance,
    check_config_is_json,
    check_replay_reproduces_values,
    check_values_inside_space,
)
from tunelab.trial import FrozenTrial, Report
from tunelab.types import Direction, EndCause, TrialState

# -- the sampler contract ----------------------------------------------------------------------


class TestTPEConformance(SeededSamplerConformance):
    def make_sampler(self, seed: int) -> Sampler:
        return TPESampler(seed=seed, n_startup_trials=5)

    def test_config_is_json(self) -> None:
        check_config_is_json(self.make_sampler, rebuild=TPESampler.from_json)


def _univariate(seed: int) -> Sampler:
    return TPESampler(seed=seed, n_startup_trials=5, multivariate=False)


def test_univariate_values_inside_space_and_replay() -> None:
    check_values_inside_space(_univariate)
    check_replay_reproduces_values(_univariate)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_startup_trials": -1}, "n_startup_trials must be an int >= 0"),
        ({"n_startup_trials": 2.5}, "n_startup_trials"),
        ({"n_ei_candidates": 0}, "n_ei_candidates must be an int >= 1"),
        ({"multivariate": "yes"}, "multivariate must be True or False"),
        ({"gamma": 0.0}, r"gamma must be a number in \(0, 1\]"),
        ({"gamma": 1.5}, "gamma"),
        ({"gamma": True}, "gamma"),
        ({"prior_weight": 0}, "prior_weight must be a finite number > 0"),
        ({"prior_weight": math.inf}, "prior_weight"),
        ({"consider_endpoints": 1}, "consider_endpoints"),
        ({"constant_liar": None}, "constant_liar"),
        ({"seed": -3}, "seed must be a non-negative int"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TPESampler(**kwargs)


def test_config_round_trips_through_json() -> None:
    sampler = TPESampler(seed=4, n_startup_trials=3, gamma=0.2, multivariate=False)
    config = sampler.to_json()
    assert config["name"] == "tpe" and config["seed"] == 4 and config["gamma"] == 0.2
    rebuilt = TPESampler.from_json(config)
    assert rebuilt.to_json() == config
    with pytest.raises(ValueError, match="not 'tpe'"):
        TPESampler.from_json({**config, "name": "random"})


# -- end to end --------------------------------------------------------------------------------


def _study(sampler: Sampler, direction: str = "minimize", name: str = "tpe") -> tunelab.Study:
    return tunelab.create_study(
        name, storage=":memory:", sampler=sampler, metric="loss", direction=direction
    )


def _mixed_objective(trial: tunelab.Trial) -> float:
    """Every type and sampling, a conditional scope, a define-by-run loop, and trials that
    are pruned or fail."""
    hp = trial.hp
    lr = hp.Float("lr", 1e-5, 1e-1, sampling="log")
    dropout = hp.Float("dropout", 0.0, 0.5, step=0.1)
    units = hp.Int("units", 8, 512, sampling="log")
    batch = hp.Int("batch", 16, 256, step=2, sampling="log")
    width = hp.Choice("width", [32, 64, 128])
    optimizer = hp.Choice("optimizer", ["adam", "sgd", "rmsprop"])
    hp.Boolean("batch_norm")
    with hp.conditional_scope("optimizer", "sgd"):
        hp.Float("momentum", 0.5, 0.99)
        hp.Boolean("nesterov")
    loss = (math.log10(lr) + 3) ** 2 + (dropout - 0.2) ** 2 + math.log2(units / batch) ** 2 / 10
    for i in range(hp.Int("n_layers", 1, 3)):
        loss += abs(hp.Int(f"units_{i}", 16, 256, step=16) - 64) / 100
    loss += width / 1000
    trial.report(0, loss=loss * 2)
    # Every run holds pruned and failed trials, whatever the sampler draws.
    if (optimizer == "rmsprop" and dropout > 0.35) or trial.number % 9 == 7:
        raise tunelab.TrialPruned()
    if lr > 0.05 or trial.number % 9 == 4:
        return math.nan  # diverged: recorded as FAIL
    return loss


def _run_mixed(sampler: Sampler, n_trials: int = 40) -> tunelab.Study:
    study = _study(sampler)
    study.optimize(_mixed_objective, n_trials=n_trials, max_consecutive_failures=None)
    return study


@pytest.mark.parametrize("multivariate", [True, False])
def test_values_inside_a_mixed_conditional_space(multivariate: bool) -> None:
    study = _run_mixed(TPESampler(seed=0, n_startup_trials=5, multivariate=multivariate), 30)
    trials = study.trials
    states = {t.state for t in trials}
    assert {TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL} <= states
    space = study.space
    for t in trials:
        for name, value in t.params.items():
            param = space[name]
            assert param.contains(value), f"trial {t.number}: {name}={value!r} outside {param}"
            canonical = param.canonical(value)
            assert canonical == value and type(canonical) is type(value)
        assert ("momentum" in t.params) == (t.params["optimizer"] == "sgd")
        assert {f"units_{i}" for i in range(t.params["n_layers"])} == {
            n for n in t.params if n.startswith("units_")
        }


def test_seeded_runs_repeat_exactly() -> None:
    def run() -> list[list[tuple[str, Any]]]:
        return [
            list(t.params.items())
            for t in _run_mixed(TPESampler(seed=7, n_startup_trials=5)).trials
        ]

    assert run() == run()


def test_start_up_trials_are_sobol_points() -> None:
    def objective(trial: tunelab.Trial) -> float:
        return trial.hp.Float("x", -1.0, 1.0) ** 2 + trial.hp.Int("k", 1, 9)

    params = []
    for sampler in (TPESampler(seed=5, n_startup_trials=6), SobolSampler(seed=5)):
        study = _study(sampler)
        study.optimize(objective, n_trials=6)
        params.append([dict(t.params) for t in study.trials])
    assert params[0] == params[1]


def _quadratic(trial: tunelab.Trial) -> float:
    x = trial.hp.Float("x", -5.0, 5.0)
    y = trial.hp.Float("y", -5.0, 5.0)
    return (x - 1.3) ** 2 + (y + 0.7) ** 2


def _best_values(make: Any, seeds: range, n_trials: int = 40) -> list[float]:
    best = []
    for seed in seeds:
        study = _study(make(seed))
        study.optimize(_quadratic, n_trials=n_trials)
        best.append(study.best_value)
    return best


def test_finds_the_optimum_region_clearly_faster_than_random() -> None:
    """Ten seeds, 40 trials each: TPE's best values must be significantly lower than
    random search's (one-sided Mann-Whitney U), and its median several times lower.
    A TPE that searched at random would fail both (medians ~1.0 for random here)."""
    seeds = range(10)
    tpe = _best_values(lambda s: TPESampler(seed=s), seeds)
    rnd = _best_values(lambda s: RandomSampler(seed=s), seeds)
    assert mannwhitneyu(tpe, rnd, alternative="less").pvalue < 0.05
    assert np.median(tpe) < np.median(rnd) / 5, (tpe, rnd)


def test_maximize_mirrors_minimize() -> None:
    def negated(trial: tunelab.Trial) -> float:
        return -_quadratic(trial)

    runs = []
    for direction, objective in (("minimize", _quadratic), ("maximize", negated)):
        study = _study(TPESampler(seed=3, n_startup_trials=5), direction)
        study.optimize(objective, n_trials=25)
        runs.append([dict(t.params) for t in study.trials])
    assert runs[0] == runs[1]


def test_failed_trials_steer_the_search_away() -> None:
    """Every trial that runs scores the same; only failures carry information. TPE counts
    them as bad and soon stops sampling where training breaks; random search does not."""

    def objective(trial: tunelab.Trial) -> float:
        if trial.hp.Float("x", 0.0, 1.0) > 0.6:
            raise ValueError("diverged")
        return 0.0

    failures = {"tpe": 0, "random": 0}
    for seed in range(3):
        for label, sampler in (
            ("tpe", TPESampler(seed=seed)),
            ("random", RandomSampler(seed=seed)),
        ):
            study = _study(sampler)
            study.optimize(objective, n_trials=50, max_consecutive_failures=None)
            failures[label] += sum(t.state is TrialState.FAIL for t in study.trials[20:])
    assert failures["tpe"] < failures["random"] / 2, failures


def test_a_sampler_reused_across_studies_acts_as_a_fresh_one() -> None:
    """Working memory (encoded trials, plans) must never leak from one study into another,
    even where trial ids and numbers coincide (two in-memory storages)."""

    def same_space(trial: tunelab.Trial) -> float:
        x, y = trial.hp.Float("x", -5.0, 5.0), trial.hp.Float("y", -5.0, 5.0)
        return abs(x + 2.0) + abs(y - 3.0)

    def other_space(trial: tunelab.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 50.0)  # same name, another domain
        return abs(x - 20.0) + trial.hp.Int("k", 1, 4)

    def params(sampler: Sampler, objective: Any, name: str) -> list[dict[str, Any]]:
        study = _study(sampler, name=name)
        study.optimize(objective, n_trials=15)
        return [dict(t.params) for t in study.trials]

    shared = TPESampler(seed=1, n_startup_trials=3)
    params(shared, _quadratic, "first")
    for objective in (same_space, other_space, _quadratic):
        fresh = TPESampler(seed=1, n_startup_trials=3)
        assert params(shared, objective, "next") == params(fresh, objective, "next")


def test_remembered_trials_are_checked_against_their_params() -> None:
    """Two histories whose trials share ids, numbers, states and values but not params
    (hand-made, or from two storages) must not be mixed up by the sampler's memory."""
    x = Float("x", 0.0, 1.0)
    space = SearchSpace()
    space.add(x)

    def history(offset: float) -> tuple[FrozenTrial, ...]:
        return tuple(
            FrozenTrial(i + 1, i, TrialState.COMPLETE, {"x": (i / 20 + offset) % 1.0}, value=i)
            for i in range(20)
        )

    shared = TPESampler(seed=0)
    for offset in (0.0, 0.5):
        request = SampleRequest(20, x, (), {}, space, history(offset))
        assert shared.sample(request) == TPESampler(seed=0).sample(request)


@pytest.mark.parametrize("kwargs", [{"n_startup_trials": 0}, {"gamma": 1.0}, {"prior_weight": 5}])
def test_edge_settings_still_give_valid_values(kwargs: dict[str, Any]) -> None:
    study = _study(TPESampler(seed=0, **kwargs))
    study.optimize(_quadratic, n_trials=15)
    assert len(study.trials) == 15
    assert all(t.state is TrialState.COMPLETE for t in study.trials)


@pytest.mark.parametrize("order", [("a", "b", "c"), ("c", "b", "a")])
def test_a_joint_plan_does_not_depend_on_the_order_of_asking(order: tuple[str, ...]) -> None:
    space = SearchSpace()
    params = {"a": Float("a", 0.0, 1.0), "b": Int("b", 1, 8), "c": Choice("c", ("x", "y"))}
    for p in params.values():
        space.add(p)
    rng = np.random.default_rng(0)
    history = []
    for i in range(20):
        values = {n: p.from_unit(rng.random()) for n, p in params.items()}
        history.append(FrozenTrial(i + 1, i, TrialState.COMPLETE, values, value=rng.random()))
    sampler = TPESampler(seed=2, n_startup_trials=5)
    chosen: dict[str, Any] = {}
    for name in order:
        request = SampleRequest(20, params[name], (), dict(chosen), space, tuple(history))
        chosen[name] = sampler.sample(request)
    reference = TPESampler(seed=2, n_startup_trials=5)
    expected: dict[str, Any] = {}
    for name in ("a", "b", "c"):
        request = SampleRequest(20, params[name], (), dict(expected), space, tuple(history))
        expected[name] = reference.sample(request)
    assert chosen == expected


# -- the good / bad split ----------------------------------------------------------------------


def _trial(
    number: int,
    state: TrialState,
    value: float | None = None,
    steps: int = 0,
    cause: EndCause | None = None,
    **attrs: Any,
) -> FrozenTrial:
    reports = tuple(Report(s, {"loss": 1.0}, 0.0) for s in range(steps))
    return FrozenTrial(
        number + 1,
        number,
        state,
        {"x": 0.5},
        value=value,
        reports=reports,
        system_attrs=attrs,
        end_cause=cause,
    )


def test_n_good_is_a_tenth_at_least_one_at_most_25() -> None:
    assert [n_good(n, 0.1) for n in (0, 1, 9, 10, 11, 100, 1000)] == [0, 1, 1, 1, 2, 10, 25]
    assert n_good(3, 1.0) == 3 and n_good(10, 0.3) == 3 and MAX_GOOD == 25


def test_complete_trials_rank_by_value_in_either_direction() -> None:
    history = [_trial(i, TrialState.COMPLETE, v) for i, v in enumerate([3.0, 1.0, 2.0, 5.0])]
    low = split_trials(history, Direction.MINIMIZE, gamma=0.5)
    high = split_trials(history, Direction.MAXIMIZE, gamma=0.5)
    assert [t.number for t in low.good] == [1, 2] and [t.number for t in low.bad] == [0, 3]
    assert [t.number for t in high.good] == [3, 0] and [t.number for t in high.bad] == [2, 1]


def test_pruned_trials_rank_after_complete_ones_further_steps_first() -> None:
    history = [
        _trial(0, TrialState.PRUNED, 0.1, steps=2),  # best value, but stopped early
        _trial(1, TrialState.COMPLETE, 9.0),
        _trial(2, TrialState.PRUNED, 0.9, steps=5),
        _trial(3, TrialState.PRUNED, 0.5, steps=5),
        _trial(4, TrialState.PRUNED, None, steps=5),  # reported no study metric
        _trial(5, TrialState.PRUNED, None),
    ]
    split = split_trials(history, Direction.MINIMIZE, gamma=1.0)
    assert [t.number for t in split.ranked()] == [1, 3, 2, 4, 0, 5]
    assert split.n_ranked == 6 and split.n_valued == 4
    few = split_trials(history, Direction.MINIMIZE, gamma=0.1)
    assert [t.number for t in few.good] == [1]


def test_failed_trials_are_always_bad() -> None:
    history = [
        _trial(0, TrialState.FAIL),
        _trial(1, TrialState.COMPLETE, 2.0),
        _trial(2, TrialState.COMPLETE, None),  # no value to rank: as good as a failure
        _trial(3, TrialState.FAIL, cause=EndCause.INTERRUPTED),  # Ctrl-C: says nothing
    ]
    split = split_trials(history, Direction.MINIMIZE, gamma=1.0)
    assert [t.number for t in split.good] == [1]
    assert [t.number for t in split.bad] == [0, 2]


def test_running_trials_are_bad_only_with_the_constant_liar() -> None:
    history = [
        _trial(0, TrialState.COMPLETE, 1.0),
        _trial(1, TrialState.RUNNING),
        _trial(2, TrialState.RUNNING),  # the trial being sampled
        _trial(3, TrialState.WAITING),
    ]
    lying = split_trials(history, Direction.MINIMIZE, 1.0, exclude=2, constant_liar=True)
    honest = split_trials(history, Direction.MINIMIZE, 1.0, exclude=2, constant_liar=False)
    assert [t.number for t in lying.bad] == [1]
    assert honest.bad == ()
    assert lying.n_ranked == honest.n_ranked == 1


def test_the_constant_liar_spreads_parallel_workers() -> None:
    """Three workers are evaluating x ~ 0.5, the best region so far: with the liar, a
    fourth worker's suggestions avoid that spot; without it they crowd onto it."""
    x = Float("x", 0.0, 1.0)
    space = SearchSpace()
    space.add(x)
    history = [
        FrozenTrial(i + 1, i, TrialState.COMPLETE, {"x": float(v)}, value=float((v - 0.5) ** 2))
        for i, v in enumerate(np.linspace(0.02, 0.98, 30))
    ]
    history += [
        FrozenTrial(100 + i, 30 + i, TrialState.RUNNING, {"x": v})
        for i, v in enumerate((0.49, 0.5, 0.51))
    ]
    for multivariate in (True, False):
        near = {}
        for liar in (True, False):
            xs = []
            for seed in range(4):  # pooled: with one shared width (multivariate) the
                # three pending kernels move g(x) less than narrow per-kernel ones do
                sampler = TPESampler(seed=seed, constant_liar=liar, multivariate=multivariate)
                xs += [
                    sampler.sample(SampleRequest(40 + k, x, (), {}, space, tuple(history)))
                    for k in range(60)
                ]
            near[liar] = sum(abs(v - 0.5) < 0.03 for v in xs)
        assert near[True] <= near[False] - 20, (multivariate, near)


# -- groups, coordinates and densities ---------------------------------------------------------


def test_groups_are_parameters_held_by_the_same_trials() -> None:
    present = np.array(
        [
            # a     b     c      d      e
            [True, True, False, True, False],
            [True, True, True, False, False],
            [True, True, True, True, False],
        ]
    )
    assert co_occurring_groups(present) == [(0, 1), (2,), (3,)]
    assert co_occurring_groups(np.zeros((0, 3), dtype=bool)) == []


PARAMS: list[Param] = [
    Float("f", -1.0, 1.0),
    Float("fl", 1e-5, 1.0, sampling="log"),
    Float("fs", 0.0, 0.5, step=0.1),
    Float("fls", 1e-6, 1.0, step=10, sampling="log"),
    Int("i", -5, 5),
    Int("il", 1, 1024, sampling="log"),
    Int("irl", 1, 100, sampling="reverse_log"),
    Int("is", 0, 100, step=7),
    Int("ils", 2, 512, step=2, sampling="log"),
    Choice("c", ("a", "b", "c")),
    Choice("cn", (0.5, 1, 2)),
    Boolean("b"),
]


@pytest.mark.parametrize("param", PARAMS, ids=lambda p: p.name)
def test_coordinates_round_trip(param: Param) -> None:
    encoder = Encoder()
    dim = encoder.dim(param)
    values = (
        [param.from_unit(u) for u in np.linspace(0, 1, 37)]
        if dim.kind is DimKind.CONTINUOUS
        else param.grid_values()
    )
    for value in values:
        coordinate = encoder.coordinate(param, value)
        assert encoder.decode(param, coordinate) == value
        snapped = encoder.snap(param, np.array([coordinate]))[0]
        assert encoder.decode(param, snapped) == value
    if dim.kind is DimKind.CELLS:
        assert dim.size == len(param.grid_values())
    assert math.isnan(encoder.coordinate(param, "not a value"))


def test_decoding_a_discrete_coordinate_equals_from_unit() -> None:
    """The encoder keeps a discrete parameter's values in a list (one per cell or
    category) to decode candidates: it must give what `from_unit` gives, type included,
    for every coordinate a candidate can have, edges and out-of-range ones too."""
    params = [
        Int("a", 1, 4),
        Int("b", 32, 512, step=32),
        Float("c", 0.0, 0.5, step=0.1),
        Choice("d", [16, 32, 64]),
        Choice("e", ["x", "y", "z"]),
        Boolean("f"),
        Float("g", 1e-3, 1.0, step=10.0, sampling="log"),
        Int("h", 2, 1024, step=2, sampling="log"),
        Float("i", 0.1, 0.95, step=0.05),
    ]
    encoder = Encoder()
    rng = np.random.default_rng(0)
    for param in params:
        dim = dim_of(param)
        k = dim.size
        edges = [i / k for i in range(k + 1)] + [(i + 0.5) / k for i in range(k)]
        for u in [*rng.random(300).tolist(), *edges, -0.1, 1.1]:
            if dim.kind is DimKind.CATEGORICAL:
                u = float(min(max(math.floor(u * k), 0), k - 1))  # a category's index
                want = param.from_unit((u + 0.5) / k)
            else:
                want = param.from_unit(min(max(u, 0.0), 1.0))
            got = encoder.decode(param, u)
            assert got == want and type(got) is type(want), (param, u)


def test_dimension_kinds() -> None:
    kinds = {p.name: dim_of(p).kind for p in PARAMS}
    assert kinds["f"] is kinds["fl"] is kinds["il"] is kinds["irl"] is DimKind.CONTINUOUS
    assert kinds["fs"] is kinds["i"] is kinds["is"] is kinds["cn"] is DimKind.CELLS
    assert kinds["c"] is kinds["b"] is DimKind.CATEGORICAL
    assert is_rounded(PARAMS[5]) and not is_rounded(PARAMS[4])


@pytest.mark.parametrize("rule", ["scott", "neighbour"])
@pytest.mark.parametrize("n", [0, 1, 5, 100])
def test_densities_are_normalised(rule: str, n: int) -> None:
    rng = np.random.default_rng(n)
    dims = [Dim(DimKind.CONTINUOUS), Dim(DimKind.CELLS, 5), Dim(DimKind.CATEGORICAL, 3)]
    points = np.column_stack(
        [
            rng.beta(2, 5, n),
            (rng.integers(0, 5, n) + 0.5) / 5,
            rng.integers(0, 3, n).astype(float),
        ]
    )
    estimator = ParzenEstimator(points, dims, prior_weight=1.0, rule=rule)
    grid = np.linspace(0.0, 1.0, 2001)
    cells = (np.arange(5) + 0.5) / 5
    x, c, k = np.meshgrid(grid, cells, np.arange(3.0), indexing="ij")
    density = np.exp(estimator.log_pdf(np.column_stack([x.ravel(), c.ravel(), k.ravel()])))
    per_x = density.reshape(len(grid), -1).sum(axis=1)  # sum over cells and categories
    total = float(np.sum((per_x[1:] + per_x[:-1]) / 2) * (grid[1] - grid[0]))
    assert total == pytest.approx(1.0, abs=2e-3)


def _direct_log_pdf(estimator: ParzenEstimator, x: np.ndarray) -> np.ndarray:
    """The mixture summed kernel by kernel with scipy's distributions: the reference the
    matrix-product form of `log_pdf` must reproduce."""
    from scipy.stats import truncnorm

    n = estimator.n_observations
    total = np.full(len(x), estimator.weights[n])
    for dim in estimator.dims:
        total /= dim.size if dim.kind is not DimKind.CONTINUOUS else 1
    for i in range(n):
        kernel = np.full(len(x), estimator.weights[i])
        for j, dim in enumerate(estimator.dims):
            mu, sigma = estimator.mu[i, j], estimator.sigma[i, j]
            law = truncnorm((0 - mu) / sigma, (1 - mu) / sigma, loc=mu, scale=sigma)
            if dim.kind is DimKind.CONTINUOUS:
                kernel *= law.pdf(x[:, j])
            elif dim.kind is DimKind.CELLS:
                lo = np.floor(x[:, j] * dim.size) / dim.size
                kernel *= law.cdf(lo + 1 / dim.size) - law.cdf(lo)
            else:
                e = estimator.leak
                kernel *= np.where(x[:, j] == mu, 1 - e + e / dim.size, e / dim.size)
        total += kernel
    return np.log(total)


@pytest.mark.parametrize("rule", ["scott", "neighbour"])
@pytest.mark.parametrize("n", [1, 7, 60])
def test_log_pdf_equals_the_kernels_summed_one_by_one(rule: str, n: int) -> None:
    rng = np.random.default_rng(10 + n)
    dims = [
        Dim(DimKind.CONTINUOUS),
        Dim(DimKind.CELLS, 6),
        Dim(DimKind.CATEGORICAL, 4),
        Dim(DimKind.CONTINUOUS),
    ]

    def draw(m: int) -> np.ndarray:
        return np.column_stack(
            [
                rng.beta(0.5, 0.5, m),  # crowds the bounds, where truncation matters
                (rng.integers(0, 6, m) + 0.5) / 6,
                rng.integers(0, 4, m).astype(float),
                rng.random(m),
            ]
        )

    estimator = ParzenEstimator(draw(n), dims, prior_weight=0.5, rule=rule)
    x = draw(50)
    assert np.allclose(estimator.log_pdf(x), _direct_log_pdf(estimator, x), rtol=0, atol=1e-6)


@pytest.mark.parametrize(("spread", "tolerance"), [(0.3, 1e-5), (0.002, 1e-3)])
def test_float32_denominator_stays_within_a_thousandth_of_a_nat(
    spread: float, tolerance: float
) -> None:
    """TPE's acquisition sums g(x)'s many kernels with a float32 product
    (`log_density_ratio`); against the float64 `log_pdf` it may be off by a few 1e-4
    nats at the narrowest widths the clip allows (spread 0.002 pins them there), and by
    far less at usual ones."""
    from tunelab.samplers.tpe.parzen import log_density_ratio

    rng = np.random.default_rng(12)
    dims = [Dim(DimKind.CONTINUOUS), Dim(DimKind.CELLS, 16), Dim(DimKind.CONTINUOUS)]

    def draw(m: int, s: float) -> np.ndarray:
        return np.column_stack(
            [
                np.clip(0.7 + s * rng.standard_normal(m), 0, 1),
                (rng.integers(0, 16, m) + 0.5) / 16,
                np.clip(0.2 + s * rng.standard_normal(m), 0, 1),
            ]
        )

    good, bad = draw(20, 0.05), draw(1000, spread)
    l_x, g_x = fit_estimators([PointSet(good), PointSet(bad)], dims)
    assert g_x._kernel32 is not None and l_x._kernel32 is None  # many kernels: float32
    x = np.vstack([l_x.sample(rng, 200), bad[:50]])
    exact = l_x.log_pdf(x) - g_x.log_pdf(x)
    np.testing.assert_allclose(log_density_ratio(l_x, g_x, x), exact, rtol=0, atol=tolerance)


def test_estimators_fitted_together_equal_estimators_fitted_alone() -> None:
    """fit_estimators shares passes between TPE's l and g; that must change nothing, nor
    may a caller's kept basis and kept normalisers (PointSet)."""
    rng = np.random.default_rng(3)
    dims = [Dim(DimKind.CONTINUOUS), Dim(DimKind.CELLS, 7), Dim(DimKind.CATEGORICAL, 3)]

    def draw(m: int) -> np.ndarray:
        return np.column_stack(
            [rng.random(m), (rng.integers(0, 7, m) + 0.5) / 7, rng.integers(0, 3, m) * 1.0]
        )

    good, bad, x = draw(4), draw(80), draw(30)

    def kept_norms(points: np.ndarray) -> Callable[[list[int], list[float]], np.ndarray]:
        return lambda js, ws: sum(
            log_unit_mass(points[:, j], np.float64(w)) for j, w in zip(js, ws, strict=True)
        )

    for rule in ("neighbour", "scott"):
        alone = [ParzenEstimator(p, dims, 0.7, rule) for p in (good, bad)]
        together = fit_estimators([PointSet(good), PointSet(bad)], dims, 0.7, rule)
        for a, b in zip(alone, together, strict=True):
            np.testing.assert_allclose(a.log_pdf(x), b.log_pdf(x), rtol=0, atol=1e-12)
    kept = fit_estimators(  # "scott", as `together` now is
        [PointSet(good, basis(good, dims)), PointSet(bad, basis(bad, dims), kept_norms(bad))],
        dims,
        0.7,
    )
    for a, b in zip(together, kept, strict=True):
        np.testing.assert_allclose(a.log_pdf(x), b.log_pdf(x), rtol=0, atol=1e-12)


def test_basis_of_a_few_points_equals_the_vectorised_basis() -> None:
    rng = np.random.default_rng(4)
    dims = [Dim(DimKind.CONTINUOUS), Dim(DimKind.CELLS, 5), Dim(DimKind.CATEGORICAL, 3)]
    points = np.column_stack(
        [rng.random(40), (rng.integers(0, 5, 40) + 0.5) / 5, rng.integers(0, 3, 40) * 1.0]
    )
    points[rng.random(points.shape) < 0.2] = math.nan  # trials without a parameter
    few = np.concatenate([basis(points[i : i + 2], dims) for i in range(0, 40, 2)])
    np.testing.assert_array_equal(few, basis(points, dims))


def test_unit_mass_of_one_kernel_equals_the_vectorised_one() -> None:
    """The history table updates a trial or two with the plain-Python `log_unit_mass_of`:
    it must agree with the numpy path, at the bounds and for narrow and wide kernels."""
    from tunelab.samplers.tpe.parzen import log_unit_mass_of

    rng = np.random.default_rng(5)
    mu = np.concatenate(([0.0, 1.0, 0.5, 1e-9], rng.random(96)))
    sigma = np.concatenate(([0.01, 0.01, 3.0, 0.2], np.exp(rng.uniform(-5, 1, 96))))
    one = [log_unit_mass_of(m, s) for m, s in zip(mu.tolist(), sigma.tolist(), strict=True)]
    np.testing.assert_allclose(one, log_unit_mass(mu, sigma), rtol=1e-13, atol=1e-16)
    assert math.isnan(log_unit_mass_of(math.nan, 0.1))  # a trial without the parameter


@pytest.mark.parametrize("k", [1, 2, 5, 16, 40, 70])
@pytest.mark.parametrize("width", [0.002, 0.03, snap(0.03), 0.3, snap(0.3), 1.0])
def test_cell_tables_are_truncated_normal_cell_masses(k: int, width: float) -> None:
    """A CELLS dimension's table (row: the kernel's cell, column: the cell asked), built
    from k normal tails (kept for the whole snap grid for up to 64 cells; computed for
    the width asked otherwise), against scipy's truncated normal cell by cell; narrow
    kernels' far cells are floored at _LOG_FLOOR, never -inf."""
    from scipy.stats import truncnorm

    from tunelab.samplers.tpe.parzen import _LOG_FLOOR, cell_table

    table = cell_table(k, width, k + 3)
    assert table.shape == (k, k + 3) and (table[:, k:] == _LOG_FLOOR).all()
    edges = np.arange(k + 1) / k
    for c in range(k):
        mu = (c + 0.5) / k
        law = truncnorm(-mu / width, (1 - mu) / width, loc=mu, scale=width)
        # the mass of each cell from whichever tail is smaller, as precise as scipy can be
        upper = law.sf(edges)
        lower = law.cdf(edges)
        mass = np.where(edges[1:] <= mu, lower[1:] - lower[:-1], upper[:-1] - upper[1:])
        with np.errstate(divide="ignore"):
            expected = np.maximum(np.log(mass), _LOG_FLOOR)
        far = expected < -700  # scipy's own precision runs out there
        np.testing.assert_allclose(table[c, :k][~far], expected[~far], rtol=1e-9, atol=1e-9)
        assert (table[c, :k][far] < -600).all()


def test_snapped_widths_stay_within_a_hundredth() -> None:
    widths = np.geomspace(1e-3, 1.0, 2000)  # ~200 an octave; the grid has 64
    snapped = np.array([snap(w) for w in widths.tolist()])
    assert np.all(np.abs(snapped / widths - 1) < 0.0055)
    assert len(np.unique(snapped)) < len(widths)  # a grid: nearby widths coincide


@pytest.mark.parametrize(("mu", "sigma"), [(0.05, 0.3), (0.5, 1.0), (0.97, 0.02), (0.0, 0.01)])
def test_kernel_draws_follow_the_truncated_normal(mu: float, sigma: float) -> None:
    """Kernels are drawn by rejection, several normal draws at once and the rare draw with
    none inside redrawn alone (at the bound with width 0.01, about one in 256): the draws
    must follow the normal truncated to [0, 1] (Kolmogorov-Smirnov against truncnorm)."""
    from scipy.stats import kstest, truncnorm

    from tunelab.samplers.tpe.parzen import _truncated_normal

    rng = np.random.default_rng(11)
    x = _truncated_normal(rng, np.full((4000, 2), mu), np.full(2, sigma))
    assert x.shape == (4000, 2) and ((x >= 0) & (x <= 1)).all()
    law = truncnorm(-mu / sigma, (1 - mu) / sigma, loc=mu, scale=sigma)
    for column in x.T:
        assert kstest(column, law.cdf).pvalue > 1e-3


def test_samples_lie_on_the_dimensions_domains() -> None:
    rng = np.random.default_rng(0)
    dims = [Dim(DimKind.CONTINUOUS), Dim(DimKind.CELLS, 4), Dim(DimKind.CATEGORICAL, 3)]
    points = np.array([[0.0, 0.125, 2.0], [1.0, 0.875, 0.0], [0.5, 0.375, 1.0]])
    draws = ParzenEstimator(points, dims).sample(rng, 500)
    assert ((draws[:, 0] >= 0) & (draws[:, 0] <= 1)).all()
    assert set(draws[:, 1]) <= {0.125, 0.375, 0.625, 0.875}
    assert set(draws[:, 2]) == {0.0, 1.0, 2.0}


def test_an_estimator_without_observations_is_the_uniform_prior() -> None:
    estimator = ParzenEstimator(np.empty((0, 2)), [Dim(DimKind.CONTINUOUS), Dim(DimKind.CELLS, 4)])
    assert np.allclose(estimator.log_pdf(np.array([[0.1, 0.125], [0.9, 0.625]])), -math.log(4))


def test_bad_estimator_arguments() -> None:
    with pytest.raises(ValueError, match="rule must be one of"):
        ParzenEstimator(np.zeros((1, 1)), [Dim(DimKind.CONTINUOUS)], rule="silverman")
    with pytest.raises(ValueError, match="prior_weight must be > 0"):
        ParzenEstimator(np.zeros((1, 1)), [Dim(DimKind.CONTINUOUS)], prior_weight=0.0)
    with pytest.raises(ValueError, match="size >= 1"):
        Dim(DimKind.CELLS, 0)


# -- the incremental history table --------------------------------------------------------------


def _random_history(rng: np.random.Generator, n: int) -> list[FrozenTrial]:
    states = [
        TrialState.COMPLETE,
        TrialState.PRUNED,
        TrialState.FAIL,
        TrialState.RUNNING,
        TrialState.WAITING,
    ]
    out = []
    for number in range(n):
        state = states[int(rng.integers(len(states)))]
        value = float(rng.integers(0, 5)) if rng.random() < 0.8 else None  # ties on purpose
        if state is TrialState.COMPLETE and rng.random() < 0.1:
            value = math.nan
        cause = EndCause.LOST if rng.random() < 0.1 else None
        steps = int(rng.integers(0, 4))
        params = {"x": float(rng.random())} if rng.random() < 0.9 else {}
        reports = tuple(Report(s, {"loss": 1.0}, 0.0) for s in range(steps))
        out.append(
            FrozenTrial(
                number + 1, number, state, params, value=value, reports=reports, end_cause=cause
            )
        )
    return out


@pytest.mark.parametrize("direction", list(Direction))
def test_kept_ranking_updated_a_trial_at_a_time_equals_split_trials(direction: Direction) -> None:
    """As in a study: a trial or two start or finish between suggestions, so the table
    updates its kept ranking instead of sorting again; ties (equal values) must still go
    to the older trial, and a finished trial that changes must move."""
    from dataclasses import replace

    from tunelab.samplers.tpe.table import HistoryTable

    rng = np.random.default_rng(7)
    space = SearchSpace()
    space.add(Float("x", 0.0, 1.0))
    encoder, table = Encoder(), HistoryTable()
    encoder.use_space(space)
    history: list[FrozenTrial] = []
    for step in range(120):
        for _ in range(int(rng.integers(0, 3))):  # new trials, running
            n = len(history)
            history.append(FrozenTrial(n + 1, n, TrialState.RUNNING, {"x": float(rng.random())}))
        running = [i for i, t in enumerate(history) if t.state is TrialState.RUNNING]
        if running and rng.random() < 0.8:  # one finishes, often on a value seen before
            i = running[int(rng.integers(len(running)))]
            state = TrialState.COMPLETE if rng.random() < 0.8 else TrialState.FAIL
            history[i] = replace(history[i], state=state, value=float(rng.integers(0, 6)))
        if step % 17 == 5 and history:  # a stored value is rewritten (a fidelity view, say)
            i = int(rng.integers(len(history)))
            if history[i].state is TrialState.COMPLETE:
                history[i] = replace(history[i], value=float(rng.integers(0, 6)))
        table.update(list(history), encoder, space)
        exclude = history[-1].number if history else None
        want = split_trials(history, direction, 0.25, exclude)
        got = table.rank(direction, 0.25, exclude)
        rows = encoder.matrix(want.good + want.bad, space)
        k = len(want.good)
        np.testing.assert_array_equal(table.coordinates[got.good], rows[:k])
        np.testing.assert_array_equal(table.coordinates[got.bad], rows[k:])
        assert [history[r].number for r in got.ranked] == [t.number for t in want.ranked()]


def test_kept_normalisers_follow_widths_and_rows_that_change() -> None:
    """The table's kept normalisers (summed over columns, and kept per column so that a
    sum whose one width moved is made from the others' kept terms) equal a fresh
    computation as widths move one at a time and trials finish between fits."""
    from dataclasses import replace

    from tunelab.samplers.tpe.table import HistoryTable

    rng = np.random.default_rng(9)
    space = SearchSpace()
    for name in ("a", "b", "c"):
        space.add(Float(name, 0.0, 1.0))
    encoder, table = Encoder(), HistoryTable()
    encoder.use_space(space)
    history: list[FrozenTrial] = []
    widths = [0.1, 0.2, 0.3]
    for step in range(40):
        n = len(history)
        params = {k: float(rng.random()) for k in ("a", "b", "c")}
        history.append(FrozenTrial(n + 1, n, TrialState.COMPLETE, params, value=1.0))
        if step % 7 == 3:  # a stored trial changes
            i = int(rng.integers(n + 1))
            history[i] = replace(history[i], params={**history[i].params, "b": 0.5})
        if step % 3 == 0:
            widths[step % 2] = snap(widths[step % 2] * 1.02)  # one width, one grid step on
        table.update(list(history), encoder, space)
        want = sum(
            log_unit_mass(table.coordinates[:, j], np.float64(w)) for j, w in enumerate(widths)
        )
        np.testing.assert_allclose(table.unit_mass([0, 1, 2], widths), want, rtol=0, atol=1e-14)


@pytest.mark.parametrize("seed", range(4))
def test_the_table_knows_whether_good_and_bad_trials_hold_every_column(seed: int) -> None:
    """`holds_every_column` (a set of the few lacking rows) must agree with the masks over
    every row, whether no trial, one (the one being planned), or many lack a parameter,
    and whichever of them are good, bad or left out."""
    from dataclasses import replace

    from tunelab.samplers.tpe.table import HistoryTable

    rng = np.random.default_rng(seed)
    space = SearchSpace()
    space.add(Float("x", 0.0, 1.0))
    space.add(Float("y", 0.0, 1.0))
    encoder, table = Encoder(), HistoryTable()
    encoder.use_space(space)
    history: list[FrozenTrial] = []
    seen = set()
    for step in range(80):
        n = len(history)
        p_lack = 0.02 if step < 40 else 0.4  # rarely, then often (more rows than _FEW)
        params = {"x": float(rng.random())}
        if rng.random() >= p_lack:
            params["y"] = float(rng.random())
        history.append(FrozenTrial(n + 1, n, TrialState.RUNNING, {}))  # being planned
        table.update(list(history), encoder, space)
        for exclude in (n, None):
            got = table.rank(Direction.MINIMIZE, 0.25, exclude)
            lacking = table.lacking
            want = not (lacking[got.good].any() or (lacking & got.bad_mask).any())
            assert table.holds_every_column(got) == want
            seen.add(want)
        state = TrialState.COMPLETE if rng.random() < 0.9 else TrialState.FAIL
        history[n] = replace(history[n], params=params, state=state, value=float(rng.random()))
    assert seen == {True, False}


@pytest.mark.parametrize("seed", range(5))
def test_history_table_ranks_exactly_like_split_trials(seed: int) -> None:
    """The fast path (arrays updated in place) must give split_trials' answer, in its
    order, as the history grows and trials change state between reads."""
    from dataclasses import replace

    from tunelab.samplers.tpe.table import HistoryTable

    rng = np.random.default_rng(seed)
    space = SearchSpace()
    space.add(Float("x", 0.0, 1.0))
    encoder, table = Encoder(), HistoryTable()
    encoder.use_space(space)
    history = _random_history(rng, 30)
    for step in range(6):
        if step:
            history = history + _random_history(rng, 7)
            history = [replace(t, number=i, trial_id=i + 1) for i, t in enumerate(history)]
            i = int(rng.integers(len(history)))  # a running trial finishes, say
            history[i] = replace(history[i], state=TrialState.COMPLETE, value=float(step))
        table.update(history, encoder, space)
        # the kept kernel basis and normalisers are those of the coordinates as they are now
        dims = [encoder.dim(space["x"])]
        np.testing.assert_array_equal(table.basis, basis(table.coordinates, dims))
        for width in (0.05, 0.3):
            np.testing.assert_allclose(
                table.unit_mass([0], [width]),
                log_unit_mass(table.coordinates[:, 0], np.float64(width)),
                rtol=0,
                atol=1e-15,
            )
        for direction in Direction:
            exclude = int(rng.integers(len(history)))
            for liar in (True, False):
                want = split_trials(history, direction, 0.25, exclude, liar)
                got = table.rank(direction, 0.25, exclude, liar)
                rows = encoder.matrix(want.good + want.bad, space)
                k = len(want.good)
                np.testing.assert_array_equal(table.coordinates[got.good], rows[:k])
                np.testing.assert_array_equal(table.coordinates[got.bad], rows[k:])
                np.testing.assert_array_equal(np.flatnonzero(got.bad_mask), np.sort(got.bad))
                assert got.n_ranked == want.n_ranked and got.n_valued == want.n_valued
