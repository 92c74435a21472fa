"""`ReportCallback`: `model.fit` inside a plain tunelab objective, reported and pruned.

    def objective(trial):
        model = build(trial.hp)
        model.fit(x, y, validation_data=(xv, yv), epochs=20,
                  callbacks=[tunelab.keras.ReportCallback(trial, monitor="val_accuracy")])
        return model.evaluate(xv, yv, return_dict=True)["accuracy"]

Each epoch's logs are reported (step = epoch); when the study's scheduler says so,
training stops at the epoch's end and `fit` raises `tunelab.TrialPruned`, so the trial
ends PRUNED with its curve kept. The drop-in's own callback is a subclass. Importing
this module imports keras (on the torch backend).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tunelab import ConfigurationError, ConfigurationTypeError, TrialPruned
from tunelab._scalars import scalars
from tunelab.keras._backend import load_keras

keras = load_keras()


def validation_hint(missing: Sequence[str], logged: Mapping[str, float], where: str) -> str:
    """The fix when a `val_` metric is missing because no validation data was given."""
    if any(n.startswith("val_") for n in missing) and not any(k.startswith("val_") for k in logged):
        return f"pass validation_data= or validation_split= to {where}, or "
    return ""


def _monitored(monitor: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if monitor is None:
        return None
    names = (monitor,) if isinstance(monitor, str) else tuple(monitor)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ConfigurationError(
            f"monitor must be a metric name, a list of names or None (every logged metric), "
            f"but got monitor={monitor!r}"
        )
    return names


class ReportCallback(keras.callbacks.Callback):  # type: ignore[name-defined]
    """Reports each epoch's logs to `trial` (all of them, or the `monitor`ed names) and
    stops training when the trial should be pruned; `fit` then raises TrialPruned. Put
    it last in `callbacks=`: the callbacks after it do not see the training end."""

    raise_when_pruned = True

    def __init__(self, trial: Any, monitor: str | Sequence[str] | None = None) -> None:
        super().__init__()
        trial = getattr(trial, "tunelab_trial", trial)  # run_trial's trial, too
        if not (hasattr(trial, "report") and hasattr(trial, "should_prune")):
            raise ConfigurationTypeError(
                f"ReportCallback needs the tunelab trial the objective received, but got "
                f"{trial!r:.80}; pass the objective's `trial`"
            )
        self.trial = trial
        self.monitor = _monitored(monitor)
        self.may_prune = True
        self.prune_reason: str | None = None
        self._shift: int | None = None

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        """Start a `fit`: forget an earlier fit's pruning and step offset."""
        self.prune_reason = None
        self._shift = None

    def _step(self, epoch: int) -> int:
        """`epoch`, unless this trial reported that far already (a second `fit`, another
        execution): then the steps continue after its last one."""
        if self._shift is None:
            last = self.trial.last_step
            self._shift = 0 if last is None or epoch > last else last + 1 - epoch
        return epoch + self._shift

    def _metrics(self, epoch: int, logged: dict[str, float]) -> dict[str, float]:
        """What to report of an epoch's logs."""
        if self.monitor is None:
            return logged
        missing = [n for n in self.monitor if n not in logged]
        if missing:
            hint = validation_hint(missing, logged, "fit")
            raise ConfigurationError(
                f"ReportCallback monitors {missing[0]!r}, which Keras did not log after epoch "
                f"{epoch + 1}; it logged {sorted(logged)}: {hint}monitor one of these (or "
                "compile the model with the metric)"
            )
        return {n: logged[n] for n in self.monitor}

    def _after_report(self, epoch: int, metrics: dict[str, float]) -> None:
        """Subclasses' hook: called after each epoch is reported."""

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Report the epoch's metrics to the trial (step = epoch) and stop training when the study prunes it."""
        metrics = self._metrics(epoch, scalars(logs))
        if metrics:
            self.trial.report(self._step(epoch), **metrics)
        self._after_report(epoch, metrics)
        if self.may_prune and self.trial.should_prune():
            self.prune_reason = f"stopped by the study's scheduler after epoch {epoch + 1}"
            self.model.stop_training = True

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        """Raise TrialPruned after a pruned `fit` when `raise_when_pruned`, so the trial ends PRUNED."""
        if self.prune_reason is not None and self.raise_when_pruned:
            raise TrialPruned(self.prune_reason)
