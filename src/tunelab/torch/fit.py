"""fit(): a correct, efficient training loop whose every standard knob is tunable.

It reads the training hyperparameters from `trial.hp` (see knobs.py), trains on the
chosen device and precision, reports the task's training and validation metrics (see
tasks.py), the user's own metrics, the learning rate, the epoch's seconds and the training
seconds so far at every epoch, and the model's trainable parameter count at step 0, so
"accuracy against size" or "against training time" needs no user code; it stops early on
validation loss (restoring the best weights), obeys the study's pruning decisions, and
stops a diverging trial at once: NaN/inf or an exploding loss ends it as PRUNED with the
reason "diverged …", so no epochs are wasted and the partial curve stays visible. Running
out of device memory ends that trial alone (PRUNED, out of memory), a bad observation for
the sampler rather than a crash.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from tunelab.errors import TrialDiverged, TrialOutOfMemory, TrialPruned
from tunelab.torch.batches import Batches, InMemory
from tunelab.torch.checkpoint import load_checkpoint, save_checkpoint
from tunelab.torch.config import TrainConfig, read_config
from tunelab.torch.data import Data
from tunelab.torch.device import (
    MemoryMeter,
    Precision,
    is_out_of_memory,
    release_memory,
    resolve_device,
    resolve_precision,
)
from tunelab.torch.errors import TrainingError
from tunelab.torch.kept import check_keep_models, check_shapes, prepare_folder, save_best_weights
from tunelab.torch.models import count_parameters
from tunelab.torch.optim import make_optimizer
from tunelab.torch.pipelines import Datasets, batches_for, fixed_batch_size
from tunelab.torch.tasks import LossFn, Task

# An epoch whose mean training loss is 3x the first batch's has diverged: a model starts
# near its initial loss, and healthy training never ends an epoch far above it.
EXPLODE_FACTOR = 3.0
# Costs of the trial, reported too: objectives or constraints of a study of several metrics.
COSTS = ("n_parameters", "train_seconds")
MEMORY = "max_memory_mb"  # peak device memory, on CUDA
CHECKPOINT_FORMAT = "tunelab.fit/1"
UserMetric = Callable[[Any, torch.Tensor], Any]


def fit(
    model: nn.Module,
    data: Data | Datasets | tuple[DataLoader[Any], DataLoader[Any]],
    trial: Any,
    *,
    loss_fn: str | LossFn | None = None,
    seed: int | None = None,
    device: str | torch.device | None = "auto",
    amp: str | bool | None = "auto",
    task: str | None = None,
    metrics: Mapping[str, UserMetric] | None = None,
    keep_models: int = 3,
    artifacts: str | os.PathLike[str] | None = None,
    checkpoint: str | None = None,
    resume_from: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> float | dict[str, float]:
    """Train `model` on `data` with the trial's training hyperparameters and return the
    study's metric at the best epoch (by validation loss), whose weights are restored.

    `data` is in-memory `Data` (the fast path), `Datasets(train=..., val=...)` (DataLoaders
    built each trial with its batch size) or a `(train_loader, val_loader)` pair, whose
    batch size is then fixed (see pipelines.py).

    `device` is "auto" (CUDA, then MPS, then the CPU), "cpu", "cuda", "cuda:1" or "mps";
    `amp` is "auto" (mixed precision on CUDA), "off", "bf16" or "fp16". `loss_fn` is a
    function loss(outputs, targets) or the name of one ("cross_entropy", "bce", "mse",
    "mae", "huber"); the task's usual loss by default. `metrics` maps names to functions
    fn(outputs, targets) -> float, computed on the whole validation set each epoch and
    reported under their names, so a study can optimise them.

    The best epoch's weights of the study's best `keep_models` trials are kept as
    safetensors in the trial's artifact folder (under `artifacts`, else beside the SQLite
    file; see `load_best`); `checkpoint="last"` also saves the run's state after every
    epoch, and `resume_from` (that file or its trial folder) goes on from one.

    In a study of several metrics it returns a dict instead: the best epoch's metrics with
    `n_parameters` and the whole training's `train_seconds`, so it holds every objective."""
    where = resolve_device(device)
    precision = resolve_precision(amp, where)
    source: Batches
    if isinstance(data, Data):
        source, kind = InMemory(data, where), task_of(data, task)
    else:
        source, kind = batches_for(data, where, task)
        if source.fixed_batch_size is not None:
            overrides = fixed_batch_size(overrides, source.fixed_batch_size)
    user_metrics = _check_user_metrics(metrics, kind)
    config = read_config(trial.hp, source, overrides)
    loss = kind.loss(loss_fn)
    wanted = tuple(getattr(trial, "metrics", (getattr(trial, "metric", "val_accuracy"),)))
    check_metrics(wanted, kind, user_metrics, where)
    check_setup(model.to(where), source, config, kind)
    keep = check_keep_models(keep_models)
    if checkpoint not in (None, "last"):
        raise TrainingError(
            f"checkpoint must be 'last' (save the run's state after every epoch) or None, "
            f"but got checkpoint={checkpoint!r}"
        )
    folder = prepare_folder(trial, artifacts) if keep or checkpoint else None
    n_parameters = count_parameters(model)
    trial.set_user_attr("n_parameters", n_parameters)
    generator = torch.Generator().manual_seed(trial.seed if seed is None else seed)
    run = _Run(model, source, trial, config, kind, loss, precision, where, user_metrics)
    if resume_from is not None:
        run.load_state_dict(load_checkpoint(resume_from, map_location=where), generator)
    save = None
    if checkpoint == "last" and folder is not None:

        def save(state: dict[str, Any]) -> None:
            save_checkpoint(folder, state, trial=trial)

    meter = MemoryMeter(where)
    out_of_memory = False
    try:
        best = run.train(generator, n_parameters, save)
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        out_of_memory = True
    if out_of_memory:  # raised here, outside the handler, so no frame keeps the tensors
        run.drop()
        release_memory(where)
        raise TrialOutOfMemory(
            f"out of memory at batch_size={config.batch_size} on {where}; a smaller batch "
            "size or model fits"
        )
    if keep and folder is not None:
        save_best_weights(trial, folder, model.state_dict(), keep, epoch=run.best_epoch)
    peak = meter.peak_mb()
    result = {**best, "n_parameters": float(n_parameters), "train_seconds": run.seconds}
    if peak is not None:
        trial.set_user_attr(MEMORY, peak)
        result[MEMORY] = peak
    if len(wanted) == 1:
        return float(result[wanted[0]])
    return result


