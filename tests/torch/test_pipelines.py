"""fit() on torch Datasets, DataLoader pairs and iterable datasets: the same training as
in-memory Data where the order allows it, and one clear line for each bad input."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, TensorDataset

import tunelab
from tunelab import TrialState
from tunelab.errors import DataError
from tunelab.torch import Datasets, TrainingError, fit
from tunelab.torch.batches import batch_end, batch_starts
from tunelab.torch.data import Data, load_digits

FIXED = dict(optimizer="adam", learning_rate=1e-2, batch_size=32, lr_schedule="constant", epochs=3)
CURVES = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
SEED = 7


@pytest.fixture(scope="module")
def digits() -> Data:
    d = load_digits()
    # 401 training samples: the last batch of 32 holds one sample, joined to the one before
    return Data(d.x_train[:401], d.y_train[:401], d.x_val[:200], d.y_val[:200], d.num_classes)


@pytest.fixture(scope="module")
def digit_images() -> Data:
    d = load_digits(images=True)
    return Data(d.x_train[:300], d.y_train[:300], d.x_val[:100], d.y_val[:100], d.num_classes)


def tensors(data: Data) -> tuple[TensorDataset, TensorDataset]:
    return TensorDataset(data.x_train, data.y_train), TensorDataset(data.x_val, data.y_val)


def mlp() -> nn.Module:
    torch.manual_seed(0)  # dropout below draws from torch's global generator
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10))


def cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 10)
    )


def trained(data: object, model=mlp, enqueue=None, metric="val_accuracy", **settings):  # type: ignore[no-untyped-def]
    study = tunelab.create_study("p", storage=":memory:", seed=0, metric=metric)
    if enqueue:
        study.enqueue(enqueue)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(
            lambda t: fit(model(), data, t, seed=SEED, **{**FIXED, **settings}),
            n_trials=1,
            catch=(),
        )
    (trial,) = study.trials
    assert trial.state is TrialState.COMPLETE
    return trial


def assert_same_curves(a: tunelab.FrozenTrial, b: tunelab.FrozenTrial) -> None:
    for key in CURVES:
        got, want = a.intermediate(key), b.intermediate(key)
        assert got.keys() == want.keys()
        assert list(got.values()) == pytest.approx(list(want.values()), rel=1e-5, abs=1e-6), key


def test_datasets_train_as_in_memory_data_on_the_same_seed(digits):
    train, val = tensors(digits)
    in_memory, from_datasets = trained(digits), trained(Datasets(train, val))
    assert_same_curves(from_datasets, in_memory)
    assert from_datasets.params == in_memory.params
    # another seed draws another order: the equality above is not a coincidence
    other = tunelab.create_study("p", storage=":memory:", seed=0)
    other.optimize(lambda t: fit(mlp(), Datasets(train, val), t, seed=8, **FIXED), n_trials=1)
    assert other.trials[0].intermediate("train_loss") != in_memory.intermediate("train_loss")


def test_datasets_convert_float64_inputs_and_small_int_targets(digits):
    train = TensorDataset(digits.x_train.double(), digits.y_train.int())
    val = TensorDataset(digits.x_val.double(), digits.y_val.int())
    assert_same_curves(trained(Datasets(train, val)), trained(digits))


class InMemoryOrder(Sampler[list[int]]):
    """A user's batch sampler that happens to draw the in-memory path's order."""

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.n, self.batch_size = n, batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(batch_starts(self.n, self.batch_size))

    def __iter__(self) -> Iterator[list[int]]:
        n, size = self.n, self.batch_size
        order = torch.randperm(n, generator=self.generator).tolist()
        return iter([order[b : batch_end(b, n, size)] for b in batch_starts(n, size)])


def test_a_loader_pair_trains_as_in_memory_data_with_its_batch_size_fixed(digits):
    train, val = tensors(digits)
    order = InMemoryOrder(len(train), 32, SEED)
    # a generator each, or every epoch's loaders draw from torch's global one, and dropout
    # (which draws from it too) would mask other units
    pair = (
        DataLoader(train, batch_sampler=order, generator=torch.Generator()),
        DataLoader(val, batch_size=100, generator=torch.Generator()),
    )
    settings = {k: v for k, v in FIXED.items() if k != "batch_size"}
    study = tunelab.create_study("p", storage=":memory:", seed=0)
    with pytest.warns(UserWarning, match="batch_size is not tuned: the DataLoaders fix it to 32"):
        study.optimize(lambda t: fit(mlp(), pair, t, seed=SEED, **settings), n_trials=1, catch=())
    (trial,) = study.trials
    assert trial.params["batch_size"] == 32
    assert_same_curves(trial, trained(digits))


def test_a_loader_pair_refuses_to_tune_the_batch_size(digits):
    train, val = tensors(digits)
    pair = (DataLoader(train, batch_size=32, shuffle=True), DataLoader(val, batch_size=64))
    for asked in ("tune", [32, 64]):
        with pytest.raises(TrainingError, match="asks to tune the batch size, but the DataLoaders"):
            trained(pair, batch_size=asked)
    with pytest.raises(TrainingError, match="makes batches of 32"):
        trained(pair, batch_size=64)


class Stream(IterableDataset):  # type: ignore[type-arg]
    """n samples of the digits, in order, counting what it gives."""

    def __init__(self, data: Data, n: int) -> None:
        self.x, self.y, self.n = data.x_train, data.y_train, n
        self.given = 0

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for i in range(self.n):
            self.given += 1
            yield self.x[i], self.y[i]


def test_an_iterable_dataset_trains_steps_per_epoch_batches_an_epoch(digits):
    stream = Stream(digits, 401)
    val = tensors(digits)[1]
    trial = trained(Datasets(stream, val, steps_per_epoch=5), batch_size=50)
    assert sorted(trial.intermediate("val_accuracy")) == [0, 1, 2]
    # 2 samples probe the model; epochs 1 and 2 take 8 batches of 50, then the batch of the
    # 401st sample alone is left out and the stream starts over for 2 batches; epoch 3 takes 5
    assert stream.given == 2 + 401 + 2 * 50 + 5 * 50


def test_an_iterable_dataset_needs_steps_per_epoch(digits):
    with pytest.raises(DataError, match=r"IterableDataset \(Stream\).*steps_per_epoch=N"):
        Datasets(Stream(digits, 10), tensors(digits)[1])


def test_augment_tune_works_on_image_datasets(digit_images):
    train, val = tensors(digit_images)
    on = {"augment": True, "aug_shift": 0.1, "aug_rotation": 10.0}
    trial = trained(Datasets(train, val), cnn, enqueue=on, augment="tune")
    assert trial.params["augment"] is True and trial.params["aug_shift"] == 0.1
    # augmentation draws from fit's generator after each epoch's order, as in memory
    assert_same_curves(trial, trained(digit_images, cnn, enqueue=on, augment="tune"))


def test_regression_datasets_need_the_task_and_then_train(digits):
    x = digits.x_train
    y = x[:, :8].sum(1) / 8
    ds = TensorDataset(x, y)
    with pytest.raises(DataError, match=r"targets are torch\.float32 .* pass task='regression'"):
        trained(Datasets(ds, ds), metric="val_r2")
    model = lambda: nn.Linear(64, 1)  # noqa: E731
    trial = trained(Datasets(ds, ds, task="regression"), model, metric="val_r2", epochs=10)
    assert trial.intermediate("val_rmse")[9] < 0.5 * trial.intermediate("val_rmse")[0]
    trial = trained(Datasets(ds, ds), model, metric="val_r2", task="regression")
    assert len(trial.intermediate("val_r2")) == 3


@pytest.mark.slow
def test_worker_processes_give_the_same_curves(digits):
    train, val = tensors(digits)
    alone = trained(Datasets(train, val))
    assert_same_curves(trained(Datasets(train, val, num_workers=2)), alone)
    assert_same_curves(
        trained(Datasets(train, val, num_workers=2, persistent_workers=False)), alone
    )


# -- bad input ---------------------------------------------------------------------------
class Unsized(Dataset):  # type: ignore[type-arg]
    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return torch.zeros(64), 0


class Sized(Dataset):  # type: ignore[type-arg]
    def __init__(self, n: int, sample) -> None:  # type: ignore[no-untyped-def]
        self.n, self.sample = n, sample

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):  # type: ignore[no-untyped-def]
        if i >= self.n:
            raise IndexError(i)
        return self.sample


GOOD = (torch.zeros(64), 1)
BAD_DATASETS = [
    (
        lambda: Datasets(Unsized(), Sized(4, GOOD)),
        "needs len() of Unsized, but it raised TypeError",
    ),
    (
        lambda: Datasets(Sized(0, GOOD), Sized(4, GOOD)),
        "has len() 0; a train set needs at least one",
    ),
    (lambda: Datasets(Sized(4, GOOD), Sized(0, GOOD)), "has len() 0; a val set needs at least one"),
    (
        lambda: Datasets(Sized(4, {"x": 1}), Sized(4, GOOD)),
        "is a dict with keys ['x'], but fit() needs (inputs, targets) pairs",
    ),
    (
        lambda: Datasets(Sized(4, (torch.zeros(3),)), Sized(4, GOOD)),
        "of 1, but fit() needs (inputs, targets)",
    ),
    (
        lambda: Datasets(Sized(4, ("a", 1)), Sized(4, GOOD)),
        "is a pair of (tuple, Tensor), but fit() needs tensors",
    ),
    (
        lambda: Datasets(Sized(4, (torch.zeros(8, 8, dtype=torch.uint8), 1)), Sized(4, GOOD)),
        "inputs are torch.uint8, but models train on float32",
    ),
    (lambda: Datasets([GOOD], Sized(4, GOOD)), "takes a torch.utils.data.Dataset, but got a list"),
    (
        lambda: Datasets(DataLoader(Sized(4, GOOD)), Sized(4, GOOD)),
        "a DataLoader goes in a (train_loader, val_loader) pair",
    ),
    (
        lambda: Datasets(Sized(4, GOOD), Sized(4, GOOD), num_workers=-1),
        "num_workers must be an int >= 0",
    ),
    (lambda: Datasets(Sized(4, GOOD), Sized(4, GOOD), task="ranking"), "task must be one of"),
]


@pytest.mark.parametrize(("make", "message"), BAD_DATASETS, ids=[m for _, m in BAD_DATASETS])
def test_bad_datasets_are_refused_in_one_line(make, message):
    with pytest.raises(DataError) as info:
        make()
    assert message in str(info.value) and "\n" not in str(info.value)


def test_fit_names_what_it_got_and_what_it_accepts(digits):
    train, val = tensors(digits)
    cases = [
        ("digits", "but got a str"),
        (DataLoader(train), "but got a DataLoader; pass the validation loader too"),
        (train, "wrap Datasets as tunelab.torch.Datasets(train=..., val=...)"),
        ((train, val), "wrap Datasets as tunelab.torch.Datasets"),
        ((digits.x_train, digits.y_train), "build in-memory data with tunelab.torch.from_arrays"),
    ]
    for data, message in cases:
        study = tunelab.create_study("bad", storage=":memory:", seed=0)
        with pytest.raises(TrainingError) as info:
            study.optimize(lambda t: fit(mlp(), data, t, **FIXED), n_trials=3)  # noqa: B023
        text = str(info.value)
        assert "fit() takes a tunelab.torch.Data (from_arrays), a tunelab.torch.Datasets" in text
        assert message in text and "\n" not in text
        assert len(study.trials) == 1 and study.trials[0].reports == ()


def test_a_loader_whose_batches_are_not_pairs_is_refused_before_training(digits):
    train, val = tensors(digits)
    as_dicts = lambda batch: {"x": torch.stack([x for x, _ in batch])}  # noqa: E731
    pair = (DataLoader(train, batch_size=32), DataLoader(val, batch_size=32, collate_fn=as_dicts))
    study = tunelab.create_study("bad", storage=":memory:", seed=0)
    with pytest.raises(
        DataError, match=r"first batch is a dict with keys \['x'\], but fit\(\) needs"
    ):
        study.optimize(lambda t: fit(mlp(), pair, t, **FIXED), n_trials=1)
    assert study.trials[0].reports == ()


def test_an_unsized_loader_points_to_steps_per_epoch(digits):
    stream = DataLoader(Stream(digits, 100), batch_size=32)
    with pytest.raises(TrainingError, match=r"has no len\(\).*steps_per_epoch=N"):
        trained((stream, DataLoader(tensors(digits)[1])))
