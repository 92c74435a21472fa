"""Extrapolate one partial learning curve with a Bayesian ensemble of parametric families.

Each shape of each family (families.py) is one model; its level and amplitude are fitted by
least squares, the noise is profiled out, and its weight is prior x profile likelihood
`RSS^(-n/2)`. The prediction at a later step is the weighted mixture of the models'
extrapolations: its mean, and a spread that adds the models' disagreement to the residual
noise. The spread is only a scale here; model.py calibrates it against finished curves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tunelab.curves.families import design, family_prior

MIN_POINTS = 3  # two linear coefficients and a shape need three points


@dataclass(frozen=True)
class Extrapolation:
    """A curve's predicted value at `step`: the mixture's `mean` and `spread` (a scale)."""

    step: float
    mean: float
    spread: float


def extrapolate(steps: np.ndarray, values: np.ndarray, step: float) -> Extrapolation:
    """The ensemble's prediction at `step` from the points seen so far. With fewer than
    three points the last value is the prediction, with unit spread: model.py calibrates
    the error of that rule as it does any other's."""
    steps = np.asarray(steps, dtype=float)
    y = np.asarray(values, dtype=float)
    n = len(y)
    if n < MIN_POINTS:
        return Extrapolation(step, float(y[-1]), 1.0)
    scale = float(steps[-1])
    g, _ = design(np.append(steps, step), scale)
    g_seen, g_next = g[:, :n], g[:, n]

    g_mean = g_seen.mean(axis=1)
    gc = g_seen - g_mean[:, None]
    y_mean = float(y.mean())
    yc = y - y_mean
    sgg = np.einsum("ij,ij->i", gc, gc)
    sgy = gc @ yc
    syy = float(yc @ yc)
    usable = sgg > 1e-12 * max(1.0, float(np.max(sgg)))  # g constant on the seen steps: no slope
    slope = np.where(usable, sgy / np.where(usable, sgg, 1.0), 0.0)
    rss = np.maximum(syy - slope * sgy, 0.0)
    level = y_mean - slope * g_mean
    predicted = level + slope * g_next

    floor = 1e-3 * max(float(np.abs(y).mean()), float(np.ptp(y))) + 1e-12
    log_w = np.log(family_prior()) - 0.5 * n * np.log(rss + n * floor**2)
    log_w[~usable] = -np.inf
    w = np.exp(log_w - np.max(log_w))
    w /= w.sum()
    mean = float(w @ predicted)
    disagreement = float(w @ (predicted - mean) ** 2)
    noise = float(w @ rss) / max(n - MIN_POINTS, 1) + floor**2
    return Extrapolation(step, mean, float(np.sqrt(disagreement + noise)))
