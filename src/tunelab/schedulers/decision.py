"""What a scheduler, or a curve rule, is asked (PruneRequest) and what it answers
(Verdict). The scheduler contract (base.py) runs the curve rules (rules.py) and both speak
these words, so they live apart from either: base imports rules, never the reverse."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunelab.errors import ConfigurationError
from tunelab.objectives import Constraint, Objective
from tunelab.space import SearchSpace
from tunelab.trial import FrozenTrial
from tunelab.types import Decision, Direction, EndCause, TrialState


@dataclass(frozen=True)
class Verdict:
    """A decision with the why: `reason` and `attrs` are stored on a pruned trial, and
    `cause` is how it ended (PRUNED, or DIVERGED when its curve blew up)."""

    decision: Decision
    reason: str | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    cause: EndCause = EndCause.PRUNED

    @property
    def stop(self) -> bool:
        """Whether the verdict stops the trial."""
        return self.decision is Decision.STOP


GO_ON = Verdict(Decision.CONTINUE)
"""The verdict that lets a trial go on."""


@dataclass(frozen=True)
class ResumeRequest:
    """What a freeze-thaw scheduler sees when a worker asks for work: the PAUSED trials
    (with their curves), the whole history, and whether the study's budget of new trials
    is spent (then only a paused trial, or nothing, may run)."""

    paused: Sequence[FrozenTrial]
    history: Sequence[FrozenTrial]
    metric: str
    direction: Direction
    budget_spent: bool = False


@dataclass(frozen=True)
class ExploitRequest:
    """What PBT sees when `trial` (paused at its last step, in the bottom quantile) takes
    `parent`'s weights: the whole history, the study's space and its first objective, from
    which the values it goes on with are chosen."""

    trial: FrozenTrial
    parent: FrozenTrial
    history: Sequence[FrozenTrial]
    space: SearchSpace
    metric: str
    direction: Direction


@dataclass(frozen=True)
class PruneRequest:
    """Everything a scheduler may look at: the trial (its reports so far) and the others.
    `metric` and `direction` are the study's first objective; `objectives` lists every
    one (empty or one long in a study of one objective); `constraints` are the study's
    bounds on reported metrics."""

    trial: FrozenTrial
    history: Sequence[FrozenTrial]
    metric: str
    direction: Direction
    objectives: tuple[Objective, ...] = ()
    constraints: tuple[Constraint, ...] = ()

    @property
    def multi_objective(self) -> bool:
        """Whether the study has several objectives."""
        return len(self.objectives) > 1

    @property
    def step(self) -> int:
        """The step of the trial's latest report (the one being decided on)."""
        if not self.trial.reports:
            raise ValueError("a scheduler is consulted only after a report")
        return self.trial.reports[-1].step

    @property
    def previous_step(self) -> int | None:
        """The step of the report before it; None at the first report."""
        return self.trial.reports[-2].step if len(self.trial.reports) > 1 else None

    def others(self) -> list[FrozenTrial]:
        """Every other trial that may have reported (not WAITING, not this one)."""
        return [
            t
            for t in self.history
            if t.trial_id != self.trial.trial_id and t.state is not TrialState.WAITING
        ]


def check_int(name: str, value: Any, minimum: int) -> int:
    """Validate a whole-number setting with a message that names the rule and the value."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(f"{name} must be an int >= {minimum}, but got {name}={value!r}")
    return int(value)
