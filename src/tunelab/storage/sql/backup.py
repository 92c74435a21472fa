"""The copy of a SQLite file that `tunelab db upgrade` makes before changing it."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from pathlib import Path

from tunelab.errors import SchemaVersionError


def backup_path(database: Path, version: int) -> Path:
    return database.with_name(f"{database.name}.v{version}-backup")


def copy_sqlite(database: Path, version: int, force: bool) -> Path:
    """Copy `database` (schema `version`) beside it and return the copy's path.

    The caller holds the database's write lock, so nothing commits meanwhile. With WAL,
    committed pages may still sit in the -wal file: a checkpoint moves them into the main
    file first, and then the copy is the file byte for byte. A reader holding an old
    snapshot can keep the checkpoint from finishing; then SQLite's backup API copies the
    same content (its header counters differ)."""
    target = backup_path(database, version)
    if target.is_dir():
        raise SchemaVersionError(
            f"{target} is a folder, where the upgrade copies the database first; move it away"
        )
    if target.exists() and not force:
        raise SchemaVersionError(
            f"{target} exists (a copy from an earlier upgrade?); move it away, or pass "
            "--force to overwrite it"
        )
    partial = target.with_name(target.name + ".partial")
    try:
        with contextlib.closing(sqlite3.connect(database, timeout=1.0)) as side:
            _busy, frames, moved = side.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if frames == moved:  # every committed page is in the main file (-1: no WAL)
                shutil.copyfile(database, partial)
            else:
                with contextlib.closing(sqlite3.connect(partial)) as copy:
                    side.backup(copy)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
