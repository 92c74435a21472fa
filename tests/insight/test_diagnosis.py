"""Diagnosis on constructed curves of each kind, with advice naming the study's own
parameters and their ranges."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import tunelab
from tunelab import Study, TrialState
from tunelab.insight import DiagnosisKind, diagnose
from tunelab.trial import FrozenTrial

PARAMS = {
    "learning_rate": 1e-3,
    "dropout_1": 0.1,
    "weight_decay": 0.0,
    "units_0": 64,
}


def define(hp) -> None:
    hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    hp.Float("dropout_1", 0.1, 0.5, step=0.1)
    hp.Choice("weight_decay", [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1], ordered=True)
    hp.Int("units_0", 32, 512, step=32)


@pytest.fixture
def study(tmp_path: Path) -> Study:
    return tunelab.create_study(
        "fit", storage=str(tmp_path / "d.db"), metric="val_loss", direction="minimize"
    )


def run(study: Study, train: list[float], val: list[float], **params) -> FrozenTrial:
    study.enqueue({**PARAMS, **params})
    trial = study.ask()
    define(trial.hp)
    for epoch, (t, v) in enumerate(zip(train, val, strict=True)):
        trial.report(epoch, train_loss=t, val_loss=v)
    finite = [v for v in val if math.isfinite(v)]
    if len(finite) < len(val):
        trial.set_user_attr("diverged", True)
        return study.tell(trial, state=TrialState.PRUNED, reason="diverged at epoch 2")
    return study.tell(trial, min(finite))


def decay(start: float, floor: float, rate: float, n: int) -> list[float]:
    return [floor + (start - floor) * math.exp(-rate * e) for e in range(n)]


def test_good_fit(study):
    train = decay(2.3, 0.10, 0.6, 20)
    val = [x + 0.03 for x in train]
    result = diagnose(run(study, train, val), study)
    assert result.kind is DiagnosisKind.GOOD_FIT, result.evidence
    assert result.numbers["steps"] == 20 and math.isnan(result.numbers["reference_train"])
    json.loads(json.dumps(result.to_dict(), allow_nan=False))  # strict JSON (no NaN)
    assert "seed" in result.advice[0]


def test_overfitting_val_rises_while_train_falls(study):
    train = decay(2.3, 0.01, 0.5, 20)
    val = [0.5 + 0.02 * (e - 6) ** 2 if e > 6 else 2.3 - 0.3 * e for e in range(20)]
    trial = run(study, train, val)
    result = diagnose(trial, study)
    assert result.kind is DiagnosisKind.OVERFITTING
    assert "rose" in result.evidence
    text = " | ".join(result.advice)
    assert "dropout_1 is 0.1: try 0.3\u20130.5" in text  # the study's own name and range
    assert "raise weight_decay (0 now): try 1e-05 or 0.0001" in text
    assert "lower units_0 (64 now): try 32" in text  # less capacity


def test_overfitting_by_a_widening_gap(study):
    train = decay(2.0, 0.02, 0.5, 15)
    val = decay(2.0, 0.9, 0.5, 15)  # levels off far above training loss, never rising
    result = diagnose(run(study, train, val, dropout_1=0.5), study)
    assert result.kind is DiagnosisKind.OVERFITTING and "gap" in result.evidence
    # one trial is too little evidence for "what to try next" to widen: neither does this
    assert any("dropout_1 is 0.5, already at the upper bound" in a for a in result.advice)


def test_underfitting_flat_and_high(study):
    train = decay(2.3, 1.8, 1.0, 20)
    val = [x + 0.02 for x in train]
    result = diagnose(run(study, train, val, dropout_1=0.5, weight_decay=1e-2), study)
    assert result.kind is DiagnosisKind.UNDERFITTING, result.evidence
    text = " | ".join(result.advice)
    assert "dropout_1 is 0.5: try 0.1" in text
    assert "lower weight_decay (0.01 now)" in text
    assert "units_0 is 64: try" in text  # more capacity


def test_underfitting_relative_to_the_rest_of_the_study(study):
    good = decay(2.3, 0.1, 0.6, 15)
    run(study, good, [x + 0.03 for x in good])
    meh = decay(2.3, 0.9, 0.8, 15)  # fell by more than half, but far above 0.1
    result = diagnose(run(study, meh, [x + 0.02 for x in meh]), study)
    assert result.kind is DiagnosisKind.UNDERFITTING
    assert "other trials" in result.evidence


def test_slow_learning_still_falling_at_the_end(study):
    train = [2.3 - 0.05 * e for e in range(12)]
    val = [x + 0.02 for x in train]
    result = diagnose(run(study, train, val, learning_rate=1e-4), study)
    assert result.kind is DiagnosisKind.SLOW_LEARNING, result.evidence
    assert any(a.startswith("learning_rate is 0.0001: try 0.0003") for a in result.advice)


def test_diverged(study):
    train = [2.3, 5.0, math.nan]
    val = [2.3, 6.0, math.inf]
    result = diagnose(run(study, train, val, learning_rate=0.1), study)
    assert result.kind is DiagnosisKind.DIVERGED
    assert any(a.startswith("learning_rate is 0.1: try 0.01") for a in result.advice)


def test_unknown_without_curves_or_with_too_few_steps(study):
    study.enqueue(PARAMS)
    trial = study.ask()
    define(trial.hp)
    trial.report(0, val_loss=1.0)
    result = diagnose(study.tell(trial, 1.0), study)
    assert result.kind is DiagnosisKind.UNKNOWN and "train_loss" in result.advice[0]
    short = diagnose(run(study, [2.0, 1.0], [2.0, 1.1]), study)
    assert short.kind is DiagnosisKind.UNKNOWN and "at least 3" in short.evidence


def test_accuracy_only_curves_are_read_as_errors(study):
    study.enqueue(PARAMS)
    trial = study.ask()
    define(trial.hp)
    for e in range(20):
        trial.report(
            e, train_accuracy=min(1.0, 0.5 + 0.05 * e), val_accuracy=0.8 - 0.01 * max(0, e - 5)
        )
    result = diagnose(study.tell(trial, 0.8), study)
    assert result.kind is DiagnosisKind.OVERFITTING and "error" in result.evidence
    assert result.to_dict()["kind"] == "OVERFITTING"


def test_cases_seen_in_a_real_digits_study(study):
    """Curves taken from a real 12-trial tunelab.torch study on digits."""
    barely = [2.302, 2.291, 2.266, 2.237, 2.209, 2.18, 2.157, 2.133, 2.114, 2.096, 2.087, 2.078]
    result = diagnose(run(study, barely, [x - 0.002 for x in barely], learning_rate=1.6e-4), study)
    assert result.kind is DiagnosisKind.SLOW_LEARNING and "barely moved" in result.evidence
    assert result.advice[0].startswith("learning_rate is 0.00016: try 0.0005\u20130.002")
    unstable = diagnose(
        run(study, [1.257, 1.161, 1.989, 2.403, 2.354], [0.77, 1.18, 1.57, 2.25, 1.73]), study
    )
    assert unstable.kind is DiagnosisKind.DIVERGED and "unstable" in unstable.evidence
    # A small absolute gap at low losses is no overfitting, however large relative to them.
    train = [1.667, 0.6, 0.3, 0.18, 0.12, 0.09, 0.07, 0.06, 0.055, 0.051]
    val = [0.69, 0.35, 0.22, 0.17, 0.15, 0.14, 0.135, 0.13, 0.129, 0.128]
    assert diagnose(run(study, train, val), study).kind is DiagnosisKind.GOOD_FIT


def run_regression(study: Study, train: list[float], val: list[float], r2: float) -> FrozenTrial:
    """A regression trial as tunelab.torch.fit reports one: MSE losses and val_r2."""
    study.enqueue(PARAMS)
    trial = study.ask()
    define(trial.hp)
    for epoch, (t, v) in enumerate(zip(train, val, strict=True)):
        trial.report(epoch, train_loss=t, val_loss=v, val_r2=r2)
    return study.tell(trial, min(val))


def test_float_noise_near_a_perfect_fit_is_no_overfitting(study):
    """A linear target learned exactly: the MSE wanders at 1e-12, which is no rise."""
    train = decay(14.6, 0.0, 0.8, 30)
    val = [x + 1e-12 * (1 + e % 3) for e, x in enumerate(decay(13.9, 0.0, 0.8, 30))]
    result = diagnose(run_regression(study, train, val, r2=1.0), study)
    assert result.kind is DiagnosisKind.GOOD_FIT, result.evidence


def test_a_regression_flattening_at_the_noise_is_no_underfitting(study):
    """Curves of the diabetes example (standardised target, R² ~0.47 is about the best
    the data allows): a loss ratio cannot tell the noise from a weak model."""
    train = decay(1.03, 0.52, 0.35, 30)
    val = decay(0.83, 0.54, 0.35, 30)
    assert diagnose(run(study, train, val), study).kind is DiagnosisKind.UNDERFITTING
    result = diagnose(run_regression(study, train, val, r2=0.46), study)
    assert result.kind is DiagnosisKind.GOOD_FIT, result.evidence
    weak = decay(1.6, 0.95, 0.5, 30), decay(1.3, 1.02, 0.5, 30)  # no better than the mean
    flat = diagnose(run_regression(study, *weak, r2=-0.02), study)
    assert flat.kind is DiagnosisKind.UNDERFITTING
    assert "R² ended at -0.02, no better than predicting the mean" in flat.evidence
