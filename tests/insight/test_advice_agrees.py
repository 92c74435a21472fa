"""The best-trial diagnosis and "what to try next" agree on every parameter, and the
next ranges of discrete parameters stay on their grid and are not flagged where the
sampler itself crowded."""

from __future__ import annotations

import random

import pytest

import tunelab
from tunelab.insight import DiagnosisKind, diagnose, next_ranges
from tunelab.insight._common import DASH, fmt_value

FLAT = [1.0, 0.75, 0.7, 0.69, 0.69, 0.69]  # fell a little, then flattened high: underfits


def underfit_study(seed: int) -> tunelab.Study:
    """Every trial underfits; the score depends on x only, so the top trials' dropout2
    spreads over its range and no edge is at stake. The best trial has dropout2=0.1, the
    lower bound, which the diagnosis of an underfit would like to lower."""
    study = tunelab.create_study(
        "fit", storage=":memory:", metric="score", sampler="random", seed=seed
    )
    rng = random.Random(3)
    for i in range(30):
        if i == 0:
            study.enqueue({"dropout2": 0.1, "x": 1.0})
        trial = study.ask()
        x = trial.hp.Float("x", 0.0, 1.0)
        trial.hp.Float("dropout2", 0.1, 0.5)
        for step, loss in enumerate(FLAT):
            trial.report(step, train_loss=loss, val_loss=loss + 0.02)
        study.tell(trial, x if i == 0 else 0.9 * x + rng.gauss(0, 0.01))
    return study


@pytest.mark.parametrize(("seed", "edge"), [(0, "lower"), (3, None)])
def test_the_diagnosis_keeps_to_the_next_range_at_a_bound(seed: int, edge: str | None) -> None:
    study = underfit_study(seed)
    best = study.best_trial
    assert best.params["dropout2"] == 0.1
    result = diagnose(best, study)
    assert result.kind is DiagnosisKind.UNDERFITTING
    (planned,) = [r for r in next_ranges(study) if r.param == "dropout2"]
    assert planned.at_edge == edge  # the two seeds cover both cases
    (line,) = [a for a in result.advice if a.startswith("dropout2")]
    assert f"{fmt_value(planned.low)}{DASH}{fmt_value(planned.high)}" in line
    if planned.at_edge == "lower":  # both widen, to the same range
        assert "widen the range to" in line and "widen the range" in planned.text
    else:  # neither widens
        assert "widen" not in line and "keep the bound" in line, line


def crowded_study(crowd: bool) -> tunelab.Study:
    """hidden2 (16-128 by 16) and dropout (0.1-0.5 by 0.1): better at 128 and 0.1. With
    `crowd`, 40% of the trials sit there (what TPE does once it found them): well over
    the uniform share of a grid value, under half."""
    study = tunelab.create_study(
        "grid", storage=":memory:", metric="score", sampler="random", seed=1
    )
    rng = random.Random(5)
    for i in range(40):
        there = crowd and i % 10 < 4
        if there:
            study.enqueue({"hidden2": 128, "dropout": 0.1})
        trial = study.ask()
        hidden = trial.hp.Int("hidden2", 16, 128, step=16)
        dropout = trial.hp.Float("dropout", 0.1, 0.5, step=0.1)
        lr = trial.hp.Float("lr", 1e-4, 1e-1, sampling="log")
        score = 3 * hidden / 128 - dropout + 0.1 * lr + rng.gauss(0, 0.01)
        study.tell(trial, score)
    return study


def test_crowded_grid_edges_are_not_flagged_and_ranges_stay_on_the_grid() -> None:
    advice = {a.param: a for a in next_ranges(crowded_study(crowd=True))}
    hidden, dropout = advice["hidden2"], advice["dropout"]
    assert hidden.at_edge is None and dropout.at_edge is None
    assert hidden.low % 16 == 0 and hidden.high % 16 == 0
    assert (
        round(dropout.low * 10) == dropout.low * 10
        and round(dropout.high * 10) == dropout.high * 10
    )
    assert "126" not in hidden.text and "0.104" not in dropout.text


def test_an_edge_found_by_uniform_sampling_is_flagged_and_widened_on_the_grid() -> None:
    advice = {a.param: a for a in next_ranges(crowded_study(crowd=False))}
    hidden = advice["hidden2"]
    assert hidden.at_edge == "upper" and hidden.high > 128 and hidden.high % 16 == 0
    assert hidden.low % 16 == 0
