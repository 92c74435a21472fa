"""Fit diagnosis: read one trial's training and validation curves and name what went
wrong, with the next step in the study's own terms.

Rules, checked in this order on the per-step `train_loss`/`val_loss` (or `loss`/
`val_loss`; or 1 - accuracy when only accuracies were reported):
- DIVERGED: a NaN/inf loss, a trial stopped as diverged (tunelab.torch.fit), a training
  loss above 3x its first value, or one that climbed back over 1.5x its low and ended
  above where it started (unstable).
- OVERFITTING: validation loss rose >= 5% above its minimum (and by >= 1% of its first
  value: float noise near a perfect fit is no rise) while training loss kept falling, or the validation-training gap widened to >= 30% of the validation loss and
  >= 10% of the first loss (small losses make relative gaps look large).
- SLOW_LEARNING: the training loss fell less than 20% over the whole run (too low a
  learning rate, usually), or it was still improving when training stopped: validation
  loss at (or within 1% of) its minimum at the last step, and the last third of the
  steps still brought >= 25% of the training loss's total fall.
- UNDERFITTING: flat and high: the last third brought < 25% of the fall, and training
  loss stayed above half its first value, or both curves ended well above the study's
  best (training loss over 2x and validation loss over 1.5x what other trials reached).
  A regression's loss (the trial reports `val_r2`) may flatten at the data's noise, which
  no loss ratio can tell apart: alone it is high only when validation R² ended <= 0, no
  better than predicting the mean.
- GOOD_FIT otherwise; UNKNOWN when fewer than 3 steps or no loss pair was reported.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tunelab.insight._common import InsightError
from tunelab.insight.advice import Planned, move, params_with_role
from tunelab.insight.display import diagnosis_html
from tunelab.insight.ranges import next_ranges
from tunelab.space import Fixed
from tunelab.study import Study
from tunelab.trial import FrozenTrial
from tunelab.types import EndCause, TrialState

RISE = 0.05  # validation loss this far above its minimum, relative, is rising
RISE_ABS = 0.01  # ... and this share of the first validation loss
GAP = 0.30  # a gap this large a share of validation loss is wide
TAIL = 0.25  # share of the total fall the last third must bring to count as "still falling"
GAP_ABS = 0.10  # ... and this share of the first loss
HIGH_RATIO = 0.5  # training loss above this share of its start never really learned
BARELY = 0.8  # a training loss that kept this share of its start barely moved
TRAIN_REF, VAL_REF = 2.0, 1.5  # "well above the study's best"
UNSTABLE = 1.5


class DiagnosisKind(str, enum.Enum):
    """What a trial's learning curves show."""

    GOOD_FIT = "GOOD_FIT"
    OVERFITTING = "OVERFITTING"
    UNDERFITTING = "UNDERFITTING"
    DIVERGED = "DIVERGED"
    SLOW_LEARNING = "SLOW_LEARNING"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Diagnosis:
    """What `diagnose` found in one trial, the figures that show it and what to try.

    Attributes:
        kind: The finding.
        evidence: The finding in words, with the figures.
        advice: What to change, in the study's own hyperparameter names.
        number: The trial diagnosed.
        numbers: The figures the rule used, by name.
    """

    kind: DiagnosisKind
    evidence: str
    advice: list[str]
    number: int = -1  # the trial diagnosed
    numbers: dict[str, float] = field(default_factory=dict)  # the figures the rule used

    def to_dict(self) -> dict[str, Any]:
        """The diagnosis as a dict of JSON values."""
        return {
            "kind": self.kind.value,
            "evidence": self.evidence,
            "advice": list(self.advice),
            "number": self.number,
            "numbers": {k: v if math.isfinite(v) else None for k, v in self.numbers.items()},
        }

    def _repr_html_(self) -> str:
        return diagnosis_html(self)


def diagnose(trial: FrozenTrial, study: Study) -> Diagnosis:
    """Diagnose one trial of `study` from its reported curves."""
    series = _losses(trial)
    broken = _divergence(trial, series)
    if broken is not None:
        return _make(DiagnosisKind.DIVERGED, broken, trial, study, {})
    if series is None:
        return Diagnosis(
            DiagnosisKind.UNKNOWN,
            "the trial reported no training and validation loss (or accuracy) per step",
            [
                "report both every epoch, e.g. trial.report(epoch, train_loss=…, val_loss=…) "
                "(tunelab.torch.fit does)"
            ],
            trial.number,
        )
    label, train, val = series
    steps = sorted(set(train) & set(val))
    if len(steps) < 3:
        return Diagnosis(
            DiagnosisKind.UNKNOWN,
            f"only {len(steps)} step(s) with both curves; a diagnosis needs at least 3",
            ["train for more epochs before judging the fit"],
            trial.number,
        )
    t = [train[s] for s in steps]
    v = [val[s] for s in steps]
    figures = _figures(t, v)
    figures["reference_train"], figures["reference_val"] = _reference(study, trial, label)
    r2 = trial.intermediate("val_r2")
    figures["val_r2_last"] = r2.get(steps[-1], math.nan)
    kind, evidence = _classify(label, steps, t, v, figures)
    return _make(kind, evidence, trial, study, figures)


