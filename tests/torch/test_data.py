"""Data, from_arrays, the IDX reader and the loaders, on real tensors and real files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from tunelab.errors import DataError, TunelabError
from tunelab.torch.data import Data, from_arrays, load_digits, load_mnist, read_idx


def make_data(**changes: object) -> Data:
    fields: dict[str, object] = {
        "x_train": torch.zeros(6, 4),
        "y_train": torch.tensor([0, 1, 2, 0, 1, 2]),
        "x_val": torch.zeros(3, 4),
        "y_val": torch.tensor([0, 1, 2]),
        "num_classes": 3,
    }
    fields.update(changes)
    return Data(**fields)  # type: ignore[arg-type]


def write_idx(path: Path, arr: np.ndarray, code: int, *, compress: bool = False) -> Path:
    """An IDX file written by hand from the format's definition (not by the code under test)."""
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload = header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


# -- Data --------------------------------------------------------------------------------
def test_data_properties_for_features_and_images() -> None:
    flat = make_data()
    assert (flat.is_image, flat.in_features, flat.in_shape) == (False, 4, (4,))
    assert (flat.n_train, flat.n_val) == (6, 3)
    images = make_data(x_train=torch.zeros(6, 3, 5, 7), x_val=torch.zeros(3, 3, 5, 7))
    assert (images.is_image, images.in_features, images.in_shape) == (True, 105, (3, 5, 7))
    assert "n_train=6" in repr(images)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"num_classes": 1}, ["num_classes must be >= 2", "num_classes=1"]),
        ({"x_train": torch.zeros(0, 4), "y_train": torch.zeros(0, dtype=torch.long)},
         ["training split is empty"]),
        ({"x_val": torch.zeros(0, 4), "y_val": torch.zeros(0, dtype=torch.long)},
         ["validation split is empty", "x_val/y_val"]),
        ({"y_train": torch.tensor([0, 1, 2, 0, 1])}, ["same length", "6 samples", "5 labels"]),
        ({"x_val": torch.zeros(3, 5)}, ["same shape", "(4,)", "(5,)"]),
        ({"x_train": torch.zeros(6, 4, 4)}, ["unsqueeze(1)"]),
        ({"x_train": torch.zeros(6, 4, dtype=torch.float64)}, ["float32", "float64"]),
        ({"y_val": torch.tensor([0.0, 1.5, 2.0])}, ["int64", "1.5"]),
        ({"y_train": torch.tensor([0, 1, 2, 3, -1, 3])},
         ["[0, num_classes=3)", "y_train", "3 label(s)", "[-1, 3]"]),
        ({"y_val": torch.tensor([0, 1, 7])}, ["y_val", "[7]"]),
    ],
)  # fmt: skip
def test_data_rejects_malformed_input_and_says_why(
    changes: dict[str, object], expected: list[str]
) -> None:
    with pytest.raises(DataError) as info:
        make_data(**changes)
    for part in expected:
        assert part in str(info.value)


def test_non_finite_features_are_counted_per_split() -> None:
    x_val = torch.zeros(3, 4)
    x_val[0, 1] = float("nan")
    x_val[0, 2] = float("inf")
    x_val[2, 0] = float("-inf")
    with pytest.raises(DataError, match=r"x_val .* 3 NaN/inf value\(s\) in 2 of 3 validation"):
        make_data(x_val=x_val)
    x_train = torch.zeros(6, 4)
    x_train[5, 3] = float("nan")
    with pytest.raises(DataError, match=r"x_train .* 1 NaN/inf value\(s\) in 1 of 6 training"):
        make_data(x_train=x_train)


def test_data_error_is_a_value_error_and_a_tunelab_error() -> None:
    with pytest.raises(ValueError):
        make_data(num_classes=0)
    assert issubclass(DataError, TunelabError)


# -- from_arrays -------------------------------------------------------------------------
def test_from_arrays_converts_dtypes_and_infers_num_classes() -> None:
    x = np.arange(40, dtype=np.float64).reshape(10, 4)
    y = np.array([0, 1, 2, 3, 4] * 2, dtype=np.int32)
    data = from_arrays(x, y, x_val=x[:5], y_val=y[:5].astype(np.float32), name="toy")
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    assert data.y_val.dtype == torch.int64
    assert data.num_classes == 5 and data.name == "toy" and not data.flip_ok
    assert torch.equal(data.x_train, torch.from_numpy(x).float())  # given splits kept as is


