"""The GP for several objectives: the box decomposition, log EHVI, the training columns,
and search quality against random search on ZDT1."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab._pareto import hypervolume
from tunelab.objectives import Objective
from tunelab.samplers import GPSampler, RandomSampler, Sampler, SampleRequest
from tunelab.samplers.gp.boxes import non_dominated_boxes
from tunelab.samplers.gp.ehvi import Boxes, log_ehvi, log_ehvi_with_grad
from tunelab.samplers.gp.observations import model_dims
from tunelab.samplers.gp.targets import collect_targets
from tunelab.space import Float, SearchSpace
from tunelab.study import create_study
from tunelab.trial import FrozenTrial, Trial
from tunelab.types import Direction, TrialState

MIN, MAX = Direction.MINIMIZE, Direction.MAXIMIZE


def _boxes_volume(lower: np.ndarray, upper: np.ndarray, floor: np.ndarray) -> float:
    """Volume of the boxes cut off below at `floor`."""
    return float(np.prod(np.clip(upper - np.maximum(lower, floor), 0.0, None), axis=1).sum())


@pytest.mark.parametrize("m", [2, 3])
def test_boxes_cover_exactly_the_region_the_front_does_not_dominate(m):
    rng = np.random.default_rng(m)
    for _ in range(20):
        n = int(rng.integers(1, 15))
        points = rng.random((n, m))
        if rng.random() < 0.5:  # repeats, ties in one objective, points past the reference
            points = np.vstack([points, points[:2], np.round(points[:3], 1)])
        reference = np.full(m, 0.9)
        floor = np.full(m, -0.3)
        lower, upper = non_dominated_boxes(points, reference)
        expected = float(np.prod(reference - floor)) - hypervolume(points, reference)
        assert _boxes_volume(lower, upper, floor) == pytest.approx(expected, rel=1e-12)
        # disjoint and outside the front's dominated region: random points in at most one box
        z = floor + rng.random((2000, m)) * (reference - floor)
        inside = ((z[:, None, :] >= lower) & (z[:, None, :] < upper)).all(axis=2)
        assert inside.sum(axis=1).max() <= 1
        dominated = (points[None, :, :] <= z[:, None, :]).all(axis=2).any(axis=1)
        assert not (inside.any(axis=1) & dominated).any()
        assert (inside.any(axis=1) | dominated).all()


def test_boxes_of_an_empty_front_are_the_whole_region_below_the_reference():
    lower, upper = non_dominated_boxes(np.array([[2.0, 2.0]]), np.array([1.0, 1.0]))
    assert _boxes_volume(lower, upper, np.zeros(2)) == pytest.approx(1.0)


def test_ehvi_closed_form_matches_monte_carlo():
    rng = np.random.default_rng(0)
    for m in (2, 3):
        front = rng.random((8, m))
        reference = np.full(m, 1.1)
        boxes = Boxes.of(*non_dominated_boxes(front, reference))
        base = hypervolume(front, reference)
        mean = rng.random((4, m)) * 1.2 - 0.1
        var = rng.random((4, m)) * 0.1 + 0.005
        exact = np.exp(log_ehvi(mean, var, boxes))
        draws = mean[:, None, :] + np.sqrt(var)[:, None, :] * rng.standard_normal((4, 3000, m))
        improvement = np.array(
            [[hypervolume(np.vstack([front, y]), reference) - base for y in row] for row in draws]
        )
        estimate = improvement.mean(axis=1)
        stderr = improvement.std(axis=1) / np.sqrt(improvement.shape[1])
        assert np.all(np.abs(exact - estimate) <= 4 * stderr + 1e-12), (exact, estimate)


def test_log_ehvi_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    front = rng.random((6, 2))
    boxes = Boxes.of(*non_dominated_boxes(front, np.full(2, 1.1)))
    mean, var = rng.random((5, 2)), rng.random((5, 2)) * 0.2 + 0.01
    _, d_mean, d_var = log_ehvi_with_grad(mean, var, boxes)
    step = 1e-6
    for j in range(2):
        bump = np.zeros((5, 2))
        bump[:, j] = step
        numeric_mean = (log_ehvi(mean + bump, var, boxes) - log_ehvi(mean - bump, var, boxes)) / (
            2 * step
        )
        numeric_var = (log_ehvi(mean, var + bump, boxes) - log_ehvi(mean, var - bump, boxes)) / (
            2 * step
        )
        np.testing.assert_allclose(d_mean[:, j], numeric_mean, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(d_var[:, j], numeric_var, rtol=1e-4, atol=1e-6)


def test_log_ehvi_stays_finite_and_ordered_where_ehvi_underflows():
    front = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    boxes = Boxes.of(*non_dominated_boxes(front, np.array([1.2, 1.2])))
    distance = np.array([2.0, 5.0, 10.0, 40.0, 200.0, 1e4])
    mean = np.column_stack([0.5 + distance, 0.5 + distance])  # ever further behind the front
    var = np.full_like(mean, 0.01)
    value, d_mean, d_var = log_ehvi_with_grad(mean, var, boxes)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(d_mean)) and np.all(np.isfinite(d_var))
    assert np.exp(value[-3:]).max() == 0.0  # plain EHVI is 0 there: nothing to climb
    assert np.all(np.diff(value) < 0)  # further is worse, at every distance
    assert np.all(d_mean < 0) and np.all(d_var > 0)  # better means and more doubt help
    assert np.all(np.isfinite(log_ehvi(mean, np.full_like(mean, 1e-12), boxes)))


def _trial(number, params, values, state=TrialState.COMPLETE, constraints=None):
    attrs = {"constraints": constraints} if constraints is not None else {}
    return FrozenTrial(number, number, state, params, values=values, system_attrs=attrs)


def test_training_columns_per_objective():
    space = SearchSpace()
    space.add(Float("x", 0.0, 1.0))
    history = [
        _trial(0, {"x": 0.1}, (1.0, 10.0)),
        _trial(1, {"x": 0.2}, (3.0, 30.0)),
        _trial(2, {"x": 0.3}, (2.0, 50.0), constraints={"c": 1.0}),  # infeasible: still data
        _trial(3, {"x": 0.4}, None, TrialState.FAIL),
        _trial(4, {"x": 0.5}, (0.0, 40.0), TrialState.PRUNED),
        _trial(5, {"x": 0.6}, (float("nan"), 1.0)),  # no finite value: left out
        _trial(6, {"x": 0.7}, None, TrialState.RUNNING),
    ]
    objectives = (Objective("a", MIN), Objective("b", MAX))
    dims = model_dims(space, history, 2)
    t = collect_targets(history, dims, objectives, 7, 500)
    np.testing.assert_allclose(t.x[:, 0], [0.1, 0.2, 0.3, 0.4, 0.5])
    # b is maximized: negated. FAIL: the worst per objective; PRUNED: clipped to
    # [median, worst] per objective
    np.testing.assert_allclose(t.y[:, 0], [1.0, 3.0, 2.0, 3.0, 2.0])
    np.testing.assert_allclose(t.y[:, 1], [-10.0, -30.0, -50.0, -10.0, -30.0])
    assert t.complete.tolist() == [True, True, True, False, False]
    assert t.feasible.tolist() == [True, True, False, False, False]
    assert t.constraint_names == ("c",)
    assert np.isnan(t.constraints[[0, 1, 3, 4], 0]).all() and t.constraints[2, 0] == 1.0
    np.testing.assert_allclose(t.pending[:, 0], [0.7])


def _zdt1(trial: Trial) -> tuple[float, float]:
    x = np.array([trial.hp.Float(f"x{i}", 0.0, 1.0) for i in range(4)])
    g = 1.0 + 9.0 * x[1:].mean()
    return float(x[0]), float(g * (1.0 - np.sqrt(x[0] / g)))


def _zdt1_hypervolume(sampler: Sampler, seed: int, n_trials: int) -> float:
    study = create_study(
        f"zdt1-{seed}",
        storage=":memory:",
        metrics=["f1", "f2"],
        directions=["minimize", "minimize"],
        sampler=sampler,
        seed=seed,
    )
    study.optimize(_zdt1, n_trials=n_trials)
    return hypervolume([t.values for t in study.trials], [1.1, 3.0])


def test_gp_finds_a_better_front_than_random_search_on_zdt1():
    """The true front's hypervolume against (1.1, 3) is about 2.97; random search over
    four parameters rarely gets near it in 40 trials."""
    gp = [_zdt1_hypervolume(GPSampler(seed=s), s, 40) for s in range(3)]
    rand = [_zdt1_hypervolume(RandomSampler(seed=s), s, 40) for s in range(3)]
    assert np.median(gp) > np.median(rand) + 1.0, (gp, rand)
    assert min(gp) > max(rand), (gp, rand)


def test_pending_trials_push_the_next_suggestion_elsewhere():
    """Kriging believer: with the GP's own choice running, the next trial goes elsewhere."""
    space = SearchSpace()
    params = [Float("a", 0.0, 1.0), Float("b", 0.0, 1.0)]
    for p in params:
        space.add(p)
    rng = np.random.default_rng(3)
    history = [
        _trial(i, {"a": float(a), "b": float(b)}, (float(a), float((1 - a) ** 2 + b)))
        for i, (a, b) in enumerate(rng.random((12, 2)))
    ]
    objectives = (Objective("f1", MIN), Objective("f2", MIN))

    def suggest(history, number):
        sampler, chosen = GPSampler(seed=0, n_startup_trials=5), {}
        for p in params:
            request = SampleRequest(number, p, (), dict(chosen), space, tuple(history), MIN, "f1", objectives)  # fmt: skip
            chosen[p.name] = sampler.sample(request)
        return chosen

    def apart(p, q):
        return float(np.hypot(p["a"] - q["a"], p["b"] - q["b"]))

    first = suggest(history, 12)
    alone = suggest(history, 13)  # the same choice, but for the trial's own random draws
    running = FrozenTrial(12, 12, TrialState.RUNNING, first)
    second = suggest([*history, running], 13)
    assert apart(first, alone) < 0.01 < 0.05 < apart(first, second), (first, alone, second)
    # a worker still planning trial 12 (no parameters yet) will most likely take `first`
    planning = FrozenTrial(12, 12, TrialState.RUNNING, {})
    stepped = suggest([*history, planning], 13)
    assert apart(first, stepped) > 0.05, (first, stepped)


