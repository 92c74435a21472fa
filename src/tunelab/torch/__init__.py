"""PyTorch training kit (optional extra `tunelab[torch]`).

from tunelab import torch as tl_torch
data = tl_torch.load_digits()
def objective(trial):
    model = tl_torch.MLP(trial.hp, data.in_features, data.num_classes)
    return tl_torch.fit(model, data, trial)

Importing this package without PyTorch raises one line naming the extra to install.
"""

# ruff: noqa: E402  (the kit's imports follow the hint, since every one of them imports torch)
from tunelab._extras import require

require("torch", extra="torch", user="tunelab.torch")

from tunelab.torch.augment import Augment, augment_from_hp
from tunelab.torch.checkpoint import load_checkpoint
from tunelab.torch.data import Data, from_arrays, load_digits, load_mnist, read_idx
from tunelab.torch.errors import TrainingError
from tunelab.torch.fit import evaluate, fit
from tunelab.torch.kept import load_best
from tunelab.torch.knobs import KNOBS, TUNE
from tunelab.torch.lr_find import LRFindResult, lr_find
from tunelab.torch.models import (
    MLP,
    SmallCNN,
    count_parameters,
    init_weights,
    parameter_table,
)
from tunelab.torch.pipelines import Datasets
from tunelab.torch.schedules import Schedule

__all__ = [
    "KNOBS",
    "MLP",
    "TUNE",
    "Augment",
    "Data",
    "Datasets",
    "LRFindResult",
    "Schedule",
    "SmallCNN",
    "TrainingError",
    "augment_from_hp",
    "count_parameters",
    "evaluate",
    "fit",
    "from_arrays",
    "init_weights",
    "load_best",
    "load_checkpoint",
    "load_digits",
    "load_mnist",
    "lr_find",
    "parameter_table",
    "read_idx",
]
