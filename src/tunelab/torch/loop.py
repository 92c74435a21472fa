"""One trial's training loop: epochs of batches on the device, validation with the task's
and the user's metrics, early stopping on validation loss, divergence checks, and the
run's state as a checkpoint (weights_only-loadable) to go on from.

Nothing here reads knobs or checks settings: fit() does that before a run starts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from tunelab.errors import TrialDiverged, TrialPaused, TrialPruned
from tunelab.torch.batches import Batches
from tunelab.torch.config import TrainConfig
from tunelab.torch.device import Precision
from tunelab.torch.errors import TrainingError
from tunelab.torch.kept import check_shapes
from tunelab.torch.optim import make_optimizer
from tunelab.torch.tasks import LossFn, Task

# An epoch whose mean training loss is 3x the first batch's has diverged: a model starts
# near its initial loss, and healthy training never ends an epoch far above it.
EXPLODE_FACTOR = 3.0
CHECKPOINT_FORMAT = "tunelab.fit/1"
UserMetric = Callable[[Any, torch.Tensor], Any]


def _penalty(model: nn.Module, l1: float, l2: float) -> torch.Tensor | None:
    """Explicit L1/L2 penalties on weights (not biases or norm scales), added to the loss."""
    if not l1 and not l2:
        return None
    total: torch.Tensor | float = 0.0
    for p in model.parameters():
        if p.ndim < 2:
            continue
        if l1:
            total = total + l1 * p.abs().sum()
        if l2:
            total = total + l2 * p.pow(2).sum()
    return torch.as_tensor(total)


class Run:
    """One trial's training: the epochs, the reports and the early-stopping state."""

    def __init__(
        self,
        model: nn.Module,
        source: Batches,
        trial: Any,
        config: TrainConfig,
        task: Task,
        loss_fn: LossFn,
        precision: Precision,
        device: torch.device,
        user_metrics: Mapping[str, UserMetric],
    ) -> None:
        self.model, self.source, self.trial, self.config = model, source, trial, config
        self.task, self.loss_fn, self.precision, self.device = task, loss_fn, precision, device
        self.user_metrics = user_metrics
        self.optimizer: torch.optim.Optimizer | None = make_optimizer(
            config.optimizer,
            model.parameters(),
            config.learning_rate,
            config.weight_decay,
            config.momentum,
            config.nesterov,
        )
        self.scaler = precision.scaler(device)
        self.first_loss: float | None = None
        self.best: dict[str, float] | None = None
        self.best_epoch = -1
        self.best_state: dict[str, torch.Tensor] | None = None
        self.waited = 0
        self.next_epoch = 0
        self.seconds = 0.0
        self.check_each_batch = device.type == "cpu" and self.scaler is None

    def drop(self) -> None:
        """Let go of the tensors this run holds (after an out-of-memory error)."""
        self.best_state = None
        self.optimizer = None

    def train(
        self,
        generator: torch.Generator,
        n_parameters: int,
        save: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, float]:
        """The epochs from where the run stands up to the end, early stopping or pruning;
        the best epoch's metrics. `save` receives the run's state after every epoch."""
        config, trial = self.config, self.trial
        started = time.perf_counter() - self.seconds  # a resumed run goes on counting
        epoch = self.next_epoch
        while epoch < config.epochs and self.waited < config.patience:
            epoch_started = time.perf_counter()
            metrics = self._epoch(epoch, generator)
            metrics.update(self._validate(epoch))
            now = time.perf_counter()
            self.seconds = now - started
            metrics["epoch_seconds"] = now - epoch_started
            # cumulative, so a rung or a time constraint sees the cost spent so far
            metrics["train_seconds"] = self.seconds
            if epoch == 0:  # reported once: the size never changes, and its last report stands
                metrics["n_parameters"] = float(n_parameters)
            trial.report(epoch, **metrics)
            best = self.best
            if best is None or metrics["val_loss"] < best["val_loss"] - config.min_delta:
                self.best, self.best_epoch, self.waited = metrics, epoch, 0
                self.best_state = {
                    k: v.detach().clone() for k, v in self.model.state_dict().items()
                }
            else:
                self.waited += 1
            epoch += 1
            self.next_epoch = epoch
            if save is not None:  # before pruning: a paused trial can be resumed from here
                save(self.state_dict(generator))
            if trial.should_prune():
                raise TrialPruned(f"stopped by the scheduler at epoch {epoch - 1}")
            more = epoch < config.epochs and self.waited < config.patience
            if more and save is not None and _should_pause(trial):  # its state is saved
                raise TrialPaused(f"paused after epoch {epoch - 1}")
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        trial.set_user_attr("best_epoch", self.best_epoch)
        trial.set_user_attr("epochs_run", epoch)
        assert self.best is not None  # at least one epoch ran (epochs >= 1 is checked)
        return self.best

    def state_dict(self, generator: torch.Generator) -> dict[str, Any]:
        """Everything needed to go on training from here: tensors, numbers and plain
        containers only, so it loads with torch.load(weights_only=True)."""
        assert self.optimizer is not None
        return {
            "format": CHECKPOINT_FORMAT,
            "next_epoch": self.next_epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else {},
            "generator": generator.get_state(),
            # dropout and other layers draw from torch's global generator(s)
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(self.device)
            if self.device.type == "cuda"
            else None,
            "first_loss": self.first_loss,
            "best": dict(self.best or {}),
            "best_epoch": self.best_epoch,
            "best_state": self.best_state or {},
            "waited": self.waited,
            "seconds": self.seconds,
        }

    def load_state_dict(self, state: Mapping[str, Any], generator: torch.Generator) -> None:
        """Go on from a checkpoint of this model (see `state_dict`)."""
        if state.get("format") != CHECKPOINT_FORMAT:
            raise TrainingError(
                f"the checkpoint is not one fit() wrote (format {state.get('format')!r}); "
                "resume from a file saved by fit(..., checkpoint='last')"
            )
        check_shapes(self.model, state["model"], "the model", "the checkpoint")
        self.model.load_state_dict(state["model"])
        assert self.optimizer is not None
        self.optimizer.load_state_dict(state["optimizer"])
        self._apply_current_values()
        if self.scaler is not None and state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        generator.set_state(state["generator"].cpu())
        torch.set_rng_state(state["torch_rng"].cpu())
        if self.device.type == "cuda" and state["cuda_rng"] is not None:
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), self.device)
        self.next_epoch = int(state["next_epoch"])
        self.first_loss = state["first_loss"]
        self.best = dict(state["best"]) or None
        self.best_epoch = int(state["best_epoch"])
        self.best_state = {k: v.to(self.device) for k, v in state["best_state"].items()} or None
        self.waited = int(state["waited"])
        self.seconds = float(state["seconds"])

    def _apply_current_values(self) -> None:
        """The optimizer takes the trial's current weight decay and momentum, not the
        checkpoint's: population-based training may have changed them (the learning rate
        is set from the trial's value at every batch anyway)."""
        assert self.optimizer is not None
        for group in self.optimizer.param_groups:
            if "weight_decay" in group:
                group["weight_decay"] = self.config.weight_decay
            if "momentum" in group and self.config.momentum is not None:
                group["momentum"] = self.config.momentum

    def _epoch(self, epoch: int, generator: torch.Generator) -> dict[str, float]:
        config, model, task = self.config, self.model, self.task
        assert self.optimizer is not None
        optimizer, scaler = self.optimizer, self.scaler
        model.train()
        steps = self.source.steps(config.batch_size)
        zero = torch.zeros((), device=self.device)
        loss_sum, correct, seen, bad = zero.clone(), zero.clone(), zero.clone(), zero.clone()
        lr = config.learning_rate
        for step, (xb, yb) in enumerate(self.source.train(config.batch_size, generator)):
            lr = config.learning_rate * config.schedule.multiplier(epoch + step / steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            if config.augment is not None and config.augment.active:
                xb = config.augment(xb, generator)
            with self.precision.autocast(self.device):
                out = task.shaped(model(xb))
                loss = self.loss_fn(out, yb)
            penalty = _penalty(model, config.l1, config.l2)
            total = loss if penalty is None else loss + penalty
            finite = torch.isfinite(total.detach())
            if self.check_each_batch and not finite:
                self._diverged(epoch, f"training loss became {float(total)}")
            if self.first_loss is None:
                self.first_loss = loss.item()
            optimizer.zero_grad(set_to_none=True)
            if scaler is None:
                total.backward()
                if config.grad_clip:
                    nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
            else:  # steps with overflowing gradients are skipped and the scale backs off
                scaler.scale(total).backward()
                if config.grad_clip:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                scaler.step(optimizer)
                scaler.update()
            n = len(yb)
            if self.check_each_batch:  # every loss here is finite (checked above)
                loss_sum += loss.detach() * n
                seen += n
                if task.has_accuracy:
                    correct += task.correct(out.detach(), yb)
            else:  # no sync per batch: non-finite batches are counted and left out
                loss_sum += torch.where(finite, loss.detach().float() * n, 0.0)
                seen += finite * n
                bad += ~finite
                if task.has_accuracy:
                    correct += torch.where(finite, task.correct(out.detach(), yb).float(), 0.0)
        self._check_epoch(epoch, float(bad), steps)
        train_loss = float(loss_sum) / max(float(seen), 1.0)
        first = self.first_loss
        if first is not None and train_loss > EXPLODE_FACTOR * max(first, 1e-3):
            self._diverged(
                epoch, f"training loss exploded to {train_loss:.4g} (first batch {first:.4g})"
            )
        metrics = {"train_loss": train_loss}
        if task.has_accuracy:
            metrics["train_accuracy"] = float(correct) / max(float(seen), 1.0)
        metrics["lr"] = lr
        return metrics

    def _check_epoch(self, epoch: int, bad: float, steps: int) -> None:
        """Non-finite losses end the trial; with a gradient scaler, only when they persist
        (over half the epoch's batches) after the scale has backed off."""
        if not bad:
            return
        if self.scaler is None or bad * 2 > steps:
            what = "training loss became nan or inf"
            self._diverged(epoch, f"{what} in {bad:.0f} of {steps} batches")

    def _validate(self, epoch: int) -> dict[str, float]:
        scorer = self.task.scorer(self.device)
        outputs: list[Any] = []
        targets: list[torch.Tensor] = []
        self.model.eval()
        with torch.inference_mode(), self.precision.autocast(self.device):
            for xb, yb in self.source.val():
                raw = self.model(xb)
                out = self.task.shaped(raw)
                scorer.add(out.float(), yb, self.loss_fn(out, yb))
                if self.user_metrics:
                    outputs.append(raw)
                    targets.append(yb)
        metrics = scorer.results()
        if not math.isfinite(metrics["val_loss"]):
            self._diverged(epoch, f"validation loss became {metrics['val_loss']}")
        for name, fn in self.user_metrics.items():
            metrics[name] = _user_metric(name, fn, _joined(outputs), torch.cat(targets))
        return metrics

    def _diverged(self, epoch: int, what: str) -> None:
        self.trial.set_user_attr("diverged", True)
        config = self.config
        raise TrialDiverged(
            f"diverged at epoch {epoch}: {what}; learning_rate={config.learning_rate:.3g} "
            f"({config.optimizer}) is probably too high"
        )


def _joined(outputs: list[Any]) -> Any:
    """The validation outputs as one tensor (or tuple of tensors, for models that return
    several), as the model returns them for one batch."""
    first = outputs[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(outputs)
    return type(first)(torch.cat(parts) for parts in zip(*outputs, strict=True))


def _user_metric(name: str, fn: UserMetric, outputs: Any, targets: torch.Tensor) -> float:
    try:
        value = fn(outputs, targets)
    except Exception as error:
        raise TrainingError(
            f"metric {name!r} raised {type(error).__name__}: {error}; it is called as "
            "fn(outputs, targets) with the whole validation set's tensors"
        ) from None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TrainingError(
            f"metric {name!r} returned {value!r}, not a number; return a float"
        ) from None
    return number


def _should_pause(trial: Any) -> bool:
    """The study's word on pausing (freeze-thaw); False for a trial handle without one."""
    ask = getattr(trial, "should_pause", None)
    return bool(ask()) if callable(ask) else False
