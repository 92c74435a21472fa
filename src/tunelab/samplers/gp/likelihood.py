"""Fit the GP's hyperparameters: maximise log marginal likelihood plus log priors (MAP).

Parameters live in log space, θ = (log l_1 … log l_d, log s, [log noise]), and each has
a normal prior there (a log-normal prior on the hyperparameter itself):

* length scales (inputs in the unit cube): mean log(0.25·√d), sd 1. Scaling with √d
  follows Hvarfner et al. 2024 ("Vanilla Bayesian optimization performs great in high
  dimensions"): typical distances between points grow like √d, so a fixed prior would
  make the model rougher as parameters are added. The constant and the sd were chosen on
  Branin, Hartmann-6, Rosenbrock-4, an 8-D sphere and a 7-D mixed HPO-like function at
  30-50 trials (16 seeds): longer or looser priors let a parameter whose effect the first
  trials under-sampled get a huge length scale, after which it is never explored again
  (on the mixed function the median regret was 0.64 with mean log(0.5·√d), sd √3, and
  0.002 with this prior).
* signal variance s (outputs standardised to unit variance): mean 0, sd 1.5.
* noise variance: mean log(1e-2), sd 1.5, bounded to [1e-6, 1]; fixed at 1e-6 for a
  deterministic objective.

The gradient is analytic: d log p(y)/dθ_j = ½ tr((a·aᵀ - K⁻¹) ∂K/∂θ_j) with a = K⁻¹y, plus
the prior's. L-BFGS-B starts from the previous fit when there is one (warm start), or
from the prior's centre.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import LinAlgError, cho_solve
from scipy.linalg.lapack import dpotri
from scipy.optimize import minimize

from tunelab._linalg import SAME, robust_cholesky
from tunelab.samplers.gp.kernel import SQRT5
from tunelab.samplers.gp.model import Hyperparameters

DETERMINISTIC_NOISE = 1e-6
FIT_FTOL = 1e-5  # relative change of the objective; θ need not be exact for BO
FIT_GTOL = 1e-3
LENGTHSCALE_SD = 1.0
VARIANCE_PRIOR = (0.0, 1.5)  # mean, sd of log s
NOISE_PRIOR = (math.log(1e-2), 1.5)  # mean, sd of log noise
LENGTHSCALE_BOUNDS = (math.log(1e-2), math.log(1e2))
VARIANCE_BOUNDS = (math.log(1e-2), math.log(1e2))
NOISE_BOUNDS = (math.log(DETERMINISTIC_NOISE), 0.0)
_LOG_2PI = math.log(2.0 * math.pi)


def lengthscale_prior_mean(n_dims: int) -> float:
    return math.log(0.25 * math.sqrt(max(n_dims, 1)))


def prior_centre(n_dims: int, fit_noise: bool) -> np.ndarray:
    """The prior's mode in θ: where a fit without a warm start begins."""
    theta = [lengthscale_prior_mean(n_dims)] * n_dims + [VARIANCE_PRIOR[0]]
    if fit_noise:
        theta.append(NOISE_PRIOR[0])
    return np.array(theta)


def _prior_moments(n_dims: int, fit_noise: bool) -> tuple[np.ndarray, np.ndarray]:
    means = prior_centre(n_dims, fit_noise)
    sds = [LENGTHSCALE_SD] * n_dims + [VARIANCE_PRIOR[1]] + ([NOISE_PRIOR[1]] if fit_noise else [])
    return means, np.array(sds)


def bounds(n_dims: int, fit_noise: bool) -> list[tuple[float, float]]:
    return [LENGTHSCALE_BOUNDS] * n_dims + [VARIANCE_BOUNDS] + ([NOISE_BOUNDS] if fit_noise else [])


def to_hyper(theta: np.ndarray, n_dims: int, fit_noise: bool) -> Hyperparameters:
    noise = math.exp(theta[n_dims + 1]) if fit_noise else DETERMINISTIC_NOISE
    return Hyperparameters(np.exp(theta[:n_dims]), math.exp(theta[n_dims]), noise)


