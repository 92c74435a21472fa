"""The names a study is made of (its own, its metric's, its hyperparameters', the keys of
reported metrics and user attributes), and the longest of each that every storage keeps.

SQLite stores a string of any length; PostgreSQL refuses one longer than its column. So
that a name works everywhere or nowhere, tunelab checks each against these limits before
anything is stored; the database columns are sized from them (storage/sql/schema.py), so
raising a limit is a schema change with its migration."""

from __future__ import annotations

from typing import Any

STUDY_NAME_MAX = 512
PARAM_NAME_MAX = 512
METRIC_NAME_MAX = 255  # the study's metric and every reported or returned metric name
KEY_MAX = 255  # user attribute keys


def name_problem(what: str, name: Any, limit: int) -> str | None:
    """Why `name` cannot be a `what` (e.g. "a study name"), with the fix; None if it can."""
    if not isinstance(name, str):
        return f"{what} must be a string, but got {name!r} ({type(name).__name__}); give it as text"
    if not name:
        return f"{what} must be a non-empty string, but got {name!r}"
    if len(name) > limit:
        return (
            f"{what} must be at most {limit} characters (the limit every storage keeps), "
            f"but got {len(name)}: {name[:40]!r}…; use a shorter name"
        )
    return None
