"""A small CNN tuned on images that a torch Dataset draws as they are asked for.

`Shapes` makes 1x16x16 images of four classes (a horizontal bar, a vertical bar, a hollow
square, a plus) at random places, with noise; image i is drawn from its own seeded
generator, so the data are the same in every process and nothing is downloaded or stored.
fit() builds the DataLoaders of each trial from `DATASETS` with the tuned batch size and
`num_workers` worker processes; augment="tune" adds shifts, small turns and mirrors (every
class is its own mirror image, hence flip_ok).

    tunelab run examples/synthetic_images.py --trials 20
    python examples/synthetic_images.py
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

import tunelab
from tunelab import torch as tl_torch

METRIC = "val_accuracy"
SIDE = 16
CLASSES = ("horizontal bar", "vertical bar", "square", "plus")


class Shapes(Dataset[tuple[torch.Tensor, int]]):
    """n noisy images of CLASSES, the same for the same seed."""

    def __init__(self, n: int, seed: int, noise: float = 0.3) -> None:
        self.n, self.seed, self.noise = n, seed, noise

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        if not 0 <= i < self.n:
            raise IndexError(f"image {i} of {self.n}")
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + i)
        label = int(torch.randint(len(CLASSES), (), generator=g))
        size = int(torch.randint(5, 10, (), generator=g))
        row, col = (int(v) for v in torch.randint(0, SIDE - size + 1, (2,), generator=g))
        image = torch.zeros(1, SIDE, SIDE)
        box = image[0, row : row + size, col : col + size]
        middle = size // 2
        if label == 0:
            box[middle, :] = 1.0
        elif label == 1:
            box[:, middle] = 1.0
        elif label == 2:
            box[0, :] = box[-1, :] = box[:, 0] = box[:, -1] = 1.0
        else:
            box[middle, :] = box[:, middle] = 1.0
        image += self.noise * torch.randn(image.shape, generator=g)
        return image, label


DATASETS = tl_torch.Datasets(
    train=Shapes(2000, seed=0), val=Shapes(500, seed=1), num_workers=2, flip_ok=True
)
FIT = {"epochs": 5, "augment": "tune"}


def build_model(hp: tunelab.HyperParameters) -> torch.nn.Module:
    return tl_torch.SmallCNN(hp, in_shape=(1, SIDE, SIDE), out_features=len(CLASSES))


def main(n_trials: int = 10, storage: str | None = None, **fit: object) -> tunelab.Study:
    study = tunelab.create_study(
        "synthetic-images", metric=METRIC, sampler="tpe", seed=0, storage=storage
    )
    settings = {**FIT, **fit}
    study.optimize(
        lambda trial: tl_torch.fit(build_model(trial.hp), DATASETS, trial, **settings),
        n_trials=n_trials,
    )
    print(f"best {METRIC} {study.best_value:.3f} with {study.best_params}")
    return study


if __name__ == "__main__":
    main()
