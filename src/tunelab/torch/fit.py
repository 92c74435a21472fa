"""fit(): a correct, efficient training loop whose every standard knob is tunable.

It reads the training hyperparameters from `trial.hp` (see knobs.py), trains with
whole-tensor batching from memory, reports train/validation loss and accuracy, the
learning rate, the epoch's seconds and the training seconds so far at every epoch, and the
model's trainable parameter count at step 0, so "accuracy against size" or "against
training time" needs no user code; it stops early on validation loss
(restoring the best weights), obeys the study's pruning decisions, and stops a
diverging trial at once: NaN/inf or an exploding loss ends it as PRUNED with the reason
"diverged …", so no epochs are wasted and the partial curve stays visible.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from tunelab.errors import TrialDiverged, TrialFailed, TrialPruned
from tunelab.space import Choice, Fixed, Int, Param
from tunelab.torch.augment import Augment, augment_from_hp
from tunelab.torch.data import Data
from tunelab.torch.errors import TrainingError
from tunelab.torch.knobs import KNOBS, TUNE, check_overrides, knob_domain, read_knob
from tunelab.torch.models import count_parameters
from tunelab.torch.optim import make_optimizer, scaled_learning_rate
from tunelab.torch.schedules import Schedule

# An epoch whose mean training loss is 3x the first batch's has diverged: a classifier
# starts near chance-level loss, and healthy training never ends an epoch far above it.
EXPLODE_FACTOR = 3.0
EVAL_BATCH = 2048
REPORTED = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
# Costs of the trial, reported too: objectives or constraints of a study of several metrics.
COSTS = ("n_parameters", "train_seconds")


@dataclass(frozen=True)
class TrainConfig:
    optimizer: str
    learning_rate: float
    momentum: float | None
    nesterov: bool | None
    batch_size: int
    epochs: int
    patience: int
    min_delta: float
    schedule: Schedule
    weight_decay: float
    l1: float
    l2: float
    grad_clip: float
    augment: Augment | None


def read_config(hp: Any, data: Data, overrides: Mapping[str, Any]) -> TrainConfig:
    """Define every training knob in `hp` (recorded with the trial) and collect the values."""
    check_overrides(overrides)

    def knob(name: str) -> Any:
        return read_knob(hp, name, overrides)

    optimizer = knob("optimizer")
    scaling = knob("lr_scaling")
    batch_size = int(knob("batch_size"))
    if scaling == "none":
        learning_rate = float(knob("learning_rate"))
    else:  # tune a base rate per 256 samples and scale it with the batch size
        base = dict(overrides)
        if "base_learning_rate" in overrides:
            base["learning_rate"] = overrides["base_learning_rate"]
        lr_param = dataclasses.replace(KNOBS["learning_rate"].param, name="base_learning_rate")
        value = read_knob(hp, "learning_rate", base, param=lr_param)
        learning_rate = scaled_learning_rate(float(value), batch_size, scaling)
    momentum = knob("momentum")
    nesterov = knob("nesterov")
    epochs = int(knob("epochs"))
    schedule_kind = knob("lr_schedule")
    schedule = Schedule(
        kind=schedule_kind,
        epochs=epochs,
        step_size=int(knob("step_size") or 5),
        step_gamma=float(knob("step_gamma") or 0.1),
        exp_gamma=float(knob("exp_gamma") or 0.95),
        warmup_epochs=int(knob("warmup_epochs") or 0),
    )
    augment_choice = overrides.get("augment", False)
    augment: Augment | None = None
    if isinstance(augment_choice, Augment):
        augment = augment_choice
    elif augment_choice == TUNE:
        if not data.is_image:
            raise TrainingError(
                "augment='tune' needs image data of shape (N, C, H, W), but got "
                f"{tuple(data.x_train.shape)}; leave augment out for tabular data"
            )
        augment = augment_from_hp(hp, flip_ok=data.flip_ok)
    elif augment_choice not in (False, None):
        raise TrainingError(
            f"augment must be False, 'tune' or an Augment, but got augment={augment_choice!r}"
        )
    _check_batch_size(batch_size, data.n_train, knob_domain("batch_size", overrides))
    return TrainConfig(
        optimizer=optimizer,
        learning_rate=learning_rate,
        momentum=None if momentum is None else float(momentum),
        nesterov=nesterov,
        batch_size=batch_size,
        epochs=epochs,
        patience=int(knob("patience")),
        min_delta=float(knob("min_delta")),
        schedule=schedule,
        weight_decay=float(knob("weight_decay")),
        l1=float(knob("l1")),
        l2=float(knob("l2")),
        grad_clip=float(knob("grad_clip")),
        augment=augment,
    )


def _check_batch_size(batch_size: int, n_train: int, domain: Param) -> None:
    """A batch larger than the data fails this trial alone when the searched domain holds a
    batch size that fits (the next draw may), and stops the search when none does."""
    if batch_size <= n_train:
        return
    problem = f"batch_size={batch_size} is larger than the {n_train} training samples"
    if _smallest(domain) <= n_train:
        raise TrialFailed(
            f"{problem}; this trial fails and the search goes on (search batch sizes "
            f"<= {n_train} to waste no trials)"
        )
    raise TrainingError(f"{problem}; use a batch size <= {n_train}")


def _smallest(domain: Param) -> float:
    if isinstance(domain, Int):
        return domain.min_value
    if isinstance(domain, (Choice, Fixed)):
        numbers = [v for v in domain.grid_values() if isinstance(v, (int, float))]
        return min(numbers, default=math.inf)
    return math.inf


def check_setup(model: nn.Module, data: Data, config: TrainConfig, metrics: Sequence[str]) -> None:
    """Fail before training, with the fix in the message."""
    for metric in metrics:
        if metric not in (*REPORTED, *COSTS):
            raise TrainingError(
                f"the study's metric {metric!r} is not one fit() returns; create the study "
                f"with metrics from {', '.join((*REPORTED, *COSTS))}, or return your own "
                "metric from the objective"
            )
    if config.epochs < 1 or config.patience < 1:
        raise TrainingError(
            f"epochs and patience must be >= 1, but got epochs={config.epochs}, "
            f"patience={config.patience}; train at least one epoch"
        )
    model.eval()
    with torch.inference_mode():
        out = model(data.x_train[:2])
    if out.ndim != 2 or out.shape[1] != data.num_classes:
        raise TrainingError(
            f"the model outputs shape {tuple(out.shape)} for a batch of 2, but the data has "
            f"{data.num_classes} classes: the last layer needs {data.num_classes} outputs"
        )


def _penalty(model: nn.Module, l1: float, l2: float) -> torch.Tensor | None:
    """Explicit L1/L2 penalties on weights (not biases or norm scales), added to the loss."""
    if not l1 and not l2:
        return None
    total = torch.zeros(())
    for p in model.parameters():
        if p.ndim < 2:
            continue
        if l1:
            total = total + l1 * p.abs().sum()
        if l2:
            total = total + l2 * p.pow(2).sum()
    return total


def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> tuple[float, float]:
    model.eval()
    loss_sum = torch.zeros(())
    correct = torch.zeros((), dtype=torch.long)
    with torch.inference_mode():
        for start in range(0, len(x), EVAL_BATCH):
            out = model(x[start : start + EVAL_BATCH])
            yb = y[start : start + EVAL_BATCH]
            loss_sum += loss_fn(out, yb) * len(yb)
            correct += (out.argmax(dim=1) == yb).sum()
    return float(loss_sum) / len(x), float(correct) / len(x)


def fit(
    model: nn.Module,
    data: Data,
    trial: Any,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    seed: int | None = None,
    **overrides: Any,
) -> float | dict[str, float]:
    """Train `model` on `data` with the trial's training hyperparameters and return the
    study's metric at the best epoch (by validation loss), whose weights are restored.

    In a study of several metrics it returns a dict instead: the best epoch's metrics with
    `n_parameters` and the whole training's `train_seconds`, so it holds every objective."""
    config = read_config(trial.hp, data, overrides)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    metric = getattr(trial, "metric", "val_accuracy")
    wanted = tuple(getattr(trial, "metrics", (metric,)))
    check_setup(model, data, config, wanted)
    n_parameters = count_parameters(model)
    trial.set_user_attr("n_parameters", n_parameters)
    generator = torch.Generator().manual_seed(trial.seed if seed is None else seed)
    optimizer = make_optimizer(
        config.optimizer,
        model.parameters(),
        config.learning_rate,
        config.weight_decay,
        config.momentum,
        config.nesterov,
    )
    x, y, n = data.x_train, data.y_train, data.n_train
    steps = len(_batch_starts(n, config.batch_size))
    first_loss: float | None = None
    best: dict[str, float] | None = None
    best_state: dict[str, torch.Tensor] | None = None
    best_epoch, waited = -1, 0
    training_started = time.perf_counter()
    for epoch in range(config.epochs):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=generator)
        loss_sum = torch.zeros(())
        correct = torch.zeros((), dtype=torch.long)
        lr = config.learning_rate
        for step, begin in enumerate(_batch_starts(n, config.batch_size)):
            lr = config.learning_rate * config.schedule.multiplier(epoch + step / steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            index = order[begin : _batch_end(begin, n, config.batch_size)]
            xb, yb = x[index], y[index]
            if config.augment is not None and config.augment.active:
                xb = config.augment(xb, generator)
            out = model(xb)
            loss = loss_fn(out, yb)
            penalty = _penalty(model, config.l1, config.l2)
            total = loss if penalty is None else loss + penalty
            if not torch.isfinite(total):
                _diverged(trial, epoch, f"training loss became {float(total)}", config)
            if first_loss is None:
                first_loss = loss.item()
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            if config.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            loss_sum += loss.detach() * len(index)
            correct += (out.detach().argmax(dim=1) == yb).sum()
        train_loss = float(loss_sum) / n
        if first_loss is not None and train_loss > EXPLODE_FACTOR * max(first_loss, 1e-3):
            _diverged(
                trial,
                epoch,
                f"training loss exploded to {train_loss:.4g} (first batch {first_loss:.4g})",
                config,
            )
        val_loss, val_accuracy = evaluate(model, data.x_val, data.y_val, loss_fn)
        if not math.isfinite(val_loss):
            _diverged(trial, epoch, f"validation loss became {val_loss}", config)
        now = time.perf_counter()
        metrics = {
            "train_loss": train_loss,
            "train_accuracy": float(correct) / n,
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "lr": lr,
            "epoch_seconds": now - started,
            # cumulative, so a rung or a time constraint sees the cost spent so far
            "train_seconds": now - training_started,
        }
        if epoch == 0:  # reported once: the size never changes, and its last report stands
            metrics["n_parameters"] = float(n_parameters)
        trial.report(epoch, **metrics)
        if best is None or val_loss < best["val_loss"] - config.min_delta:
            best, best_epoch, waited = metrics, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
        if trial.should_prune():
            raise TrialPruned(f"stopped by the scheduler at epoch {epoch}")
        if waited >= config.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    trial.set_user_attr("best_epoch", best_epoch)
    trial.set_user_attr("epochs_run", epoch + 1)
    assert best is not None  # at least one epoch ran (epochs >= 1 is checked)
    result = {
        **best,
        "n_parameters": float(n_parameters),
        "train_seconds": metrics["train_seconds"],
    }
    if len(wanted) == 1:
        return float(result[wanted[0]])
    return result


def _batch_starts(n: int, batch_size: int) -> range:
    return range(0, n - 1 if n % batch_size == 1 and n > batch_size else n, batch_size)


def _batch_end(begin: int, n: int, batch_size: int) -> int:
    """A last batch of one sample joins the batch before it: batch norm cannot train on
    a single sample (and its gradient would be the noisiest of the epoch)."""
    end = begin + batch_size
    return n if n - end == 1 else end


def _diverged(trial: Any, epoch: int, what: str, config: TrainConfig) -> None:
    trial.set_user_attr("diverged", True)
    raise TrialDiverged(
        f"diverged at epoch {epoch}: {what}; learning_rate={config.learning_rate:.3g} "
        f"({config.optimizer}) is probably too high"
    )
