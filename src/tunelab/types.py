"""Enums shared across tunelab: states, directions and scheduler decisions."""

from __future__ import annotations

import enum


class TrialState(str, enum.Enum):
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAIL = "FAIL"

    @property
    def is_finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class Direction(str, enum.Enum):
    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"

    @classmethod
    def parse(cls, value: str | Direction) -> Direction:
        if isinstance(value, Direction):
            return value
        text = str(value).lower()
        aliases = {"min": "minimize", "max": "maximize"}
        try:
            return cls(aliases.get(text, text))
        except ValueError:
            raise ValueError(
                f"direction must be 'minimize' or 'maximize', but got {value!r}"
            ) from None

    def better(self, a: float, b: float) -> bool:
        """True when `a` is strictly better than `b`."""
        return a < b if self is Direction.MINIMIZE else a > b


class Decision(str, enum.Enum):
    CONTINUE = "CONTINUE"
    STOP = "STOP"
