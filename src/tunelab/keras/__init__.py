"""Keras Tuner's API on tunelab: `import tunelab.keras as kt` in place of
`import keras_tuner as kt`, and the same `build_model(hp)` searches with tunelab's
samplers, durable storage, pruning, reports and dashboard.

Keras 3 on the PyTorch backend (`pip install 'tunelab[keras]'`). Importing this module
only sets KERAS_BACKEND=torch if unset; keras is imported when a tuner is created (or
`ReportCallback`, for `model.fit` inside a plain tunelab objective, is first used).
"""

from __future__ import annotations

from tunelab.keras._backend import prefer_torch_backend

prefer_torch_backend()

from typing import Any  # noqa: E402

from tunelab.keras import applications, errors  # noqa: E402
from tunelab.keras.errors import (  # noqa: E402
    FailedTrialError,
    FatalError,
    ModelNotKeptError,
    ObjectiveNotFoundError,
)
from tunelab.keras.hypermodel import HyperModel  # noqa: E402
from tunelab.keras.objective import Objective  # noqa: E402
from tunelab.keras.results import KerasTrial, Oracle  # noqa: E402
from tunelab.keras.tuner import Tuner  # noqa: E402
from tunelab.keras.tuners import BayesianOptimization, GridSearch, Hyperband, RandomSearch  # noqa: E402
from tunelab.space import HyperParameters  # noqa: E402


def __getattr__(name: str) -> Any:
    """`ReportCallback` subclasses a Keras class: keras is imported on first use."""
    if name == "ReportCallback":
        from tunelab.keras.report import ReportCallback

        return ReportCallback
    raise AttributeError(f"module 'tunelab.keras' has no attribute {name!r}")


__all__ = [
    "BayesianOptimization",
    "FailedTrialError",
    "FatalError",
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
    "ReportCallback",
    "Tuner",
    "applications",
    "errors",
]
