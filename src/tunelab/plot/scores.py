"""A study's objectives as the plots read them: which metric, which way is better and
where its value sits in a trial's `values`. A single-objective study has one; a study of
several objectives gets each plot once per objective, titled by its metric, so no plot
reads the first objective silently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tunelab.objectives import Objective
from tunelab.plot.axes import fmt
from tunelab.study import Study
from tunelab.trial import FrozenTrial
from tunelab.types import Direction


@dataclass(frozen=True)
class Score:
    """One objective of a study."""

    metric: str
    direction: Direction
    index: int = 0

    def of(self, trial: FrozenTrial) -> float | None:
        """The trial's value in this objective (None when it has none)."""
        values = trial.values
        if values is None or len(values) <= self.index or values[self.index] is None:
            return None
        return float(values[self.index])

    @property
    def objective(self) -> Objective:
        return Objective(self.metric, self.direction)

    @property
    def label(self) -> str:
        return f"{self.metric} ({self.direction.value})"


def scores_of(study: Study) -> tuple[Score, ...]:
    return tuple(Score(o.metric, o.direction, i) for i, o in enumerate(study.objectives))


def hover(trial: FrozenTrial, scores: Sequence[Score]) -> str:
    """A trial as its hover box shows it: number, state, each objective, feasibility,
    its parameters."""
    state = trial.state.value.lower() + ("" if trial.feasible else ", infeasible")
    lines = [f"trial #{trial.number} ({state})"]
    lines += [f"{s.metric} = {fmt(s.of(trial))}" for s in scores]
    if not trial.feasible:
        lines += [
            f"constraint {k} = {fmt(v)} (holds when <= 0)" for k, v in trial.constraints.items()
        ]
    lines += [f"{k} = {fmt(v)}" for k, v in trial.params.items()]
    return "<br>".join(lines)
