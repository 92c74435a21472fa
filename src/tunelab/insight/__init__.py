"""Insight: what a study teaches, read from storage through the public API.

effect_tables (value → trials, best, median, time, pruned share per hyperparameter),
importance (fANOVA on a random-forest surrogate), curves (per-trial learning curves),
diagnose (over/underfitting, divergence, slow learning, with advice in the study's
terms), next_ranges (where to search next, edges flagged), seed_spread (re-run the top
configurations with other seeds), confirm / confirmation (the same re-runs, with
mean ± t-interval and whether the best beats the runner-up beyond seed noise) and
extrapolation_check (how far the curve model can be trusted on this study) and
training_effort (the steps each trial trained, its pauses, resumes and PBT exploits;
exploits lists who took whose weights at which step). Every
result is a frozen dataclass with to_dict().
"""

from tunelab.insight._common import InsightError, finished_trials
from tunelab.insight.confirm import Confirmation, ConfirmedConfig, confirm, confirmation
from tunelab.insight.curves import Curve, curves
from tunelab.insight.diagnosis import Diagnosis, DiagnosisKind, diagnose
from tunelab.insight.effects import EffectRow, EffectTable, effect_tables
from tunelab.insight.effort import Effort, Exploit, TrialEffort, exploits, training_effort
from tunelab.insight.extrapolation import CheckedTrial, ExtrapolationCheck, extrapolation_check
from tunelab.insight.importance import Importance, importance
from tunelab.insight.ranges import RangeAdvice, next_ranges
from tunelab.insight.seeds import SeedSpread, seed_spread

__all__ = [
    "CheckedTrial",
    "Confirmation",
    "ConfirmedConfig",
    "Curve",
    "Diagnosis",
    "DiagnosisKind",
    "EffectRow",
    "EffectTable",
    "Effort",
    "Exploit",
    "ExtrapolationCheck",
    "Importance",
    "InsightError",
    "RangeAdvice",
    "SeedSpread",
    "TrialEffort",
    "confirm",
    "confirmation",
    "curves",
    "diagnose",
    "effect_tables",
    "exploits",
    "extrapolation_check",
    "finished_trials",
    "importance",
    "next_ranges",
    "seed_spread",
    "training_effort",
]
