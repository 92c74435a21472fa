"""The committed v1 database (data/v1.db, made by data/make_v1_db.py with the v1 code),
copied for one test into a SQLite file or a PostgreSQL database, and read back raw."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Engine, MetaData, insert, select, text

from tunelab.storage.sql.engine import make_engine
from tunelab.storage.sql.migrations import alembic_config

DATA = Path(__file__).parent / "data"
V1_FILE = DATA / "v1.db"
EXPECTED: dict[str, Any] = json.loads((DATA / "v1_expected.json").read_text())
V1_TABLES = (
    "tunelab_meta",
    "tunelab_studies",
    "tunelab_params",
    "tunelab_trials",
    "tunelab_reports",
)
SERIAL = (("tunelab_studies", "study_id"), ("tunelab_trials", "trial_id"))
# system_attrs keys whose content v2 keeps in columns
MOVED = {"interrupted", "raised", "retry_of", "retries", "retried_by", "fixed_params"}
# How each v1 trial ended, by study and number, read off make_v1_db.py (None: not ended)
CAUSES: dict[str, list[str | None]] = {
    "v1-mixed": [
        "COMPLETED", "COMPLETED", "PRUNED", "DIVERGED", "RAISED", "DIVERGED",  # 5: NaN
        "INVALID_RESULT", "INVALID_RESULT", "INVALID_RESULT",  # no metric, "high", None
        "COMPLETED", "INTERRUPTED", "INTERRUPTED",  # 10: not run (a callback failed), Ctrl-C
        "LOST", "COMPLETED", "LOST", "LOST", None, None,  # 16 RUNNING retry, 17 enqueued
    ],
    "v1-cli-retry": ["RAISED", "DIVERGED", "COMPLETED", "COMPLETED", "COMPLETED"],
    "v1-limits": ["KILLED", "KILLED", "COMPLETED", None, None],  # time limit, died
    "v1-grid": ["COMPLETED"] * 4,
    "v1-hyperband": [
        "COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "PRUNED", "PRUNED", "PRUNED",
        "COMPLETED", "COMPLETED", "PRUNED", "PRUNED", "PRUNED",
    ],
}  # fmt: skip
# (study, original, retry, the retry's attempt): a lost or failed trial and its repeat
RETRIES = [
    ("v1-mixed", 12, 13, 1),
    ("v1-mixed", 14, 15, 1),
    ("v1-mixed", 15, 16, 2),
    ("v1-cli-retry", 0, 3, 1),
    ("v1-cli-retry", 1, 4, 1),
    ("v1-limits", 0, 3, 1),
    ("v1-limits", 1, 4, 1),
]


@dataclass(frozen=True)
class V1Copy:
    url: str
    file: Path | None  # the SQLite file; None on PostgreSQL


def sqlite_copy(folder: Path) -> V1Copy:
    path = folder / "v1.db"
    shutil.copyfile(V1_FILE, path)
    return V1Copy(f"sqlite:///{path}", path)


def postgres_copy(url: str, folder: Path) -> V1Copy:
    """A v1 database in the empty PostgreSQL database `url`: the v1 tables as the frozen
    baseline migration builds them (as the v1 code did: no Alembic table), and every row
    of the committed file."""
    fill_postgres(url, read_tables(sqlite_copy(folder).url), "0001", versioned=False)
    return V1Copy(url, None)


def fill_postgres(
    url: str, rows: dict[str, list[dict[str, Any]]], revision: str, versioned: bool
) -> None:
    """The empty PostgreSQL database `url` as migrations up to `revision` build it (without
    Alembic's table unless `versioned`: the v1 code had none), holding `rows` (the tables
    of V1_TABLES, which later versions keep, parents first)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            command.upgrade(alembic_config(conn), revision)
            if not versioned:
                conn.execute(text("DROP TABLE tunelab_alembic_version"))
            conn.execute(text("DELETE FROM tunelab_meta"))
            tables = MetaData()
            tables.reflect(conn)
            for name in V1_TABLES:
                if rows[name]:
                    conn.execute(insert(tables.tables[name]), rows[name])
            for table, column in SERIAL:  # as if the rows had been inserted one by one
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"(SELECT max({column}) FROM {table}))"
                    )
                )
    finally:
        engine.dispose()


def read_tables(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, by table name, in primary-key order."""
    engine = make_engine(url, must_exist=True)
    try:
        return _read(engine)
    finally:
        engine.dispose()


def _read(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    tables = MetaData()
    with engine.connect() as conn, conn.begin():
        tables.reflect(conn)
        out = {}
        for name, table in tables.tables.items():
            order = list(table.primary_key.columns) or list(table.columns)
            out[name] = [dict(r) for r in conn.execute(select(table).order_by(*order)).mappings()]
    return out
