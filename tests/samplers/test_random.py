"""RandomSampler: draws follow each parameter's sampling, independently and reproducibly."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from scipy import stats

import tunelab
from tunelab.samplers import RandomSampler, SampleRequest
from tunelab.space import Choice, Float, Int, Param, SearchSpace

N = 3000


def _draw(param: Param, n: int = N, seed: int = 0) -> list:
    space = SearchSpace()
    space.add(param)
    sampler = RandomSampler(seed=seed)
    return [sampler.sample(SampleRequest(i, param, (), {}, space, ())) for i in range(n)]


def _per_decade(values: list[float], low_exp: int, high_exp: int) -> list[int]:
    exps = np.floor(np.log10(values)).astype(int)
    return [int((exps == e).sum()) for e in range(low_exp, high_exp)]


def test_log_float_is_log_uniform():
    values = _draw(Float("lr", 1e-4, 1e-1, sampling="log"))
    assert all(1e-4 <= v <= 1e-1 for v in values)
    for count in _per_decade(values, -4, -1):
        assert 900 < count < 1100  # a third each (sd ~26); linear would give 3, 27, 2970
    exponents = np.log10(values)
    assert stats.kstest(exponents, stats.uniform(-4, 3).cdf).pvalue > 0.01


def test_the_decade_check_would_catch_a_linear_sampler():
    counts = _per_decade(_draw(Float("lr", 1e-4, 1e-1)), -4, -1)
    assert counts[0] < 900 and counts[2] > 1100


def test_log_int_is_log_uniform():
    values = _draw(Int("units", 1, 1000, sampling="log"), seed=1)
    counts = _per_decade(values, 0, 3)
    # integers 1..9, 10..99, 100..999: about a third each (rounding halves the mass of 1)
    assert all(850 < c < 1150 for c in counts), counts


def test_log_stepped_int_takes_each_power_equally():
    counts = Counter(_draw(Int("batch", 16, 256, step=2, sampling="log"), seed=2))
    assert set(counts) == {16, 32, 64, 128, 256}
    assert stats.chisquare(list(counts.values())).pvalue > 0.01


def test_reverse_log_float_is_dense_near_max():
    values = np.array(_draw(Float("beta", 0.001, 1.0, sampling="reverse_log"), seed=3))
    assert values.min() >= 0.001 and values.max() <= 1.0
    mirrored = 1.0 + 0.001 - values  # reverse_log is log sampling mirrored in the range
    assert stats.kstest(np.log10(mirrored), stats.uniform(-3, 3).cdf).pvalue > 0.01
    assert 0.62 < (values > 0.9).mean() < 0.72  # log10(101)/3 = 0.668; linear: 0.10


def test_linear_float_is_uniform():
    values = _draw(Float("x", -2.0, 3.0), seed=4)
    assert stats.kstest(values, stats.uniform(-2, 5).cdf).pvalue > 0.01


@pytest.mark.parametrize(
    "param",
    [
        Choice("opt", ["adam", "sgd", "rmsprop", "adamw"]),
        Int("n", 1, 6),
        Float("d", 0.0, 0.5, step=0.1),
    ],
    ids=["choice", "int", "stepped-float"],
)
def test_discrete_values_are_equally_likely(param):
    counts = Counter(_draw(param, seed=5))
    assert set(counts) == set(param.grid_values())
    assert stats.chisquare(list(counts.values())).pvalue > 0.01


def test_parameters_are_independent():
    space = SearchSpace()
    a, b = Float("a", 0, 1), Float("b", 0, 1)
    space.add(a)
    space.add(b)
    sampler = RandomSampler(seed=6)
    pairs = np.array(
        [[sampler.sample(SampleRequest(i, p, (), {}, space, ())) for p in (a, b)] for i in range(N)]
    )
    assert abs(np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1]) < 0.06  # ~3 sd at n=3000


def test_values_do_not_depend_on_the_order_of_asking():
    def forward(trial):
        return trial.hp.Float("lr", 1e-4, 1e-1, sampling="log") + trial.hp.Int("n", 1, 9)

    def backward(trial):
        return (
            trial.hp.Int("n", 1, 9)
            + trial.hp.Choice("opt", ["a", "b"]).count("a")
            + trial.hp.Float("lr", 1e-4, 1e-1, sampling="log")
        )

    runs = []
    for objective in (forward, backward):
        study = tunelab.create_study(
            "order",
            storage=":memory:",
            metric="loss",
            direction="minimize",
            sampler=RandomSampler(seed=8),
        )
        study.optimize(objective, n_trials=10)
        runs.append([(t.params["lr"], t.params["n"]) for t in study.trials])
    assert runs[0] == runs[1]


def test_without_a_seed_each_sampler_draws_its_own():
    a, b = RandomSampler(), RandomSampler()
    assert a.seed != b.seed
    assert a.to_json() == {"name": "random", "seed": a.seed}
    param = Float("x", 0, 1)
    assert _draw(param, 5, a.seed) != _draw(param, 5, b.seed)


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_bad_seeds(seed):
    with pytest.raises(ValueError, match=rf"non-negative int.*seed={seed!r}".replace("(", r"\(")):
        RandomSampler(seed=seed)


def test_same_trial_and_name_give_the_same_value():
    param = Float("x", 0, 1)
    assert _draw(param, 50, seed=10) == _draw(param, 50, seed=10)
    assert not math.isclose(_draw(param, 1, seed=10)[0], _draw(param, 1, seed=11)[0])
