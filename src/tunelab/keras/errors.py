"""Errors of the Keras drop-in (TunelabErrors, so a trial that raises one stops the search:
it would fail every trial alike). Bad tuner arguments raise `tunelab.ConfigurationError`."""

from __future__ import annotations

from tunelab.errors import ConfigurationError, TunelabError


class ObjectiveNotFoundError(ConfigurationError):
    """The objective metric is not among the metrics the training produced."""


class ModelNotKeptError(TunelabError, LookupError):
    """A trial's trained model is not on disk (only the best `keep_models` are kept)."""
