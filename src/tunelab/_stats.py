"""Rank statistics shared by the schedulers (how far a rung's ranking can be trusted)
and the samplers (which fidelity to learn from): pure functions, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float | None:
    """(concordant - discordant) / (concordant + discordant) over pairs untied on both
    sides; None when no pair qualifies."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"x and y must have the same length, but got {a.size} and {b.size}")
    signs = np.sign(a[:, None] - a[None, :]) * np.sign(b[:, None] - b[None, :])
    concordant = int((signs > 0).sum())
    discordant = int((signs < 0).sum())
    if concordant + discordant == 0:
        return None
    return (concordant - discordant) / (concordant + discordant)


def explained(tau: float | None) -> float:
    """The share of the final value's variation that the rung value explains: rho**2 for
    the Pearson correlation rho = sin(pi * tau / 2) that a Gaussian copula implies for
    Kendall's tau (0 when the rung ranks trials no better than chance, or worse)."""
    if tau is None or tau <= 0:
        return 0.0
    return math.sin(math.pi * tau / 2) ** 2
