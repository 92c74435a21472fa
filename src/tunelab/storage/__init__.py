"""Storage backends. Only this package imports SQLAlchemy."""

from __future__ import annotations

import os

from tunelab.errors import ConfigurationTypeError, StorageError, first_line
from tunelab.storage.base import (
    BaseStorage,
    LockedView,
    Outcome,
    StudyRecord,
    StudySummary,
    TrialCounts,
)
from tunelab.storage.memory import InMemoryStorage

MEMORY_URLS = (":memory:", "memory", "memory://")
"""The storage URLs that mean a fresh `InMemoryStorage` (nothing written to disk)."""
STORAGE_ENV = "TUNELAB_STORAGE"
"""The environment variable naming the default storage (URL or file path) of every command and script."""


def default_storage() -> str | None:
    """The storage used when none is given: TUNELAB_STORAGE if set, so every command and
    script of a project finds one database without repeating it; None means ./tunelab.db."""
    value = os.environ.get(STORAGE_ENV)
    if value is None:
        return None
    if not value.strip():
        raise StorageError(
            f"{STORAGE_ENV} is set but empty; set it to a URL or file path "
            "(e.g. sqlite:///tunelab.db) or unset it for ./tunelab.db"
        )
    return value.strip()


def get_storage(
    spec: str | os.PathLike[str] | BaseStorage | None = None, create_schema: bool = True
) -> BaseStorage:
    """Storage from a URL or path; None means TUNELAB_STORAGE, else the SQLite file
    ./tunelab.db.

    Args:
        spec: A database URL (`sqlite:///tuning.db`, `postgresql+psycopg://user@host/db`),
            a file path (an SQLite file), one of `MEMORY_URLS` (a fresh `InMemoryStorage`),
            or a storage object, returned as it is.
        create_schema: Create the SQLite file and the tables when missing; False for a
            reader: a missing file or an empty database is then an error, not created.

    Example:
        ```python
        storage = get_storage("postgresql+psycopg://tuner@db.example/tuning")
        study = tunelab.create_study("digits", storage=storage)
        ```
    """
    if isinstance(spec, BaseStorage):
        return spec
    if spec is None and (from_env := default_storage()) is not None:
        try:
            return get_storage(from_env, create_schema)
        except StorageError as e:
            if type(e) is not StorageError:
                raise  # a schema too new and the like: said as well without the variable
            raise StorageError(f"{STORAGE_ENV}={from_env!r}: {first_line(e)}") from e
    if spec is not None and not isinstance(spec, (str, os.PathLike)):
        raise ConfigurationTypeError(
            f"storage must be a URL, a file path or a storage object, but got {spec!r} "
            f"({type(spec).__name__}); e.g. storage='tunelab.db' or 'postgresql+psycopg://…'"
        )
    if spec is not None and os.fspath(spec).strip() in MEMORY_URLS:
        return InMemoryStorage()
    from tunelab.storage.sql import DEFAULT_URL, SQLStorage

    return SQLStorage(DEFAULT_URL if spec is None else os.fspath(spec), create_schema=create_schema)


__all__ = [
    "MEMORY_URLS",
    "STORAGE_ENV",
    "BaseStorage",
    "InMemoryStorage",
    "LockedView",
    "Outcome",
    "StudyRecord",
    "StudySummary",
    "TrialCounts",
    "default_storage",
    "get_storage",
]
