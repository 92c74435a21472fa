"""Shared data and the seed tutorial's model for the Keras drop-in tests."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")


@pytest.fixture(scope="session")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's digits (64 features in [0, 1]), one-hot labels, a fixed 80/20 split."""
    from kt_seed_model import load_digits_split

    return load_digits_split()
