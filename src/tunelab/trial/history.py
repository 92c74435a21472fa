"""Read-only views over a study's trials, as samplers and insight code see them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


def best_trial(trials: Iterable[FrozenTrial], direction: Direction) -> FrozenTrial | None:
    """The feasible COMPLETE trial with the best value; ties go to the earlier trial."""
    best: FrozenTrial | None = None
    for t in trials:
        if t.state is not TrialState.COMPLETE or t.value is None or not t.feasible:
            continue
        if best is None or direction.better(t.value, best.value):  # type: ignore[arg-type]
            best = t
    return best


def sorted_by_value(trials: Sequence[FrozenTrial], direction: Direction) -> list[FrozenTrial]:
    """Feasible COMPLETE trials, best value first (infeasible ones are never ranked)."""
    done = [
        t for t in trials if t.state is TrialState.COMPLETE and t.value is not None and t.feasible
    ]
    return sorted(done, key=lambda t: (t.value, t.number), reverse=direction is Direction.MAXIMIZE)
