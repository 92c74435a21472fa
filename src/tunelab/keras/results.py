"""Keras Tuner's read-side objects over a tunelab study: trials with `hyperparameters`
and `score`, the `oracle.get_best_trials()` view, which trials count as best, and the
printed summaries.

With several objectives the best trials are the Pareto front (Keras Tuner ranks by the
objectives' sum instead), in `Study.top_trials` order, and a trial's `score` is its first
objective's value, with every objective's in `values`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunelab import FrozenTrial, HyperParameters, Study, TrialState, TunelabError
from tunelab.keras.objective import Objective
from tunelab.space import hyperparameters_from

_STATUS = {
    TrialState.WAITING: "IDLE",
    TrialState.RUNNING: "RUNNING",
    TrialState.COMPLETE: "COMPLETED",
    TrialState.PRUNED: "STOPPED",
    TrialState.FAIL: "FAILED",
    TrialState.PAUSED: "IDLE",  # Keras Tuner has no paused state: it waits to go on
}


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
    values: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_frozen(cls, t: FrozenTrial, objectives: Sequence[str] = ()) -> KerasTrial:
        """The view of `t`; `objectives` (the study's metrics) name its `values`."""
        best_epoch = t.user_attrs.get("best_epoch")
        return cls(
            trial_id=f"{t.number:04d}",
            hyperparameters=hyperparameters_from(t.params),
            score=t.values[0] if t.values else None,
            status=_STATUS[t.state],
            best_step=int(best_epoch) if best_epoch is not None else None,
            metrics=dict(t.metrics),
            frozen=t,
            values=dict(zip(objectives, t.values or (), strict=False)),
        )

    def summary(self) -> str:
        """The trial's hyperparameters and score as text, as Keras Tuner's `Trial.summary` shows them."""
        lines = [f"Trial {self.trial_id} summary", "Hyperparameters:"]
        lines += [f"{k}: {v}" for k, v in self.hyperparameters.values.items()]
        if len(self.values) > 1:
            lines.append("Scores: " + ", ".join(f"{k}={v}" for k, v in self.values.items()))
        elif self.score is not None:
            lines.append(f"Score: {self.score}")
        else:
            lines.append(f"Status: {self.status}")
        return "\n".join(lines)


def best_trials(study: Study, n: int) -> list[FrozenTrial]:
    """The best `n` complete trials, best first; with several objectives only trials of
    the Pareto front (at most `n` of them, in `Study.top_trials` order)."""
    top = study.top_trials(n)
    if not study.multi_objective:
        return top
    front = {t.number for t in study.best_trials}
    return [t for t in top if t.number in front]  # top_trials ranks the front first


class Oracle:
    """Read access to the tuner's trials, as Keras Tuner's `tuner.oracle` offers it."""

    def __init__(
        self, study: Study, objectives: Sequence[Objective], max_trials: int | None
    ) -> None:
        self.study = study
        self.objectives = tuple(objectives)
        self.objective = self.objectives[0]
        self.max_trials = max_trials

    @property
    def trials(self) -> dict[str, KerasTrial]:
        """Every trial by its id ("0000", "0001", ...)."""
        views = (KerasTrial.from_frozen(t, self.study.metrics) for t in self.study.trials)
        return {v.trial_id: v for v in views}

    def get_trial(self, trial_id: str) -> KerasTrial:
        """The trial with id `trial_id` (`"0000"`, `"0001"`, ...); KeyError naming the ids if there is none."""
        try:
            return self.trials[str(trial_id)]
        except KeyError:
            raise KeyError(f"no trial {trial_id!r}; trial ids: {sorted(self.trials)}") from None

    def get_best_trials(self, num_trials: int = 1) -> list[KerasTrial]:
        """Complete trials, best score first (several objectives: the Pareto front)."""
        metrics = self.study.metrics
        return [KerasTrial.from_frozen(t, metrics) for t in best_trials(self.study, num_trials)]


def trial_line(frozen: FrozenTrial, study: Study, budget: int | None) -> str:
    """The line `search(verbose=1)` prints when a trial ends."""
    done = study.get_trials([TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL])
    of = f"/{budget}" if budget is not None else ""
    values = frozen.values or ()
    scores = " ".join(f"{m}={v:.4g}" for m, v in zip(study.metrics, values, strict=False))
    if study.multi_objective:
        best = f", Pareto front of {len(study.best_trials)}" if study.best_trials else ""
    else:
        try:
            best = f", best so far {study.best_value:.4g}"
        except TunelabError:  # no complete trial yet
            best = ""
    extra = f" ({frozen.reason})" if frozen.reason else ""
    return f"Trial {frozen.number} {frozen.state.value} [{len(done)}{of}] {scores}{best}{extra}"


def results_text(oracle: Oracle, where: str, num_trials: int) -> str:
    """What `results_summary` prints: the objectives, then the best trials."""
    objectives = ", ".join(
        f"Objective(name={o.name!r}, direction={o.direction!r})" for o in oracle.objectives
    )
    shown = oracle.get_best_trials(num_trials)
    if oracle.study.multi_objective:
        front = len(oracle.study.best_trials)
        showing = f"Showing {len(shown)} of the {front} trials of the Pareto front"
    else:
        showing = f"Showing {num_trials} best trials"
    lines = ["Results summary", f"Results in {where}", showing, objectives]
    for trial in shown:
        lines += ["", trial.summary()]
    return "\n".join(lines)


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
