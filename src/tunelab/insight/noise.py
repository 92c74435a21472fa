"""How far seed noise blurs a score: Student's t-interval for a configuration's mean over
its re-runs, and Welch's t-test for whether two configurations differ beyond that noise.

Both assume the re-runs of one configuration scatter roughly normally around its true
mean, each configuration with its own spread (Welch: no equal variances assumed). With
few seeds the t-quantiles are large (4.30 for 3 seeds at 95%): the interval then says
honestly how little three runs pin down."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

LEVEL = 0.95  # the intervals' confidence level
ALPHA = 0.05  # two configurations differ when Welch's two-sided p is below this


@dataclass(frozen=True)
class Interval:
    mean: float
    half_width: float | None  # None below two values: no spread to measure
    std: float | None
    n: int

    @property
    def low(self) -> float | None:
        return None if self.half_width is None else self.mean - self.half_width

    @property
    def high(self) -> float | None:
        return None if self.half_width is None else self.mean + self.half_width

    def contains(self, x: float) -> bool:
        return self.half_width is not None and abs(x - self.mean) <= self.half_width


def t_interval(values: Sequence[float], level: float = LEVEL) -> Interval:
    """mean ± t_{(1+level)/2, n-1} · s/√n, the interval that holds the true mean in
    `level` of repetitions."""
    if not values:
        raise ValueError("t_interval needs at least one value")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), but got level={level!r}")
    n = len(values)
    mean = statistics.fmean(values)
    if n < 2:
        return Interval(mean, None, None, n)
    from scipy.stats import t as student  # scipy costs ~0.2 s to import: only when asked

    std = statistics.stdev(values)
    half = float(student.ppf((1 + level) / 2, n - 1)) * std / math.sqrt(n)
    return Interval(mean, half, std, n)


def welch_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of Welch's t-test that `a` and `b` share a mean; None when
    either has fewer than two values. Two spread-free samples differ (p = 0) unless
    their means are equal (p = 1)."""
    if len(a) < 2 or len(b) < 2:
        return None
    ma, mb = statistics.fmean(a), statistics.fmean(b)
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    if va + vb == 0:
        return 1.0 if ma == mb else 0.0
    t = (ma - mb) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    from scipy.stats import t as student

    return float(2 * student.sf(abs(t), df))


def spread_text(iv: Interval | None) -> str:
    """The mean ± half-width to the precision the spread allows, e.g. `0.9713 ± 0.0042
    (3 seeds)`; `iv` None reads "no re-run completed"."""
    if iv is None:
        return "no re-run completed"
    seeds = f"{iv.n} seed{'s' if iv.n != 1 else ''}"
    if iv.half_width is None or not math.isfinite(iv.half_width):
        return f"{iv.mean:.4g} ({seeds})"
    if iv.half_width == 0:
        return f"{iv.mean:.4g} ± 0 ({seeds})"
    decimals = max(0, 1 - math.floor(math.log10(iv.half_width)))
    return f"{iv.mean:.{decimals}f} ± {iv.half_width:.{decimals}f} ({seeds})"
