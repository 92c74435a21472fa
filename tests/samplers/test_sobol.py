"""SobolSampler: quasi-random points cover the space more evenly than random ones."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import qmc

import tunelab
from tunelab.samplers import RandomSampler, Sampler, SampleRequest, SobolSampler
from tunelab.space import Float, SearchSpace

N = 64


def _points(sampler: Sampler, n: int = N) -> np.ndarray:
    """n trials of a study over the unit square, as an (n, 2) array."""
    study = tunelab.create_study(
        "sobol", storage=":memory:", metric="loss", direction="minimize", sampler=sampler
    )
    study.optimize(lambda t: t.hp.Float("x", 0, 1) + t.hp.Float("y", 0, 1), n_trials=n)
    return np.array([[t.params["x"], t.params["y"]] for t in study.trials])


def _max_gap(values: np.ndarray) -> float:
    edges = np.sort(np.concatenate([[0.0], values, [1.0]]))
    return float(np.diff(edges).max())


def test_one_point_in_each_of_64_intervals():
    xs = _points(SobolSampler(seed=0))[:, 0]
    counts = np.bincount(np.floor(xs * N).astype(int), minlength=N)
    assert counts.tolist() == [1] * N
    assert _max_gap(xs) < 2 / N


def test_one_point_in_each_cell_of_an_8_by_8_grid():
    cells = {tuple(c) for c in np.floor(_points(SobolSampler(seed=1)) * 8).astype(int)}
    assert len(cells) == N


def test_more_uniform_than_random():
    sobol = _points(SobolSampler(seed=2))
    randoms = [_points(RandomSampler(seed=s)) for s in range(3)]
    d_sobol = qmc.discrepancy(sobol)
    d_random = [qmc.discrepancy(r) for r in randoms]
    assert d_sobol < 0.2 * min(d_random), (d_sobol, d_random)
    assert _max_gap(sobol[:, 0]) < min(_max_gap(r[:, 0]) for r in randoms)


def test_each_parameter_owns_a_dimension():
    xy = _points(SobolSampler(seed=3), 16)
    assert not np.allclose(xy[:, 0], xy[:, 1])
    assert abs(np.corrcoef(xy[:, 0], xy[:, 1])[0, 1]) < 0.5


def test_spaces_wider_than_32_dimensions():
    space = SearchSpace()
    params = [Float(f"p{i}", 0, 1) for i in range(70)]
    for p in params:
        space.add(p)
    sampler = SobolSampler(seed=4)
    last = [sampler.sample(SampleRequest(n, params[-1], (), {}, space, ())) for n in range(N)]
    counts = np.bincount(np.floor(np.array(last) * 16).astype(int), minlength=16)
    assert counts.tolist() == [4] * 16  # still stratified in dimension 70


@pytest.mark.parametrize("number", [0, 5, 1000])
def test_a_value_depends_only_on_seed_trial_and_position(number):
    space = SearchSpace()
    for name in ("a", "b", "c"):
        space.add(Float(name, 0, 1))
    first, second = SobolSampler(seed=9), SobolSampler(seed=9)
    forward = [first.sample(SampleRequest(number, space[n], (), {}, space, ())) for n in "abc"]
    backward = [second.sample(SampleRequest(number, space[n], (), {}, space, ())) for n in "cba"]
    assert forward == backward[::-1]