def _losses(trial: FrozenTrial) -> tuple[str, dict[int, float], dict[int, float]] | None:
    for train_name, val_name, as_error in (
        ("train_loss", "val_loss", False),
        ("loss", "val_loss", False),
        ("train_accuracy", "val_accuracy", True),
        ("accuracy", "val_accuracy", True),
    ):
        train = trial.intermediate(train_name)
        val = trial.intermediate(val_name)
        if train and val:
            if as_error:
                train = {k: 1.0 - x for k, x in train.items()}
                val = {k: 1.0 - x for k, x in val.items()}
                return "error (1 - accuracy)", train, val
            return "loss", train, val
    return None


def _divergence(
    trial: FrozenTrial, series: tuple[str, dict[int, float], dict[int, float]] | None
) -> str | None:
    reason = trial.reason or ""
    if trial.end_cause is EndCause.DIVERGED or trial.user_attrs.get("diverged"):
        return reason.splitlines()[0] if reason else "the trial was stopped as diverged"
    for r in trial.reports:
        for key, x in r.metrics.items():
            if "loss" in key and not math.isfinite(x):
                return f"{key} became {x} at step {r.step}"
    if series is not None:
        _, train, _ = series
        finite = [x for _, x in sorted(train.items())]
        if len(finite) >= 2 and finite[0] > 0 and max(finite[1:]) > 3 * finite[0]:
            return f"training loss exploded from {finite[0]:.4g} to {max(finite[1:]):.4g}"
        low = min(finite) if finite else 0.0
        if len(finite) >= 3 and finite[-1] > UNSTABLE * low and finite[-1] > finite[0]:
            return (
                f"training was unstable: the loss fell to {low:.4g}, then climbed back to "
                f"{finite[-1]:.4g}, above its first value {finite[0]:.4g}"
            )
    return None


