"""Where fit()'s batches come from. In-memory `Data` is the fast path: its tensors move to
the training device once per trial and are sliced there, with no DataLoader, no worker
processes and no per-batch copy. Other sources (Datasets, loaders) give the same
interface, so the training loop is one loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import torch

from tunelab.torch.data import Data

EVAL_BATCH = 2048
Batch = tuple[torch.Tensor, torch.Tensor]


class Batches(Protocol):
    """A training source as fit() sees it; every batch is already on the device."""

    @property
    def n_train(self) -> int | None:
        """Training samples per epoch, when known in advance."""
        ...

    @property
    def fixed_batch_size(self) -> int | None:
        """The batch size the source imposes (a user's DataLoader), else None."""
        ...

    @property
    def is_image(self) -> bool: ...

    @property
    def flip_ok(self) -> bool:
        """Whether a mirrored image keeps its label (for augment='tune')."""
        ...

    def steps(self, batch_size: int) -> int:
        """Batches per epoch, which places each step within the epoch for the schedule."""
        ...

    def train(self, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        """One epoch of shuffled training batches."""
        ...

    def val(self) -> Iterator[Batch]:
        """The validation set, in order, in batches."""
        ...

    def probe(self) -> torch.Tensor:
        """Two training inputs, to check the model's output shape before training."""
        ...


class InMemory:
    """Whole-tensor batching from `Data` held on the device."""

    fixed_batch_size = None

    def __init__(self, data: Data, device: torch.device) -> None:
        self.data = data
        self.x = data.x_train.to(device, non_blocking=True)
        self.y = data.y_train.to(device, non_blocking=True)
        self.x_val = data.x_val.to(device, non_blocking=True)
        self.y_val = data.y_val.to(device, non_blocking=True)
        self.device = device

    @property
    def n_train(self) -> int:
        return self.data.n_train

    @property
    def is_image(self) -> bool:
        return self.data.is_image

    @property
    def flip_ok(self) -> bool:
        return self.data.flip_ok

    def steps(self, batch_size: int) -> int:
        return len(batch_starts(self.n_train, batch_size))

    def train(self, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        n = self.n_train
        order = torch.randperm(n, generator=generator).to(self.device, non_blocking=True)
        for begin in batch_starts(n, batch_size):
            index = order[begin : batch_end(begin, n, batch_size)]
            yield self.x[index], self.y[index]

    def val(self) -> Iterator[Batch]:
        return in_order(self.x_val, self.y_val)

    def probe(self) -> torch.Tensor:
        return self.x[:2]


def in_order(x: torch.Tensor, y: torch.Tensor) -> Iterator[Batch]:
    """Tensors held whole, in evaluation batches, in order."""
    for start in range(0, len(x), EVAL_BATCH):
        yield x[start : start + EVAL_BATCH], y[start : start + EVAL_BATCH]


def batch_starts(n: int, batch_size: int) -> range:
    return range(0, n - 1 if n % batch_size == 1 and n > batch_size else n, batch_size)


def batch_end(begin: int, n: int, batch_size: int) -> int:
    """A last batch of one sample joins the batch before it: batch norm cannot train on
    a single sample (and its gradient would be the noisiest of the epoch)."""
    end = begin + batch_size
    return n if n - end == 1 else end
