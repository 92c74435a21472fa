"""Bad training data for the kit's `from_arrays`: refused with one line that says what
the arrays hold and how to encode them. Float targets that are whole numbers but no class
indices (scikit-learn's diabetes set) look like a regression target: refused with the
task= to pass, instead of silently becoming a 347-class problem."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes

from tunelab.torch import from_arrays

from .helpers import refused

X = np.random.default_rng(0).random((20, 3)).astype(np.float32)
Y = np.arange(20) % 2
DIABETES_X, DIABETES_Y = load_diabetes(return_X_y=True)
REGRESSION = "these look like regression targets; pass task='regression'"
ONE_HOT = np.eye(2)[Y]

DATA: list[tuple[str, Callable[[], Any], str]] = [
    ("diabetes", lambda: from_arrays(DIABETES_X, DIABETES_Y), "214 distinct whole values from 25"),
    (
        "diabetes tensors",
        lambda: from_arrays(torch.tensor(DIABETES_X), torch.tensor(DIABETES_Y)),
        REGRESSION,
    ),
    ("float gaps", lambda: from_arrays(X, Y * 2.0), "2 distinct whole values from 0 to 2"),
    ("float negative", lambda: from_arrays(X, Y - 1.0), "from -1 to 0, not the class indices"),
    (
        "float halves as classes",
        lambda: from_arrays(X, Y + 0.5, task="classification"),
        "non-integer values [0.5, 1.5]; encode class labels",
    ),
    ("float NaN", lambda: from_arrays(X, np.where(Y == 0, math.nan, 1.0)), "values [nan]: "),
    ("task unknown", lambda: from_arrays(X, Y, task="regresion"), "unknown task='regresion'"),
    (
        "binary 2",
        lambda: from_arrays(X, Y * 2, task="binary"),
        "binary targets must be 0 or 1, but y_train holds [2]",
    ),
    ("binary matrix", lambda: from_arrays(X, ONE_HOT, task="binary"), "use task='multilabel'"),
    ("multilabel 1-D", lambda: from_arrays(X, Y, task="multilabel"), "one label: task='binary'"),
    (
        "multilabel not 0/1",
        lambda: from_arrays(X, np.stack([Y, Y * 3], 1), task="multilabel"),
        "multilabel targets must be 0 or 1, but y_train holds [3]",
    ),
    ("one-hot", lambda: from_arrays(X, ONE_HOT), "is one-hot ((20, 2), one 1 a row)"),
    ("counts matrix", lambda: from_arrays(X, np.stack([Y, Y * 3], 1)), REGRESSION),
    (
        "regression NaN",
        lambda: from_arrays(X, np.where(Y == 0, math.nan, 0.5), task="regression"),
        "regression targets must be finite, but y_train has 10 NaN/inf value(s) in 10 of 20",
    ),
    (
        "regression num_classes",
        lambda: from_arrays(X, X, task="regression", num_classes=2),
        "number of targets, 3 here, but got num_classes=2",
    ),
    (
        "classification one-hot",
        lambda: from_arrays(X, ONE_HOT, task="classification"),
        "one-hot labels: pass y.argmax(1)",
    ),
    ("targets 3-D", lambda: from_arrays(X, np.zeros((20, 2, 2))), "(N,) or (N, k)"),
    ("labels text", lambda: from_arrays(X, np.array(["a", "b"] * 10)), "but got dtype <U1"),
    ("labels None", lambda: from_arrays(X, np.array([None] * 20)), "but got dtype object"),
    ("labels complex", lambda: from_arrays(X, Y + 0j), "but got dtype complex128"),
    ("labels -1", lambda: from_arrays(X, Y - 1), "but the smallest is -1; remap them"),
    ("lengths", lambda: from_arrays(X, Y[:10]), "must have the same length, but got shapes"),
    ("features text", lambda: from_arrays(np.array([["a"]] * 20), Y), "features must be numeric"),
    ("features NaN", lambda: from_arrays(np.full((20, 3), math.nan), Y), "x_train must be finite"),
    ("features scalar", lambda: from_arrays(np.float32(1), Y), "must have the same length"),
    (
        "val_fraction 0",
        lambda: from_arrays(X, Y, val_fraction=0),
        "val_fraction must lie in (0, 1)",
    ),
    ("val_fraction str", lambda: from_arrays(X, Y, val_fraction="0.2"), "val_fraction='0.2'"),
    ("x_val alone", lambda: from_arrays(X, Y, x_val=X), "x_val and y_val go together"),
    ("one sample", lambda: from_arrays(X[:1], Y[:1]), "cannot split 1 sample(s)"),
    ("no floats", lambda: from_arrays(X[:0], np.zeros(0)), "cannot split 0 sample(s)"),
    ("num_classes 2", lambda: from_arrays(X, Y * 3, num_classes=2), "labels must lie in [0, "),
    ("num_classes 0", lambda: from_arrays(X, Y, num_classes=0), "num_classes must be >= 2"),
    ("num_classes str", lambda: from_arrays(X, Y, num_classes="2"), "must be an int, but got '2'"),
]


@pytest.mark.parametrize(("make", "fragment"), [c[1:] for c in DATA], ids=[c[0] for c in DATA])
def test_bad_training_data_is_refused_in_one_line(make: Callable[[], Any], fragment: str) -> None:
    refused(make, fragment)


def test_float_labels_that_are_the_class_indices_are_classes() -> None:
    assert from_arrays(X, Y.astype(float)).num_classes == 2
    assert from_arrays(DIABETES_X, DIABETES_Y, num_classes=347).num_classes == 347  # asked for
