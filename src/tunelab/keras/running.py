"""`RunningTrial`: the trial `Tuner.run_trial(trial, ...)` receives, as Keras Tuner's
`Trial` offers it (`trial.hyperparameters`, `trial.trial_id`), with tunelab's own
trial underneath (`trial.tunelab_trial`, for `kt.ReportCallback` or `report`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tunelab import HyperParameters, Trial, TrialState
from tunelab.keras.objective import Objective
from tunelab.keras.scoring import run_trial_values


@dataclass
class Outcome:
    """What the tuner's own `run_trial` decided: the state, values and reason to tell
    the study, and the result it returned (so an override that returns it unchanged
    keeps the per-epoch scoring)."""

    state: TrialState | None
    values: Any
    reason: str | None
    result: Any = None


@dataclass
class RunningTrial:
    """A running trial: draw values from `hyperparameters`; `trial_id` names it
    ("0003") as the oracle does."""

    tunelab_trial: Trial
    hyperparameters: HyperParameters
    outcome: Outcome | None = field(default=None, repr=False)

    @property
    def trial_id(self) -> str:
        return f"{self.tunelab_trial.number:04d}"

    @property
    def number(self) -> int:
        return self.tunelab_trial.number

    @property
    def status(self) -> str:
        return "RUNNING"


def outcome_of(
    running: RunningTrial, result: Any, objectives: Sequence[Objective]
) -> tuple[TrialState | None, Any, str | None]:
    """What to tell the study: the tuner's own scoring when `run_trial` returned what
    the default one did (or it pruned), else the values in what `run_trial` returned."""
    done = running.outcome
    if done is not None and (done.state is TrialState.PRUNED or result is done.result):
        return done.state, done.values, done.reason
    return None, run_trial_values(result, objectives), None
