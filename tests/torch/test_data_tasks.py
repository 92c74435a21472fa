"""from_arrays and Data for every task: how targets are stored, what num_classes and
n_outputs mean, how each task splits, and which task targets given without one are."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes

from tunelab.errors import DataError
from tunelab.torch.data import Data, from_arrays

RNG = np.random.default_rng(0)
X = RNG.normal(size=(50, 3)).astype(np.float32)


@pytest.mark.parametrize(
    ("y", "task", "num_classes"),
    [
        (np.arange(50) % 3, "classification", 3),
        (np.arange(50) % 2, "classification", 2),  # two classes stay classification
        (np.arange(50) % 2 == 1, "classification", 2),  # booleans too
        ((np.arange(50) % 4).astype(np.float64), "classification", 4),  # exactly 0..k-1
        (RNG.normal(size=50), "regression", 1),
        (RNG.normal(size=(50, 1)), "regression", 1),  # a column, as StandardScaler gives
        (RNG.normal(size=(50, 2)), "regression", 2),
        (RNG.integers(0, 2, size=(50, 4)), "multilabel", 4),
        (RNG.integers(0, 2, size=(50, 3)).astype(np.float32), "multilabel", 3),
    ],
)
def test_the_task_is_inferred_when_the_targets_leave_no_doubt(
    y: np.ndarray, task: str, num_classes: int
) -> None:
    data = from_arrays(X, y)
    assert (data.task, data.num_classes) == (task, num_classes)
    assert data.y_train.dtype == (torch.int64 if task == "classification" else torch.float32)


def test_diabetes_targets_ask_for_task_regression_and_train_with_it() -> None:
    x, y = load_diabetes(return_X_y=True)
    with pytest.raises(DataError) as info:
        from_arrays(x, y)
    message = str(info.value)
    assert "these look like regression targets; pass task='regression'" in message
    assert "214 distinct whole values from 25 to 346" in message and "\n" not in message
    data = from_arrays(x, y, task="regression")
    assert (data.task, data.num_classes, data.n_outputs) == ("regression", 1, 1)
    assert data.y_train.dtype == torch.float32 and data.y_train.shape == (data.n_train,)
    both = torch.cat([data.y_train, data.y_val]).sort().values
    assert torch.equal(both, torch.from_numpy(np.sort(y)).float())  # nothing rounded or lost


@pytest.mark.parametrize(
    "y", [np.arange(50) % 2, (np.arange(50) % 2).astype(float), np.arange(50) % 2 == 0]
)
def test_binary_is_asked_for_and_stored_as_float_zero_one(y: np.ndarray) -> None:
    data = from_arrays(X, y, task="binary")
    assert (data.task, data.num_classes, data.n_outputs) == ("binary", 2, 1)
    assert data.y_train.dtype == torch.float32 and data.y_train.ndim == 1
    assert set(data.y_train.tolist()) == {0.0, 1.0}
    assert data.y_val.sum() == 5  # stratified: 5 of the 10 held out are positive


def test_n_outputs_is_the_last_layers_width_for_every_task() -> None:
    assert from_arrays(X, np.arange(50) % 3).n_outputs == 3
    assert from_arrays(X, RNG.integers(0, 2, size=(50, 4)), task="multilabel").n_outputs == 4
    assert from_arrays(X, RNG.normal(size=(50, 2))).n_outputs == 2


def test_regression_and_multilabel_split_at_random_with_the_seed() -> None:
    x = np.arange(100, dtype=np.float32)[:, None]  # each sample's x is its index
    y = np.linspace(0, 1, 100) ** 2  # sorted targets: a split by order would show
    data = from_arrays(x, y, val_fraction=0.25, seed=1)
    assert data.n_val == 25
    ids = data.x_val[:, 0].long().numpy()
    assert np.allclose(data.y_val.numpy(), y[ids])  # targets travel with their samples
    assert ids.min() < 25 and ids.max() >= 75  # drawn from the whole range
    again = from_arrays(x, y, val_fraction=0.25, seed=1)
    assert torch.equal(again.x_val, data.x_val)
    assert not torch.equal(from_arrays(x, y, val_fraction=0.25, seed=2).x_val, data.x_val)
    labels = from_arrays(x, np.stack([y > 0.5, y > 0.2], 1), val_fraction=0.25, seed=1)
    assert torch.equal(labels.x_val, data.x_val)  # one random split, whatever the targets


def test_given_validation_targets_follow_the_training_task() -> None:
    data = from_arrays(X, X[:, 0], x_val=X[:5], y_val=np.arange(5).astype(np.float64))
    assert data.task == "regression" and data.y_val.dtype == torch.float32
    with pytest.raises(DataError, match="binary targets must be 0 or 1, but y_val holds"):
        from_arrays(X, np.arange(50) % 2, task="binary", x_val=X[:3], y_val=[0, 1, 2])
    with pytest.raises(DataError, match=r"as many columns, but got shapes \(50, 2\) and \(3, 3\)"):
        from_arrays(X, X[:, :2], x_val=X[:3], y_val=X[:3])


def test_num_classes_with_whole_floats_keeps_them_as_classes() -> None:
    x, y = load_diabetes(return_X_y=True)
    assert from_arrays(x, y, num_classes=347).task == "classification"  # asked for


def make(task: str, y_train: torch.Tensor, y_val: torch.Tensor, num_classes: int) -> Data:
    def rows(y: torch.Tensor) -> int:
        return y.shape[0] if y.ndim else 4

    return Data(torch.zeros(rows(y_train), 2), y_train, torch.zeros(rows(y_val), 2), y_val,
                num_classes=num_classes, task=task)  # fmt: skip


@pytest.mark.parametrize(
    ("task", "y", "num_classes", "fragment"),
    [
        ("regresion", torch.zeros(4), 1, "unknown task='regresion'; choose from classification"),
        ("regression", torch.zeros(4, dtype=torch.float64), 1, "must be float32, but got"),
        ("regression", torch.tensor([0.0, float("nan"), 1.0, 2.0]), 1, "1 NaN/inf value(s)"),
        ("regression", torch.zeros(4, 2), 1, "number of targets, 2 here, but got num_classes=1"),
        ("binary", torch.tensor([0.0, 1.0, 2.0, 1.0]), 2, "y_train holds [2.0]"),
        ("binary", torch.tensor([0.0, 1.0, 0.0, 1.0]), 1, "2 (yes and no), 2 here"),
        ("multilabel", torch.zeros(4, 3), 2, "the number of labels, 3 here"),
        ("multilabel", torch.full((4, 3), 0.5), 3, "must be 0 or 1, but y_train holds [0.5]"),
        ("classification", torch.zeros(4), 2, "must hold int64 class indices"),
        ("regression", torch.tensor(1.0), 1, "y_train must be (N,) or (N, k), but got a scalar"),
    ],
)  # fmt: skip
def test_data_built_by_hand_is_checked_for_its_task(
    task: str, y: torch.Tensor, num_classes: int, fragment: str
) -> None:
    with pytest.raises(DataError) as info:
        make(task, y, y, num_classes)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_data_built_by_hand_for_each_task() -> None:
    reg = make("regression", torch.zeros(4, 2), torch.zeros(2, 2), 2)
    assert reg.n_outputs == 2 and "task='regression'" in repr(reg)
    assert make("binary", torch.tensor([0.0, 1.0]), torch.tensor([1.0]), 2).n_outputs == 1
    assert make("multilabel", torch.ones(3, 4), torch.zeros(1, 4), 4).n_outputs == 4
