"""Keras Tuner's API on tunelab: `import tunelab.keras as kt` in place of
`import keras_tuner as kt`, and the same `build_model(hp)` searches with tunelab's
samplers, durable storage, pruning, reports and dashboard.

Keras 3 on the PyTorch backend (`pip install 'tunelab[keras]'`). Importing this module
only sets KERAS_BACKEND=torch if unset; keras is imported when a tuner is created.
"""

from __future__ import annotations

from tunelab.keras._backend import prefer_torch_backend

prefer_torch_backend()

from tunelab.keras.errors import ModelNotKeptError, ObjectiveNotFoundError  # noqa: E402
from tunelab.keras.hypermodel import HyperModel  # noqa: E402
from tunelab.keras.objective import Objective  # noqa: E402
from tunelab.keras.results import KerasTrial, Oracle  # noqa: E402
from tunelab.keras.tuner import Tuner  # noqa: E402
from tunelab.keras.tuners import BayesianOptimization, GridSearch, Hyperband, RandomSearch  # noqa: E402
from tunelab.space import HyperParameters  # noqa: E402

__all__ = [
    "BayesianOptimization",
    "GridSearch",
    "HyperModel",
    "HyperParameters",
    "Hyperband",
    "KerasTrial",
    "ModelNotKeptError",
    "Objective",
    "ObjectiveNotFoundError",
    "Oracle",
    "RandomSearch",
    "Tuner",
]
