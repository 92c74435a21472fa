"""Curve rules on constructed curves: divergence, plateau and overfitting, with reasons."""

from __future__ import annotations

import pytest

from tunelab.schedulers import (
    ASHAScheduler,
    CurveRules,
    Divergence,
    Overfitting,
    Plateau,
    make_scheduler,
)
from tunelab.testing.scheduler_conformance import curve_trial, request
from tunelab.types import Direction


def test_divergence_on_nan_and_on_an_exploding_loss() -> None:
    rule = Divergence()
    nan = curve_trial(0, [1.0, float("nan")], metric="train_loss")
    v = rule.check(request(nan, []))
    assert v.stop and "train_loss became nan" in (v.reason or "")
    assert v.attrs["pruned_by"] == "divergence" and v.attrs["pruned_at_step"] == 1
    boom = curve_trial(0, [2.0, 1.5, 6.5], metric="train_loss")
    assert "exploded to 6.5" in (rule.check(request(boom, [])).reason or "")
    assert not rule.check(request(curve_trial(0, [2.0, 1.5, 5.9], metric="train_loss"), [])).stop
    inf_other = curve_trial(0, [0.5, 0.4], metric="acc", extra={"val_loss": [1.0, float("inf")]})
    assert rule.check(request(inf_other, [], metric="acc")).stop


def test_plateau_counts_reports_without_improvement() -> None:
    rule = Plateau(patience=3)
    flat = curve_trial(0, [0.5, 0.6, 0.7, 0.69, 0.7, 0.65], metric="acc")
    v = rule.check(request(flat, [], metric="acc", direction=Direction.MAXIMIZE))
    assert v.stop and "did not improve on 0.7 for 3 reports" in (v.reason or "")
    rising = curve_trial(0, [0.5, 0.6, 0.7, 0.69, 0.7, 0.71], metric="acc")
    assert not rule.check(request(rising, [], metric="acc", direction=Direction.MAXIMIZE)).stop
    # the same numbers as a loss keep improving (falling) at the start: no plateau yet
    short = curve_trial(0, [0.5, 0.6, 0.7], metric="acc")
    assert not rule.check(request(short, [], metric="acc", direction=Direction.MAXIMIZE)).stop
    tol = Plateau(patience=3, min_delta=0.05)
    assert tol.check(request(rising, [], metric="acc", direction=Direction.MAXIMIZE)).stop


def test_plateau_on_another_monitored_metric() -> None:
    rule = Plateau(patience=2, monitor="val_loss", direction="minimize")
    t = curve_trial(0, [0.5, 0.6, 0.7, 0.8], metric="acc", extra={"val_loss": [1, 0.9, 0.95, 0.91]})
    assert rule.check(request(t, [], metric="acc", direction=Direction.MAXIMIZE)).stop


def test_overfitting_needs_val_rising_while_train_falls() -> None:
    rule = Overfitting(patience=3)
    val = [1.0, 0.8, 0.7, 0.72, 0.75, 0.8]
    train = [1.0, 0.7, 0.5, 0.4, 0.3, 0.2]
    t = curve_trial(0, train, metric="train_loss", extra={"val_loss": val})
    v = rule.check(request(t, []))
    assert v.stop and "val_loss rose from 0.7 to 0.8" in (v.reason or "")
    both_up = curve_trial(
        0, [1.0, 0.7, 0.5, 0.6, 0.7, 0.8], metric="train_loss", extra={"val_loss": val}
    )
    assert not rule.check(request(both_up, [])).stop  # that is divergence, not overfitting
    new_best = [1.0, 0.8, 0.7, 0.72, 0.69, 0.8]
    t2 = curve_trial(0, train, metric="train_loss", extra={"val_loss": new_best})
    assert not rule.check(request(t2, [])).stop


def test_rules_ride_along_with_a_scheduler_and_round_trip() -> None:
    asha = ASHAScheduler(rules=["divergence", {"name": "plateau", "patience": 2}])
    stored = asha.to_json()
    assert stored["rules"][1] == {
        "name": "plateau",
        "patience": 2,
        "min_delta": 0.0,
        "monitor": None,
        "direction": None,
    }
    again = make_scheduler(stored)
    assert again is not None and again.to_json() == stored
    flat = curve_trial(0, [1.0, 0.5, 0.6, 0.6])  # step 3 is between rungs 3 and 9
    v = again.decide(request(flat, []))
    assert v.stop and v.attrs["pruned_by"] == "plateau"


def test_curve_rules_scheduler_defaults_to_divergence() -> None:
    rules = make_scheduler("rules")
    assert isinstance(rules, CurveRules) and [r.name for r in rules.rules] == ["divergence"]
    assert not rules.needs_history(5, 4)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("bogus", "unknown scheduler 'bogus'; choose one of none, asha"),
        ({"name": "asha", "rules": ["nope"]}, "unknown curve rule 'nope'"),
        ({"name": "asha", "eta": 3}, "bad settings for scheduler 'asha'"),
        ({"name": "median", "rules": [{"name": "plateau", "patience": 0}]}, "patience must be"),
    ],
)
def test_bad_specs_name_the_problem(spec: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_scheduler(spec)  # type: ignore[arg-type]


def test_none_means_no_pruning() -> None:
    assert make_scheduler(None) is None and make_scheduler("none") is None
    assert make_scheduler({"name": "none"}) is None
