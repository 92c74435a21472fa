"""Training data that is not two in-memory tensors: torch Datasets and DataLoaders.

Besides in-memory `Data` (the fast whole-tensor path, still the default), fit() accepts
- `Datasets(train=..., val=...)`: two torch Datasets; each trial builds its DataLoaders with
  its own batch size, shuffled by the trial's seed, so a trial is reproducible;
- `(train_loader, val_loader)`: the user's DataLoaders, whose batch size is then fixed;
- iterable datasets (`torch.utils.data.IterableDataset`) in `Datasets`, with
  `steps_per_epoch`: an epoch is that many batches of the stream.

The training order of a map-style `Datasets` is the in-memory path's (one `randperm` a
epoch from fit's generator, a last batch of one sample joined to the batch before it),
drawn in the main process even with worker processes: a deterministic Dataset gives the
curves `Data` gives on the same seed, whatever `num_workers`. Randomness inside a
Dataset's `__getitem__` runs in the workers, seeded from the trial's seed. A user's
DataLoader made without `generator=` draws from torch's global generator each epoch, which
shifts the random numbers of dropout.

Inputs of another float dtype (float64 from NumPy, float16) become float32 on the device,
as `from_arrays` converts them; uint8 or bool inputs are refused (scaling them is the
Dataset's choice); integer inputs (token ids) pass as they are.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, default_collate

from tunelab.errors import DataError
from tunelab.space import Param
from tunelab.torch.batches import Batch, batch_end, batch_starts
from tunelab.torch.errors import TrainingError
from tunelab.torch.knobs import TUNE
from tunelab.torch.samples import (
    as_pair,
    check_dataset,
    describe,
    input_dtype,
    is_int,
    task_from_targets,
)
from tunelab.torch.tasks import TASKS, Task

ACCEPTED = (
    "a tunelab.torch.Data (from_arrays), a tunelab.torch.Datasets(train=..., val=...) "
    "or a (train_loader, val_loader) pair of torch DataLoaders"
)
SEED_MIX = 0x9E3779B97F4A7C15  # the loaders' own generator: apart from fit's, never equal


@dataclass(frozen=True, eq=False)
class Datasets:
    """Two torch Datasets for fit(), which builds DataLoaders from them in each trial.

    `pin_memory` None pins on CUDA; `persistent_workers` None keeps worker processes for
    the whole trial when there are any; `steps_per_epoch` is required for an
    IterableDataset (an epoch is that many batches of its stream, which starts over when it
    ends; with workers, each worker iterates its own copy unless the dataset shards itself
    by `torch.utils.data.get_worker_info()`) and optional otherwise; `flip_ok` says a
    mirrored image keeps its label (augment='tune'); `task` as in fit()."""

    train: Dataset[Any]
    val: Dataset[Any]
    num_workers: int = 0
    pin_memory: bool | None = None
    task: str | None = None
    persistent_workers: bool | None = None
    collate_fn: Callable[[list[Any]], Any] | None = None
    steps_per_epoch: int | None = None
    flip_ok: bool = False

    def __post_init__(self) -> None:
        for split in ("train", "val"):
            check_dataset(getattr(self, split), split)
        if isinstance(self.train, IterableDataset) and self.steps_per_epoch is None:
            raise DataError(
                f"train is an IterableDataset ({type(self.train).__name__}), which has no "
                "epochs of its own; pass Datasets(..., steps_per_epoch=N) to make an epoch "
                "N batches"
            )
        for name in ("num_workers", "steps_per_epoch"):
            value, least = getattr(self, name), 0 if name == "num_workers" else 1
            if value is not None and (not is_int(value) or value < least):
                raise DataError(f"{name} must be an int >= {least}, but got {name}={value!r}")
        if self.task is not None and self.task not in TASKS:
            raise DataError(f"task must be one of {', '.join(TASKS)}, but got task={self.task!r}")
        if not isinstance(self.train, IterableDataset):  # said before any trial
            input_dtype(_first_samples(self)[0])


class LoaderBatches(ABC):
    """Batches from DataLoaders, moved to the device as they come (see `Batches`)."""

    def __init__(
        self,
        device: torch.device,
        probe: Batch,
        *,
        n_train: int | None,
        fixed_batch_size: int | None = None,
        flip_ok: bool = False,
        steps_per_epoch: int | None = None,
        non_blocking: bool = False,
    ) -> None:
        self.device = device
        self.probe_x, self.probe_y = probe
        self.n_train, self.fixed_batch_size, self.flip_ok = n_train, fixed_batch_size, flip_ok
        self.steps_per_epoch = steps_per_epoch
        self.non_blocking = non_blocking
        self.x_dtype = input_dtype(self.probe_x)
        self.y_dtype: torch.dtype | None = None  # set by `for_task`
        self.stream: Iterator[Any] | None = None  # batches across epochs (steps_per_epoch)

    @property
    def is_image(self) -> bool:
        return self.probe_x.ndim == 4

    def for_task(self, task: str | None) -> Task:
        """The task of these targets; they are converted to what its loss takes."""
        kind = task_from_targets(self.probe_y, task)
        self.y_dtype = torch.int64 if kind.name == "classification" else torch.float32
        return kind

    def probe(self) -> torch.Tensor:
        return self._move((self.probe_x[:2], self.probe_y[:2]))[0]

    def steps(self, batch_size: int) -> int:
        if self.steps_per_epoch is not None:
            return self.steps_per_epoch
        if self.n_train is not None and self.fixed_batch_size is None:
            return len(batch_starts(self.n_train, batch_size))  # EpochOrder's count
        return len(self.train_loader(batch_size, None))

    def train(self, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        loader = self.train_loader(batch_size, generator)
        if self.steps_per_epoch is None:
            for batch in loader:
                yield self._move(as_pair(batch, "a training batch"))
            return
        for _ in range(self.steps_per_epoch):
            yield self._move(self._next(loader, batch_size))

    def _next(self, loader: DataLoader[Any], batch_size: int) -> Batch:
        """The stream's next batch, starting it over when it ends (a batch of one sample,
        which batch norm cannot train on, is left out)."""
        for fresh in (False, True):
            if self.stream is None or fresh:
                self.stream = iter(loader)
            for batch in self.stream:
                x, y = as_pair(batch, "a training batch")
                if len(y) > 1 or batch_size == 1:
                    return x, y
        raise DataError("the training data gave no batch of more than one sample")

    def val(self) -> Iterator[Batch]:
        for batch in self.val_loader():
            yield self._move(as_pair(batch, "a validation batch"))

    @abstractmethod
    def train_loader(
        self, batch_size: int, generator: torch.Generator | None
    ) -> DataLoader[Any]: ...

    @abstractmethod
    def val_loader(self) -> DataLoader[Any]: ...

    def _move(self, batch: Batch) -> Batch:
        x, y = batch
        nb = self.non_blocking
        return x.to(self.device, self.x_dtype, non_blocking=nb), y.to(
            self.device, self.y_dtype, non_blocking=nb
        )


class DatasetBatches(LoaderBatches):
    """DataLoaders built from `Datasets` with the trial's batch size."""

    def __init__(self, data: Datasets, device: torch.device) -> None:
        iterable = isinstance(data.train, IterableDataset)
        pin = device.type == "cuda" if data.pin_memory is None else data.pin_memory
        self.data, self.pin = data, pin
        super().__init__(
            device,
            _first_samples(data),
            n_train=None if iterable else len(data.train),  # type: ignore[arg-type]
            flip_ok=data.flip_ok,
            steps_per_epoch=data.steps_per_epoch,
            non_blocking=pin and device.type == "cuda",
        )
        self.loaders: dict[str, DataLoader[Any]] = {}
        self.batch_size = 0

    def train_loader(self, batch_size: int, generator: torch.Generator | None) -> DataLoader[Any]:
        self.batch_size = batch_size
        loader = self.loaders.get("train")
        if loader is None:
            assert generator is not None  # steps() counts without a loader
            own = torch.Generator().manual_seed((generator.initial_seed() * SEED_MIX + 1) % 2**63)
            loader = self.loaders["train"] = self._loader(
                self.data.train, batch_size, own, generator
            )
        return loader

    def val_loader(self) -> DataLoader[Any]:
        if "val" not in self.loaders:  # the trial's batch size: it fits in memory
            own = torch.Generator().manual_seed(0)
            self.loaders["val"] = self._loader(self.data.val, self.batch_size or 256, own)
        return self.loaders["val"]

    def _loader(
        self,
        dataset: Dataset[Any],
        batch_size: int,
        own: torch.Generator,
        order: torch.Generator | None = None,
    ) -> DataLoader[Any]:
        data = self.data
        workers = data.num_workers
        keep = (workers > 0) if data.persistent_workers is None else data.persistent_workers
        common: dict[str, Any] = dict(
            num_workers=workers,
            pin_memory=self.pin,
            persistent_workers=keep and workers > 0,
            collate_fn=data.collate_fn or default_collate,
            generator=own,  # workers' seeds, and nothing drawn from torch's global generator
        )
        if isinstance(dataset, IterableDataset) or order is None:
            return DataLoader(dataset, batch_size=batch_size, **common)
        n = len(dataset)  # type: ignore[arg-type]
        return DataLoader(dataset, batch_sampler=EpochOrder(n, batch_size, order), **common)


