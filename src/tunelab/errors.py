"""The error family.

Two levels, as Keras Tuner teaches: an error that fails one trial (the study
records it and goes on) versus an error that stops the search (bad
configuration, storage trouble). Every message names the rule, the values that
broke it, and a hint for the fix.
"""

from __future__ import annotations


class TunelabError(Exception):
    """Base of every error tunelab raises on purpose."""


class SearchSpaceError(TunelabError, ValueError):
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


class TrialPruned(Exception):
    """Raised inside an objective to stop the trial early; it is recorded as PRUNED."""
