"""Optimizers by name, with the learning-rate / batch-size coupling practitioners use."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from tunelab.torch.errors import TrainingError
from tunelab.torch.knobs import LR_SCALINGS, OPTIMIZERS


def scaled_learning_rate(base: float, batch_size: int, rule: str) -> float:
    """A base learning rate given per 256 samples, scaled to the batch size: linearly
    (Goyal et al.'s rule for SGD) or by the square root (often better for Adam)."""
    if rule not in LR_SCALINGS:
        raise TrainingError(f"unknown lr_scaling {rule!r}; choose from {', '.join(LR_SCALINGS)}")
    if rule == "none":
        return base
    ratio = batch_size / 256
    return base * (ratio if rule == "linear" else math.sqrt(ratio))


def make_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter],
    learning_rate: float,
    weight_decay: float = 0.0,
    momentum: float | None = None,
    nesterov: bool | None = None,
) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=learning_rate, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=learning_rate, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(
            params,
            lr=learning_rate,
            momentum=momentum or 0.0,
            nesterov=bool(nesterov) and bool(momentum),
            weight_decay=weight_decay,
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=learning_rate, momentum=momentum or 0.0, weight_decay=weight_decay
        )
    raise TrainingError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
