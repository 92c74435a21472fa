"""The Lightning callback that connects `Trainer.fit` to a tunelab trial: it reports each
validated epoch's logged metrics (step = epoch), asks the study whether to prune, and stops
the trainer through `trainer.should_stop`, the way Lightning's own EarlyStopping does, so
the fit ends normally (checkpoints, loggers and teardown as usual). The objective then
returns `callback.result()`, which raises `TrialPruned` for a pruned trial.

Why report at the end of the training epoch and not at the end of validation: Lightning
validates inside the training epoch, before it aggregates the epoch's training metrics, so
at `on_validation_end` a `train_loss` logged with `on_epoch=True` still holds the previous
epoch's value. At `on_train_epoch_end` both are the epoch's own. The monitor is checked at
the end of the first validation, the earliest a missing name can be known.

Distributed training: rank 0 alone reports and asks the study; its decision is broadcast
so that every rank stops after the same epoch. Under strategy='ddp_spawn' rank 0 runs in a
child process and reports through a local socket to the objective's process (relay.py); forked
ranks ('ddp_fork', 'ddp_notebook') are refused, since a forked child would write through
the parent's storage connections. Importing this module imports Lightning."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from tunelab import ConfigurationError, ConfigurationTypeError, Trial, TrialPruned
from tunelab._extras import require
from tunelab._scalars import scalars
from tunelab.lightning import relay

pl = require("lightning.pytorch", extra="lightning", user="tunelab.lightning")

_FORKED = (
    "TunelabCallback cannot report from ranks Lightning forks (strategy='ddp_fork' or "
    "'ddp_notebook'): use strategy='ddp_spawn'"
)


def _monitor_names(monitor: str | Sequence[str]) -> tuple[str, ...]:
    names = (monitor,) if isinstance(monitor, str) else tuple(monitor)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ConfigurationTypeError(
            "monitor must be a metric name or a non-empty list of names the LightningModule "
            f"logs with self.log(), e.g. monitor='val_acc', but got {monitor!r}"
        )
    return names


class TunelabCallback(pl.Callback):  # type: ignore[name-defined]
    """Reports every validated epoch to `trial` and stops the trainer when the study prunes.

    `monitor` names the metric(s) the LightningModule logs that the study needs (its
    metric(s)); they must be logged in validation, or the fit stops with a
    ConfigurationError naming what was logged. With `report_all` (the default) every
    other scalar Lightning logged (`trainer.callback_metrics`) is reported too, so the
    study keeps the whole curve; `report_all=False` reports the monitored metrics alone.
    """

    def __init__(
        self, trial: Trial, monitor: str | Sequence[str] = "val_acc", report_all: bool = True
    ) -> None:
        super().__init__()
        if not isinstance(trial, Trial):
            raise ConfigurationTypeError(
                "TunelabCallback(trial, ...) takes the tunelab Trial the objective received, "
                f"but got {trial!r:.80}"
            )
        self.trial = trial
        self.monitor = _monitor_names(monitor)
        self.report_all = bool(report_all)
        self.last: dict[str, float] = {}  # the metrics of the last reported epoch
        self.epochs: list[int] = []  # the epochs reported (on rank 0) or seen (other ranks)
        self.pruned_epoch: int | None = None
        self._pending: tuple[int, dict[str, float]] | None = None
        self._validated: int | None = None  # the last epoch whose validation was seen
        self._pid = os.getpid()
        self._relay: relay.Relay | None = None  # in the objective's process, once spawned
        self._channel: relay.Link | None = None  # in a spawned rank: the way to the relay

    def __getstate__(self) -> dict[str, Any]:
        """A copy for a spawned rank: the way to this process's relay in place of the trial."""
        if self._channel is None:
            if self._relay is None or not self._relay.alive:
                self._relay = relay.Relay(self._relayed)
            channel = self._relay.link
        else:
            channel = self._channel
        return {**self.__dict__, "trial": None, "_relay": None, "_channel": channel}

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        """Refuse a forked process the callback cannot report from (ConfigurationError)."""
        if stage == "fit" and os.getpid() != self._pid and self._channel is None:
            raise ConfigurationError(_FORKED)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        """Collect the monitored metrics of the epoch's validation (reported at the epoch's end)."""
        if trainer.sanity_checking or trainer.state.fn != "fit" or self.pruned_epoch is not None:
            return
        epoch = int(trainer.current_epoch)
        if self._validated == epoch:
            raise ConfigurationError(
                f"validation ran twice in epoch {epoch} (val_check_interval < 1?), but "
                "TunelabCallback reports once per epoch (step = epoch): validate once per "
                "epoch (val_check_interval=1.0)"
            )
        self._validated = epoch
        logged = scalars(trainer.callback_metrics)
        missing = [m for m in self.monitor if m not in logged]
        if missing:
            raise ConfigurationError(
                f"TunelabCallback monitors {missing[0]!r}, but the validation of epoch {epoch} "
                f"logged only {sorted(logged)}; log it with self.log({missing[0]!r}, ...) in "
                "validation_step or pass monitor= one of these"
            )
        self._pending = (epoch, logged)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        """Report the epoch's validation metrics (step = epoch) and stop training when the study prunes the trial."""
        self._flush(trainer)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        """Report a validation still pending, and fail clearly when no validation epoch ever ran."""
        self._flush(trainer)  # a validation after the last epoch's end (max_steps mid-epoch)
        if self._channel is not None and trainer.is_global_zero:
            self._channel.end()
        if not self.epochs and self.pruned_epoch is None:
            raise ConfigurationError(
                "TunelabCallback saw no validation epoch, so it had no metric to report: give "
                "trainer.fit() val_dataloaders (or a datamodule with val_dataloader) and the "
                "LightningModule a validation_step that logs "
                f"{self.monitor[0]!r}, and check_val_every_n_epoch <= max_epochs"
            )

    def _flush(self, trainer: Any) -> None:
        """Report the validated epoch (rank 0), then stop every rank if the study prunes."""
        if self._pending is None:
            return
        epoch, logged = self._pending
        self._pending = None
        if self.report_all:
            metrics = {**scalars(trainer.callback_metrics), **logged}
        else:
            metrics = {m: logged[m] for m in self.monitor}
        prune = False
        if trainer.is_global_zero:
            if self._channel is None:
                prune = self._record(epoch, metrics)
            else:
                prune = self._channel.ask(epoch, metrics)
        prune = bool(trainer.strategy.broadcast(prune, src=0))
        self.last = metrics
        self.epochs.append(epoch)
        if prune:
            self.pruned_epoch = epoch
            trainer.should_stop = True

    def _record(self, epoch: int, metrics: dict[str, float]) -> bool:
        """Report one epoch to the trial (in the objective's process); whether to prune."""
        self.trial.report(epoch, **metrics)
        return self.trial.should_prune()

    def _relayed(self, epoch: int, metrics: dict[str, float]) -> bool:
        """`_record` for a spawned rank 0, whose state is kept here too for result()."""
        prune = self._record(epoch, metrics)
        self.last = metrics
        self.epochs.append(epoch)
        if prune:
            self.pruned_epoch = epoch
        return prune

    def check_pruned(self) -> None:
        """Raise TrialPruned when the study pruned this trial (the fit stopped early); the
        study keeps the reported curve. Call it after `trainer.fit`."""
        if self.pruned_epoch is not None:
            raise TrialPruned(f"stopped by the study's scheduler after epoch {self.pruned_epoch}")

    def result(self) -> float:
        """What the objective returns: the first monitored metric at the last validated
        epoch; raises TrialPruned instead when the study pruned the trial."""
        self.check_pruned()
        if not self.last:
            raise ConfigurationError(
                "TunelabCallback.result() has no metric: call it after trainer.fit() with this "
                "callback in Trainer(callbacks=[...]) and a validation loop"
            )
        return self.last[self.monitor[0]]