def task_of(data: Data, task: str | None) -> Task:
    """The task `data` was built for; a `task=` that disagrees is a mistake, named."""
    if task is not None and task != data.task:
        raise TrainingError(
            f"fit(task={task!r}) but the data was built for task={data.task!r}; build it "
            f"with from_arrays(x, y, task={task!r})"
        )
    flat = data.y_train.ndim == 1
    width = (
        data.num_classes
        if data.task == "classification"
        else (1 if flat else int(data.y_train.shape[1]))
    )
    return Task(data.task, width, flat_target=flat)


def _check_user_metrics(
    metrics: Mapping[str, UserMetric] | None, task: Task
) -> dict[str, UserMetric]:
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise TrainingError(
            f"metrics must map names to functions fn(outputs, targets) -> float, but got "
            f"{metrics!r}; e.g. metrics={{'f1': f1}}"
        )
    taken = {*task.reported, *COSTS, MEMORY, "lr", "epoch_seconds"}
    for name, fn in metrics.items():
        if not isinstance(name, str) or not name or name in taken:
            raise TrainingError(
                f"metric name {name!r} is taken or empty; fit() reports {', '.join(sorted(taken))} "
                "itself: give your metric another name"
            )
        if not callable(fn):
            raise TrainingError(
                f"metrics[{name!r}] must be a function fn(outputs, targets) -> float, but got "
                f"{fn!r}"
            )
    return dict(metrics)


def check_metrics(
    wanted: Sequence[str], task: Task, user: Mapping[str, UserMetric], device: torch.device
) -> None:
    """Every metric the study optimises is one fit() returns, or one clear line."""
    known = (*task.reported, *COSTS, *user, *((MEMORY,) if device.type == "cuda" else ()))
    for metric in wanted:
        if metric not in known:
            where = " (measured on CUDA only)" if metric == MEMORY else ""
            raise TrainingError(
                f"the study's metric {metric!r}{where} is not one fit() returns for this "
                f"{task.name} task; create the study with metrics from {', '.join(known)}, "
                "pass metrics={name: fn} to fit(), or return your own metric from the objective"
            )


def check_setup(model: nn.Module, source: Batches, config: TrainConfig, task: Task) -> None:
    """Fail before training, with the fix in the message."""
    if config.epochs < 1 or config.patience < 1:
        raise TrainingError(
            f"epochs and patience must be >= 1, but got epochs={config.epochs}, "
            f"patience={config.patience}; train at least one epoch"
        )
    model.eval()
    with torch.inference_mode():
        out = model(source.probe())
    task.check_outputs(out)


def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> tuple[float, float]:
    """Validation loss and accuracy of a classifier on in-memory tensors."""
    device = next(model.parameters()).device
    data = Data(x, y, x, y, num_classes=max(int(y.max()) + 1, 2))
    task = Task("classification", None)
    scorer = task.scorer(device)
    model.eval()
    with torch.inference_mode():
        for xb, yb in InMemory(data, device).val():
            out = model(xb)
            scorer.add(out, yb, loss_fn(out, yb))
    result = scorer.results()
    return result["val_loss"], result["val_accuracy"]


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


class _Run:
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
