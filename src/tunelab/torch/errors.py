"""The training kit's configuration error, in its own module so every part of the kit
(knobs, optimizers, schedules, fit, lr_find) raises the same class without a cycle."""

from __future__ import annotations

from tunelab.errors import ConfigurationError


class TrainingError(ConfigurationError):
    """The model, data or settings cannot train, whatever the trial: raised before the
    first step, it stops the search at the first trial (a bad knob would fail them all)."""
