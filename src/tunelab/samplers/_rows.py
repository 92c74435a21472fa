"""Which candidate configurations, as rows of unit-cube coordinates, are ones already
evaluated: both model-based samplers avoid re-proposing them in a finite space."""

from __future__ import annotations

import numpy as np


def in_rows(candidates: np.ndarray, rows: np.ndarray, atol: float) -> np.ndarray:
    """(n,) bool: whether each of the (n, d) `candidates` equals one of the (k, d) `rows`
    within `atol` in every column, an absent (NaN) coordinate equal only to another."""
    if not len(rows):
        return np.zeros(len(candidates), dtype=bool)
    a, b = candidates[:, None, :], rows[None, :, :]
    same = (np.abs(a - b) <= atol) | (np.isnan(a) & np.isnan(b))
    return np.asarray(same.all(axis=2).any(axis=1))
