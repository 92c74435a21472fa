"""Log expected improvement, computed so it stays finite and informative far from the best.

For a minimisation with incumbent f*, posterior mean μ and standard deviation s, z = (f* - μ)/s
and EI = s · h(z) with h(z) = φ(z) + zΦ(z). Plain EI underflows to 0 once z < -38 or so,
leaving flat regions where a gradient-based optimiser cannot move (Ament et al. 2023,
"Unexpected Improvements to Expected Improvement for Bayesian Optimization"). We work
with log EI = log s + log h(z), evaluating log h in three regimes:

* z > -1: directly, log(φ(z) + zΦ(z)), where there is no cancellation;
* -ε^(-1/4) < z ≤ -1: using Φ(z) = ½·exp(-z²/2)·erfcx(-z/√2),
  h(z) = φ(z) · (1 - |z|·√(π/2)·erfcx(|z|/√2)), so
  log h = log φ(z) + log1mexp(log|z| + ½log(π/2) + log erfcx(|z|/√2));
* z ≤ -ε^(-1/4) (about -8200): the asymptotic h(z) ≈ φ(z)/z². The bracket above is
  1/z² - 3/z⁴ + …, left after cancelling 1 - (1 - 1/z²), so it keeps only about ε·z²
  of relative precision: half the digits at this z, none (then 0 or negative, and log h
  -inf or NaN) once |z| > 1.7e7; the asymptotic form's error, 3/z², is as small here.

d log h/dz = Φ(z)/h(z) = exp(log Φ(z) - log h(z)) is just as stable.

The optimiser maximises an `Acquisition`: `LogEI` here; log EHVI (ehvi.py) for several
objectives; `SumOf` adds the log probability of feasibility (feasibility.py).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr

from tunelab.samplers._rows import in_rows
from tunelab.samplers.gp.model import GPPosterior

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_HALF_LOG_PI_2 = 0.5 * math.log(math.pi / 2.0)
_ASYMPTOTIC_BELOW = -(np.finfo(float).eps ** -0.25)


def log1mexp(a: np.ndarray) -> np.ndarray:
    """log(1 - exp(a)) for a < 0, accurate near 0 and far below it."""
    return np.where(a > -math.log(2.0), np.log(-np.expm1(a)), np.log1p(-np.exp(a)))


def log_h(z: np.ndarray) -> np.ndarray:
    """log(φ(z) + zΦ(z)), finite for every finite z."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    direct = z > -1.0
    zd = z[direct]
    out[direct] = np.log(np.exp(-0.5 * zd * zd - _LOG_SQRT_2PI) + zd * ndtr(zd))
    tail = ~direct & (z > _ASYMPTOTIC_BELOW)
    zt = -z[tail]
    log_phi = -0.5 * zt * zt - _LOG_SQRT_2PI
    out[tail] = log_phi + log1mexp(np.log(zt) + _HALF_LOG_PI_2 + np.log(erfcx(zt / math.sqrt(2))))
    far = ~direct & ~tail
    zf = -z[far]
    out[far] = -0.5 * zf * zf - _LOG_SQRT_2PI - 2.0 * np.log(zf)
    return out


def dlog_h(z: np.ndarray, log_h_z: np.ndarray) -> np.ndarray:
    """d log h / dz = Φ(z)/h(z)."""
    return np.exp(log_ndtr(z) - log_h_z)


def log_ei(mean: np.ndarray, var: np.ndarray, best: float) -> np.ndarray:
    """log EI for minimisation below `best`, from posterior means and variances."""
    sd = np.sqrt(var)
    return np.log(sd) + log_h((best - mean) / sd)


def log_ei_with_grad(
    mean: np.ndarray, var: np.ndarray, best: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log EI and its partial derivatives with respect to the mean and the variance."""
    sd = np.sqrt(var)
    z = (best - mean) / sd
    lh = log_h(z)
    g = dlog_h(z, lh)
    d_mean = -g / sd
    d_sd = (1.0 - g * z) / sd
    return np.log(sd) + lh, d_mean, d_sd / (2.0 * sd)


class Acquisition(Protocol):
    """What the optimiser maximises: a score per input row, and its gradient along the
    inputs `dims` (P, len(dims))."""

    def score(self, x: np.ndarray) -> np.ndarray: ...

    def score_with_grad(
        self, x: np.ndarray, dims: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray]: ...


class LogEI:
    """log EI of one posterior (standardised, lower is better) below `best`."""

    def __init__(self, posterior: GPPosterior, best: float) -> None:
        self.posterior = posterior
        self.best = best

    def score(self, x: np.ndarray) -> np.ndarray:
        mean, var = self.posterior.predict(x)
        return log_ei(mean, var, self.best)

    def score_with_grad(self, x: np.ndarray, dims: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        mean, var, dmean, dvar = self.posterior.predict_with_grad(x, dims)
        value, d_mean, d_var = log_ei_with_grad(mean, var, self.best)
        return value, d_mean[:, None] * dmean + d_var[:, None] * dvar


class SumOf:
    """The sum of several log acquisitions: the log of their product (e.g. log EI plus
    the log probability of feasibility)."""

    def __init__(self, *terms: Acquisition) -> None:
        self.terms = terms

    def score(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(sum(t.score(x) for t in self.terms))

    def score_with_grad(self, x: np.ndarray, dims: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        parts = [t.score_with_grad(x, dims) for t in self.terms]
        return np.asarray(sum(p[0] for p in parts)), np.asarray(sum(p[1] for p in parts))


class Unvisited:
    """An acquisition that never picks an input row already `evaluated` (scored -inf
    there; gradients zero): for a finite space of several objectives, see
    multi_planner.py."""

    def __init__(self, inner: Acquisition, evaluated: np.ndarray) -> None:
        self.inner = inner
        self.evaluated = evaluated

    def _visited(self, x: np.ndarray) -> np.ndarray:
        return in_rows(x, self.evaluated, 1e-9)

    def score(self, x: np.ndarray) -> np.ndarray:
        return np.where(self._visited(x), -np.inf, self.inner.score(x))

    def score_with_grad(self, x: np.ndarray, dims: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        value, grad = self.inner.score_with_grad(x, dims)
        visited = self._visited(x)
        return np.where(visited, -np.inf, value), np.where(visited[:, None], 0.0, grad)


class OfMoments(ABC):
    """An acquisition of several independent posteriors (one per objective or constraint)
    through their means and variances (P, k); subclasses give the function and its
    derivatives with respect to them, and this applies the chain rule."""

    def __init__(self, posteriors: Sequence[GPPosterior]) -> None:
        self.posteriors = tuple(posteriors)

    @abstractmethod
    def of_moments(self, mean: np.ndarray, var: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def of_moments_with_grad(
        self, mean: np.ndarray, var: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def score(self, x: np.ndarray) -> np.ndarray:
        moments = [p.predict(x) for p in self.posteriors]
        mean = np.column_stack([m for m, _ in moments])
        var = np.column_stack([v for _, v in moments])
        return self.of_moments(mean, var)

    def score_with_grad(self, x: np.ndarray, dims: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        parts = [p.predict_with_grad(x, dims) for p in self.posteriors]
        mean = np.column_stack([q[0] for q in parts])
        var = np.column_stack([q[1] for q in parts])
        value, d_mean, d_var = self.of_moments_with_grad(mean, var)
        grad = np.zeros((len(value), len(dims)))
        for j, (_, _, dmean, dvar) in enumerate(parts):
            grad += d_mean[:, j, None] * dmean + d_var[:, j, None] * dvar
        return value, grad
