"""The GP posterior for fixed hyperparameters: mean, variance and their input gradients.

Outputs are standardised by the caller (zero mean, unit variance, lower is better), so
the prior mean is zero. The Cholesky factor gets growing jitter when rounding makes the
kernel matrix indefinite (duplicate points, long length scales), which keeps every
suggestion computable instead of failing the trial.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular

from tunelab._linalg import robust_cholesky, scaled_sq_dist
from tunelab.samplers.gp.kernel import matern52, matern52_with_dr2

FANTASY_NOISE = 1e-6  # relative to the signal variance: a pending point pins f(x) there
_MIN_VARIANCE = 1e-12  # relative: posterior variances below it are rounding error


@dataclass(frozen=True, eq=False)  # arrays inside: compare fields explicitly
class Hyperparameters:
    """Length scale per input, signal variance and noise variance (standardised units)."""

    lengthscales: np.ndarray
    variance: float
    noise: float

    def __post_init__(self) -> None:
        ls = np.asarray(self.lengthscales, dtype=float)
        if ls.ndim != 1 or not np.all(np.isfinite(ls)) or np.any(ls <= 0):
            raise ValueError(f"lengthscales must be positive and finite, but got {ls!r}")
        if not (self.variance > 0 and self.noise >= 0):
            raise ValueError(
                "`variance > 0` and `noise >= 0` must hold, but got "
                f"(variance={self.variance!r}, noise={self.noise!r})"
            )
        object.__setattr__(self, "lengthscales", ls)


class GPPosterior:
    """A zero-mean GP conditioned on (x, y) with hyperparameters held fixed."""

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        hyper: Hyperparameters,
        categorical: np.ndarray,
        noise: np.ndarray | None = None,
    ) -> None:
        self.x = np.asarray(x, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.hyper = hyper
        self.categorical = np.asarray(categorical, dtype=bool)
        n = len(self.x)
        if self.y.shape != (n,) or self.x.ndim != 2 or n == 0:
            raise ValueError(
                f"x must be (n, d) and y (n,) with n >= 1, but got x{self.x.shape}, y{self.y.shape}"
            )
        self.noise = np.full(n, hyper.noise) if noise is None else np.asarray(noise, dtype=float)
        k = matern52(self._r2(self.x), hyper.variance) + np.diag(self.noise)
        self._l = robust_cholesky(k)
        self._linv = solve_triangular(self._l, np.eye(n), lower=True, check_finite=False)
        self.alpha = self._linv.T @ (self._linv @ self.y)
        self._kinv = self._linv.T @ self._linv

    def _r2(self, xs: np.ndarray) -> np.ndarray:
        return scaled_sq_dist(xs, self.x, self.hyper.lengthscales, self.categorical)

    def _moments(self, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        v = self._linv @ ks.T  # (n, P)
        mean = ks @ self.alpha
        var = self.hyper.variance - np.einsum("ij,ij->j", v, v)
        return mean, np.maximum(var, _MIN_VARIANCE * self.hyper.variance), v

    def predict(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the latent function at each row of `xs`."""
        mean, var, _ = self._moments(matern52(self._r2(np.atleast_2d(xs)), self.hyper.variance))
        return mean, var

    def predict_with_grad(
        self, xs: np.ndarray, dims: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, variance and their derivatives along the numeric inputs `dims`:
        (mean (P,), var (P,), dmean (P, m), dvar (P, m)). Uses K⁻¹ directly: one matrix
        product per call, for the many small batches of the acquisition's local search."""
        xs = np.atleast_2d(xs)
        ks, slope = matern52_with_dr2(self._r2(xs), self.hyper.variance)  # k and dk/dr²
        kinv_k = ks @ self._kinv  # K⁻¹ k for each point, (P, n)
        mean = ks @ self.alpha
        var = self.hyper.variance - np.einsum("ij,ij->i", ks, kinv_k)
        floor = var <= _MIN_VARIANCE * self.hyper.variance
        var = np.maximum(var, _MIN_VARIANCE * self.hyper.variance)
        dmean = np.empty((len(xs), len(dims)))
        dvar = np.empty((len(xs), len(dims)))
        for j, c in enumerate(dims):
            dk = slope * (2.0 / self.hyper.lengthscales[c] ** 2) * (xs[:, c, None] - self.x[:, c])
            dmean[:, j] = dk @ self.alpha
            dvar[:, j] = -2.0 * np.einsum("ij,ij->i", dk, kinv_k)
        dvar[floor] = 0.0
        return mean, var, dmean, dvar

    def with_fantasies(self, pending: np.ndarray) -> GPPosterior:
        """Kriging believer: condition on each pending point observing the current mean.

        The mean stays where it was, but the variance collapses near pending points, so
        a worker's next suggestion moves away from what other workers are evaluating."""
        pending = np.atleast_2d(pending)
        if pending.size == 0:
            return self
        mean, _ = self.predict(pending)
        noise = np.full(len(pending), FANTASY_NOISE * self.hyper.variance)
        return GPPosterior(
            np.vstack([self.x, pending]),
            np.concatenate([self.y, mean]),
            self.hyper,
            self.categorical,
            np.concatenate([self.noise, noise]),
        )
