"""Errors of the Keras drop-in.

Keras Tuner's two-level taxonomy, under its names (`kt.errors.FailedTrialError`, ...):
`FailedTrialError` raised in `build`/`fit`/`run_trial` fails that trial without a retry;
`FatalError` (and its ValueError/TypeError/RuntimeError variants) stops the search at
once. Any other exception fails the trial and is retried (`max_retries_per_trial`).

The drop-in's own errors are TunelabErrors, so a trial that raises one stops the search
(it would fail every trial alike). Bad tuner arguments raise `tunelab.ConfigurationError`.
"""

from __future__ import annotations

from tunelab.errors import ConfigurationError, TunelabError


class ObjectiveNotFoundError(ConfigurationError):
    """The objective metric is not among the metrics the training produced."""


class ModelNotKeptError(TunelabError, LookupError):
    """A trial's trained model is not on disk (only the best `keep_models` are kept)."""


class FailedTrialError(Exception):
    """Raise in `build`, `fit` or `run_trial` to mark this trial FAILED for good: it is
    not retried, though it counts toward `max_consecutive_failed_trials`."""


class FatalError(TunelabError):
    """Raise during a trial to stop the whole search now (the trial is stored as FAIL
    with the message, and the error propagates out of `search()`)."""


class FatalValueError(FatalError, ValueError):
    """A `FatalError` that is also a ValueError."""


class FatalTypeError(FatalError, TypeError):
    """A `FatalError` that is also a TypeError."""


class FatalRuntimeError(FatalError, RuntimeError):
    """A `FatalError` that is also a RuntimeError."""