def test_a_large_front_in_three_objectives_is_thinned_to_a_bounded_number_of_boxes():
    rng = np.random.default_rng(5)
    points = rng.random((200, 3))
    points = points[points.sum(axis=1) > 1.2][:60]  # many mutually non-dominated points
    reference, floor = np.full(3, 1.1), np.zeros(3)
    lower, upper = non_dominated_boxes(points, reference, max_boxes=256)
    assert len(lower) <= 256
    exact = float(np.prod(reference - floor)) - hypervolume(points, reference)
    thinned = _boxes_volume(lower, upper, floor)
    assert exact < thinned < exact + 0.2 * hypervolume(points, reference)  # fewer points


def _three(trial: Trial) -> tuple[float, float, float]:
    a, b = trial.hp.Float("a", 0.0, 1.0), trial.hp.Float("b", 0.0, 1.0)
    return a, b, float((1.0 - a) * (1.0 - b))


def test_three_objectives_run_end_to_end():
    study = create_study(
        "three",
        storage=":memory:",
        metrics=["f1", "f2", "f3"],
        directions=["minimize", "minimize", "minimize"],
        sampler=GPSampler(seed=1, n_startup_trials=5),
        seed=1,
    )
    study.optimize(_three, n_trials=14)
    assert all(t.state is TrialState.COMPLETE and len(t.values) == 3 for t in study.trials)
    assert len(study.trials) == 14 and len({tuple(t.params.values()) for t in study.trials}) == 14