class NegLogPosterior:
    """-(log p(y | θ) + log p(θ)) and its gradient, for one data set.

    Work is done on the lower triangle only (K and every ∂K are symmetric), and the
    per-dimension squared distances are computed once and reused for every θ tried."""

    def __init__(
        self, x: np.ndarray, y: np.ndarray, categorical: np.ndarray, fit_noise: bool
    ) -> None:
        self.y = np.asarray(y, dtype=float)
        n = len(self.y)
        self.n_dims = x.shape[1]
        self.fit_noise = fit_noise
        self._rows, self._cols = np.tril_indices(n)
        diff = (x[self._rows] - x[self._cols]).T  # (d, m): one column per pair i >= j
        cat = np.asarray(categorical, dtype=bool)
        self._terms = np.where(cat[:, None], (np.abs(diff) > SAME).astype(float), diff * diff)
        self._weights = np.where(self._rows == self._cols, 1.0, 2.0)  # off-diagonal twice
        self._diag = self._rows == self._cols
        self._prior_mean, self._prior_sd = _prior_moments(self.n_dims, fit_noise)
        self._last: tuple[bytes, float, np.ndarray] | None = None

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        key = np.asarray(theta, dtype=float).tobytes()
        if self._last is not None and self._last[0] == key:  # L-BFGS-B re-asks its start
            return self._last[1], self._last[2].copy()
        value, grad = self._evaluate(np.asarray(theta, dtype=float))
        self._last = (key, value, grad)
        return value, grad.copy()

    def _evaluate(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        d, n = self.n_dims, len(self.y)
        inv_l2 = np.exp(-2.0 * theta[:d])
        variance = math.exp(theta[d])
        noise = math.exp(theta[d + 1]) if self.fit_noise else DETERMINISTIC_NOISE
        r2 = inv_l2 @ self._terms
        r = np.sqrt(r2)
        e = np.exp(-SQRT5 * r)
        k_f = variance * (1.0 + SQRT5 * r + (5.0 / 3.0) * r2) * e
        k = np.zeros((n, n))
        k[self._rows, self._cols] = k_f
        k[np.diag_indices(n)] += noise
        try:
            chol = robust_cholesky(k)
        except LinAlgError:
            return 1e25, np.zeros_like(theta)
        alpha = cho_solve((chol, True), self.y, check_finite=False)
        nll = 0.5 * float(self.y @ alpha) + float(np.log(np.diag(chol)).sum()) + 0.5 * n * _LOG_2PI
        kinv, info = dpotri(chol, lower=1)  # lower triangle of K⁻¹
        if info != 0:
            return 1e25, np.zeros_like(theta)
        # W = a·aᵀ - K⁻¹; d nll/dθ_j = -½ Σ W ∘ ∂K/∂θ_j, summed over the lower triangle
        w = (alpha[self._rows] * alpha[self._cols] - kinv[self._rows, self._cols]) * self._weights
        # ∂K/∂log l_j = s·(5/3)(1 + √5 r)e^{-√5 r} · D_j / l_j²
        g = w * (variance * (5.0 / 3.0) * (1.0 + SQRT5 * r) * e)
        grad = np.empty_like(theta)
        grad[:d] = -0.5 * (self._terms @ g) * inv_l2
        grad[d] = -0.5 * float(w @ k_f)
        if self.fit_noise:
            grad[d + 1] = -0.5 * noise * float(w[self._diag].sum())
        z = (theta - self._prior_mean) / self._prior_sd
        nlp = nll + 0.5 * float(z @ z)
        grad += z / self._prior_sd
        return nlp, grad


def fit_hyperparameters(
    x: np.ndarray,
    y: np.ndarray,
    categorical: np.ndarray,
    fit_noise: bool = True,
    init: np.ndarray | None = None,
    check_prior_centre: bool = True,
    maxiter: int = 200,
) -> tuple[Hyperparameters, np.ndarray]:
    """MAP hyperparameters for standardised outputs `y`; also θ, to warm-start the next fit.

    L-BFGS-B starts from `init` (the previous fit) when given. With `check_prior_centre`
    the prior's centre is scored too and the better start is refined, so one unlucky fit
    does not pin every later one to a poor optimum; callers do that now and then rather
    than every time, as it costs one more evaluation."""
    n_dims = x.shape[1]
    objective = NegLogPosterior(x, y, categorical, fit_noise)
    box = bounds(n_dims, fit_noise)
    lo, hi = np.array([b[0] for b in box]), np.array([b[1] for b in box])
    centre = prior_centre(n_dims, fit_noise)
    starts = [centre]
    if init is not None and np.shape(init) == centre.shape and np.all(np.isfinite(init)):
        starts = [np.clip(np.asarray(init, dtype=float), lo, hi)]
        if check_prior_centre:
            starts.append(centre)
    values = [objective(s)[0] for s in starts]
    start = starts[int(np.argmin(values))]
    result = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=box,
        options={"maxiter": maxiter, "ftol": FIT_FTOL, "gtol": FIT_GTOL},
    )
    theta = np.clip(result.x, lo, hi)
    if not (np.all(np.isfinite(theta)) and result.fun <= min(values)):
        theta = start
    return to_hyper(theta, n_dims, fit_noise), theta
