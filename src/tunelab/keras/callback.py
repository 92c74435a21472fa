"""The Keras callback that connects `model.fit` to a tunelab trial: it reports every
epoch's logs, remembers the best epoch's weights, and stops training when the trial
should be pruned. Importing this module imports keras."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tunelab import Trial
from tunelab.keras._backend import load_keras
from tunelab.keras.errors import ObjectiveNotFoundError
from tunelab.keras.objective import Objective

keras = load_keras()


def _numbers(logs: Mapping[str, Any] | None) -> dict[str, float]:
    out = {}
    for key, value in (logs or {}).items():
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError):
            continue  # a non-scalar log entry (rare) is not a metric
    return out


class TrialReporter(keras.callbacks.Callback):  # type: ignore[name-defined]
    """Reports each epoch as step `first_step + epoch` and tracks the best epoch: the one
    best in the first objective (its logs give every objective's value)."""

    def __init__(
        self,
        trial: Trial,
        objectives: Sequence[Objective],
        first_step: int = 0,
        may_prune: bool = True,
        require_objective: bool = True,
    ) -> None:
        super().__init__()
        self.trial = trial
        self.objective = objectives[0]
        self.names = [o.name for o in objectives]
        self.first_step = first_step
        self.may_prune = may_prune
        self.require_objective = require_objective
        self.epochs_done = 0
        self.best_value: float | None = None
        self.best_logs: dict[str, float] = {}
        self.best_epoch: int | None = None
        self.best_weights: list[Any] | None = None
        self.prune_reason: str | None = None
        self.seen_objective = False

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        metrics = _numbers(logs)
        name = self.objective.name
        missing = [n for n in self.names if n not in metrics]
        if missing and self.require_objective:
            hint = (
                "pass validation_data= or validation_split= to search(), or "
                if any(n.startswith("val_") for n in missing)
                and not any(k.startswith("val_") for k in metrics)
                else ""
            )
            raise ObjectiveNotFoundError(
                f"the objective {missing[0]!r} is not among the metrics Keras logged after epoch "
                f"{epoch + 1}: {sorted(metrics)}; {hint}choose one of these as objective= "
                "(or compile the model with the metric)"
            )
        self.epochs_done += 1
        if metrics:
            self.trial.report(self.first_step + epoch, **metrics)
        value = metrics.get(name)
        if value is not None:
            self.seen_objective = True
            if math.isfinite(value) and (
                self.best_value is None or self.objective.better(value, self.best_value)
            ):
                self.best_value = value
                self.best_logs = metrics
                self.best_epoch = epoch
                self.best_weights = self.model.get_weights()
        if self.may_prune and self.trial.should_prune():
            self.prune_reason = f"stopped by the study's scheduler after epoch {epoch + 1}"
            self.model.stop_training = True
