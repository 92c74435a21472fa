"""Errors of the Keras drop-in. Both stop the search: they would fail every trial alike."""

from __future__ import annotations

from tunelab.errors import TunelabError


class ObjectiveNotFoundError(TunelabError, ValueError):
    """The objective metric is not among the metrics the training produced."""


class ModelNotKeptError(TunelabError, LookupError):
    """A trial's trained model is not on disk (only the best `keep_models` are kept)."""
