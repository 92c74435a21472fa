"""In-memory data for `fit()`: a validated `Data` record and loaders, for every task
(classification, binary, multilabel, regression; see targets.py).

Small tuning data sets fit in memory, so `fit()` batches whole tensors instead of going
through a DataLoader. Everything here reads local files only: tunelab never downloads.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from tunelab.errors import DataError
from tunelab.torch.split import split_indices
from tunelab.torch.targets import (
    as_targets,
    check_stored,
    check_task,
    infer_task,
    non_finite,
    num_classes_of,
    raw_targets,
)
from tunelab.torch.tasks import TASKS

__all__ = ["Data", "from_arrays", "load_digits", "load_mnist", "read_idx"]

ArrayLike = npt.ArrayLike | torch.Tensor


# eq=False: tensors have no single truth value, so field-wise == would raise; identity it is.
@dataclass(frozen=True, eq=False, repr=False)
class Data:
    """Training and validation tensors held in memory (whole-tensor batching).

    `num_classes` is what the task has: classes (classification), 2 (binary), labels
    (multilabel) or target columns (regression, 1 for (N,) targets); `n_outputs` is the
    width the model's last layer needs."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    num_classes: int
    flip_ok: bool = False
    name: str = "data"
    task: str = "classification"  # see tunelab.torch.tasks

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise DataError(f"unknown task={self.task!r}; choose from {', '.join(TASKS)}")
        _check_num_classes(self.num_classes, self.task)
        for split in ("train", "val"):
            x = getattr(self, f"x_{split}")
            y = getattr(self, f"y_{split}")
            _check_tensors(x, y, split)
            check_stored(y, self.task, self.num_classes, split)
        if self.x_train.shape[1:] != self.x_val.shape[1:]:
            raise DataError(
                "training and validation samples must have the same shape, but got "
                f"x_train {tuple(self.x_train.shape[1:])} and x_val "
                f"{tuple(self.x_val.shape[1:])} (per sample); preprocess both splits alike"
            )
        for split in ("train", "val"):
            _check_finite(getattr(self, f"x_{split}"), split)

    @property
    def is_image(self) -> bool:
        """Whether the inputs are images (4-D: samples, channels, height, width)."""
        return self.x_train.ndim == 4

    @property
    def in_shape(self) -> tuple[int, ...]:
        """The shape of one input sample."""
        return tuple(self.x_train.shape[1:])

    @property
    def in_features(self) -> int:
        """The number of values in one input sample (an MLP's input width)."""
        return math.prod(self.in_shape)

    @property
    def n_outputs(self) -> int:
        """The model's output width: a logit a class, one for binary, one a label or
        regression target."""
        return 1 if self.task == "binary" else self.num_classes

    @property
    def n_train(self) -> int:
        """The number of training samples."""
        return int(self.x_train.shape[0])

    @property
    def n_val(self) -> int:
        """The number of validation samples."""
        return int(self.x_val.shape[0])

    def __repr__(self) -> str:
        return (
            f"Data(name={self.name!r}, n_train={self.n_train}, n_val={self.n_val}, "
            f"in_shape={self.in_shape}, task={self.task!r}, num_classes={self.num_classes}, "
            f"flip_ok={self.flip_ok})"
        )


# -- validation -------------------------------------------------------------------------
def _check_num_classes(num_classes: object, task: str) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise DataError(f"num_classes must be an int, but got {num_classes!r}")
    if num_classes < 2 and task == "classification":
        raise DataError(
            f"num_classes must be >= 2 for classification, but got num_classes={num_classes}; "
            "if it was inferred as max(label) + 1, the labels hold only class 0"
        )


def _check_tensors(x: object, y: object, split: str) -> None:
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise DataError(
            f"x_{split} and y_{split} must be torch tensors, but got {type(x).__name__} and "
            f"{type(y).__name__}; build Data with from_arrays(), which converts"
        )
    if x.dtype != torch.float32:
        raise DataError(
            f"x_{split} must be float32, but got {x.dtype}; convert with .float() "
            "or build Data with from_arrays()"
        )
    if x.ndim not in (2, 4):
        hint = " add the channel axis with x.unsqueeze(1)" if x.ndim == 3 else ""
        raise DataError(
            f"x_{split} must be (N, features) or images (N, C, H, W), but got shape "
            f"{tuple(x.shape)};{hint or ' reshape it'}"
        )
    if y.ndim == 0:
        raise DataError(f"y_{split} must be (N,) or (N, k), but got a scalar tensor")
    if x.shape[0] != y.shape[0]:
        raise DataError(
            f"x_{split} and y_{split} must have the same length, but got {x.shape[0]} samples "
            f"and {y.shape[0]} labels"
        )
    if x.shape[0] == 0:
        fix = "give a larger data set" if split == "train" else "pass x_val/y_val or a val_fraction"
        raise DataError(f"the {_SPLIT_NAME[split]} split is empty (0 samples); {fix}")


