"""The learning-rate range test (Smith, "Cyclical Learning Rates", 2017): one short run
whose learning rate grows exponentially from `start` to `end` over `num` mini-batches,
recording the loss, so the plot of loss against learning rate shows where training is
fast, and where it falls apart.

The run stops as soon as the loss explodes (its running average passes `diverge` times
its lowest value, or it becomes NaN/inf), and the model's initial weights are restored
afterwards, so the same model can be trained for real.

Suggestion: half the steepest-descent point, the learning rate where the smoothed loss
falls fastest per decade, taken before the loss minimum. The halving is measured: against
the best rate of a full grid study of the same model (digits MLPs with Adam and SGD, with
and without dropout, 10-20 epochs; docs/tutorials/scripts/learning_rate.py), the steepest
point itself sat 1-3.4x above the best rate and never below it, so half of it lands
within 2x of the best in each. The losses are smoothed with a centred Gaussian filter over
the steps (no lag: an exponential average, as many tools use, shifts the curve towards
higher rates). The suggested search range runs from a tenth of the steepest point to half
the rate at the loss minimum (at least twice the steepest point), the region where the
loss was still falling steadily; every study's best rate above lay inside it.

The model's initial weights are the caller's; `seed` fixes the batch order, dropout and
lazily built layers, so the same model and seed give the same suggestion.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tunelab.space import Float
from tunelab.torch.data import Data
from tunelab.torch.errors import TrainingError
from tunelab.torch.fit import task_of
from tunelab.torch.optim import make_optimizer

EMA_BETA = 0.9  # running average that decides when the loss has exploded
MIN_STEPS_BEFORE_STOP = 10
STEEPEST_TO_SUGGESTION = 0.5  # the steepest point sits above the best rate (see above)


@dataclass(frozen=True)
class LRFindResult:
    """What `lr_find` measured: the loss along an increasing learning rate, and the rate and
    range it suggests.

    Attributes:
        lrs: The learning rate of each step that ran.
        losses: The smoothed loss at each step.
        raw_losses: The loss at each step as measured.
        suggestion: The suggested learning rate (by `method`): half the steepest-descent
            point, which measured within 2x of grid studies' best rates.
        low: The lower end of the suggested search range.
        high: The upper end of the suggested search range.
        min_loss_lr: The rate at the lowest smoothed loss.
        stopped_early: Whether the loss exploded before the last rate.
        optimizer: The optimizer used.
        batch_size: The batch size used.
        method: The rule that chose `suggestion`: `"steepest/2"` (half the steepest
            descent) or `"min/10"` (a tenth of `min_loss_lr`, when the loss never fell).
    """

    lrs: list[float]
    losses: list[float]  # smoothed (centred), one per step that ran
    raw_losses: list[float]
    suggestion: float  # half the steepest-descent point (see the module docstring)
    low: float  # suggested search range for the learning rate
    high: float
    min_loss_lr: float  # the rate at the lowest smoothed loss
    stopped_early: bool  # the loss exploded before `end`
    optimizer: str = "adam"
    batch_size: int = 64
    method: str = "steepest/2"

    def to_dict(self) -> dict[str, Any]:
        """The result as a dict of JSON values."""
        return asdict(self)

    def as_override(self, name: str = "learning_rate") -> dict[str, Float]:
        """fit() overrides that search the suggested range on a log scale:
        `fit(model, data, trial, **result.as_override())`."""
        return {name: Float(name, self.low, self.high, sampling="log")}

    def table(self, rows: int = 12) -> list[tuple[float, float]]:
        """(learning rate, smoothed loss) at about `rows` evenly spaced steps."""
        if not self.lrs:
            return []
        picks = sorted(
            {round(i) for i in np.linspace(0, len(self.lrs) - 1, min(rows, len(self.lrs)))}
        )
        return [(self.lrs[i], self.losses[i]) for i in picks]

    def plot(self, path: str | Path) -> Path:
        """Write loss against learning rate (log scale) as a PNG; needs matplotlib."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("the plot needs matplotlib: pip install 'tunelab[plot]'") from None
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        ax.plot(self.lrs, self.raw_losses, color="#bbbbbb", linewidth=0.8, label="loss")
        ax.plot(self.lrs, self.losses, color="#1f77b4", label="smoothed")
        ax.axvline(
            self.suggestion,
            color="#d62728",
            linestyle="--",
            label=f"suggested {self.suggestion:.2g}",
        )
        ax.axvspan(self.low, self.high, color="#2ca02c", alpha=0.15, label="suggested range")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        finite = [x for x in self.losses if math.isfinite(x)]
        if finite:
            ax.set_ylim(min(finite) * 0.9, min(max(finite), 3 * finite[0]) * 1.1)
        ax.legend()
        ax.set_title(f"learning-rate range test ({self.optimizer}, batch {self.batch_size})")
        fig.tight_layout()
        out = Path(path)
        fig.savefig(out)
        plt.close(fig)
        return out


