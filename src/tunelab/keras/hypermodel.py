"""`HyperModel`: the build (and optionally fit) of a tunable Keras model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tunelab.errors import ConfigurationTypeError
from tunelab.space import HyperParameters


class HyperModel:
    """Subclass and override `build(hp)`; override `fit(hp, model, ...)` to tune training
    arguments too (batch size, epochs, data preprocessing)."""

    def __init__(self, name: str | None = None, tunable: bool = True) -> None:
        self.name = name
        self.tunable = tunable

    def build(self, hp: HyperParameters) -> Any:
        """Return a compiled Keras model for the values in `hp`."""
        raise NotImplementedError(
            f"{type(self).__name__}.build(hp) must be overridden to return a compiled model"
        )

    def fit(self, hp: HyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        """Train `model`; `args`/`kwargs` are what `search()` received, plus the tuner's
        callback in `callbacks`. Return the History, a dict of metrics or a number."""
        return model.fit(*args, **kwargs)


class _FunctionHyperModel(HyperModel):
    def __init__(self, build_fn: Callable[[HyperParameters], Any]) -> None:
        super().__init__(name=getattr(build_fn, "__name__", None))
        self._build_fn = build_fn

    def build(self, hp: HyperParameters) -> Any:
        return self._build_fn(hp)


def as_hypermodel(hypermodel: Any) -> HyperModel:
    """A HyperModel from a HyperModel or a `build_model(hp)` function."""
    if isinstance(hypermodel, HyperModel):
        return hypermodel
    if callable(hypermodel):
        return _FunctionHyperModel(hypermodel)
    raise ConfigurationTypeError(
        "hypermodel must be a kt.HyperModel or a function build_model(hp) that returns a "
        f"compiled Keras model, but got {hypermodel!r}"
    )
