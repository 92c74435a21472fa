"""The GP with constraints: log P(feasible), searching for feasibility first, avoiding an
infeasible region, and a constrained study of two objectives end to end on SQLite."""

from __future__ import annotations

import numpy as np

from tunelab._pareto import hypervolume
from tunelab.objectives import Objective
from tunelab.samplers import GPSampler, RandomSampler, Sampler, SampleRequest
from tunelab.samplers.gp.feasibility import log_pf, log_pf_with_grad
from tunelab.space import Float, SearchSpace
from tunelab.study import create_study, load_study
from tunelab.trial import FrozenTrial, Trial
from tunelab.types import Direction, TrialState


def test_log_pf_and_its_gradient():
    rng = np.random.default_rng(0)
    mean, var = rng.normal(size=(6, 2)), rng.random((6, 2)) + 0.05
    bound = np.array([0.3, -0.2])
    value, d_mean, d_var = log_pf_with_grad(mean, var, bound)
    from scipy.stats import norm

    expected = norm.logcdf((bound - mean) / np.sqrt(var)).sum(axis=1)
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    np.testing.assert_allclose(log_pf(mean, var, bound), expected, rtol=1e-12)
    step = 1e-6
    for k in range(2):
        bump = np.zeros((6, 2))
        bump[:, k] = step
        numeric = (log_pf(mean + bump, var, bound) - log_pf(mean - bump, var, bound)) / (2 * step)
        np.testing.assert_allclose(d_mean[:, k], numeric, rtol=1e-5)
        numeric = (log_pf(mean, var + bump, bound) - log_pf(mean, var - bump, bound)) / (2 * step)
        np.testing.assert_allclose(d_var[:, k], numeric, rtol=1e-5, atol=1e-9)
    far = np.array([[50.0], [500.0], [5000.0]])  # P(feasible) underflows to 0 in floats
    value, d_mean, _ = log_pf_with_grad(far, np.full_like(far, 0.01), np.array([0.0]))
    assert np.all(np.isfinite(value)) and np.all(np.diff(value) < 0) and np.all(d_mean < 0)


def _trial(number: int, x: float, loss: float, c: float) -> FrozenTrial:
    attrs = {"constraints": {"c": c}}
    return FrozenTrial(number, number, TrialState.COMPLETE, {"x": x}, loss, system_attrs=attrs)


def test_without_a_feasible_trial_it_heads_for_feasibility():
    """Feasible only for x >= 0.8, and the loss is lowest at x = 0: with no feasible trial
    yet, the GP follows P(feasible) and not the loss."""
    space = SearchSpace()
    space.add(Float("x", 0.0, 1.0))
    xs = np.linspace(0.0, 0.6, 7)
    history = tuple(_trial(i, float(x), float(x), float(0.8 - x)) for i, x in enumerate(xs))
    objectives = (Objective("loss", Direction.MINIMIZE),)
    request = SampleRequest(
        7, space.entries["x"].param, (), {}, space, history, Direction.MINIMIZE, "loss", objectives
    )
    x = GPSampler(seed=0, n_startup_trials=5).sample(request)
    assert x >= 0.8, x  # into the feasible side, past every trial so far


def _constrained_loss(trial: Trial) -> dict[str, float]:
    """Best at (0.9, 0.9, 0.5), but x + y <= 1 must hold: the answer is (0.5, 0.5, 0.5)."""
    x, y, z = (trial.hp.Float(n, 0.0, 1.0) for n in ("x", "y", "z"))
    return {"loss": (x - 0.9) ** 2 + (y - 0.9) ** 2 + (z - 0.5) ** 2, "s": x + y}


def _infeasible_share(sampler: Sampler, seed: int) -> tuple[float, float]:
    study = create_study(
        f"c{seed}",
        storage=":memory:",
        metric="loss",
        direction="minimize",
        constraints={"s": ("<=", 1.0)},
        sampler=sampler,
        seed=seed,
    )
    study.optimize(_constrained_loss, n_trials=30)
    late = [t for t in study.trials if t.number >= 10]
    return float(np.mean([not t.feasible for t in late])), float(study.best_trial.value)


def test_gp_avoids_the_infeasible_region_and_finds_the_constrained_optimum():
    gp = [_infeasible_share(GPSampler(seed=s), s) for s in range(3)]
    rand = [_infeasible_share(RandomSampler(seed=s), s) for s in range(3)]
    assert np.median([g[0] for g in gp]) < np.median([r[0] for r in rand]) - 0.25, (gp, rand)
    assert max(g[0] for g in gp) <= 0.25, gp
    assert max(g[1] for g in gp) < 0.33 < min(r[1] for r in rand), (gp, rand)  # optimum 0.32


def _two_objectives(trial: Trial) -> dict[str, float]:
    """A trade-off along b = 0, from (0, 1) to (1, 0); but a < 0.3 is infeasible."""
    a, b = trial.hp.Float("a", 0.0, 1.0), trial.hp.Float("b", 0.0, 1.0)
    return {"f1": a, "f2": 1.0 - float(np.sqrt(a)) + b, "a_copy": a}


def test_two_objectives_and_a_constraint_end_to_end_on_sqlite(tmp_path):
    storage = "sqlite:///" + str(tmp_path / "s.db")
    kwargs = dict(
        storage=storage,
        metrics=["f1", "f2"],
        directions=["minimize", "minimize"],
        constraints={"a_copy": (">=", 0.3)},
        seed=4,
    )
    study = create_study("mo", sampler=GPSampler(seed=4), **kwargs)
    study.optimize(_two_objectives, n_trials=14)
    again = load_study("mo", storage=storage)  # the sampler rebuilt from its stored JSON
    assert isinstance(again.sampler, GPSampler) and again.sampler.reads_feasibility
    again.optimize(_two_objectives, n_trials=28)  # a study-wide total
    trials = load_study("mo", storage=storage).trials
    assert len(trials) == 28 and all(t.state is TrialState.COMPLETE for t in trials)
    front = again.best_trials
    assert front and all(t.feasible for t in front)
    late = [t for t in trials if t.number >= 14]
    assert np.mean([not t.feasible for t in late]) <= 0.15  # random search: 0.3 to 0.5
    # spread along the feasible front (at most about 0.73; random search: about 0.5)
    assert len(front) >= 8 and hypervolume([t.values for t in front], [1.1, 1.1]) > 0.65
