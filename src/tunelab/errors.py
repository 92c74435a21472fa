"""The error family.

Two levels, as Keras Tuner teaches: an error that fails one trial (the study
records it and goes on) versus an error that stops the search.

- `TunelabError` and its subclasses stop the search: the trial running is
  recorded as FAIL with the message, then the error reaches the caller. They
  mean every trial would fail alike: a configuration mistake
  (`ConfigurationError`: a bad argument or setting; `SearchSpaceError`;
  `tunelab.torch.TrainingError`; `tunelab.keras.ObjectiveNotFoundError`), bad
  data (`DataError`) or storage trouble (`StorageError`).
- Any other exception that `optimize(catch=...)` allows (all, by default)
  fails one trial and the search goes on; `TrialFailed` says so on purpose:
  this configuration cannot run, but another may. `TrialPruned` stops a
  trial early as PRUNED.

Configuration errors are also `ValueError` (`ConfigurationTypeError`: also
`TypeError`), so `except ValueError` keeps working. Every message names the
rule, the values that broke it, and the fix.
"""

from __future__ import annotations


class TunelabError(Exception):
    """Base of every error tunelab raises on purpose; it stops the search."""


class ConfigurationError(TunelabError, ValueError):
    """An argument or setting is invalid: every trial would fail alike, so the search
    stops at the first."""


class ConfigurationTypeError(ConfigurationError, TypeError):
    """An argument is of the wrong kind, or unknown (a `TypeError`, as Python raises for
    an unexpected keyword)."""


class SearchSpaceError(ConfigurationError):
    """A hyperparameter definition is invalid or conflicts with an earlier one."""


class DataError(TunelabError, ValueError):
    """Training data is malformed, missing or cannot be read (stops the search)."""


class StorageError(TunelabError):
    """Storage cannot be opened, read or written."""


class SchemaVersionError(StorageError):
    """The database's schema is newer than this code, or is not tunelab's."""


class StudyNotFoundError(TunelabError, KeyError):
    """No study of that name exists in the storage."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class StudyConflictError(TunelabError):
    """A study exists with settings that differ from the ones asked for."""


class TrialError(TunelabError):
    """An operation on a trial is not allowed in its current state."""


class GridExhausted(TunelabError):
    """Every cell of the grid has been evaluated or is being evaluated."""


class TrialFailed(Exception):
    """Raised inside an objective when this configuration cannot run but others may (a
    sampled batch size larger than the data): the trial is recorded as FAIL and the
    search goes on, whatever `optimize(catch=...)` says."""


class TrialPruned(Exception):
    """Raised inside an objective to stop the trial early; it is recorded as PRUNED."""


class TrialPaused(Exception):
    """Raised inside a resumable objective when `trial.should_pause()` said so: the trial
    is recorded PAUSED, its reports and checkpoint kept, for a worker to resume later."""


class TrialDiverged(TrialPruned):
    """Raised inside an objective when training blew up (a NaN or exploding loss): the trial
    is stopped like a pruned one, its curve kept, and recorded with EndCause.DIVERGED."""


class TrialOutOfMemory(TrialPruned):
    """Raised inside an objective when training ran out of device memory: only this
    configuration is too large (its batch size or model), so the trial is stopped like a
    pruned one, a bad observation for the sampler, and recorded with EndCause.OUT_OF_MEMORY."""


def first_line(error: BaseException) -> str:
    """The first line of an error's message (its type's name when it has none): what a
    one-line report of someone else's exception shows."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
