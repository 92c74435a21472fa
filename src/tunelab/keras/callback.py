"""The drop-in's Keras callback: `ReportCallback` (report every epoch's logs, stop when
the trial should be pruned) that also requires the objectives and remembers the best
epoch's weights. The tuner reads `prune_reason` after `fit`: nothing is raised.
Importing this module imports keras."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

from tunelab import Trial
from tunelab.keras.errors import ObjectiveNotFoundError
from tunelab.keras.objective import Objective
from tunelab.keras.report import ReportCallback, validation_hint


class TrialReporter(ReportCallback):
    """Reports each epoch (steps continue after an earlier execution's) and tracks the
    best epoch: the one best in the first objective (its logs give every objective's
    value)."""

    raise_when_pruned = False

    def __init__(
        self,
        trial: Trial,
        objectives: Sequence[Objective],
        may_prune: bool = True,
        require_objective: bool = True,
    ) -> None:
        super().__init__(trial)
        self.objective = objectives[0]
        self.names = [o.name for o in objectives]
        self.may_prune = may_prune
        self.require_objective = require_objective
        self.epochs_done = 0
        self.best_value: float | None = None
        self.best_logs: dict[str, float] = {}
        self.best_epoch: int | None = None
        self.best_weights: list[Any] | None = None
        self.seen_objective = False

    def _metrics(self, epoch: int, logged: dict[str, float]) -> dict[str, float]:
        missing = [n for n in self.names if n not in logged]
        if missing and self.require_objective:
            hint = validation_hint(missing, logged, "search()")
            raise ObjectiveNotFoundError(
                f"the objective {missing[0]!r} is not among the metrics Keras logged after epoch "
                f"{epoch + 1}: {sorted(logged)}; {hint}choose one of these as objective= "
                "(or compile the model with the metric)"
            )
        return logged

    def _after_report(self, epoch: int, metrics: dict[str, float]) -> None:
        self.epochs_done += 1
        value = metrics.get(self.objective.name)
        if value is not None:
            self.seen_objective = True
            if math.isfinite(value) and (
                self.best_value is None or self.objective.better(value, self.best_value)
            ):
                self.best_value = value
                self.best_logs = metrics
                self.best_epoch = epoch
                self.best_weights = self.model.get_weights()


def copied_callbacks(callbacks: Sequence[Any]) -> list[Any]:
    """A fresh copy of the user's callbacks per execution, as Keras Tuner makes: state
    such as EarlyStopping's best value must not leak from one trial into the next."""
    out = []
    for cb in callbacks:
        try:
            out.append(copy.deepcopy(cb))
        except Exception:  # a callback holding something uncopyable: share it
            out.append(cb)
    return out
