"""Linear algebra shared by the GP sampler (tunelab.samplers.gp) and PB2's time-varying
GP bandit (tunelab.schedulers.pb2), which may not import each other: scaled squared
distances between inputs and a Cholesky factor that survives rounding."""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, cholesky

SAME = 1e-9  # categorical inputs closer than this hold the same category
_JITTER_TRIES = 8


def scaled_sq_dist(
    a: np.ndarray, b: np.ndarray, lengthscales: np.ndarray, categorical: np.ndarray
) -> np.ndarray:
    """r² between every row of `a` and every row of `b`, shape (len(a), len(b)).

    Numeric inputs go through one matrix product, |a|² + |b|² - 2a·b (clipped at 0: the
    rounding it adds to tiny distances changes k by far less than the jitter does)."""
    numeric = ~categorical
    sa = a[:, numeric] / lengthscales[numeric]
    sb = b[:, numeric] / lengthscales[numeric]
    r2 = np.einsum("ij,ij->i", sa, sa)[:, None] + np.einsum("ij,ij->i", sb, sb)[None, :]
    r2 -= 2.0 * (sa @ sb.T)
    np.maximum(r2, 0.0, out=r2)
    for j in np.flatnonzero(categorical):
        r2 += (np.abs(a[:, j, None] - b[None, :, j]) > SAME) / lengthscales[j] ** 2
    return r2


def robust_cholesky(k: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of `k`, adding jitter 1e-10, 1e-9, … (relative) until it works."""
    scale = float(np.mean(np.diag(k))) if k.size else 1.0
    jitter = 0.0
    for attempt in range(_JITTER_TRIES):
        try:
            return np.asarray(cholesky(k + jitter * np.eye(len(k)), lower=True, check_finite=False))
        except LinAlgError:
            jitter = scale * 10.0 ** (attempt - 10)
    raise LinAlgError(
        f"the kernel matrix is not positive definite even with jitter {jitter:.1e}; "
        "the data may hold NaN or infinite values"
    )
