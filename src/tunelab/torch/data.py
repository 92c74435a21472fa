"""In-memory classification data for `fit()`: a validated `Data` record and loaders.

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
from tunelab.torch.labels import MAX_SHOWN, as_labels, non_integer_values

__all__ = ["Data", "from_arrays", "load_digits", "load_mnist", "read_idx"]

ArrayLike = npt.ArrayLike | torch.Tensor


# eq=False: tensors have no single truth value, so field-wise == would raise; identity it is.
@dataclass(frozen=True, eq=False, repr=False)
class Data:
    """Training and validation tensors held in memory (whole-tensor batching)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    num_classes: int
    flip_ok: bool = False
    name: str = "data"
    task: str = "classification"  # see tunelab.torch.tasks

    def __post_init__(self) -> None:
        _check_num_classes(self.num_classes)
        for split in ("train", "val"):
            x = getattr(self, f"x_{split}")
            y = getattr(self, f"y_{split}")
            _check_tensors(x, y, split)
        if self.x_train.shape[1:] != self.x_val.shape[1:]:
            raise DataError(
                "training and validation samples must have the same shape, but got "
                f"x_train {tuple(self.x_train.shape[1:])} and x_val "
                f"{tuple(self.x_val.shape[1:])} (per sample); preprocess both splits alike"
            )
        for split in ("train", "val"):
            _check_finite(getattr(self, f"x_{split}"), split)
            _check_label_range(getattr(self, f"y_{split}"), self.num_classes, split)

    @property
    def is_image(self) -> bool:
        return self.x_train.ndim == 4

    @property
    def in_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def in_features(self) -> int:
        return math.prod(self.in_shape)

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_val(self) -> int:
        return int(self.x_val.shape[0])

    def __repr__(self) -> str:
        return (
            f"Data(name={self.name!r}, n_train={self.n_train}, n_val={self.n_val}, "
            f"in_shape={self.in_shape}, num_classes={self.num_classes}, flip_ok={self.flip_ok})"
        )


# -- validation -------------------------------------------------------------------------
def _check_num_classes(num_classes: object) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise DataError(f"num_classes must be an int, but got {num_classes!r}")
    if num_classes < 2:
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
    bad = ~torch.isfinite(x)
    n_bad = int(bad.sum())
    if n_bad:
        rows = int(bad.reshape(bad.shape[0], -1).any(dim=1).sum())
        raise DataError(
            f"x_{split} must be finite, but has {n_bad} NaN/inf value(s) in {rows} of "
            f"{x.shape[0]} {_SPLIT_NAME[split]} samples; impute or drop them "
            "(e.g. np.nan_to_num) before building Data"
        )


def _check_label_range(y: torch.Tensor, num_classes: int, split: str) -> None:
    bad = (y < 0) | (y >= num_classes)
    if bool(bad.any()):
        values = torch.unique(y[bad]).tolist()
        shown = values[:MAX_SHOWN] + (["..."] if len(values) > MAX_SHOWN else [])
        raise DataError(
            f"labels must lie in [0, num_classes={num_classes}), but y_{split} has "
            f"{int(bad.sum())} label(s) outside it with values {shown}; remap the labels to "
            "0..num_classes-1 (e.g. sklearn's LabelEncoder) or pass the right num_classes"
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


def from_arrays(
    x: ArrayLike,
    y: ArrayLike,
    *,
    x_val: ArrayLike | None = None,
    y_val: ArrayLike | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    num_classes: int | None = None,
    flip_ok: bool = False,
    name: str = "data",
) -> Data:
    """Build `Data` from numpy arrays or tensors, converting dtypes (x float32, y int64).

    Without `x_val`/`y_val` a fixed, seeded, stratified `val_fraction` of (x, y) becomes the
    validation split, so every trial of a study is scored on the same samples. Samples keep
    their original order within each split (`fit()` shuffles). `num_classes` defaults to
    max(label) + 1; without it, float labels must be the class indices 0..k-1 themselves
    (whole numbers elsewhere are a regression target, which the kit does not train yet).
    """
    if (x_val is None) != (y_val is None):
        raise DataError(
            "x_val and y_val go together, but got only "
            f"{'x_val' if x_val is not None else 'y_val'}; give both or neither"
        )
    xt, yt = _as_features(x), as_labels(y, "train", refuse_regression=num_classes is None)
    _check_same_length(xt, yt, "train")
    if x_val is None or y_val is None:
        if not isinstance(val_fraction, (int, float)) or not 0.0 < val_fraction < 1.0:
            raise DataError(
                f"val_fraction must lie in (0, 1), but got val_fraction={val_fraction!r}; "
                "e.g. 0.2 holds out a fifth of the samples, or pass x_val/y_val"
            )
        if yt.ndim != 1:
            raise DataError(f"y must be 1-D class indices, but got shape {tuple(yt.shape)}")
        train_idx, val_idx = _stratified_split(yt.cpu().numpy(), float(val_fraction), seed)
        xv, yv = xt[_index(val_idx, xt)], yt[_index(val_idx, yt)]
        xt, yt = xt[_index(train_idx, xt)], yt[_index(train_idx, yt)]
    else:
        xv, yv = _as_features(x_val), as_labels(y_val, "val")
        _check_same_length(xv, yv, "val")
    if num_classes is None:
        low = min((int(t.min()) for t in (yt, yv) if t.numel()), default=0)
        if low < 0:
            raise DataError(
                f"labels must be the class indices 0..num_classes-1, but the smallest is {low}; "
                "remap them (e.g. sklearn's LabelEncoder)"
            )
        num_classes = max((int(t.max()) + 1 for t in (yt, yv) if t.numel()), default=0)
    return Data(xt, yt, xv, yv, num_classes=num_classes, flip_ok=flip_ok, name=name)


def _index(idx: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(idx).to(like.device)


# -- bundled and local data sets ----------------------------------------------------------
def load_digits(*, images: bool = False, val_fraction: float = 0.2, seed: int = 0) -> Data:
    """scikit-learn's bundled 8x8 digits (1,797 samples, no download), scaled to [0, 1].

    A data set small enough to tune on in seconds. `images=True` gives (N, 1, 8, 8) for
    convolutional models, else (N, 64). Flipped digits change meaning, so flip_ok=False.
    """
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as exc:  # pragma: no cover - sklearn ships with the torch extra
        raise ImportError(
            "load_digits needs scikit-learn; install it with `pip install tunelab[torch]`"
        ) from exc
    bunch = sk_load_digits()
    x = np.asarray(bunch.data, dtype=np.float32) / 16.0
    if images:
        x = x.reshape(-1, 1, 8, 8)
    return from_arrays(
        x, bunch.target, val_fraction=val_fraction, seed=seed, num_classes=10, name="digits"
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
