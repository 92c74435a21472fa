"""Log expected hypervolume improvement (EHVI) for several objectives, each modelled by
its own GP, computed in closed form and in log space.

Minimisation, standardised outputs. With the non-dominated region below the reference
point split into disjoint boxes [l_b, u_b] (boxes.py), the improvement a new point y
brings is HVI(y) = Σ_b Π_j (u_bj - max(y_j, l_bj))⁺. The objectives' GPs are
independent, so the expectation of each product factorises, and every factor has a
closed form (Yang et al. 2019, "Efficient computation of expected hypervolume
improvement using box decomposition algorithms"): for y ~ N(μ, s²) and l < u,

    ψ(l, u) = E[(u - max(y, l))⁺] = E[(u - y)⁺] - E[(l - y)⁺] = s·(h(z_u) - h(z_l)),

with z = (bound - μ)/s and h(z) = φ(z) + zΦ(z), the function behind EI (acquisition.py).
So EHVI = Σ_b Π_j ψ_bj, exact for any number of objectives (no Monte Carlo needed; the
cost grows with the number of boxes). As with EI (Ament et al. 2023), EHVI underflows
to zero far from the front, which leaves the optimiser nothing to follow, so everything
is done in logs:

    log ψ = log s + log h(z_u) + log(1 - exp(log h(z_l) - log h(z_u)))   (h increases),
    log EHVI = logsumexp_b Σ_j log ψ_bj,

with log h from acquisition.py (finite for every finite z). The box whose lower bounds
are all -inf always exists and gives a finite term, so log EHVI is finite everywhere.

Gradients: ∂ψ/∂μ = -(Φ(z_u) - Φ(z_l)) and ∂ψ/∂s = φ(z_u) - φ(z_l), divided by ψ for the
log, each ratio formed from logs; the boxes' terms are weighted by their share
softmax_b(Σ_j log ψ_bj).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import log_ndtr

from tunelab.samplers.gp.acquisition import OfMoments, log1mexp, log_h
from tunelab.samplers.gp.model import GPPosterior

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_CHUNK_CELLS = 1 << 19  # points * boxes * objectives per pass: temporaries of a few MB
_BELOW_ZERO = -np.finfo(float).tiny  # a difference of logs that rounding made 0


def _log_diff(log_hi: np.ndarray, log_lo: np.ndarray) -> np.ndarray:
    """log(exp(log_hi) - exp(log_lo)) for log_lo <= log_hi (log_lo may be -inf)."""
    return log_hi + log1mexp(np.minimum(log_lo - log_hi, _BELOW_ZERO))


def _per_box(
    mean: np.ndarray, sd: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """z at the upper and lower bounds and log(h(z_u) - h(z_l)), each (P, B, m), and
    log Π_j ψ_bj (P, B), for points (P, m) and boxes (B, m)."""
    mu, s = mean[:, None, :], sd[:, None, :]
    z_u = (upper[None] - mu) / s
    z_l = (lower[None] - mu) / s  # -inf below a box without a lower bound
    log_big_h = _log_diff(log_h(z_u), log_h(z_l))
    return z_u, z_l, log_big_h, log_big_h.sum(axis=2) + np.log(sd).sum(axis=1)[:, None]


def _logsumexp(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """logsumexp over the last axis, and the softmax weights."""
    top = a.max(axis=1, keepdims=True)
    weights = np.exp(a - top)
    total = weights.sum(axis=1, keepdims=True)
    return top[:, 0] + np.log(total[:, 0]), weights / total


def _value(mean: np.ndarray, sd: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):  # -inf bounds, by design
        return _logsumexp(_per_box(mean, sd, lower, upper)[3])[0]


def _value_and_grad(
    mean: np.ndarray, sd: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log EHVI and its derivatives with respect to each objective's mean and sd."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z_u, z_l, log_big_h, per_box = _per_box(mean, sd, lower, upper)
        value, weights = _logsumexp(per_box)
        w = weights[:, :, None]
        log_dcdf = _log_diff(log_ndtr(z_u), log_ndtr(z_l))  # log(Φ(z_u) - Φ(z_l))
        d_mean = -(w * np.exp(log_dcdf - log_big_h)).sum(axis=1) / sd
        pdf_u = np.exp(-0.5 * z_u * z_u - _LOG_SQRT_2PI - log_big_h)
        pdf_l = np.exp(-0.5 * z_l * z_l - _LOG_SQRT_2PI - log_big_h)
        d_sd = (w * (pdf_u - pdf_l)).sum(axis=1) / sd
    return value, d_mean, d_sd


def _step(n_points: int, n_boxes: int, m: int) -> int:
    return max(1, _CHUNK_CELLS // max(1, n_boxes * m))


def log_ehvi(mean: np.ndarray, var: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """log EHVI per point from posterior means and variances (P, m), boxes (B, m)."""
    sd = np.sqrt(var)
    step = _step(len(mean), len(lower), mean.shape[1])
    parts = [
        _value(mean[i : i + step], sd[i : i + step], lower, upper)
        for i in range(0, len(mean), step)
    ]
    return np.concatenate(parts) if parts else np.empty(0)


def log_ehvi_with_grad(
    mean: np.ndarray, var: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log EHVI and its derivatives with respect to the means and the variances (P, m)."""
    sd = np.sqrt(var)
    value, d_mean, d_sd = _value_and_grad(mean, sd, lower, upper)
    return value, d_mean, d_sd / (2.0 * sd)


class LogEHVI(OfMoments):
    """log EHVI at inputs x, from one posterior per objective (standardised, lower is
    better) and the boxes of the region the current front does not dominate."""

    def __init__(
        self, posteriors: Sequence[GPPosterior], lower: np.ndarray, upper: np.ndarray
    ) -> None:
        super().__init__(posteriors)
        self.lower = lower
        self.upper = upper

    def of_moments(self, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
        return log_ehvi(mean, var, self.lower, self.upper)

    def of_moments_with_grad(
        self, mean: np.ndarray, var: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return log_ehvi_with_grad(mean, var, self.lower, self.upper)
