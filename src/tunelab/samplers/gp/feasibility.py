"""The log probability that every constraint holds, from one GP per constraint.

A trial is feasible when each constraint value c_k <= 0. Each c_k gets its own GP
(standardised: zero mean, unit variance), so the bound 0 becomes t_k = -mean_k / sd_k,
and with posterior N(μ_k, s_k²) at x, P(c_k(x) <= t_k) = Φ((t_k - μ_k)/s_k). The
constraints' GPs are independent, so

    log PF(x) = Σ_k log Φ((t_k - μ_k)/s_k),

added to the log of the objective's acquisition (constrained EI, Gardner et al. 2014,
"Bayesian optimization with inequality constraints"; the same product with EHVI). Until
some trial is feasible there is no incumbent to improve on, and log PF alone is
maximised: find the feasible region first. log Φ comes from `scipy.special.log_ndtr`,
which stays finite deep in the infeasible region, so the optimiser still sees which way
feasibility lies. d log Φ(z)/dz = φ(z)/Φ(z), formed from logs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import log_ndtr

from tunelab.samplers.gp.acquisition import OfMoments
from tunelab.samplers.gp.model import GPPosterior

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def log_pf(mean: np.ndarray, var: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Σ_k log P(c_k <= bound_k) from posterior means and variances (P, k)."""
    return np.asarray(log_ndtr((bound - mean) / np.sqrt(var)).sum(axis=1))


def log_pf_with_grad(
    mean: np.ndarray, var: np.ndarray, bound: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log PF and its derivatives with respect to the means and the variances (P, k)."""
    sd = np.sqrt(var)
    z = (bound - mean) / sd
    log_cdf = log_ndtr(z)
    ratio = np.exp(-0.5 * z * z - _LOG_SQRT_2PI - log_cdf)  # φ(z)/Φ(z)
    return log_cdf.sum(axis=1), -ratio / sd, -ratio * z / (2.0 * var)


class LogFeasibility(OfMoments):
    """log PF at inputs x, from one posterior per constraint and each one's bound in
    standardised units."""

    def __init__(self, posteriors: Sequence[GPPosterior], bounds: Sequence[float]) -> None:
        super().__init__(posteriors)
        self.bounds = np.asarray(bounds, dtype=float)

    def of_moments(self, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
        return log_pf(mean, var, self.bounds)

    def of_moments_with_grad(
        self, mean: np.ndarray, var: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return log_pf_with_grad(mean, var, self.bounds)
