"""Learning-rate schedules as pure functions of training progress.

`multiplier(t)` scales the base learning rate, where t is the epoch as a real number
(epoch + batch / batches_per_epoch). Step and exponential decay change at epoch
boundaries, as practitioners know them; cosine and warmup change every batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tunelab.torch.errors import TrainingError
from tunelab.torch.knobs import SCHEDULES


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule: a multiplier of the base rate as a function of training progress.

    Attributes:
        kind: `"constant"`, `"step"`, `"exponential"`, `"cosine"` or `"warmup_cosine"`.
        epochs: The run's maximum epochs (cosine anneals to 0 at the end).
        step_size: For `"step"`: epochs between decays.
        step_gamma: For `"step"`: the factor of each decay.
        exp_gamma: For `"exponential"`: the factor per epoch.
        warmup_epochs: For `"warmup_cosine"`: epochs of linear warm-up before the cosine.
    """

    kind: str = "constant"
    epochs: int = 1  # the run's maximum epochs (cosine anneals to 0 at the end)
    step_size: int = 5
    step_gamma: float = 0.1
    exp_gamma: float = 0.95
    warmup_epochs: int = 0

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise TrainingError(
                f"unknown lr_schedule {self.kind!r}; choose from {', '.join(SCHEDULES)}"
            )

    def multiplier(self, t: float) -> float:
        """The factor on the base learning rate at progress `t` (epoch + batch / batches per epoch).

        Example:
            ```python
            Schedule("step", epochs=20, step_size=5).multiplier(5.0)  # 0.1
            ```
        """
        epoch = math.floor(t)
        if self.kind == "constant":
            return 1.0
        if self.kind == "step":
            return float(self.step_gamma ** (epoch // self.step_size))
        if self.kind == "exponential":
            return float(self.exp_gamma**epoch)
        if self.kind == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(t / self.epochs, 1.0)))
        warm = min(self.warmup_epochs, self.epochs)  # warmup_cosine: kinds checked above
        if t < warm:
            return max(t / warm, 1e-3)
        rest = max(self.epochs - warm, 1e-9)
        return 0.5 * (1.0 + math.cos(math.pi * min((t - warm) / rest, 1.0)))
