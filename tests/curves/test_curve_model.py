"""The learning-curve model: extrapolation, calibration on held-out curves, decisions."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.curves import Curve, CurveModel, Prediction, extrapolate

STEPS = np.arange(1, 28, dtype=float)


def family(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Saturating curves whose rates span fast starters to late bloomers, with noise."""
    curves = []
    for _ in range(n):
        top = rng.uniform(0.5, 0.97)
        rate = 10 ** rng.uniform(-1.3, 0.2)
        noise = rng.normal(0.0, 0.004, len(STEPS))
        curves.append(0.1 + (top - 0.1) * (1 - np.exp(-rate * STEPS)) + noise)
    return curves


def test_a_noiseless_saturating_curve_is_extrapolated_closely() -> None:
    y = 0.9 - 0.6 * np.exp(-0.25 * STEPS)
    guess = extrapolate(STEPS[:9], y[:9], 27)
    assert guess.mean == pytest.approx(y[-1], abs=0.01)


@pytest.mark.parametrize("cut", [2, 5, 9])
def test_80_percent_intervals_hold_about_80_percent_of_held_out_finals(cut: int) -> None:
    rng = np.random.default_rng(7)
    references = [Curve(i, STEPS, y) for i, y in enumerate(family(rng, 40))]
    held_out = family(rng, 300)
    model = CurveModel()
    inside = 0
    for y in held_out:
        prediction = model.predict(STEPS[:cut], y[:cut], 27, references)
        assert prediction.calibrated and prediction.references == 40
        low, high = prediction.interval(0.8)
        inside += low <= y[-1] <= high
    # conformal coverage given 40 references varies with sd ~0.06 around 0.8
    assert 0.68 <= inside / len(held_out) <= 0.92


def test_a_calibrated_mean_is_the_centre_of_its_own_draws_and_carries_the_usual_gain() -> None:
    # cut after two epochs the ensemble has too few points and the rule is "last value plus
    # the references' gain": the predicted value a sampler learns from must include the gain
    rng = np.random.default_rng(13)
    references = [Curve(i, STEPS, y) for i, y in enumerate(family(rng, 40))]
    model = CurveModel()
    errors, naive = [], []
    for y in family(rng, 200):
        prediction = model.predict(STEPS[:2], y[:2], 27, references)
        assert prediction.mean == pytest.approx(float(np.mean(prediction.draws)))
        low, high = prediction.interval(0.8)
        assert low <= prediction.mean <= high
        errors.append(y[-1] - prediction.mean)
        naive.append(y[-1] - y[1])
    # unbiased on held-out curves of the same family, far better than the last value
    assert abs(float(np.mean(errors))) < 0.25 * abs(float(np.mean(naive)))
    assert float(np.mean(np.square(errors))) < float(np.mean(np.square(naive)))


def test_without_references_the_widened_gaussian_covers_at_least_nominally() -> None:
    rng = np.random.default_rng(3)
    model = CurveModel()
    inside = 0
    curves = family(rng, 200)
    for y in curves:
        prediction = model.predict(STEPS[:9], y[:9], 27)
        assert not prediction.calibrated
        low, high = prediction.interval(0.8)
        inside += low <= y[-1] <= high
    assert inside / len(curves) >= 0.75


def test_a_flat_loser_has_no_chance_and_a_late_bloomer_keeps_one() -> None:
    rng = np.random.default_rng(11)
    references = [Curve(i, STEPS, y) for i, y in enumerate(family(rng, 40))]
    best = 0.9
    flat = 0.6 + rng.normal(0.0, 0.004, 27)
    bloomer = 0.1 + 0.87 * (1 - np.exp(-0.08 * STEPS))  # 0.45 at epoch 6, 0.87 at 27
    model = CurveModel()
    p_flat = model.predict(STEPS[:6], flat[:6], 27, references).probability_beyond(best)
    p_bloomer = model.predict(STEPS[:6], bloomer[:6], 27, references).probability_beyond(best)
    assert p_flat < 0.01
    assert p_bloomer > 0.05
    assert p_bloomer > 10 * p_flat


def test_for_a_loss_the_chance_of_ending_below_a_threshold() -> None:
    loss = 2.0 * np.exp(-0.3 * STEPS) + 0.2
    prediction = CurveModel().predict(STEPS[:10], loss[:10], 27)
    assert prediction.probability_beyond(0.1, above=False) < 0.05
    assert prediction.probability_beyond(0.5, above=False) > 0.95


def test_references_that_do_not_reach_the_step_are_not_used() -> None:
    rng = np.random.default_rng(5)
    short = [Curve(i, STEPS[:10], y[:10]) for i, y in enumerate(family(rng, 20))]
    prediction = CurveModel().predict(STEPS[:5], family(rng, 1)[0][:5], 27, short)
    assert prediction.references == 0 and not prediction.calibrated


def test_a_curve_without_points_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one point"):
        CurveModel().predict([], [], 27)


@pytest.mark.parametrize("draws", [np.empty(0), np.sort(np.random.default_rng(3).normal(size=37))])
def test_sample_draws_the_quantiles_of_uniform_levels(draws: np.ndarray) -> None:
    prediction = Prediction(step=10, mean=0.5, spread=0.1, draws=draws)
    levels = np.random.default_rng(7).uniform(0.0, 1.0, 500)
    expected = [prediction.quantile(q) for q in levels]
    assert np.array_equal(prediction.sample(np.random.default_rng(7), 500), expected)
