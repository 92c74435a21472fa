"""The fixed, seeded validation split of in-memory data: stratified by class where there
are classes, a seeded random one for multilabel and regression targets."""

from __future__ import annotations

import math

import numpy as np
import torch

from tunelab.errors import DataError


def split_indices(
    task: str, y: torch.Tensor, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) of targets `y` stored as `task`, each sorted."""
    strata = y.cpu().numpy() if task in ("classification", "binary") else np.zeros(len(y))
    return _stratified_split(strata, val_fraction, seed)


def _stratified_split(
    y: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val), each sorted, with class proportions kept as closely as counts allow.

    The validation size is round(val_fraction * n); it is shared out by largest remainder,
    preferring classes that keep at least one training sample. Same seed, same split.
    """
    n = len(y)
    if n < 2:
        raise DataError(
            f"cannot split {n} sample(s) into training and validation; "
            "give at least 2 samples or pass x_val/y_val"
        )
    n_val = min(max(math.floor(val_fraction * n + 0.5), 1), n - 1)
    _, class_of, counts = np.unique(y, return_inverse=True, return_counts=True)
    quota = counts * (n_val / n)
    take = np.floor(quota).astype(np.int64)
    short = n_val - int(take.sum())
    if short > 0:
        keeps_train = take + 1 <= counts - 1
        order = np.lexsort((-(quota - take), ~keeps_train))  # last key sorts first
        take[order[:short]] += 1
    rng = np.random.default_rng(seed)
    val_parts = [
        rng.permutation(np.flatnonzero(class_of == c))[: take[c]] for c in range(len(counts))
    ]
    val_idx = np.sort(np.concatenate(val_parts))
    in_train = np.ones(n, dtype=bool)
    in_train[val_idx] = False
    return np.flatnonzero(in_train), val_idx