_SPLIT_NAME = {"train": "training", "val": "validation"}


def _check_finite(x: torch.Tensor, split: str) -> None:
    n_bad, rows = non_finite(x)
    if n_bad:
        raise DataError(
            f"x_{split} must be finite, but has {n_bad} NaN/inf value(s) in {rows} of "
            f"{x.shape[0]} {_SPLIT_NAME[split]} samples; impute or drop them "
            "(e.g. np.nan_to_num) before building Data"
        )


# -- conversion -------------------------------------------------------------------------
def _as_features(x: ArrayLike) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().to(torch.float32)
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise DataError(f"features must be numeric, but got an array of dtype {arr.dtype}")
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))


def _check_same_length(x: torch.Tensor, y: torch.Tensor, split: str) -> None:
    if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0]:
        raise DataError(
            f"x_{split} and y_{split} must have the same length, but got shapes "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )


def from_arrays(
    x: ArrayLike,
    y: ArrayLike,
    *,
    task: str | None = None,
    x_val: ArrayLike | None = None,
    y_val: ArrayLike | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    num_classes: int | None = None,
    flip_ok: bool = False,
    name: str = "data",
) -> Data:
    """Build `Data` from numpy arrays or tensors: x float32, y as `task` needs it.

    `task` is "classification" (y int64 class indices), "binary" (0/1, one output),
    "multilabel" (an (N, k) 0/1 matrix) or "regression" (real targets, (N,) or (N, k); an
    (N, 1) column is flattened). Left None, it is inferred where the targets leave no
    doubt: integer labels are classes (two of them too: binary is asked for, never
    guessed), a 0/1 matrix is multilabel, floats with fractions are regression, floats
    that are exactly 0..k-1 are classes; whole-valued floats elsewhere (25..346) are an
    error asking for task='regression'.

    Without `x_val`/`y_val` a fixed, seeded `val_fraction` of (x, y) becomes the validation
    split (stratified by class for classification and binary), so every trial of a study
    is scored on the same samples. Samples keep their original order within each split
    (`fit()` shuffles). `num_classes` defaults to max(label) + 1 for classification; for
    the other tasks it is the task's own width (see `Data`) and may be left out.
    """
    if (x_val is None) != (y_val is None):
        raise DataError(
            "x_val and y_val go together, but got only "
            f"{'x_val' if x_val is not None else 'y_val'}; give both or neither"
        )
    task = check_task(task)
    xt, raw = _as_features(x), raw_targets(y, "train")
    if task is None:
        task = infer_task(raw, "train", classes_given=num_classes is not None)
    yt = as_targets(raw, task, "train")
    _check_same_length(xt, yt, "train")
    if x_val is None or y_val is None:
        if not isinstance(val_fraction, (int, float)) or not 0.0 < val_fraction < 1.0:
            raise DataError(
                f"val_fraction must lie in (0, 1), but got val_fraction={val_fraction!r}; "
                "e.g. 0.2 holds out a fifth of the samples, or pass x_val/y_val"
            )
        train_idx, val_idx = split_indices(task, yt, float(val_fraction), seed)
        xv, yv = xt[_index(val_idx, xt)], yt[_index(val_idx, yt)]
        xt, yt = xt[_index(train_idx, xt)], yt[_index(train_idx, yt)]
    else:
        xv, yv = _as_features(x_val), as_targets(raw_targets(y_val, "val"), task, "val")
        _check_same_length(xv, yv, "val")
    return Data(
        xt,
        yt,
        xv,
        yv,
        num_classes=num_classes_of(task, yt, yv, num_classes),
        flip_ok=flip_ok,
        name=name,
        task=task,
    )


