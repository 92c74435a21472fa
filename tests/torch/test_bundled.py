"""The bundled digits are read from scikit-learn's CSV without importing scikit-learn."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits as sk_load_digits

from tunelab.torch import bundled


def test_digits_arrays_are_scikit_learns() -> None:
    data, target = bundled.digits_arrays()
    bunch = sk_load_digits()
    assert data.dtype == bunch.data.dtype and np.array_equal(data, bunch.data)
    assert target.dtype.kind == "i" and np.array_equal(target, bunch.target)


def test_without_the_file_scikit_learns_loader_gives_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read = bundled.digits_arrays()
    monkeypatch.setattr(bundled, "digits_file", lambda: None)  # an install without the CSV
    loaded = bundled.digits_arrays()
    assert all(np.array_equal(a, b) for a, b in zip(read, loaded, strict=True))


def test_load_digits_does_not_import_scikit_learn() -> None:
    code = (
        "import sys\n"
        "from tunelab.torch import load_digits\n"
        "d = load_digits()\n"
        "print(d.n_train + d.n_val, 'sklearn' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["1797", "False"]
