"""What a model learns, and so how it is scored: one class a task.

- classification: one of k classes; targets are int64 indices, outputs k logits;
  cross-entropy; accuracy.
- binary: yes or no; targets 0/1, outputs one logit; binary cross-entropy; accuracy.
- multilabel: any of k labels; targets (N, k) of 0/1, outputs k logits; binary
  cross-entropy; accuracy over every label (Keras' binary accuracy).
- regression: one or several real targets; MSE (or MAE, Huber); RMSE, MAE and R².

Every validation metric is accumulated batch by batch on the training device, so scoring
never holds the whole validation set's outputs (user metrics, which need them, do).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from tunelab.torch.errors import TrainingError

TASKS = ("classification", "binary", "multilabel", "regression")
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LOSSES: dict[str, Callable[[], LossFn]] = {
    "cross_entropy": nn.CrossEntropyLoss,
    "bce": nn.BCEWithLogitsLoss,
    "mse": nn.MSELoss,
    "mae": nn.L1Loss,
    "huber": nn.HuberLoss,
}


@dataclass(frozen=True)
class Task:
    """A task and its output width: classes, labels or regression targets."""

    name: str
    n_outputs: int | None  # None: whatever width the model has (classes of a Dataset)
    flat_target: bool = True  # targets of shape (N,), outputs (N,) or (N, 1)

    @property
    def has_accuracy(self) -> bool:
        return self.name != "regression"

    @property
    def reported(self) -> tuple[str, ...]:
        """The metrics fit() reports at every epoch, besides the learning rate and time."""
        if self.name == "regression":
            return ("train_loss", "val_loss", "val_rmse", "val_mae", "val_r2")
        return ("train_loss", "train_accuracy", "val_loss", "val_accuracy")

    def loss(self, choice: str | LossFn | None) -> LossFn:
        """The loss `choice` names (or the task's usual one), checked to suit the task."""
        if choice is None:
            choice = {"classification": "cross_entropy", "regression": "mse"}.get(self.name, "bce")
        if callable(choice):
            return choice
        suits = {
            "classification": ("cross_entropy",),
            "regression": ("mse", "mae", "huber"),
        }.get(self.name, ("bce",))
        if choice not in suits:
            raise TrainingError(
                f"loss_fn={choice!r} does not suit a {self.name} task; use one of "
                f"{', '.join(suits)} or pass a function loss(outputs, targets)"
            )
        return LOSSES[choice]()

    def shaped(self, out: torch.Tensor) -> torch.Tensor:
        """Outputs in the targets' shape: one column becomes a vector for flat targets."""
        if self.name != "classification" and self.flat_target and out.ndim == 2:
            return out.squeeze(1)
        return out

    def check_outputs(self, out: torch.Tensor) -> None:
        """The model's outputs for a probe batch of 2 fit the task, or one clear line."""
        shape = tuple(out.shape)
        k = self.n_outputs if self.n_outputs is not None else (shape[1] if out.ndim == 2 else 0)
        if self.name == "classification":
            ok, has = out.ndim == 2 and out.shape[1] == k, f"the data has {k} classes"
        elif self.flat_target:
            ok, k = out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1), 1
            has = "the data has one target per sample"
        else:
            ok = out.ndim == 2 and out.shape[1] == k
            has = f"the data has {k} {'labels' if self.name == 'multilabel' else 'targets'}"
        if not ok:
            plural = "s" if k != 1 else ""
            raise TrainingError(
                f"the model outputs shape {shape} for a batch of 2, but {has} "
                f"({self.name}): the last layer needs {k} output{plural}"
            )

    def correct(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Correct predictions in a batch (per label for multilabel), kept on the device."""
        if self.name == "classification":
            return (out.argmax(dim=1) == y).sum()
        hits = (out > 0) == (y > 0.5)
        return hits.sum() / (1 if self.flat_target else out.shape[1])

    def scorer(self, device: torch.device) -> Scorer:
        return Scorer(self, device)


class Scorer:
    """Validation metrics summed over batches on the device, read once at the end."""

    def __init__(self, task: Task, device: torch.device) -> None:
        self.task = task
        self.n = 0
        wide = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
        zero = torch.zeros((), dtype=wide, device=device)
        self.loss_sum = zero.clone()
        self.correct = zero.clone()
        self.abs_err = zero.clone()
        self.sq_err: torch.Tensor | None = None  # per target column, for R²
        self.y_sum: torch.Tensor | None = None
        self.y_sq_sum: torch.Tensor | None = None

    def add(self, out: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> None:
        n = len(y)
        self.n += n
        wide = self.loss_sum.dtype
        self.loss_sum += loss.detach().to(wide) * n
        if self.task.has_accuracy:
            self.correct += self.task.correct(out, y).to(wide)
            return
        err = (out.to(wide) - y.to(wide)).reshape(n, -1)
        target = y.to(wide).reshape(n, -1)
        self.abs_err += err.abs().sum()
        sq, ys, ysq = (err**2).sum(0), target.sum(0), (target**2).sum(0)
        if self.sq_err is None or self.y_sum is None or self.y_sq_sum is None:
            self.sq_err, self.y_sum, self.y_sq_sum = sq, ys, ysq
        else:
            self.sq_err += sq
            self.y_sum += ys
            self.y_sq_sum += ysq

    def results(self) -> dict[str, float]:
        n = max(self.n, 1)
        metrics = {"val_loss": float(self.loss_sum) / n}
        if self.task.has_accuracy:
            metrics["val_accuracy"] = float(self.correct) / n
            return metrics
        assert self.sq_err is not None and self.y_sum is not None and self.y_sq_sum is not None
        width = self.sq_err.numel()
        spread = self.y_sq_sum - self.y_sum**2 / n  # total sum of squares per target
        r2 = torch.where(spread > 0, 1 - self.sq_err / spread.clamp_min(1e-300), 0.0)
        metrics["val_rmse"] = math.sqrt(float(self.sq_err.sum()) / (n * width))
        metrics["val_mae"] = float(self.abs_err) / (n * width)
        metrics["val_r2"] = float(r2.mean())
        return metrics