class EpochOrder(Sampler[list[int]]):
    """The in-memory path's batches of indices: one permutation an epoch, drawn from fit's
    generator when the epoch starts, and a last batch of one sample joined to the one before."""

    def __init__(self, n: int, batch_size: int, generator: torch.Generator) -> None:
        self.n, self.batch_size, self.generator = n, batch_size, generator

    def __len__(self) -> int:
        return len(batch_starts(self.n, self.batch_size))

    def __iter__(self) -> Iterator[list[int]]:
        # drawn at the first batch, not at iter(): a loader with workers calls iter() twice
        # when it starts, and only the iterator it keeps may draw
        n, size = self.n, self.batch_size
        order = torch.randperm(n, generator=self.generator).tolist()
        for begin in batch_starts(n, size):
            yield order[begin : batch_end(begin, n, size)]


def _first_samples(data: Datasets) -> Batch:
    """The first two training samples as a batch: the probe of the model's outputs and the
    targets the task is read from."""
    train = data.train
    if isinstance(train, IterableDataset):
        samples = [s for _, s in zip(range(2), iter(train), strict=False)]
        if not samples:
            raise DataError(f"train ({type(train).__name__}) yields no samples")
    else:
        samples = [train[i] for i in range(min(2, len(train)))]  # type: ignore[arg-type]
    return as_pair((data.collate_fn or default_collate)(samples), "train[0:2], collated,")


