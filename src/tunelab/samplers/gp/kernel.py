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

from tunelab._linalg import scaled_sq_dist

SQRT5 = math.sqrt(5.0)


def matern52(r2: np.ndarray, variance: float) -> np.ndarray:
    """k as a function of r² (in place where it can: candidate batches are large)."""
    r = np.sqrt(np.maximum(r2, 0.0))
    out = np.multiply(r, -SQRT5)
    np.exp(out, out=out)
    r *= SQRT5
    r += 1.0
    r += (5.0 / 3.0) * r2
    out *= r
    out *= variance
    return out


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


def matern52_with_dr2(r2: np.ndarray, variance: float) -> tuple[np.ndarray, np.ndarray]:
    """k and dk/d(r²) together, sharing the square root and the exponential."""
    r = np.sqrt(np.maximum(r2, 0.0))
    e = np.exp(-SQRT5 * r)
    e *= variance
    sr = SQRT5 * r
    sr += 1.0
    slope = sr * e
    slope *= -5.0 / 6.0
    sr += (5.0 / 3.0) * r2
    sr *= e
    return sr, slope
