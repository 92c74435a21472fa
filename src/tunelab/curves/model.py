"""A calibrated predictive distribution of a trial's metric at a later step.

The ensemble (ensemble.py) gives a centre and a scale, but how far to trust its
extrapolation depends on the task. So the errors are measured where the answer is known:
each finished reference curve is cut at the step the trial has reached, extrapolated the
same way, and its standardised error `(actual - mean) / spread` recorded. The trial's
distribution is its own mean plus its spread times those errors (split conformal
prediction), so intervals hold their nominal share of held-out curves whatever the task,
as long as the references resemble the trial. Without enough references the ensemble's
Gaussian, widened by `uncalibrated_widening`, stands in.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tunelab.curves.ensemble import Extrapolation, extrapolate


@dataclass(frozen=True)
class Curve:
    """A learning curve: `key` names it (a trial id) so its calibration is computed once."""

    key: Hashable
    steps: Sequence[float]
    values: Sequence[float]


@dataclass(frozen=True)
class Prediction:
    """The predictive distribution of a curve's value at `step`.

    `draws` are equally likely values (calibrated) or empty (Gaussian: `mean`, `spread`).
    """

    step: float
    mean: float
    spread: float
    draws: np.ndarray = field(default_factory=lambda: np.empty(0))
    references: int = 0

    @property
    def calibrated(self) -> bool:
        """Whether the prediction's spread comes from calibration draws (finished curves cut at the same step) rather than the model alone."""
        return len(self.draws) > 0

    def quantile(self, q: float) -> float:
        """The value below which a share `q` of outcomes falls. From `n` draws it takes
        the order statistic at `q (n + 1)`, the rule that keeps conformal intervals valid."""
        if not self.calibrated:
            from scipy.special import ndtri  # ~0.3 s to import: only when a prediction is read

            return self.mean + self.spread * float(ndtri(q))
        n = len(self.draws)
        rank = min(max(q * (n + 1) - 1.0, 0.0), n - 1.0)
        low = math.floor(rank)
        high = min(low + 1, n - 1)
        frac = rank - low
        return float(self.draws[low] * (1 - frac) + self.draws[high] * frac)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` values drawn from the distribution (for joint questions, such as whether a
        trial joins a Pareto front, that one objective's quantiles cannot answer)."""
        qs = rng.uniform(0.0, 1.0, n)
        if not self.calibrated:
            from scipy.special import ndtri

            return self.mean + self.spread * ndtri(qs)
        # `quantile` for every q at once (schedulers sample once per paused trial per choice)
        m = len(self.draws)
        rank = np.clip(qs * (m + 1) - 1.0, 0.0, m - 1.0)
        low = np.floor(rank).astype(int)
        high = np.minimum(low + 1, m - 1)
        frac = rank - low
        return self.draws[low] * (1 - frac) + self.draws[high] * frac

    def interval(self, level: float = 0.8) -> tuple[float, float]:
        """The central interval holding `level` of the outcomes."""
        tail = (1.0 - level) / 2.0
        return self.quantile(tail), self.quantile(1.0 - tail)

    def probability_beyond(self, threshold: float, *, above: bool = True) -> float:
        """P(value > threshold) (or < with `above=False`). Each draw is smoothed by a
        kernel a quarter of the spread wide, so the answer moves smoothly with the
        threshold instead of in steps of 1/n."""
        if self.calibrated:
            z = (self.draws - threshold) / (0.25 * self.spread)
        else:
            z = np.array([(self.mean - threshold) / self.spread])
        from scipy.special import ndtr

        p = float(np.mean(ndtr(z)))
        return p if above else 1.0 - p


class CurveModel:
    """Predicts where a partial curve will be at a later step, calibrated on finished curves.

    `max_references`: only the last this many references are used (cost per decision is
    bounded however many trials finished). `min_references`: fewer than this and the
    prediction is the uncalibrated Gaussian. Calibration errors are cached per reference
    and cut step, so a scheduler that asks at every report pays for each once.
    """

    def __init__(
        self,
        *,
        max_references: int = 64,
        min_references: int = 8,
        uncalibrated_widening: float = 2.0,
        cache_size: int = 100_000,
    ) -> None:
        self.max_references = max_references
        self.min_references = min_references
        self.uncalibrated_widening = uncalibrated_widening
        self._checks: OrderedDict[tuple[Hashable, int, float, float], tuple[float, ...] | None] = (
            OrderedDict()
        )
        self._cache_size = cache_size

    def predict(
        self,
        steps: Sequence[float],
        values: Sequence[float],
        step: float,
        references: Sequence[Curve] = (),
    ) -> Prediction:
        """The distribution of the curve's value at `step` given its points so far (steps
        ascending). References count if they reach `step` and have a point at or before the
        curve's last step."""
        seen = np.asarray(steps, dtype=float)
        if len(seen) == 0:
            raise ValueError("a curve needs at least one point to be extrapolated")
        y = np.asarray(values, dtype=float)
        own = extrapolate(seen, y, step)
        cut = float(seen[-1])
        known = [
            c
            for ref in list(references)[-self.max_references :]
            if (c := self._check(ref, cut, step)) is not None
        ]
        if len(known) < self.min_references:
            return Prediction(
                step, own.mean, own.spread * self.uncalibrated_widening, references=len(known)
            )
        return _calibrated(step, own, float(y[-1]), np.asarray(known))

    def _check(self, ref: Curve, cut: float, step: float) -> tuple[float, ...] | None:
        key = (ref.key, hash(tuple(ref.values)), cut, step)  # the values too: a key may be reused
        if key in self._checks:
            self._checks.move_to_end(key)
            return self._checks[key]
        check = _check(ref, cut, step)
        self._checks[key] = check
        if len(self._checks) > self._cache_size:
            self._checks.popitem(last=False)
        return check


def _check(ref: Curve, cut: float, step: float) -> tuple[float, ...] | None:
    """A reference cut at `cut`: (its actual value at `step`, the ensemble's mean and
    spread, its last value seen), or None when it cannot serve."""
    steps = np.asarray(ref.steps, dtype=float)
    values = np.asarray(ref.values, dtype=float)
    at_step = np.flatnonzero(steps == step)
    seen = steps <= cut
    if len(at_step) == 0 or not seen.any() or not np.all(np.isfinite(values[seen])):
        return None
    actual = float(values[at_step[-1]])
    if not math.isfinite(actual):
        return None
    guess = extrapolate(steps[seen], values[seen], step)
    return actual, guess.mean, guess.spread, float(values[seen][-1])


def _calibrated(step: float, own: Extrapolation, last: float, known: np.ndarray) -> Prediction:
    """Of three ways to turn the references' errors into draws, the one whose intervals
    were narrowest on the references: the ensemble's mean with its errors scaled by each
    curve's spread, the same unscaled, or the last value with its own errors (with only
    a few points seen, the ensemble can extrapolate wildly while the last value
    plus the usual gain is both calibrated and sharp)."""
    actual, mean, spread, seen_last = known.T
    scaled = (actual - mean) / spread
    candidates = [
        (own.mean, own.spread, scaled, float(np.median(spread)) * _width(scaled)),
        (own.mean, 1.0, actual - mean, _width(actual - mean)),
        (last, 1.0, actual - seen_last, _width(actual - seen_last)),
    ]
    centre, scale, errors, _ = min(candidates, key=lambda c: c[3])
    draws = np.sort(centre + scale * errors)
    spread_out = scale * float(np.std(errors)) or own.spread
    # the mean of the draws, not the centre they were built on: the references' errors
    # carry the usual gain after the cut (the last value's rule) and the ensemble's usual
    # bias, and a stopped trial's predicted value (which samplers learn from) must too
    return Prediction(step, float(draws.mean()), spread_out, draws, len(errors))


def _width(errors: np.ndarray) -> float:
    low, high = np.quantile(errors, [0.1, 0.9])
    return float(high - low)
