"""Keras Tuner's read-side objects over a tunelab study: trials with `hyperparameters`
and `score`, the `oracle.get_best_trials()` view, and the printed summaries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tunelab import FrozenTrial, HyperParameters, Study, TrialState
from tunelab.keras.objective import Objective

_STATUS = {
    TrialState.WAITING: "IDLE",
    TrialState.RUNNING: "RUNNING",
    TrialState.COMPLETE: "COMPLETED",
    TrialState.PRUNED: "STOPPED",
    TrialState.FAIL: "FAILED",
}


def hyperparameters_from(params: Mapping[str, Any]) -> HyperParameters:
    """A HyperParameters holding `params`: `build(hp)` on it rebuilds that trial's model
    (names it does not hold get their defaults)."""
    hp = HyperParameters()
    hp.values.update(params)
    return hp


@dataclass(frozen=True)
class KerasTrial:
    """One trial as Keras Tuner shows it; `frozen` is tunelab's full record."""

    trial_id: str
    hyperparameters: HyperParameters
    score: float | None
    status: str
    best_step: int | None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    frozen: FrozenTrial | None = None

    @classmethod
    def from_frozen(cls, t: FrozenTrial) -> KerasTrial:
        best_epoch = t.user_attrs.get("best_epoch")
        return cls(
            trial_id=f"{t.number:04d}",
            hyperparameters=hyperparameters_from(t.params),
            score=t.value,
            status=_STATUS[t.state],
            best_step=int(best_epoch) if best_epoch is not None else None,
            metrics=dict(t.metrics),
            frozen=t,
        )

    def summary(self) -> str:
        lines = [f"Trial {self.trial_id} summary", "Hyperparameters:"]
        lines += [f"{k}: {v}" for k, v in self.hyperparameters.values.items()]
        lines.append(f"Score: {self.score}" if self.score is not None else f"Status: {self.status}")
        return "\n".join(lines)


class Oracle:
    """Read access to the tuner's trials, as Keras Tuner's `tuner.oracle` offers it."""

    def __init__(self, study: Study, objective: Objective, max_trials: int | None) -> None:
        self.study = study
        self.objective = objective
        self.max_trials = max_trials

    @property
    def trials(self) -> dict[str, KerasTrial]:
        """Every trial by its id ("0000", "0001", ...)."""
        views = (KerasTrial.from_frozen(t) for t in self.study.trials)
        return {v.trial_id: v for v in views}

    def get_trial(self, trial_id: str) -> KerasTrial:
        try:
            return self.trials[str(trial_id)]
        except KeyError:
            raise KeyError(f"no trial {trial_id!r}; trial ids: {sorted(self.trials)}") from None

    def get_best_trials(self, num_trials: int = 1) -> list[KerasTrial]:
        """Complete trials, best score first."""
        return [KerasTrial.from_frozen(t) for t in self.study.top_trials(num_trials)]


def space_summary(hp: HyperParameters) -> str:
    lines = ["Search space summary", f"Default search space size: {len(hp.space)}"]
    for entry in hp.space:
        param = entry.param
        lines.append(f"{param.name} ({type(param).__name__})")
        domain = dict(param.domain())
        default = getattr(param, "default", None)
        if default is not None:
            domain["default"] = default
        if entry.conditions:
            domain["conditions"] = [
                f"{c.parent_name} in {list(c.parent_values)}" for c in entry.conditions
            ]
        lines.append(str(domain))
    return "\n".join(lines)
