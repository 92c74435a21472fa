"""Read-only views over a study's trials, as samplers and insight code see them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tunelab.trial.frozen import FrozenTrial
from tunelab.types import Direction, TrialState


def with_state(trials: Iterable[FrozenTrial], *states: TrialState) -> list[FrozenTrial]:
    """The trials in one of `states`, in their order.

    Example:
        ```python
        finished = with_state(study.trials, TrialState.COMPLETE, TrialState.PRUNED)
        ```
    """
    return [t for t in trials if t.state in states]


def rank_key(value: Any, number: int, direction: Direction) -> tuple[float, int]:
    """The one order of trials by a value: better first, and on a tie the earlier trial
    (lower number). Every place that names a best trial sorts by this key, so `tunelab
    run`, `show`, the report, the dashboard and `study.best_trial` agree on ties."""
    sign = -1.0 if direction is Direction.MAXIMIZE else 1.0
    return sign * float(value), number


def best_trial(trials: Iterable[FrozenTrial], direction: Direction) -> FrozenTrial | None:
    """The feasible COMPLETE trial with the best value; ties go to the earlier trial."""
    ranked = sorted_by_value(list(trials), direction)
    return ranked[0] if ranked else None


def sorted_by_value(trials: Sequence[FrozenTrial], direction: Direction) -> list[FrozenTrial]:
    """Feasible COMPLETE trials, best value first, ties by trial number (`rank_key`);
    infeasible ones are never ranked."""
    done = [
        t for t in trials if t.state is TrialState.COMPLETE and t.value is not None and t.feasible
    ]
    return sorted(done, key=lambda t: rank_key(t.value, t.number, direction))
