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
from dataclasses import dataclass

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


@dataclass(frozen=True, eq=False)
class Boxes:
    """Boxes (B, m) as indices into each objective's distinct bounds: functions of z are
    computed once per bound, not once per box (boxes share their bounds: a 2-D front of
    n points gives n+1 boxes but n+2 distinct bounds per objective, a 3-D one (n+1)²
    boxes but still n+2)."""

    edges: tuple[np.ndarray, ...]  # per objective, its distinct bounds
    lower_at: np.ndarray  # (B, m): index of each box's lower bound in edges[j]
    upper_at: np.ndarray  # (B, m)

    @classmethod
    def of(cls, lower: np.ndarray, upper: np.ndarray) -> Boxes:
        edges, lower_at, upper_at = [], [], []
        for j in range(lower.shape[1]):
            values, at = np.unique(np.concatenate([lower[:, j], upper[:, j]]), return_inverse=True)
            at = at.reshape(-1)
            edges.append(values)
            lower_at.append(at[: len(lower)])
            upper_at.append(at[len(lower) :])
        return cls(tuple(edges), np.column_stack(lower_at), np.column_stack(upper_at))

    def z(self, mean: np.ndarray, sd: np.ndarray) -> list[np.ndarray]:
        """(bound - μ)/s for each objective's bounds: (P, edges) per objective."""
        return [(e[None, :] - mean[:, j, None]) / sd[:, j, None] for j, e in enumerate(self.edges)]

    def gather(self, per_edge: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Values per edge to values at each box's lower and upper bounds, (P, B, m) each."""
        lo = np.stack([v[:, self.lower_at[:, j]] for j, v in enumerate(per_edge)], axis=2)
        up = np.stack([v[:, self.upper_at[:, j]] for j, v in enumerate(per_edge)], axis=2)
        return lo, up


def _per_box(
    mean: np.ndarray, sd: np.ndarray, boxes: Boxes
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """z at each objective's bounds, log(h(z_u) - h(z_l)) (P, B, m), and
    log Π_j ψ_bj (P, B), for points (P, m)."""
    z = boxes.z(mean, sd)  # -inf below a box without a lower bound
    h_l, h_u = boxes.gather([log_h(v) for v in z])
    log_big_h = _log_diff(h_u, h_l)
    return z, log_big_h, log_big_h.sum(axis=2) + np.log(sd).sum(axis=1)[:, None]


def _logsumexp(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """logsumexp over the last axis, and the softmax weights."""
    top = a.max(axis=1, keepdims=True)
    weights = np.exp(a - top)
    total = weights.sum(axis=1, keepdims=True)
    return top[:, 0] + np.log(total[:, 0]), weights / total


def _value(mean: np.ndarray, sd: np.ndarray, boxes: Boxes) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):  # -inf bounds, by design
        return _logsumexp(_per_box(mean, sd, boxes)[2])[0]


def _value_and_grad(
    mean: np.ndarray, sd: np.ndarray, boxes: Boxes
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log EHVI and its derivatives with respect to each objective's mean and sd."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z, log_big_h, per_box = _per_box(mean, sd, boxes)
        value, weights = _logsumexp(per_box)
        w = weights[:, :, None]
        cdf_l, cdf_u = boxes.gather([log_ndtr(v) for v in z])
        log_dcdf = _log_diff(cdf_u, cdf_l)  # log(Φ(z_u) - Φ(z_l))
        d_mean = -(w * np.exp(log_dcdf - log_big_h)).sum(axis=1) / sd
        pdf_l, pdf_u = boxes.gather([-0.5 * v * v - _LOG_SQRT_2PI for v in z])  # log φ
        ratio = np.exp(pdf_u - log_big_h) - np.exp(pdf_l - log_big_h)
        d_sd = (w * ratio).sum(axis=1) / sd
    return value, d_mean, d_sd


def _step(n_boxes: int, m: int) -> int:
    return max(1, _CHUNK_CELLS // max(1, n_boxes * m))


def log_ehvi(mean: np.ndarray, var: np.ndarray, boxes: Boxes) -> np.ndarray:
    """log EHVI per point from posterior means and variances (P, m)."""
    sd = np.sqrt(var)
    step = _step(len(boxes.lower_at), mean.shape[1])
    parts = [_value(mean[i : i + step], sd[i : i + step], boxes) for i in range(0, len(mean), step)]
    return np.concatenate(parts) if parts else np.empty(0)


def log_ehvi_with_grad(
    mean: np.ndarray, var: np.ndarray, boxes: Boxes
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log EHVI and its derivatives with respect to the means and the variances (P, m)."""
    sd = np.sqrt(var)
    value, d_mean, d_sd = _value_and_grad(mean, sd, boxes)
    return value, d_mean, d_sd / (2.0 * sd)


class LogEHVI(OfMoments):
    """log EHVI at inputs x, from one posterior per objective (standardised, lower is
    better) and the boxes of the region the current front does not dominate."""

    def __init__(self, posteriors: Sequence[GPPosterior], boxes: Boxes) -> None:
        super().__init__(posteriors)
        self.boxes = boxes

    def of_moments(self, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
        return log_ehvi(mean, var, self.boxes)

    def of_moments_with_grad(
        self, mean: np.ndarray, var: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return log_ehvi_with_grad(mean, var, self.boxes)
