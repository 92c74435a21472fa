"""TPESampler: the sampler contract, the good/bad split, the history as the model reads
it, and that it searches better than random on problems where that is certain (the
Parzen estimators are tested in test_tpe_parzen.py)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

import tunelab
from tunelab.samplers import RandomSampler, Sampler, SampleRequest, SobolSampler
from tunelab.samplers.tpe import TPESampler
from tunelab.samplers.tpe.groups import co_occurring_groups
from tunelab.samplers.tpe.observations import KeptHistory, model_dim
from tunelab.samplers.tpe.parzen import Dim
from tunelab.samplers.tpe.split import (
    FIELDS,
    MAX_GOOD,
    TrialArrays,
    n_good,
    rank,
    split_trials,
)
from tunelab.space import AxisKind, Boolean, Choice, Float, Int, Param, SearchSpace, UnitEncoding
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


def test_model_dimensions() -> None:
    """Continuous floats and rounded (log, stepless) ints are smoothed as continuous; every
    other parameter is one cell per value, ordered or categorical as the space says."""
    dims = {p.name: model_dim(p) for p in PARAMS}
    for name in ("f", "fl", "il", "irl"):
        assert dims[name] == Dim(AxisKind.CONTINUOUS), name
    for name in ("fs", "fls", "i", "is", "ils", "cn"):
        assert dims[name].kind is AxisKind.ORDINAL, name
        assert dims[name].size == len(next(p for p in PARAMS if p.name == name).grid_values())
    assert dims["c"] == Dim(AxisKind.CATEGORICAL, 3) and dims["b"] == Dim(AxisKind.CATEGORICAL, 2)


# -- the history as the model reads it ----------------------------------------------------------


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
        # some break a constraint (by 0, 1 or 2: ties on purpose)
        bound = {"constraints": {"c": float(rng.integers(-1, 3))}} if rng.random() < 0.3 else {}
        out.append(
            FrozenTrial(
                number + 1,
                number,
                state,
                params,
                value=value,
                reports=reports,
                end_cause=cause,
                system_attrs=bound,
            )
        )
    return out


def _reference_split(
    history: list[FrozenTrial], direction: Direction, gamma: float, exclude: int, liar: bool
) -> tuple[list[int], list[int], int]:
    """The split as the module docstring states it, trial by trial: good numbers, bad
    numbers (ranked, infeasible last, then failed, then pending) and how many ranked
    trials have a value."""
    sign = 1.0 if direction is Direction.MINIMIZE else -1.0
    complete, pruned, failed, pending = [], [], [], []
    infeasible: list[tuple[float, int, bool]] = []
    for t in history:
        finite = t.value is not None and math.isfinite(t.value)
        if t.number == exclude:
            continue
        broken = t.state in (TrialState.COMPLETE, TrialState.PRUNED) and not t.feasible
        if broken and (finite or t.state is TrialState.PRUNED):  # after every other one
            infeasible.append((sum(max(c, 0.0) for c in t.constraints.values()), t.number, finite))
        elif t.state is TrialState.COMPLETE:
            (complete if finite else failed).append(
                (sign * t.value, t.number) if finite else t.number  # type: ignore[operator]
            )
        elif t.state is TrialState.PRUNED:
            step = -1 if t.last_step is None else t.last_step
            key = (-step, False, sign * t.value) if finite else (-step, True, 0.0)  # type: ignore[operator]
            pruned.append((*key, t.number))
        elif t.state is TrialState.FAIL and t.counts_toward_budget:
            failed.append(t.number)
        elif t.state is TrialState.RUNNING and liar:
            pending.append(t.number)
    ranked = [number for _, number in sorted(complete)] + [k[-1] for k in sorted(pruned)]
    ranked += [number for _, number, _ in sorted(infeasible)]
    k = n_good(len(ranked), gamma)
    n_valued = len(complete) + sum(1 for key in pruned if not key[1])
    n_valued += sum(1 for *_, finite in infeasible if finite)
    return ranked[:k], ranked[k:] + sorted(failed) + pending, n_valued


@pytest.mark.parametrize("seed", range(6))
def test_the_ranking_is_the_documented_split(seed: int) -> None:
    """`rank` sorts arrays; it must give the split the module docstring states, checked
    trial by trial, in both directions, with and without the liar, ties included."""
    rng = np.random.default_rng(seed)
    history = _random_history(rng, 60)
    for direction in Direction:
        for liar in (True, False):
            exclude = int(rng.integers(60))
            good, bad, n_valued = _reference_split(history, direction, 0.25, exclude, liar)
            split = split_trials(history, direction, 0.25, exclude, liar)
            assert [t.number for t in split.good] == good
            assert [t.number for t in split.bad] == bad
            assert split.n_valued == n_valued


def test_kept_history_reads_like_a_fresh_read() -> None:
    """The kept arrays (only records that are not the very objects seen before are read
    again) must equal a fresh read as trials start, finish, change, as the space grows,
    when another study's shorter history comes along and as a few of its records change
    into trials of any kind (pruned at a step, failed, lost, with no value or an infinite one)."""
    from dataclasses import replace

    rng = np.random.default_rng(3)
    space = SearchSpace()
    space.add(Float("x", 0.0, 1.0))
    kept = KeptHistory()
    history: list[FrozenTrial] = []

    def check(history: list[FrozenTrial]) -> None:
        encoding = UnitEncoding.of(space)
        trials, coordinates = kept.read(history, encoding)
        fresh = TrialArrays.of(history)
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(trials, name), getattr(fresh, name))
        kept_rank = rank(trials, Direction.MINIMIZE, 0.3, None, True, kept.infeasible_seen)
        fresh_rank = rank(fresh, Direction.MINIMIZE, 0.3)
        np.testing.assert_array_equal(kept_rank.ranked, fresh_rank.ranked)
        assert kept_rank.n_good == fresh_rank.n_good
        np.testing.assert_array_equal(coordinates, encoding.encode([t.params for t in history]))

    for step in range(60):
        n = len(history)
        params = {"x": float(rng.random())}
        if step >= 30:
            params["k"] = int(rng.integers(1, 5))
        history.append(FrozenTrial(n + 1, n, TrialState.RUNNING, {}))  # being planned
        check(list(history))
        state = TrialState.COMPLETE if rng.random() < 0.8 else TrialState.FAIL
        history[n] = replace(history[n], params=params, state=state, value=float(rng.random()))
        if step in (20, 45):  # breaks a constraint, read as one of a few changed trials
            history[n] = replace(history[n], system_attrs={"constraints": {"c": 1.0 + step}})
        if step % 7 == 3:  # a stored trial changes
            i = int(rng.integers(n + 1))
            history[i] = replace(history[i], value=float(rng.integers(0, 3)))
        if step == 30:
            space.add(Int("k", 1, 4))  # the space grows
        check(list(history))
    history = _random_history(rng, 20)  # another study
    check(history)
    for _ in range(10):  # a few records change at a time, into trials of every kind
        other = _random_history(rng, 20)
        for i in rng.choice(20, size=3, replace=False).tolist():
            history[i] = other[i] if rng.random() < 0.8 else replace(other[i], value=math.inf)
        check(list(history))


def test_a_rounded_int_is_planned_on_its_integers() -> None:
    """Candidates of a log Int without a step are snapped to their integers' coordinates,
    so every planned value is an integer of the domain."""
    n = Int("n", 1, 1000, sampling="log")
    space = SearchSpace()
    space.add(n)
    history = tuple(
        FrozenTrial(i + 1, i, TrialState.COMPLETE, {"n": v}, value=abs(math.log(v / 30)))
        for i, v in enumerate([1, 3, 10, 30, 100, 300, 1000, 20, 40, 25, 35, 28])
    )
    sampler = TPESampler(seed=0, n_startup_trials=5)
    values = [sampler.sample(SampleRequest(12 + k, n, (), {}, space, history)) for k in range(40)]
    assert all(type(v) is int and 1 <= v <= 1000 for v in values)
    assert np.median(values) > 10  # drawn near the good trials, around 30


def test_with_a_scheduler_the_model_learns_from_values_at_one_step() -> None:
    """Once a scheduler stops trials, the TPE reads the history through
    `fidelity.model_history` (values at one step, trials stopped below it ranked last):
    a seeded study with ASHA repeats exactly, and the TPE still beats its start-up."""

    def objective(trial: tunelab.Trial) -> float:
        x = trial.hp.Float("x", -5.0, 5.0)
        k = trial.hp.Int("k", 1, 8)
        loss = 0.0
        for step in range(8):
            loss = (x - 1.0) ** 2 + abs(k - 3) + 4.0 / (step + 1)
            trial.report(step, loss=loss)
            if trial.should_prune():
                raise tunelab.TrialPruned()
        return loss

    def run() -> tunelab.Study:
        study = tunelab.create_study(
            "asha",
            storage=":memory:",
            sampler=TPESampler(seed=3, n_startup_trials=8),
            scheduler="asha",
            metric="loss",
            direction="minimize",
        )
        study.optimize(objective, n_trials=50)
        return study

    first, second = run(), run()
    assert any(t.state is TrialState.PRUNED for t in first.trials)
    assert [dict(t.params) for t in first.trials] == [dict(t.params) for t in second.trials]
    late = [abs(t.params["x"] - 1.0) for t in first.trials[30:]]
    early = [abs(t.params["x"] - 1.0) for t in first.trials[:8]]
    assert np.median(late) < np.median(early)
