"""The training hyperparameters of one trial, read from `trial.hp` (see knobs.py) and
checked before any step: a mistake every trial would repeat stops the search at once."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tunelab.errors import TrialFailed
from tunelab.space import Choice, Fixed, Int, Param
from tunelab.torch.augment import Augment, augment_from_hp
from tunelab.torch.batches import Batches
from tunelab.torch.errors import TrainingError
from tunelab.torch.knobs import KNOBS, TUNE, check_overrides, knob_domain, read_knob
from tunelab.torch.optim import scaled_learning_rate
from tunelab.torch.schedules import Schedule


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


def read_config(hp: Any, data: Batches, overrides: Mapping[str, Any]) -> TrainConfig:
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
                f"inputs of shape {tuple(data.probe().shape)}; leave augment out for tabular data"
            )
        augment = augment_from_hp(hp, flip_ok=data.flip_ok)
    elif augment_choice not in (False, None):
        raise TrainingError(
            f"augment must be False, 'tune' or an Augment, but got augment={augment_choice!r}"
        )
    if data.n_train is not None:
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