def lr_find(
    model: nn.Module,
    data: Data,
    *,
    optimizer: str = "adam",
    batch_size: int = 64,
    start: float = 1e-7,
    end: float = 10.0,
    num: int = 100,
    diverge: float = 4.0,
    weight_decay: float = 0.0,
    momentum: float | None = 0.9,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    seed: int = 0,
) -> LRFindResult:
    """Run the range test on `model` and `data`; the model's weights are left as found.
    The loss is the data's task's usual one (cross-entropy, BCE, MSE) unless given.
    `seed` fixes the batch order and dropout (the caller's random state is left as found);
    seed the model's construction too (`torch.manual_seed`) for a repeatable suggestion,
    as `tunelab lr-find --seed` does."""
    _check(start, end, num, diverge, batch_size, data)
    task = task_of(data, None)
    given = loss_fn or task.loss(None)

    def shaped_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return given(task.shaped(out), y)

    was_training = model.training
    model.train()
    with torch.random.fork_rng(devices=[]):  # seeded, and the caller's RNG left as found
        torch.manual_seed(seed)
        with torch.no_grad():
            model(data.x_train[:2])  # materialise lazy layers before the optimizer sees them
        initial = copy.deepcopy(model.state_dict())
        try:
            lrs, raw, stopped = _run(
                model,
                data,
                optimizer,
                batch_size,
                start,
                end,
                num,
                diverge,
                weight_decay,
                momentum,
                shaped_loss,
                seed,
            )
        finally:
            model.load_state_dict(initial)
            model.train(was_training)
    if len(lrs) < 5 or min(raw) >= 0.95 * raw[0]:
        where = f"{lrs[-1] if lrs else start:.3g}"
        raise TrainingError(
            f"the loss never fell below its first value before it exploded after {len(lrs)} "
            f"steps, at learning rate {where}; start the range lower (start={start:g} now) "
            "or check the model and data"
        )
    return _summarise(lrs, raw, stopped, optimizer, batch_size)


def _check(start: float, end: float, num: int, diverge: float, batch_size: int, data: Data) -> None:
    if not (0 < start < end) or not math.isfinite(end):
        raise TrainingError(f"`0 < start < end` must hold, but got (start={start!r}, end={end!r})")
    if isinstance(num, bool) or not isinstance(num, int) or num < 10:
        raise TrainingError(f"num must be an int >= 10 steps, but got num={num!r}")
    if not diverge > 1:
        raise TrainingError(
            f"diverge must be > 1 (a factor over the lowest loss), but got diverge={diverge!r}"
        )
    if batch_size < 1 or batch_size > data.n_train:
        raise TrainingError(
            f"batch_size must be in [1, {data.n_train}] (the training samples), but got "
            f"batch_size={batch_size}"
        )


def _run(
    model: nn.Module,
    data: Data,
    optimizer_name: str,
    batch_size: int,
    start: float,
    end: float,
    num: int,
    diverge: float,
    weight_decay: float,
    momentum: float | None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    seed: int,
) -> tuple[list[float], list[float], bool]:
    opt = make_optimizer(
        optimizer_name,
        model.parameters(),
        start,
        weight_decay,
        momentum if optimizer_name in ("sgd", "rmsprop") else None,
        False,
    )
    generator = torch.Generator().manual_seed(seed)
    x, y, n = data.x_train, data.y_train, data.n_train
    order = torch.randperm(n, generator=generator)
    cursor = 0
    lrs: list[float] = []
    raw: list[float] = []
    avg, best = 0.0, math.inf
    ratio = end / start
    for i in range(num):
        lr = start * ratio ** (i / (num - 1))
        for group in opt.param_groups:
            group["lr"] = lr
        if cursor + batch_size > n:
            order, cursor = torch.randperm(n, generator=generator), 0
        index = order[cursor : cursor + batch_size]
        cursor += batch_size
        loss = loss_fn(model(x[index]), y[index])
        value = float(loss.detach())
        if not math.isfinite(value):
            return lrs, raw, True
        lrs.append(lr)
        raw.append(value)
        avg = EMA_BETA * avg + (1 - EMA_BETA) * value
        smooth = avg / (1 - EMA_BETA ** (i + 1))
        best = min(best, smooth)
        if i >= MIN_STEPS_BEFORE_STOP and smooth > diverge * best:
            return lrs, raw, True
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return lrs, raw, False


def _smooth(values: list[float]) -> np.ndarray:
    """Centred Gaussian smoothing (sigma: 2.5% of the steps, at least 1)."""
    from scipy.ndimage import gaussian_filter1d

    sigma = max(1.0, len(values) / 40)
    return np.asarray(gaussian_filter1d(np.asarray(values, dtype=float), sigma, mode="nearest"))


def _summarise(
    lrs: list[float], raw: list[float], stopped: bool, optimizer: str, batch_size: int
) -> LRFindResult:
    smooth = _smooth(raw)
    log_lr = np.log10(np.asarray(lrs))
    k_min = int(np.argmin(smooth))
    slope = np.gradient(smooth, log_lr)
    skip = max(1, len(lrs) // 20)  # the first steps' slope is mostly edge effect
    region = slice(skip, max(k_min, skip + 1))
    candidates = slope[region]
    if k_min > skip and candidates.size and float(candidates.min()) < 0:
        steep, method = lrs[skip + int(np.argmin(candidates))], "steepest/2"
    else:
        steep, method = lrs[k_min] / 5, "min/10"
    suggestion = steep * STEEPEST_TO_SUGGESTION
    min_lr = lrs[k_min]
    low, high = steep / 10, max(min_lr / 2, steep * 2)
    return LRFindResult(
        lrs=[float(v) for v in lrs],
        losses=[float(v) for v in smooth],
        raw_losses=[float(v) for v in raw],
        suggestion=float(f"{suggestion:.3g}"),
        low=float(f"{low:.3g}"),
        high=float(f"{high:.3g}"),
        min_loss_lr=float(min_lr),
        stopped_early=stopped,
        optimizer=optimizer,
        batch_size=batch_size,
        method=method,
    )
