"""Storage backends. Only this package imports SQLAlchemy."""

from __future__ import annotations

import os

from tunelab.errors import ConfigurationTypeError
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


def get_storage(
    spec: str | os.PathLike[str] | BaseStorage | None = None, create_schema: bool = True
) -> BaseStorage:
    """Storage from a URL or path; None means the SQLite file ./tunelab.db."""
    if isinstance(spec, BaseStorage):
        return spec
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
    "BaseStorage",
    "InMemoryStorage",
    "LockedView",
    "Outcome",
    "StudyRecord",
    "StudySummary",
    "TrialCounts",
    "get_storage",
]