def _index(idx: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(idx).to(like.device)


# -- bundled and local data sets ----------------------------------------------------------
def load_digits(*, images: bool = False, val_fraction: float = 0.2, seed: int = 0) -> Data:
    """scikit-learn's bundled 8x8 digits (1,797 samples, no download), scaled to [0, 1].

    A data set small enough to tune on in seconds. `images=True` gives (N, 1, 8, 8) for
    convolutional models, else (N, 64). Flipped digits change meaning, so flip_ok=False.
    """
    from tunelab.torch.bundled import digits_arrays

    pixels, target = digits_arrays()
    x = np.asarray(pixels, dtype=np.float32) / 16.0
    if images:
        x = x.reshape(-1, 1, 8, 8)
    return from_arrays(
        x, target, val_fraction=val_fraction, seed=seed, num_classes=10, name="digits"
    )


_IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (the MNIST format), plain or gzip-compressed, into a native array."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"IDX file not found: {str(path)!r}") from None
    except OSError as exc:
        raise DataError(f"cannot read IDX file {str(path)!r}: {exc}") from exc
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{str(path)!r} looks gzip-compressed but cannot be decompressed ({exc}); "
                "the file is probably truncated, download it again"
            ) from exc
    if len(raw) < 4:
        raise DataError(
            f"{str(path)!r} is truncated: an IDX header needs 4 bytes, but the file has {len(raw)}"
        )
    if raw[:2] != b"\x00\x00" or raw[2] not in _IDX_DTYPES:
        codes = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise DataError(
            f"{str(path)!r} is not an IDX file: bad magic number 0x{raw[:4].hex().upper()}; "
            f"IDX starts with two zero bytes, a dtype code ({codes}) and the number of "
            "dimensions"
        )
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(
            f"{str(path)!r} is truncated or corrupt: header declares {ndim} dimension(s), "
            f"needing {header} header bytes, but the file has {len(raw)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "corrupt (trailing bytes)"
        raise DataError(
            f"{str(path)!r} is {what}: shape {shape} of {dtype.name} needs {expected} bytes, "
            f"but the file has {len(raw)}; download it again"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # native order, writable copy


_MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_val": "t10k-images-idx3-ubyte",
    "y_val": "t10k-labels-idx1-ubyte",
}
_MNIST_KINDS = {"mnist": "mnist", "fashion": "fashion-mnist"}


def load_mnist(
    folder: str | os.PathLike[str],
    *,
    kind: str = "mnist",
    val_fraction: float | None = None,
    seed: int = 0,
) -> Data:
    """MNIST or Fashion-MNIST from the four IDX files (plain or .gz) in a local folder.

    The t10k files are the validation split; with `val_fraction` a stratified part of the
    training files is held out instead and the t10k files are not read (keep them as a
    final test set). Images are scaled to [0, 1] with shape (N, 1, 28, 28). kind="fashion"
    sets flip_ok=True: a mirrored shirt is still a shirt.
    """
    if kind not in _MNIST_KINDS:
        raise DataError(f"kind must be one of {sorted(_MNIST_KINDS)}, but got kind={kind!r}")
    root = Path(folder)
    keys = ["x_train", "y_train"] + (["x_val", "y_val"] if val_fraction is None else [])
    paths = {key: _find_idx(root, _MNIST_FILES[key]) for key in keys}
    missing = [_MNIST_FILES[key] for key, p in paths.items() if p is None]
    if missing:
        where = "" if root.is_dir() else " (the folder does not exist)"
        raise DataError(
            f"missing {', '.join(missing)} (or .gz) in {str(root)!r}{where}; tunelab never "
            f"downloads data: put the {kind} IDX files there yourself, e.g. "
            "torchvision.datasets.MNIST/FashionMNIST(root, download=True) saves them in "
            "root/<name>/raw"
        )
    arrays = {key: read_idx(p) for key, p in paths.items() if p is not None}
    for key in arrays:
        want = 3 if key.startswith("x") else 1
        if arrays[key].ndim != want:
            raise DataError(
                f"{str(paths[key])!r} should hold a {want}-D array, but has shape "
                f"{arrays[key].shape}; are the images and labels files swapped?"
            )
    images = {k: _scale_images(v) for k, v in arrays.items() if k.startswith("x")}
    return from_arrays(
        images["x_train"],
        arrays["y_train"],
        x_val=images.get("x_val"),
        y_val=arrays.get("y_val"),
        val_fraction=0.2 if val_fraction is None else val_fraction,
        seed=seed,
        num_classes=10,
        flip_ok=kind == "fashion",
        name=_MNIST_KINDS[kind],
    )


def _find_idx(root: Path, stem: str) -> Path | None:
    for candidate in (root / stem, root / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _scale_images(arr: np.ndarray) -> np.ndarray:
    x = arr.astype(np.float32)
    if arr.dtype.kind in "iu":
        x /= 255.0
    return x[:, None, :, :]