def test_stratified_split_keeps_class_proportions_exactly_and_is_seeded() -> None:
    y = np.repeat([0, 1, 2], [500, 300, 200])
    x = np.arange(1000, dtype=np.float32)[:, None]  # each sample's x is its index
    data = from_arrays(x, y, val_fraction=0.2, seed=3)
    assert np.bincount(data.y_val.numpy()).tolist() == [100, 60, 40]
    assert np.bincount(data.y_train.numpy()).tolist() == [400, 240, 160]
    ids_train = data.x_train[:, 0].long().numpy()
    ids_val = data.x_val[:, 0].long().numpy()
    assert sorted(np.concatenate([ids_train, ids_val]).tolist()) == list(range(1000))
    assert np.array_equal(y[ids_val], data.y_val.numpy())  # labels travel with their samples

    again = from_arrays(x, y, val_fraction=0.2, seed=3)
    assert torch.equal(again.x_val, data.x_val) and torch.equal(again.x_train, data.x_train)
    other = from_arrays(x, y, val_fraction=0.2, seed=4)
    assert not torch.equal(other.x_val, data.x_val)
    assert np.bincount(other.y_val.numpy()).tolist() == [100, 60, 40]


def test_stratified_split_rounds_fairly_and_keeps_rare_classes_in_training() -> None:
    y = np.array([0] * 9 + [1] * 1 + [2] * 5)
    data = from_arrays(np.zeros((15, 2)), y, val_fraction=0.4, seed=0)
    assert data.n_val == 6  # round(0.4 * 15)
    assert 1 in data.y_train.tolist()  # the single sample of class 1 stays in training
    assert data.num_classes == 3


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2, 1.5])
def test_val_fraction_outside_open_unit_interval_is_rejected(fraction: float) -> None:
    with pytest.raises(DataError, match=r"val_fraction must lie in \(0, 1\)"):
        from_arrays(np.zeros((10, 2)), np.arange(10) % 2, val_fraction=fraction)


def test_from_arrays_rejects_bad_labels_and_half_given_validation() -> None:
    halves = np.array([0.0, 0.5, 1.0, 2.25])  # regression when inferred; classes asked for
    with pytest.raises(DataError, match=r"non-integer values \[0\.5, 2\.25\]"):
        from_arrays(np.zeros((4, 2)), halves, task="classification")
    with pytest.raises(DataError, match="LabelEncoder"):
        from_arrays(np.zeros((4, 2)), np.array(["a", "b", "a", "b"]))
    with pytest.raises(DataError, match="x_val and y_val go together"):
        from_arrays(np.zeros((4, 2)), np.array([0, 1, 0, 1]), x_val=np.zeros((2, 2)))
    with pytest.raises(DataError, match="same length"):
        from_arrays(np.zeros((4, 2)), np.array([0, 1, 0]))
    with pytest.raises(DataError, match="num_classes must be >= 2"):
        from_arrays(np.zeros((4, 2)), np.zeros(4, dtype=int))
    with pytest.raises(DataError, match=r"y_train has 1 label\(s\) outside it with values \[5\]"):
        from_arrays(np.zeros((8, 2)), np.array([0, 1, 2, 5, 0, 1, 2, 0]), num_classes=3)


# -- load_digits -------------------------------------------------------------------------
def test_load_digits_is_scaled_split_and_shaped() -> None:
    flat = load_digits()
    assert (flat.n_train + flat.n_val, flat.in_shape, flat.num_classes) == (1797, (64,), 10)
    assert flat.n_val == 359 and not flat.flip_ok and flat.name == "digits"
    assert float(flat.x_train.min()) == 0.0 and float(flat.x_train.max()) == 1.0
    images = load_digits(images=True)
    assert images.in_shape == (1, 8, 8) and images.is_image
    assert torch.equal(images.x_val.reshape(-1, 64), flat.x_val)  # same seed, same split
    assert sorted(set(flat.y_val.tolist())) == list(range(10))


