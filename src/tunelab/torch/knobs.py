"""The training hyperparameters `fit()` reads from `trial.hp`, with the ranges a practitioner
starts from (the seeds' advice), and how a user overrides each one.

For every knob, `fit(..., name=X)` accepts:
- the string "tune": search the recommended range below;
- a list or tuple: search exactly those values (a Choice);
- a tunelab.space parameter such as `Float("lr", 1e-5, 1e-2, sampling="log")`: search that
  domain under the knob's name;
- any other value: fix the knob to it (recorded with the trial as a Fixed parameter).
Knobs not given are tuned when `tuned` is True below, else fixed to their default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tunelab.space import Boolean, Choice, Fixed, Float, HyperParameters, Int, Param
from tunelab.torch.errors import TrainingError

TUNE = "tune"
"""The override that searches a knob over its recommended domain: `fit(..., l2="tune")`."""
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("constant", "step", "exponential", "cosine", "warmup_cosine")
LR_SCALINGS = ("none", "linear", "sqrt")
STRENGTHS = (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)  # "1e-5…1e-1 on a log scale, or 0"


@dataclass(frozen=True)
class Knob:
    param: Param  # the recommended search domain
    default: Any  # the value when the knob is not tuned
    tuned: bool  # searched when the user says nothing
    parent: tuple[str, tuple[Any, ...]] | None = None  # only active under these parent values

    @property
    def name(self) -> str:
        return self.param.name


KNOBS: dict[str, Knob] = {
    k.name: k
    for k in (
        Knob(Choice("optimizer", OPTIMIZERS), "adam", True),
        Knob(Float("learning_rate", 1e-4, 1e-1, sampling="log"), 1e-3, True),
        Knob(
            Float("momentum", 0.5, 0.99, sampling="reverse_log"),
            0.9,
            True,
            ("optimizer", ("sgd", "rmsprop")),
        ),
        Knob(Boolean("nesterov"), False, True, ("optimizer", ("sgd",))),
        Knob(Choice("batch_size", (32, 64, 128, 256)), 64, True),
        Knob(Int("epochs", 10, 50, step=10), 20, False),
        Knob(Int("patience", 2, 10), 5, False),
        Knob(Choice("min_delta", (0.0, 1e-4, 1e-3)), 0.0, False),
        Knob(Choice("lr_schedule", SCHEDULES), "constant", True),
        Knob(Int("step_size", 2, 10), 5, True, ("lr_schedule", ("step",))),
        Knob(Choice("step_gamma", (0.1, 0.2, 0.5)), 0.1, True, ("lr_schedule", ("step",))),
        Knob(Float("exp_gamma", 0.8, 0.99), 0.95, True, ("lr_schedule", ("exponential",))),
        Knob(Int("warmup_epochs", 1, 5), 2, True, ("lr_schedule", ("warmup_cosine",))),
        Knob(Choice("weight_decay", STRENGTHS, ordered=True), 0.0, True),
        Knob(Choice("l1", STRENGTHS, ordered=True), 0.0, False),
        Knob(Choice("l2", STRENGTHS, ordered=True), 0.0, False),
        Knob(Choice("grad_clip", (0.0, 0.5, 1.0, 5.0), ordered=True), 0.0, False),
        Knob(Choice("lr_scaling", LR_SCALINGS), "none", False),
    )
}
"""The training knobs `fit` knows, by name: each one's recommended search domain, its value
when not tuned, and whether it is searched when the user says nothing.
"""


def _domain(knob: Knob, override: Any) -> Param:
    name = knob.name
    if isinstance(override, str) and override == TUNE:
        return knob.param
    if isinstance(override, Param):
        return dataclasses.replace(override, name=name)
    if isinstance(override, (list, tuple)):
        return Choice(name, tuple(override))
    return Fixed(name, override)


def read_knob(
    hp: HyperParameters, name: str, overrides: Mapping[str, Any], param: Param | None = None
) -> Any:
    """The knob's value in this trial, defined in `hp` so it is stored with the trial."""
    knob = KNOBS[name]
    if param is not None:
        knob = dataclasses.replace(knob, param=param)
    override = overrides.get(name, TUNE if knob.tuned else knob.default)
    domain = _domain(knob, override)
    if knob.parent is None:
        return hp.define(domain)
    parent, values = knob.parent
    with hp.conditional_scope(parent, list(values)):
        return hp.define(domain)


def knob_domain(name: str, overrides: Mapping[str, Any]) -> Param:
    """The domain the knob is searched in (or fixed to) under these overrides."""
    knob = KNOBS[name]
    return _domain(knob, overrides.get(name, TUNE if knob.tuned else knob.default))


def check_overrides(overrides: Mapping[str, Any]) -> None:
    """Refuse unknown knobs and unknown names of optimizers, schedules and scalings before
    any trial trains: each would fail every trial alike."""
    unknown = sorted(set(overrides) - set(KNOBS) - {"base_learning_rate", "augment"})
    if unknown:
        raise TrainingError(
            f"fit() takes the training hyperparameters {', '.join(sorted(KNOBS))} and "
            f"augment, but got unknown training hyperparameters {unknown}; check the spelling"
        )
    for name, values in (
        ("optimizer", OPTIMIZERS),
        ("lr_schedule", SCHEDULES),
        ("lr_scaling", LR_SCALINGS),
    ):
        if overrides.get(name, TUNE) == TUNE:
            continue
        for value in knob_domain(name, overrides).grid_values():
            if value not in values:
                raise TrainingError(
                    f"{name} must be one of {', '.join(values)}, but got unknown {name} "
                    f"{value!r} (in {name}={overrides[name]!r}); pick a known one"
                )
