"""What fit() needs of a Dataset's samples and a DataLoader's batches: (inputs, targets)
pairs of tensors, inputs it can train on, and targets whose task is known. Each check is
one line that names what came instead."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from tunelab.errors import DataError
from tunelab.torch.batches import Batch
from tunelab.torch.errors import TrainingError
from tunelab.torch.tasks import TASKS, Task


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_dataset(dataset: object, split: str) -> None:
    if not isinstance(dataset, Dataset):
        hint = " (a DataLoader goes in a (train_loader, val_loader) pair instead)"
        raise DataError(
            f"Datasets({split}=...) takes a torch.utils.data.Dataset, but got "
            f"{describe(dataset)}{hint if isinstance(dataset, DataLoader) else ''}"
        )
    if isinstance(dataset, IterableDataset):
        return
    try:
        n = len(dataset)  # type: ignore[arg-type]
    except Exception as error:
        raise DataError(
            f"Datasets({split}=...) needs len() of {type(dataset).__name__}, but it raised "
            f"{type(error).__name__}: {error}; define __len__, or make it an IterableDataset "
            "and pass steps_per_epoch"
        ) from None
    if not is_int(n) or n < 1:
        raise DataError(
            f"Datasets({split}=...) has len() {n!r}; a {split} set needs at least one sample"
        )


def describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, Mapping):
        return f"a {type(value).__name__} with keys {list(value)[:5]}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"


def as_pair(batch: object, where: str) -> Batch:
    """The (inputs, targets) of a sample or batch, or one line that says what came instead."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise DataError(
            f"{where} is {describe(batch)}, but fit() needs (inputs, targets) pairs; return "
            "(x, y) from the Dataset's __getitem__ (or from the collate_fn)"
        )
    x, y = batch
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise DataError(
            f"{where} is a pair of ({type(x).__name__}, {type(y).__name__}), but fit() needs "
            "tensors (or numbers and arrays, which the default collate makes tensors); "
            "convert in the Dataset (e.g. torch.as_tensor, or torchvision's ToTensor)"
        )
    return x, y


def input_dtype(x: torch.Tensor) -> torch.dtype | None:
    """What inputs are converted to on the device (None: left as they are)."""
    if x.dtype in (torch.uint8, torch.bool):
        raise DataError(
            f"the inputs are {x.dtype}, but models train on float32; convert them in the "
            "Dataset (for images, x.float() / 255 or torchvision's ToTensor)"
        )
    return torch.float32 if x.is_floating_point() else None


def task_from_targets(y: torch.Tensor, task: str | None) -> Task:
    """The task of a batch of targets: class indices are classification; anything else needs
    `task=` (float targets are regression, binary or multilabel alike)."""
    flat = y.ndim == 1
    if task is None:
        if flat and not y.is_floating_point() and y.dtype != torch.bool:
            return Task("classification", None)
        raise DataError(
            f"the targets are {y.dtype} of shape {tuple(y.shape)} per batch, which fits several "
            "tasks; pass task='regression', 'binary' or 'multilabel' (to Datasets(task=...) "
            "or fit(task=...))"
        )
    if task == "classification" and (y.is_floating_point() or not flat):
        raise DataError(
            f"task='classification' needs one integer class index per sample, but the targets "
            f"are {y.dtype} of shape {tuple(y.shape)} per batch; return int class indices"
        )
    if task not in TASKS:
        raise TrainingError(f"task must be one of {', '.join(TASKS)}, but got task={task!r}")
    width = None if task == "classification" else (1 if flat else int(y.shape[1]))
    return Task(task, width, flat_target=flat)
