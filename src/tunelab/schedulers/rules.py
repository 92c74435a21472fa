"""Curve rules: stop a trial from the shape of its own curve, with the reason.

- Divergence: a reported metric became NaN/inf, or the monitored loss exploded past
  `factor` times its first value (the same test `tunelab.torch.fit` applies inside
  an epoch, so a diverged trial reads alike whichever caught it).
- Plateau: the monitored metric has not improved by `min_delta` for `patience` reports.
- Overfitting: over the last `patience` reports the validation loss rose above its
  best while the training loss kept falling.
Rules read only the trial's own reports, never other trials, and never fire before
`patience` reports exist (Divergence fires at once: a NaN never recovers).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from tunelab.errors import ConfigurationError
from tunelab.schedulers.decision import GO_ON, PruneRequest, Verdict, check_int
from tunelab.types import Decision, Direction, EndCause


def _stop(kind: str, step: int, reason: str, cause: EndCause = EndCause.PRUNED) -> Verdict:
    return Verdict(Decision.STOP, reason, {"pruned_by": kind, "pruned_at_step": step}, cause)


class CurveRule(ABC):
    """A rule that stops a trial from the shape of its own curve; it can ride along with any
    scheduler (`rules=`) or alone (`CurveRules`).
    """

    name: ClassVar[str] = ""

    @abstractmethod
    def check(self, request: PruneRequest) -> Verdict:
        """Stop (with the reason) or go on, judging only `request.trial`'s own reports."""

    def config(self) -> dict[str, Any]:
        """The rule's constructor arguments as JSON."""
        return {}

    def to_json(self) -> dict[str, Any]:
        """The rule's name and settings as JSON, stored with the study's scheduler."""
        return {"name": self.name, **self.config()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class Divergence(CurveRule):
    """Stop at the first non-finite metric, or when `monitor` exceeds `factor` x its first
    reported value (for a loss; None checks only for NaN/inf)."""

    name = "divergence"

    def __init__(self, monitor: str | None = "train_loss", factor: float = 3.0) -> None:
        if not (isinstance(factor, (int, float)) and factor > 1):
            raise ConfigurationError(f"factor must be a number > 1, but got factor={factor!r}")
        self.monitor = monitor
        self.factor = float(factor)

    def config(self) -> dict[str, Any]:
        return {"monitor": self.monitor, "factor": self.factor}

    def check(self, request: PruneRequest) -> Verdict:
        reports = request.trial.reports
        last = reports[-1]
        for key, value in last.metrics.items():
            if not math.isfinite(value):
                return _stop(
                    self.name,
                    last.step,
                    f"diverged at step {last.step}: {key} became {value}",
                    EndCause.DIVERGED,
                )
        if self.monitor is None:
            return GO_ON
        first = next((r.metrics[self.monitor] for r in reports if self.monitor in r.metrics), None)
        now = last.metrics.get(self.monitor)
        if first is not None and now is not None and now > self.factor * max(abs(first), 1e-3):
            return _stop(
                self.name,
                last.step,
                f"diverged at step {last.step}: {self.monitor} exploded to {now:.4g} "
                f"(first report {first:.4g})",
                EndCause.DIVERGED,
            )
        return GO_ON


class Plateau(CurveRule):
    """Stop when `monitor` (default: the study's metric, in its direction) has not improved
    by more than `min_delta` over its best for `patience` reports in a row."""

    name = "plateau"

    def __init__(
        self,
        patience: int = 5,
        min_delta: float = 0.0,
        monitor: str | None = None,
        direction: str | None = None,
    ) -> None:
        self.patience = check_int("patience", patience, 1)
        if not (isinstance(min_delta, (int, float)) and min_delta >= 0):
            raise ConfigurationError(
                f"min_delta must be a number >= 0, but got min_delta={min_delta!r}"
            )
        self.min_delta = float(min_delta)
        self.monitor = monitor
        self.direction = None if direction is None else Direction.parse(direction).value

    def config(self) -> dict[str, Any]:
        return {
            "patience": self.patience,
            "min_delta": self.min_delta,
            "monitor": self.monitor,
            "direction": self.direction,
        }

    def check(self, request: PruneRequest) -> Verdict:
        """Without `monitor`, in a study of several objectives, every objective reported
        more than `patience` times is watched, and the trial stops only once none of them
        improves (an objective reported once, like a parameter count, is not watched)."""
        if self.monitor is not None:
            own = {o.metric: o.direction for o in request.objectives}
            direction = own.get(self.monitor, request.direction)
            if self.direction:
                direction = Direction.parse(self.direction)
            watched = [(self.monitor, direction)]
        elif request.objectives:
            watched = [(o.metric, o.direction) for o in request.objectives]
        else:
            watched = [(request.metric, request.direction)]
        stalled = [self._stalled(request, metric, d) for metric, d in watched]
        judged = [s for s in stalled if s is not None]
        if not judged or not all(judged):
            return GO_ON
        step = request.step
        parts = "; ".join(s for s in judged if s)
        return _stop(
            "plateau", step, f"plateau at step {step}: {parts} for {self.patience} reports"
        )

    def _stalled(self, request: PruneRequest, metric: str, direction: Direction) -> str | None:
        """Why `metric` has stalled; "" when it improved within the last `patience`
        reports; None when it has too few reports to judge."""
        sign = 1.0 if direction is Direction.MAXIMIZE else -1.0
        values = [
            sign * r.metrics[metric]
            for r in request.trial.reports
            if metric in r.metrics and math.isfinite(r.metrics[metric])
        ]
        if len(values) <= self.patience:
            return None
        best_before = max(values[: -self.patience])
        if max(values[-self.patience :]) > best_before + self.min_delta:
            return ""
        return f"{metric} did not improve on {sign * best_before:.4g}"


class Overfitting(CurveRule):
    """Stop when, over the last `patience` reports, `val` (a loss) stayed above its best
    and rose, while `train` (a loss) fell."""

    name = "overfitting"

    def __init__(self, patience: int = 3, val: str = "val_loss", train: str = "train_loss") -> None:
        self.patience = check_int("patience", patience, 1)
        self.val = val
        self.train = train

    def config(self) -> dict[str, Any]:
        return {"patience": self.patience, "val": self.val, "train": self.train}

    def check(self, request: PruneRequest) -> Verdict:
        pairs = [
            (r.metrics[self.val], r.metrics[self.train])
            for r in request.trial.reports
            if self.val in r.metrics and self.train in r.metrics
        ]
        if len(pairs) <= self.patience:
            return GO_ON
        start_val, start_train = pairs[-self.patience - 1]
        window = pairs[-self.patience :]
        best_val = min(v for v, _ in pairs[: -self.patience])
        rising = all(v > best_val for v, _ in window) and window[-1][0] > start_val
        falling = window[-1][1] < start_train
        if not (rising and falling):
            return GO_ON
        step = request.step
        return _stop(
            "overfitting",
            step,
            f"overfitting at step {step}: {self.val} rose from {start_val:.4g} to "
            f"{window[-1][0]:.4g} over {self.patience} reports while {self.train} fell "
            f"from {start_train:.4g} to {window[-1][1]:.4g}",
        )


RULES: dict[str, type[CurveRule]] = {c.name: c for c in (Divergence, Plateau, Overfitting)}
"""Curve rule classes by name (`"divergence"`, `"plateau"`, `"overfitting"`)."""


def rule_from_json(config: Mapping[str, Any] | str | CurveRule) -> CurveRule:
    """A rule from its name, its stored JSON, or itself."""
    if isinstance(config, CurveRule):
        return config
    spec = {"name": config} if isinstance(config, str) else dict(config)
    cls = RULES.get(str(spec.get("name")))
    if cls is None:
        raise ConfigurationError(
            f"unknown curve rule {spec.get('name')!r}; choose one of {', '.join(sorted(RULES))}"
        )
    args = {k: v for k, v in spec.items() if k != "name"}
    try:
        return cls(**args)
    except TypeError as e:
        raise ConfigurationError(f"bad settings for curve rule {cls.name!r}: {e}") from None
