"""Targets for the training kit, one rule a task: what each task accepts, how it is
stored, and which task targets given without one are.

- classification: class indices 0..k-1, stored int64 (N,).
- binary: 0/1 (bool, int or float), stored float32 (N,); one output, so never inferred
  over classification: 2-class labels stay classification with 2 outputs unless
  task="binary" is asked for.
- multilabel: an (N, k) matrix of 0/1 with k >= 2 labels, stored float32.
- regression: finite reals, stored float32 (N,) or (N, k).

A task is inferred only when the targets leave no doubt (integer class indices, a 0/1
matrix, floats with fractions, floats that are exactly 0..k-1); anything else is one
error line saying which task= to pass.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import torch

from tunelab.errors import DataError
from tunelab.torch.tasks import TASKS

ArrayLike = npt.ArrayLike | torch.Tensor

MAX_SHOWN = 10  # bad values listed in an error message
CLASSES_HINT = "encode class labels as 0..num_classes-1, e.g. with sklearn's LabelEncoder"


def check_task(task: object) -> str | None:
    """`task` itself when it names a task (or is None), else one line with the choices."""
    if task is None or (isinstance(task, str) and task in TASKS):
        return task
    raise DataError(f"unknown task={task!r}; choose from {', '.join(TASKS)} (or None to infer it)")


def shown(values: list[float]) -> list[float | str]:
    return [*values[:MAX_SHOWN], *(["..."] if len(values) > MAX_SHOWN else [])]


def non_integer_values(y: torch.Tensor | np.ndarray) -> list[float | str]:
    """The distinct values of `y` that are no whole number (NaN, inf, 0.5), a few at most."""
    t = torch.as_tensor(y)
    found = torch.unique(t[~torch.isfinite(t) | (t != torch.round(t))]).tolist()
    bad = [v for v in found if v == v] + ([math.nan] if any(v != v for v in found) else [])
    return shown(bad)  # NaN once: NaN != NaN


def _not_binary(t: torch.Tensor) -> list[float | str]:
    """The distinct values of `t` other than 0 and 1, a few at most."""
    found = torch.unique(t[(t != 0) & (t != 1)]).tolist()
    return shown([v for v in found if v == v] + ([math.nan] if any(v != v for v in found) else []))


def raw_targets(y: ArrayLike, split: str) -> torch.Tensor:
    """`y` as a numeric tensor of any real dtype, an (N, 1) column flattened to (N,)."""
    t = y.detach() if isinstance(y, torch.Tensor) else None
    if t is None:
        arr = np.asarray(y)
        if arr.dtype.kind not in "biuf":
            raise DataError(
                f"y_{split} must hold numbers (class indices, 0/1 labels or real targets), "
                f"but got dtype {arr.dtype}; {CLASSES_HINT}"
            )
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.is_complex():
        raise DataError(f"y_{split} must hold real numbers, but got dtype {t.dtype}")
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim > 2:
        raise DataError(
            f"y_{split} must be (N,) or (N, k), but got shape {tuple(t.shape)}; flatten each "
            "sample's targets"
        )
    return t


def infer_task(t: torch.Tensor, split: str, *, classes_given: bool = False) -> str:
    """The task targets `t` (from raw_targets) can only be, or one line naming the task= to
    pass. With `classes_given` (num_classes was passed) 1-D targets are classes."""
    if t.ndim == 2:
        return _infer_matrix(t, split)
    if not t.is_floating_point() or classes_given:
        return "classification"
    if not bool(torch.isfinite(t).all()):
        raise DataError(
            f"y_{split} holds non-finite values {non_integer_values(t)}: targets must be "
            "finite; drop or impute those samples"
        )
    if bool((t != torch.round(t)).any()):
        return "regression"
    classes = torch.unique(t)
    if not classes.numel():
        return "classification"  # no targets: the split says so
    low, high = float(classes[0]), float(classes[-1])
    if low >= 0 and classes.numel() == high + 1:
        return "classification"  # exactly the class indices 0..k-1
    raise DataError(
        f"y_{split} holds floats with {classes.numel()} distinct whole values from {low:g} to "
        f"{high:g}, not the class indices 0..k-1: these look like regression targets; pass "
        f"task='regression' (for classes, {CLASSES_HINT}, or pass num_classes=)"
    )


def _infer_matrix(t: torch.Tensor, split: str) -> str:
    k = int(t.shape[1])
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise DataError(
            f"y_{split} ({tuple(t.shape)}) holds non-finite values {non_integer_values(t)}: "
            "targets must be finite; drop or impute those samples"
        )
    if not _not_binary(t):
        if t.shape[0] and bool((t.sum(dim=1) == 1).all()):
            raise DataError(
                f"y_{split} is one-hot ({tuple(t.shape)}, one 1 a row): for classes pass "
                "y.argmax(1) (or task='classification' with the indices); for labels that "
                "may occur together pass task='multilabel'"
            )
        return "multilabel"
    if t.is_floating_point() and bool((t != torch.round(t)).any()):
        return "regression"
    raise DataError(
        f"y_{split} is an ({t.shape[0]}, {k}) matrix of whole numbers other than 0/1: these "
        "look like regression targets; pass task='regression' (labels that may occur "
        "together: a 0/1 matrix with task='multilabel')"
    )


def as_targets(t: torch.Tensor, task: str, split: str) -> torch.Tensor:
    """Targets `t` (from raw_targets) stored as `task` trains on them, or one line."""
    if task == "classification":
        return _as_labels(t, split)
    if task == "regression":
        check_finite_targets(t, split)
        return t.to(torch.float32)
    flat = task == "binary"
    if (t.ndim == 1) != flat or (not flat and t.shape[1] < 2):
        raise DataError(_shape_problem(task, split, tuple(t.shape)))
    bad = _not_binary(t)
    if bad:
        other = "task='classification' for more classes" if flat else "task='regression'"
        raise DataError(
            f"{task} targets must be 0 or 1, but y_{split} holds {bad}; map them to 0/1, "
            f"or use {other}"
        )
    return t.to(torch.float32)


def _shape_problem(task: str, split: str, shape: tuple[int, ...]) -> str:
    if task == "binary":
        return (
            f"binary targets are one 0/1 per sample (N,), but y_{split} has shape {shape}; "
            "for several labels per sample use task='multilabel'"
        )
    return (
        f"multilabel targets are an (N, k) matrix of 0/1 with k >= 2 labels, but y_{split} "
        f"has shape {shape}; one label: task='binary', class indices: task='classification'"
    )


def _as_labels(t: torch.Tensor, split: str) -> torch.Tensor:
    if t.ndim != 1:
        raise DataError(
            f"classification targets are 1-D class indices, but y_{split} has shape "
            f"{tuple(t.shape)}; one-hot labels: pass y.argmax(1); several labels per "
            "sample: task='multilabel'"
        )
    if t.is_floating_point():
        bad = non_integer_values(t)
        if bad:
            raise DataError(
                f"y_{split} must hold integer class indices, but has non-integer values "
                f"{bad}; {CLASSES_HINT}, or pass task='regression' for real targets"
            )
    return t.to(torch.int64)


def non_finite(t: torch.Tensor) -> tuple[int, int]:
    """NaN/inf values in `t`, and the samples (rows) holding them."""
    if not t.is_floating_point() or not t.numel():
        return 0, 0
    bad = ~torch.isfinite(t)
    return int(bad.sum()), int(bad.reshape(bad.shape[0], -1).any(dim=1).sum())


def check_finite_targets(t: torch.Tensor, split: str) -> None:
    n_bad, rows = non_finite(t)
    if n_bad:
        raise DataError(
            f"regression targets must be finite, but y_{split} has {n_bad} NaN/inf value(s) "
            f"in {rows} of {t.shape[0]} samples; drop or impute those samples"
        )


def width(task: str, y: torch.Tensor) -> int:
    """`num_classes` for targets stored as `task`: labels (multilabel) or targets
    (regression) per sample; 2 for binary; classification counts its classes itself."""
    if task == "binary":
        return 2
    return 1 if y.ndim == 1 else int(y.shape[1])


def check_stored(y: torch.Tensor, task: str, num_classes: int, split: str) -> None:
    """Targets handed to Data directly are stored as `task` needs, or one line."""
    if task == "classification":
        _check_class_indices(y, num_classes, split)
        return
    if y.dtype != torch.float32:
        raise DataError(
            f"{task} targets y_{split} must be float32, but got dtype {y.dtype}; convert with "
            f".float() or build Data with from_arrays(x, y, task={task!r})"
        )
    if task == "regression":
        if y.ndim not in (1, 2):
            raise DataError(f"y_{split} must be (N,) or (N, k), but got shape {tuple(y.shape)}")
        check_finite_targets(y, split)
    else:
        as_targets(y, task, split)  # shape and 0/1 values
    if num_classes != width(task, y):
        what = {"binary": "2 (yes and no)", "multilabel": "the number of labels"}
        raise DataError(
            f"num_classes for task={task!r} is {what.get(task, 'the number of targets')}, "
            f"{width(task, y)} here, but got num_classes={num_classes}"
        )


def _check_class_indices(y: torch.Tensor, num_classes: int, split: str) -> None:
    if y.ndim != 1:
        raise DataError(
            f"y_{split} must be a 1-D tensor of class indices, but got shape {tuple(y.shape)}; "
            "flatten it (one-hot labels: take argmax over the class axis)"
        )
    if y.dtype != torch.int64:
        bad = non_integer_values(y) if y.is_floating_point() else []
        detail = f" with non-integer values {bad}" if bad else ""
        raise DataError(
            f"y_{split} must hold int64 class indices, but got dtype {y.dtype}{detail}; "
            "convert with .long() or build Data with from_arrays()"
        )
    out = (y < 0) | (y >= num_classes)
    if bool(out.any()):
        values = torch.unique(y[out]).tolist()
        raise DataError(
            f"labels must lie in [0, num_classes={num_classes}), but y_{split} has "
            f"{int(out.sum())} label(s) outside it with values {shown(values)}; remap the "
            "labels to 0..num_classes-1 (e.g. sklearn's LabelEncoder) or pass the right "
            "num_classes"
        )


def num_classes_of(task: str, yt: torch.Tensor, yv: torch.Tensor, given: int | None) -> int:
    """`num_classes` of targets stored as `task`: the one `given`, else the classes seen
    (classification) or the task's width."""
    if task != "classification":
        if yt.shape[1:] != yv.shape[1:]:
            raise DataError(
                f"y_train and y_val must have as many columns, but got shapes "
                f"{tuple(yt.shape)} and {tuple(yv.shape)}"
            )
        return width(task, yt) if given is None else given  # a wrong one is named by Data
    if given is not None:
        return given
    low = min((int(t.min()) for t in (yt, yv) if t.numel()), default=0)
    if low < 0:
        raise DataError(
            f"labels must be the class indices 0..num_classes-1, but the smallest is {low}; "
            "remap them (e.g. sklearn's LabelEncoder)"
        )
    return max((int(t.max()) + 1 for t in (yt, yv) if t.numel()), default=0)
