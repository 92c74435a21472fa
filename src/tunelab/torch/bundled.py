"""scikit-learn's bundled digits, read from the CSV file it ships, without importing it.

`import sklearn.datasets` pulls in most of scikit-learn and SciPy (seconds on a busy
machine), which every worker process of a study pays at start-up just to read a 300 kB
file. The file's location is found without running scikit-learn's code; where it is not
there (an unusual install), scikit-learn's own loader is used.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

DIGITS_FILE = ("datasets", "data", "digits.csv.gz")
"""Where scikit-learn keeps the digits, relative to its package folder."""


def digits_file() -> Path | None:
    """The digits CSV inside the installed scikit-learn, or None where it is not found."""
    spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
    for root in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(root).joinpath(*DIGITS_FILE)
        if path.is_file():
            return path
    return None


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(data, target) as scikit-learn's `load_digits()` gives them: (1797, 64) pixel counts
    0-16 as float64 and the (1797,) labels as int."""
    path = digits_file()
    if path is None:
        try:
            from sklearn.datasets import load_digits as sk_load_digits
        except ImportError as exc:  # pragma: no cover - sklearn ships with the torch extra
            raise ImportError(
                "load_digits needs scikit-learn; install it with `pip install tunelab[torch]`"
            ) from exc
        bunch = sk_load_digits()
        return np.asarray(bunch.data), np.asarray(bunch.target)
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    return table[:, :-1], table[:, -1].astype(int)
