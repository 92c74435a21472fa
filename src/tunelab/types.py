"""Enums shared across tunelab: states, end causes, directions and scheduler decisions."""

from __future__ import annotations

import enum

from tunelab.errors import ConfigurationError


class TrialState(str, enum.Enum):
    """Where a trial is in its life: WAITING (queued), RUNNING, then one of the finished states
    COMPLETE, PRUNED (stopped early) or FAIL. PAUSED: it ran, stopped at the end of a slice of
    its training with its reports and checkpoint kept, and waits to be resumed (freeze-thaw
    search). It is neither finished nor running: no worker beats for it, so it is never
    judged lost, and it counts once toward the budget however often it is resumed."""

    WAITING = "WAITING"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAIL = "FAIL"
    PAUSED = "PAUSED"

    @property
    def is_finished(self) -> bool:
        """Whether the trial has ended (COMPLETE, PRUNED or FAIL)."""
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class EndCause(str, enum.Enum):
    """Why a finished trial ended. Code branches on this, never on the `reason` text."""

    COMPLETED = "COMPLETED"  # the objective returned a valid value
    PRUNED = "PRUNED"  # a scheduler (or the objective, by raising TrialPruned) stopped it
    DIVERGED = "DIVERGED"  # its loss blew up (PRUNED, curve kept) or it returned NaN/inf (FAIL)
    OUT_OF_MEMORY = "OUT_OF_MEMORY"  # training ran out of device memory (PRUNED, curve kept)
    RAISED = "RAISED"  # the objective raised an exception
    INVALID_RESULT = "INVALID_RESULT"  # it returned no number for the study's metric
    INTERRUPTED = "INTERRUPTED"  # Ctrl-C, or its worker stopped before running it
    LOST = "LOST"  # its worker process died or stopped beating
    KILLED = "KILLED"  # a supervisor stopped it at a time or memory limit, or a signal did

    @property
    def counts_toward_budget(self) -> bool:
        """Interrupted and lost trials did not get their chance: they use no budget."""
        return self not in (EndCause.INTERRUPTED, EndCause.LOST)


class Direction(str, enum.Enum):
    """Whether a metric is better low (`minimize`) or high (`maximize`)."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"

    @classmethod
    def parse(cls, value: str | Direction) -> Direction:
        """The direction `value` names: a `Direction`, `"minimize"`, `"maximize"`, `"min"` or
        `"max"` (any case); ConfigurationError otherwise.

        Example:
            ```python
            assert Direction.parse("MAX") is Direction.MAXIMIZE
            ```
        """
        if isinstance(value, Direction):
            return value
        text = str(value).lower()
        aliases = {"min": "minimize", "max": "maximize"}
        try:
            return cls(aliases.get(text, text))
        except ValueError:
            raise ConfigurationError(
                f"direction must be 'minimize' or 'maximize', but got {value!r}"
            ) from None

    def better(self, a: float, b: float) -> bool:
        """True when `a` is strictly better than `b`."""
        return a < b if self is Direction.MINIMIZE else a > b


class Decision(str, enum.Enum):
    CONTINUE = "CONTINUE"
    STOP = "STOP"
