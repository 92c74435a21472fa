"""Replay a schedule of hyperparameter values that population-based training found, as a
fixed schedule on a fresh trial: the trial pauses before each step where the values
change and goes on, from its own checkpoint, with the next values (no weights are copied).

`schedule` is [{"step": first step trained with the values, "params": {...}}, ...],
first step first; the study enqueues the first entry's values (tunelab.study.replay)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tunelab.errors import ConfigurationError
from tunelab.schedulers.base import Scheduler
from tunelab.schedulers.decision import GO_ON, PruneRequest, ResumeRequest, Verdict


class ReplayScheduler(Scheduler):
    """Plays a fixed schedule of values on a trial: pauses before each step where they
    change and goes on from its own checkpoint with the next values."""

    name = "replay"
    pauses = True
    requires_resume = True

    def __init__(self, schedule: Sequence[Mapping[str, Any]] = (), rules: Any = ()) -> None:
        super().__init__(rules)
        entries: list[dict[str, Any]] = []
        for entry in schedule:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("params"), Mapping):
                raise ConfigurationError(
                    f"a replayed schedule holds {{'step': int, 'params': {{...}}}} entries, but "
                    f"got {entry!r}"
                )
            step = entry.get("step")
            if isinstance(step, bool) or not isinstance(step, int) or step < 0:
                raise ConfigurationError(f"a schedule entry's step must be an int >= 0: {entry!r}")
            entries.append({"step": step, "params": dict(entry["params"])})
        steps = [e["step"] for e in entries]
        if not entries or steps != sorted(set(steps)):
            raise ConfigurationError(
                f"a replayed schedule needs entries at increasing steps, but got steps {steps}"
            )
        self.schedule = entries

    def config(self) -> dict[str, Any]:
        return {"schedule": self.schedule}

    def needs_history(self, step: int, previous_step: int | None) -> bool:
        return False

    def rank_decision(self, request: PruneRequest) -> Verdict:
        return GO_ON

    def pause_after(self, step: int | None, steps_this_run: int) -> bool:
        return step is not None and any(e["step"] == step + 1 for e in self.schedule[1:])

    def choose_resume(self, request: ResumeRequest) -> int | None:
        return min(t.number for t in request.paused) if request.paused else None

    def values_from(self, step: int) -> dict[str, Any] | None:
        """The values that take effect at `step`, or None when none change there."""
        found = [e["params"] for e in self.schedule[1:] if e["step"] == step]
        return dict(found[0]) if found else None