class PairBatches(LoaderBatches):
    """The user's own (train_loader, val_loader): their batch size is fixed."""

    def __init__(self, train: DataLoader[Any], val: DataLoader[Any], device: torch.device):
        for split, loader in (("train", train), ("val", val)):
            try:
                len(loader)
            except TypeError:
                raise TrainingError(
                    f"the {split} DataLoader has no len() (its dataset is an IterableDataset); "
                    "pass tunelab.torch.Datasets(train=..., val=..., steps_per_epoch=N) instead"
                ) from None
        self.given = (train, val)
        probe = as_pair(next(iter(val)), "the validation DataLoader's first batch")
        sized = not isinstance(train.dataset, IterableDataset)
        super().__init__(
            device,
            probe,
            n_train=len(train.dataset) if sized else None,  # type: ignore[arg-type]
            fixed_batch_size=_loader_batch_size(train),
            non_blocking=train.pin_memory and device.type == "cuda",
        )

    def train_loader(self, batch_size: int, generator: torch.Generator | None) -> DataLoader[Any]:
        return self.given[0]

    def val_loader(self) -> DataLoader[Any]:
        return self.given[1]


def _loader_batch_size(loader: DataLoader[Any]) -> int:
    """The batch size the loader makes, read without loading data where it can be."""
    size = loader.batch_size or getattr(loader.batch_sampler, "batch_size", None)
    if is_int(size):
        return int(size)  # type: ignore[arg-type]
    if loader.batch_sampler is not None:
        return len(next(iter(loader.batch_sampler)))
    return len(as_pair(next(iter(loader)), "the training DataLoader's first batch")[1])


def batches_for(data: object, device: torch.device, task: str | None) -> tuple[LoaderBatches, Task]:
    """The source of fit's batches for anything but `Data`, with its task; or one line that
    names what was passed and what fit() accepts."""
    if isinstance(data, Datasets):
        if task is not None and data.task is not None and task != data.task:
            raise TrainingError(
                f"fit(task={task!r}) but Datasets(task={data.task!r}); give the task once"
            )
        source: LoaderBatches = DatasetBatches(data, device)
        return source, source.for_task(task or data.task)
    if (
        isinstance(data, (tuple, list))
        and len(data) == 2
        and all(isinstance(part, DataLoader) for part in data)
    ):
        source = PairBatches(data[0], data[1], device)
        return source, source.for_task(task)
    hint = ""
    if isinstance(data, DataLoader):
        hint = "; pass the validation loader too: fit(model, (train_loader, val_loader), trial)"
    elif isinstance(data, Dataset) or (
        isinstance(data, (tuple, list)) and any(isinstance(part, Dataset) for part in data)
    ):
        hint = "; wrap Datasets as tunelab.torch.Datasets(train=..., val=...)"
    elif isinstance(data, (tuple, list)):
        hint = "; build in-memory data with tunelab.torch.from_arrays(x, y)"
    raise TrainingError(f"fit() takes {ACCEPTED}, but got {describe(data)}{hint}")


def fixed_batch_size(overrides: Mapping[str, Any], size: int) -> dict[str, Any]:
    """The knobs with batch_size fixed to the user's loaders' (said once), or one line when
    the user asked to tune it."""
    asked = overrides.get("batch_size")
    if asked is None:
        warnings.warn(
            f"batch_size is not tuned: the DataLoaders fix it to {size}; pass "
            "tunelab.torch.Datasets(train=..., val=...) to tune it",
            UserWarning,
            stacklevel=3,
        )
        return {**overrides, "batch_size": size}
    if (isinstance(asked, str) and asked == TUNE) or isinstance(asked, (list, tuple, Param)):
        raise TrainingError(
            f"batch_size={asked!r} asks to tune the batch size, but the DataLoaders fix it to "
            f"{size}; pass tunelab.torch.Datasets(train=..., val=...) to tune it, or drop "
            "batch_size"
        )
    if asked != size:
        raise TrainingError(
            f"batch_size={asked!r} but the training DataLoader makes batches of {size}; drop "
            "batch_size or build the loader with it"
        )
    return dict(overrides)