# -- read_idx ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dtype", "code"),
    [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C),
     (np.float32, 0x0D), (np.float64, 0x0E)],
)  # fmt: skip
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path: Path, dtype: type, code: int, compress: bool) -> None:
    rng = np.random.default_rng(0)
    images = (rng.random((3, 28, 28)) * 120 - (0 if dtype == np.uint8 else 60)).astype(dtype)
    name = "images.idx3" + (".gz" if compress else "")
    back = read_idx(write_idx(tmp_path / name, images, code, compress=compress))
    assert back.dtype == np.dtype(dtype) and back.shape == (3, 28, 28)
    assert np.array_equal(back, images)
    back.flat[0] = 1  # a writable, native array, not a view of the file bytes

    labels = np.array([7, 0, 9], dtype=np.uint8)
    assert np.array_equal(read_idx(write_idx(tmp_path / "labels", labels, 0x08)), labels)


def test_read_idx_errors_name_the_file_and_the_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nope-idx1-ubyte"
    with pytest.raises(DataError, match=r"IDX file not found: .*nope-idx1-ubyte"):
        read_idx(missing)

    good = write_idx(tmp_path / "good", np.arange(24, dtype=np.uint8).reshape(2, 3, 4), 0x08)
    raw = good.read_bytes()
    cases = {
        "magic": (b"\x01\x02" + raw[2:], "bad magic number 0x01020803"),
        "dtype": (raw[:2] + b"\x07" + raw[3:], "not an IDX file"),
        "short-header": (raw[:10], "truncated or corrupt: header declares 3"),
        "short-data": (raw[:-5], "is truncated: shape (2, 3, 4) of uint8 needs 40 bytes"),
        "tiny": (raw[:3], "IDX header needs 4 bytes"),
        "trailing": (raw + b"\x00", "trailing bytes"),
        "bad-gzip.gz": (gzip.compress(raw)[:-12], "cannot be decompressed"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(DataError) as info:
            read_idx(tmp_path / name)
        assert message in str(info.value) and name in str(info.value), name


# -- load_mnist --------------------------------------------------------------------------
def write_mnist(folder: Path, n_train: int = 20, n_test: int = 10) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test)[::-1] % 10).astype(np.uint8),
    }
    folder.mkdir(exist_ok=True)
    for i, (stem, arr) in enumerate(arrays.items()):
        compress = i % 2 == 1  # mix plain and .gz files
        write_idx(folder / (stem + (".gz" if compress else "")), arr, 0x08, compress=compress)
    return arrays


def test_load_mnist_reads_a_local_folder(tmp_path: Path) -> None:
    arrays = write_mnist(tmp_path)
    data = load_mnist(tmp_path)
    assert (data.n_train, data.n_val, data.in_shape) == (20, 10, (1, 28, 28))
    assert (data.num_classes, data.flip_ok, data.name) == (10, False, "mnist")
    expected = torch.from_numpy(arrays["train-images-idx3-ubyte"]).float()[:, None] / 255
    assert torch.allclose(data.x_train, expected)
    assert data.y_val.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    assert load_mnist(tmp_path, kind="fashion").flip_ok


def test_load_mnist_with_val_fraction_splits_train_and_leaves_t10k_alone(tmp_path: Path) -> None:
    write_mnist(tmp_path, n_train=40)
    for p in tmp_path.glob("t10k-*"):
        p.unlink()  # the test set is not needed, so not read
    data = load_mnist(tmp_path, val_fraction=0.25, seed=2, kind="fashion")
    assert (data.n_train, data.n_val, data.name) == (30, 10, "fashion-mnist")
    assert np.bincount(data.y_val.numpy()).tolist() == [1] * 10


def test_load_mnist_missing_files_say_tunelab_never_downloads(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte" in message and "never downloads" in message
    assert "train-images" not in message  # only the missing file is named
    with pytest.raises(DataError, match="does not exist"):
        load_mnist(tmp_path / "elsewhere")
    with pytest.raises(DataError, match="kind must be one of"):
        load_mnist(tmp_path, kind="kmnist")
