"""The time-varying GP behind PB2's bandit (Parker-Holder et al. 2020, "Provably efficient
online hyperparameter optimization with population-based bandits").

Inputs are a time t (in intervals) and a point x in the unit cube; the kernel is the
paper's product of a squared exponential over x and a forgetting factor over time,

    k((t, x), (t', x')) = s · exp(-r²/2) · (1 - ε)^(|t - t'| / 2),   r² = Σ (x_j - x'_j)² / l_j²,

so a reward observed k intervals ago counts as a noisy, partly stale view of today's
reward surface. The length scales, ε, s and the noise are fitted by maximising the
marginal likelihood plus weak log-normal priors (they keep a fit on a few dozen points
from running to a degenerate edge); ε stays in [1e-3, 0.5], the bound the paper's code
uses, so the model never forgets a whole interval at once nor treats all time as one.
Outputs are standardised by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_solve, solve_triangular
from scipy.optimize import minimize

from tunelab._linalg import robust_cholesky, scaled_sq_dist

EPS_BOUNDS = (1e-3, 0.5)
LOG_LENGTHSCALE = (math.log(0.05), math.log(2.0), math.log(0.3), 1.0)  # low, high, mean, sd
LOG_VARIANCE = (math.log(0.05), math.log(20.0), 0.0, 1.5)
LOG_NOISE = (math.log(1e-4), 0.0, math.log(0.1), 1.5)
PENDING_NOISE = 1e-4  # relative to s: a pending point pins the surface where it sits


@dataclass(frozen=True, eq=False)  # arrays inside
class TimeKernel:
    """Fitted settings of the kernel (see the module doc)."""

    lengthscales: np.ndarray
    eps: float
    variance: float
    noise: float

    def __call__(
        self, t1: np.ndarray, x1: np.ndarray, t2: np.ndarray, x2: np.ndarray
    ) -> np.ndarray:
        numeric = np.zeros(x1.shape[1], dtype=bool)
        r2 = scaled_sq_dist(x1, x2, self.lengthscales, numeric)
        dt = np.abs(t1[:, None] - t2[None, :])
        return self.variance * np.exp(0.5 * (dt * math.log1p(-self.eps) - r2))


class TimeVaryingGP:
    """A zero-mean GP on (t, x) → y with a fitted TimeKernel."""

    def __init__(
        self,
        times: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        kernel: TimeKernel,
        noise: np.ndarray | None = None,
    ) -> None:
        self.times = np.asarray(times, dtype=float)
        self.x = np.atleast_2d(np.asarray(x, dtype=float))
        self.y = np.asarray(y, dtype=float)
        self.kernel = kernel
        n = len(self.y)
        if self.times.shape != (n,) or self.x.shape[0] != n or n == 0:
            raise ValueError(
                f"times (n,), x (n, d) and y (n,) with n >= 1 must hold, but got "
                f"times{self.times.shape}, x{self.x.shape}, y{self.y.shape}"
            )
        self.noise = np.full(n, kernel.noise) if noise is None else np.asarray(noise, dtype=float)
        k = kernel(self.times, self.x, self.times, self.x) + np.diag(self.noise)
        self._chol = robust_cholesky(k)
        self._alpha = cho_solve((self._chol, True), self.y, check_finite=False)

    @classmethod
    def fit(cls, times: np.ndarray, x: np.ndarray, y: np.ndarray) -> TimeVaryingGP:
        """The GP with the kernel settings of highest posterior density for this data."""
        times, x, y = (
            np.asarray(times, float),
            np.atleast_2d(np.asarray(x, float)),
            np.asarray(y, float),
        )
        d = x.shape[1]
        priors = [LOG_LENGTHSCALE] * d + [LOG_VARIANCE, LOG_NOISE]
        box = [(lo, hi) for lo, hi, _, _ in priors] + [EPS_BOUNDS]
        mean = np.array([m for _, _, m, _ in priors])
        sd = np.array([s for _, _, _, s in priors])
        sq = np.stack([(x[:, None, j] - x[None, :, j]) ** 2 for j in range(d)])  # (d, n, n)
        dt = np.abs(times[:, None] - times[None, :])

        def objective(theta: np.ndarray) -> float:
            inv_l2 = np.exp(-2.0 * theta[:d])
            k = np.exp(0.5 * (dt * math.log1p(-theta[-1]) - np.tensordot(inv_l2, sq, axes=1)))
            k *= math.exp(theta[d])
            k[np.diag_indices_from(k)] += math.exp(theta[d + 1])
            try:
                chol = robust_cholesky(k)
            except LinAlgError:
                return 1e25
            alpha = cho_solve((chol, True), y, check_finite=False)
            z = (theta[:-1] - mean) / sd
            return 0.5 * float(y @ alpha) + float(np.log(np.diag(chol)).sum()) + 0.5 * float(z @ z)

        starts = [np.append(mean, 0.1), np.append(mean, 0.3)]
        best = min(starts, key=objective)
        result = minimize(objective, best, method="L-BFGS-B", bounds=box, options={"maxiter": 100})
        theta = (
            result.x if np.all(np.isfinite(result.x)) and result.fun <= objective(best) else best
        )
        theta = np.clip(theta, [b[0] for b in box], [b[1] for b in box])
        kernel = TimeKernel(
            lengthscales=np.exp(theta[:d]),
            eps=float(theta[-1]),
            variance=math.exp(theta[d]),
            noise=math.exp(theta[d + 1]),
        )
        return cls(times, x, y, kernel)

    def predict(self, t: float, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the reward at time `t`, each row of `xs`."""
        xs = np.atleast_2d(xs)
        ks = self.kernel(np.full(len(xs), float(t)), xs, self.times, self.x)
        mean = ks @ self._alpha
        v = solve_triangular(self._chol, ks.T, lower=True, check_finite=False)
        var = self.kernel.variance - np.einsum("ij,ij->j", v, v)
        return mean, np.sqrt(np.maximum(var, 1e-12 * self.kernel.variance))

    def with_pending(self, t: float, pending: np.ndarray) -> TimeVaryingGP:
        """Kriging believer: the GP as if each pending point had returned the current mean,
        so the uncertainty collapses where other trials already went at time `t`."""
        pending = np.atleast_2d(pending)
        if pending.size == 0:
            return self
        mean, _ = self.predict(t, pending)
        return TimeVaryingGP(
            np.concatenate([self.times, np.full(len(pending), float(t))]),
            np.vstack([self.x, pending]),
            np.concatenate([self.y, mean]),
            self.kernel,
            np.concatenate(
                [self.noise, np.full(len(pending), PENDING_NOISE * self.kernel.variance)]
            ),
        )
