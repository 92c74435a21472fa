"""Matérn-5/2 kernel with one length scale per input (ARD), times a signal variance.

Numeric inputs contribute their squared difference over the length scale squared;
categorical inputs contribute 1/length_scale² when the categories differ and 0 when
they are equal (a Hamming term). Both are squared Euclidean distances of an embedding
(a category becomes a one-hot vector scaled by 1/√2), so the kernel stays positive
definite on mixed spaces while each categorical parameter keeps a single length scale.

With r² the scaled squared distance, k(r) = s · (1 + √5 r + 5r²/3) · exp(-√5 r).
"""

from __future__ import annotations

import math

import numpy as np

SQRT5 = math.sqrt(5.0)
_SAME = 1e-9  # categorical inputs closer than this hold the same category


def sq_terms(a: np.ndarray, b: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    """Per-dimension squared distances (unscaled), shape (d, len(a), len(b)).

    Fitting hyperparameters reuses this stack for every length scale tried."""
    diff = a.T[:, :, None] - b.T[:, None, :]
    out = diff * diff
    if categorical.any():
        out[categorical] = (np.abs(diff[categorical]) > _SAME).astype(float)
    return out


def scaled_sq_dist(
    a: np.ndarray, b: np.ndarray, lengthscales: np.ndarray, categorical: np.ndarray
) -> np.ndarray:
    """r² between every row of `a` and every row of `b`, shape (len(a), len(b))."""
    r2 = np.zeros((a.shape[0], b.shape[0]))
    for j in range(a.shape[1]):
        diff = a[:, j, None] - b[None, :, j]
        if categorical[j]:
            r2 += (np.abs(diff) > _SAME) / lengthscales[j] ** 2
        else:
            r2 += (diff / lengthscales[j]) ** 2
    return r2


def matern52(r2: np.ndarray, variance: float) -> np.ndarray:
    """k as a function of r²."""
    r = np.sqrt(np.maximum(r2, 0.0))
    return variance * (1.0 + SQRT5 * r + (5.0 / 3.0) * r2) * np.exp(-SQRT5 * r)


def matern52_dr2(r2: np.ndarray, variance: float) -> np.ndarray:
    """dk/d(r²) = -s · (5/6) · (1 + √5 r) · exp(-√5 r): finite at r = 0, so gradients
    with respect to inputs and length scales need no special case for equal points."""
    r = np.sqrt(np.maximum(r2, 0.0))
    return -variance * (5.0 / 6.0) * (1.0 + SQRT5 * r) * np.exp(-SQRT5 * r)


def matern52_gram(
    a: np.ndarray,
    b: np.ndarray,
    lengthscales: np.ndarray,
    variance: float,
    categorical: np.ndarray,
) -> np.ndarray:
    """The kernel matrix k(a_i, b_j)."""
    return matern52(scaled_sq_dist(a, b, lengthscales, categorical), variance)
