"""Class labels for the training kit: integer class indices 0..k-1, checked and converted,
with a float regression target refused until the kit supports regression."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import torch

from tunelab.errors import DataError

ArrayLike = npt.ArrayLike | torch.Tensor

MAX_SHOWN = 10  # bad values listed in an error message


def non_integer_values(y: torch.Tensor | np.ndarray) -> list[float]:
    """The distinct values of `y` that are no whole number (NaN, inf, 0.5), a few at most."""
    t = torch.as_tensor(y)
    found = torch.unique(t[~torch.isfinite(t) | (t != torch.round(t))]).tolist()
    bad = [v for v in found if v == v] + ([math.nan] if any(v != v for v in found) else [])
    return bad[:MAX_SHOWN] + (["..."] if len(bad) > MAX_SHOWN else [])  # NaN once: NaN != NaN


_CLASSIFIERS_ONLY = (
    "the training kit trains classifiers only (regression targets are not supported yet)"
)


def as_labels(y: ArrayLike, split: str, refuse_regression: bool = False) -> torch.Tensor:
    """`y` as int64 class indices, or a DataError naming what it holds instead; with
    `refuse_regression`, float labels must be the indices 0..k-1 themselves."""
    t = y.detach() if isinstance(y, torch.Tensor) else None
    if t is None:
        arr = np.asarray(y)
        if arr.dtype.kind not in "biuf":
            raise DataError(
                f"y_{split} must hold integer class indices, but got dtype {arr.dtype}; "
                "encode the labels as 0..num_classes-1 (e.g. sklearn's LabelEncoder)"
            )
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.is_complex():
        raise DataError(f"y_{split} must hold integer class indices, but got dtype {t.dtype}")
    if t.is_floating_point():
        bad = non_integer_values(t)
        if bad:
            raise DataError(
                f"y_{split} must hold integer class indices, but has non-integer values {bad}; "
                f"{_CLASSIFIERS_ONLY}: encode class labels as 0..num_classes-1"
            )
        if refuse_regression:
            refuse_regression_target(t, split)
    return t.to(torch.int64)


def refuse_regression_target(y: torch.Tensor, split: str) -> None:
    """Float labels that are whole numbers but not the class indices 0..k-1 (scikit-learn's
    diabetes targets: 214 values from 25 to 346) are a regression target; taken as classes
    they would silently make a 347-class problem."""
    classes = torch.unique(y)
    if not classes.numel():
        return
    low, high = float(classes[0]), float(classes[-1])
    if low >= 0 and classes.numel() == high + 1:
        return
    raise DataError(
        f"y_{split} holds floats with {classes.numel()} distinct whole values from {low:g} to "
        f"{high:g}, not the class indices 0..k-1: it looks like a regression target, and "
        f"{_CLASSIFIERS_ONLY}; for classes, encode the labels as 0..num_classes-1 (e.g. "
        "sklearn's LabelEncoder) or pass num_classes="
    )