def _figures(t: list[float], v: list[float]) -> dict[str, float]:
    n = len(t)
    k = min(range(n), key=lambda i: v[i])
    tail_from = n - 1 - max(1, n // 3)
    fall = t[0] - min(t)
    tail_fall = t[tail_from] - t[-1]
    gap = v[-1] - t[-1]
    return {
        "steps": float(n),
        "train_first": t[0],
        "train_last": t[-1],
        "val_first": v[0],
        "val_last": v[-1],
        "val_min": v[k],
        "val_min_index": float(k),
        "train_at_val_min": t[k],
        "val_rise": (v[-1] - v[k]) / max(abs(v[k]), 1e-12),
        "gap": gap,
        "gap_share": gap / max(abs(v[-1]), 1e-12),
        "gap_first": v[0] - t[0],
        "tail_share": tail_fall / fall if fall > 0 else 0.0,
        "train_ratio": t[-1] / t[0] if t[0] > 0 else 1.0,
    }


def _reference(study: Study, trial: FrozenTrial, label: str) -> tuple[float, float]:
    """The lowest final training and validation losses other complete trials reached
    (NaN when there are none)."""
    best_train, best_val = math.inf, math.inf
    for other in study.get_trials([TrialState.COMPLETE]):
        if other.number == trial.number:
            continue
        series = _losses(other)
        if series is None or series[0] != label or not series[1] or not series[2]:
            continue
        last_train, last_val = series[1][max(series[1])], series[2][max(series[2])]
        if math.isfinite(last_train) and math.isfinite(last_val):
            best_train, best_val = min(best_train, last_train), min(best_val, last_val)
    if not math.isfinite(best_train):
        return math.nan, math.nan
    return best_train, best_val


def _classify(
    label: str, steps: list[int], t: list[float], v: list[float], f: Mapping[str, float]
) -> tuple[DiagnosisKind, str]:
    k = int(f["val_min_index"])
    n = len(t)
    rose = f["val_rise"] >= RISE and v[-1] - v[k] >= RISE_ABS * abs(v[0])
    if k < n - 1 and rose and t[-1] < f["train_at_val_min"]:
        return DiagnosisKind.OVERFITTING, (
            f"validation {label} rose {f['val_rise']:.0%} from its minimum {v[k]:.4g} at step "
            f"{steps[k]} to {v[-1]:.4g} at step {steps[-1]}, while training {label} kept "
            f"falling ({f['train_at_val_min']:.4g} → {t[-1]:.4g})"
        )
    wide = f["gap"] >= GAP_ABS * max(t[0], v[0])
    if f["gap_share"] >= GAP and wide and f["gap"] - f["gap_first"] > 0:
        return DiagnosisKind.OVERFITTING, (
            f"the gap between validation and training {label} widened from "
            f"{f['gap_first']:.4g} to {f['gap']:.4g} ({f['gap_share']:.0%} of the validation "
            f"{label} {v[-1]:.4g})"
        )
    if f["train_ratio"] > BARELY:
        return DiagnosisKind.SLOW_LEARNING, (
            f"training {label} barely moved: {t[0]:.4g} → {t[-1]:.4g} "
            f"({1 - f['train_ratio']:.0%} lower) in {n} steps"
        )
    still_best = v[-1] <= f["val_min"] * 1.01 + 1e-12
    if still_best and f["tail_share"] >= TAIL:
        return DiagnosisKind.SLOW_LEARNING, (
            f"still improving when training stopped: the last third of the steps brought "
            f"{f['tail_share']:.0%} of the fall in training {label} "
            f"({t[0]:.4g} → {t[-1]:.4g}), and validation {label} was at its lowest at the end"
        )
    ref_t, ref_v = f.get("reference_train", math.nan), f.get("reference_val", math.nan)
    r2 = f.get("val_r2_last", math.nan)
    high_alone = f["train_ratio"] > HIGH_RATIO if math.isnan(r2) else r2 <= 0
    high_vs_study = math.isfinite(ref_t) and t[-1] > TRAIN_REF * ref_t and v[-1] > VAL_REF * ref_v
    if f["tail_share"] < TAIL and (high_alone or high_vs_study):
        if not high_alone:
            why = f"other trials of the study reached {ref_t:.4g} and {ref_v:.4g}"
        elif math.isnan(r2):
            why = f"it ended at {f['train_ratio']:.0%} of its first value"
        else:
            why = f"validation R² ended at {r2:.3g}, no better than predicting the mean"
        return DiagnosisKind.UNDERFITTING, (
            f"training {label} flattened high at {t[-1]:.4g} and validation {label} at "
            f"{v[-1]:.4g} ({why}): the model does not fit the training data well"
        )
    return DiagnosisKind.GOOD_FIT, (
        f"training and validation {label} fell together ({t[0]:.4g} → {t[-1]:.4g}, "
        f"{v[0]:.4g} → {v[-1]:.4g}) and settled with a small gap ({f['gap']:.3g})"
    )


def _make(
    kind: DiagnosisKind,
    evidence: str,
    trial: FrozenTrial,
    study: Study,
    figures: dict[str, float],
) -> Diagnosis:
    return Diagnosis(kind, evidence, advise(kind, trial, study), trial.number, figures)


def _planned(study: Study) -> dict[str, Planned]:
    """The numeric ranges "what to try next" proposes, by parameter ({} when the study
    has none to read yet): the diagnosis advises inside them."""
    try:
        ranges = next_ranges(study)
    except (InsightError, ValueError):
        return {}
    return {
        r.param: Planned(float(r.low), float(r.high), r.at_edge)
        for r in ranges
        if r.values is None and r.low is not None and r.high is not None
    }


def advise(kind: DiagnosisKind, trial: FrozenTrial, study: Study) -> list[str]:
    """Concrete next steps for `kind`, naming the trial's own parameters."""
    p = dict(trial.params)
    space = study.space
    planned = _planned(study)

    def moves(*roles: str, up: bool, factor: float | None = None) -> list[str]:
        """Lines for the tuned parameters playing `roles`; parameters the study keeps fixed
        (say the kit's l1=0) only when no tuned one plays them."""
        names = [n for role in roles for n in params_with_role(role, p)]
        tuned = [n for n in names if not (n in space and isinstance(space[n], Fixed))]
        lines = [move(n, p[n], space, up, factor, planned.get(n)) for n in (tuned or names)]
        return [line for line in lines if line]

    out: list[str] = []
    if kind is DiagnosisKind.DIVERGED:
        out += moves("learning_rate", up=False, factor=10.0) or ["lower the learning rate 3-10x"]
        clips = [n for n in params_with_role("grad_clip", p) if p[n]]
        out += [move(n, p[n], space, False) for n in clips] or [
            "clip gradients (grad_clip=1.0 with tunelab.torch.fit) or warm the rate up"
        ]
    elif kind is DiagnosisKind.OVERFITTING:
        out += moves("dropout", "weight_decay", "l1", up=True) or [
            "add dropout or weight decay (L2): the trial uses neither"
        ]
        out += moves("capacity", up=False)
        out.append("keep early stopping on validation loss; more data or augmentation helps too")
    elif kind is DiagnosisKind.UNDERFITTING:
        out += moves("dropout", "weight_decay", "l1", up=False)
        out += moves("capacity", up=True) or ["add capacity: more units or layers"]
        out += moves("epochs", up=True)
    elif kind is DiagnosisKind.SLOW_LEARNING:
        out += moves("learning_rate", up=True, factor=10.0) or ["raise the learning rate 3-10x"]
        out += moves("epochs", up=True) or ["train for more epochs"]
    elif kind is DiagnosisKind.GOOD_FIT:
        out.append(
            "nothing to fix: re-run this configuration with other seeds to check the result "
            "is not luck (tunelab confirm STUDY, or optimize(..., confirm_top=5))"
        )
    return out
