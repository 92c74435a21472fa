"""Database files that are not (or no longer) a tunelab database of this version, given to
each way in: reading through the API, creating through the API, `tunelab studies` and
`tunelab db upgrade`. Each is refused in one line that says what the file is and what to
do, and the file is left byte for byte as it was (never made a database, never switched to
WAL, never half upgraded)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import tunelab
from tunelab.storage.sql import schema

from .helpers import STUDY, cli_refuses, files, refused

V1_FILE = Path(__file__).parent.parent / "storage" / "data" / "v1.db"


def _sql(path: Path, *statements: str) -> None:
    con = sqlite3.connect(path)
    with con:
        for statement in statements:
            con.execute(statement)
    con.close()


def _copy(template: Path, path: Path, *statements: str) -> None:
    shutil.copyfile(template, path)
    _sql(path, *statements)


def _no_tables(path: Path) -> None:
    _sql(path, "PRAGMA user_version = 7", "CREATE TABLE t (x)", "DROP TABLE t")


Make = Callable[[Path, Path], None]  # (template, path to make)

KINDS: dict[str, Make] = {
    "empty file": lambda t, p: p.write_bytes(b""),
    "text file": lambda t, p: p.write_text("not a database\n"),
    "SQLite header only": lambda t, p: p.write_bytes(b"SQLite format 3\x00" + b"\x07" * 200),
    "cut to 100 bytes": lambda t, p: p.write_bytes(t.read_bytes()[:100]),
    "cut in half": lambda t, p: p.write_bytes(t.read_bytes()[: t.stat().st_size // 2]),
    "a folder": lambda t, p: p.mkdir(),
    "other SQLite db": lambda t, p: _sql(p, "CREATE TABLE notes (body TEXT)"),
    "no tables": lambda t, p: _no_tables(p),
    "no version": lambda t, p: _copy(t, p, "DELETE FROM tunelab_meta"),
    "version abc": lambda t, p: _copy(t, p, "UPDATE tunelab_meta SET value = 'abc'"),
    "version 99": lambda t, p: _copy(t, p, "UPDATE tunelab_meta SET value = '99'"),
    "version 1": lambda t, p: shutil.copyfile(V1_FILE, p),
    "version 0": lambda t, p: _copy(
        t, p, "UPDATE tunelab_meta SET value = '0'", "DROP TABLE tunelab_alembic_version"
    ),
    "no reports table": lambda t, p: _copy(t, p, "DROP TABLE tunelab_reports"),
    "dangling link": lambda t, p: os.symlink("nowhere.db", p),
}

NOT_SQLITE = "'x.db' is not a SQLite database (it may be corrupted or another kind of file)"
MALFORMED = "database disk image is malformed; the file is damaged: restore it from a backup"
NEWER = (
    f"schema version 99, newer than this tunelab knows ({schema.SCHEMA_VERSION}); upgrade tunelab"
)
OLDER_0 = f"has schema version 0, older than this tunelab's ({schema.SCHEMA_VERSION})"
OLDER = (
    f"has schema version 1, older than this tunelab's ({schema.SCHEMA_VERSION}); stop its "
    "workers and run `tunelab"
)

# kind -> the fragment for (read, create, upgrade); None: that way in accepts the file
EXPECTED: dict[str, tuple[str | None, str | None, str | None]] = {
    "empty file": ("'x.db' is an empty file (0 bytes), not a tunelab database", None, None),
    "text file": (NOT_SQLITE, NOT_SQLITE, NOT_SQLITE),
    "SQLite header only": ("file is not a database; the file is damaged",) * 3,
    "cut to 100 bytes": (MALFORMED,) * 3,
    "cut in half": (MALFORMED,) * 3,
    "a folder": ("'x.db' is a folder, not a file",) * 3,
    "other SQLite db": ("not a tunelab database: it has tables (notes)",) * 3,
    "no tables": ("'x.db' is a SQLite database with no tables", None, None),
    "no version": ("the tunelab_meta table has no schema_version; the database is damaged",) * 3,
    "version abc": ("holds schema_version 'abc', not a number",) * 3,
    "version 99": (NEWER, NEWER, "schema version 99 is newer than this tunelab knows"),
    "version 1": (OLDER, OLDER, None),
    "version 0": (OLDER_0, OLDER_0, "no migration from schema version 0"),
    "no reports table": ("lacks its table(s) tunelab_reports; the database is damaged",) * 3,
    "dangling link": ("no database at 'x.db'; run a study first", None, None),
}

WAYS: dict[str, Callable[[str], object]] = {
    "load_study": lambda f: refused(lambda: tunelab.load_study(STUDY, "x.db"), f),
    "create_study": lambda f: refused(lambda: tunelab.create_study("new", "x.db"), f),
    "tunelab studies": lambda f: cli_refuses(["studies", "--storage", "x.db"], f),
    "tunelab db upgrade": lambda f: cli_refuses(["db", "upgrade", "x.db"], f),
}
_FRAGMENT_OF = {"load_study": 0, "create_study": 1, "tunelab studies": 0, "tunelab db upgrade": 2}

CASES = [
    (kind, way, EXPECTED[kind][_FRAGMENT_OF[way]])
    for kind in KINDS
    for way in WAYS
    if EXPECTED[kind][_FRAGMENT_OF[way]] is not None
]


@pytest.mark.parametrize(("kind", "way", "fragment"), CASES, ids=[f"{k}-{w}" for k, w, _ in CASES])
def test_a_file_that_is_not_a_current_tunelab_database_is_refused_and_left_alone(
    template_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, way: str,
    fragment: str,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    KINDS[kind](template_db, tmp_path / "x.db")
    before = files(tmp_path)
    WAYS[way](fragment)
    assert files(tmp_path) == before
    assert not list(tmp_path.glob("*-backup"))  # no upgrade copy was left behind


def test_creating_takes_an_empty_file_as_a_new_database(tmp_path: Path) -> None:
    """The rule the read-only refusal points to: SQLite's own, and what a temporary file
    made by mkstemp needs."""
    path = tmp_path / "x.db"
    path.write_bytes(b"")
    tunelab.create_study("new", storage=str(path)).storage.close()
    assert [s.record.name for s in tunelab.list_studies(str(path))] == ["new"]
