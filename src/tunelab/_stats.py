"""Rank statistics shared by the schedulers (how far a rung's ranking can be trusted)
and the samplers (which fidelity to learn from): pure functions, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# Up to this many values the all-pairs sign matrices (two n-by-n arrays) are the fastest
# route; past it scipy's O(n log n) count is, and its import is paid only then.
ALL_PAIRS_UP_TO = 200


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's tau-b: (concordant - discordant) / sqrt((n0 - n1) (n0 - n2)) over the n0
    pairs, n1 and n2 of them tied in x and in y. A tie counts against agreement, so only
    the same ranking, ties alike, gives 1. None when x or y has no two different values."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"x and y must be flat and of one length, but got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("x and y must be finite; drop the NaN/inf values before ranking")
    if a.size > ALL_PAIRS_UP_TO:
        from scipy.stats import kendalltau

        tau = float(kendalltau(a, b, variant="b").statistic)
        return None if math.isnan(tau) else tau
    # Over all ordered pairs each unordered pair counts twice, in the sum and in both
    # counts of untied pairs alike, so the factors of 2 cancel.
    sx = np.sign(a[:, None] - a[None, :])
    sy = np.sign(b[:, None] - b[None, :])
    untied_x = np.count_nonzero(sx)
    untied_y = np.count_nonzero(sy)
    if untied_x == 0 or untied_y == 0:
        return None
    return float((sx * sy).sum() / math.sqrt(untied_x * untied_y))


def explained(tau: float | None) -> float:
    """The share of the final value's variation that the rung value explains: rho**2 for
    the Pearson correlation rho = sin(pi * tau / 2) that a Gaussian copula implies for
    Kendall's tau (0 when the rung ranks trials no better than chance, or worse)."""
    if tau is None or tau <= 0:
        return 0.0
    return math.sin(math.pi * tau / 2) ** 2
