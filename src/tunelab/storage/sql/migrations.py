"""Schema versions and upgrades.

The version lives in `tunelab_meta`. `MIGRATIONS[v]` upgrades a database from
version v to v + 1. A database newer than the code is refused; an older one is
upgraded only when asked (`tunelab db upgrade URL`), so nothing changes silently.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select, text

from tunelab.errors import SchemaVersionError, StorageError
from tunelab.storage.sql import schema
from tunelab.storage.sql.engine import with_retries

MIGRATIONS: dict[int, Callable[[Connection], None]] = {}
SCHEMA_LOCK_KEY = 0x7475_6E65  # "tune": the advisory lock taken around schema checks


def read_version(conn: Connection) -> int | None:
    """The stored schema version, or None for a database with no tables at all."""
    names = set(inspect(conn).get_table_names())
    if schema.meta.name not in names:
        if names:
            raise SchemaVersionError(
                "this database is not a tunelab database: it has tables "
                f"({', '.join(sorted(names)[:5])}) but no {schema.meta.name}; "
                "point the storage at a tunelab database or at a new file"
            )
        return None
    row = conn.execute(
        select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
    ).first()
    if row is None:
        raise SchemaVersionError(
            "the tunelab_meta table has no schema_version; the file is damaged"
        )
    return int(row[0])


def ensure_schema(engine: Engine, url: str, create: bool = True) -> int:
    """Check (and on an empty database, create) the schema; return its version."""

    def run() -> int:
        with engine.connect().execution_options(tunelab_write=True) as conn, conn.begin():
            _serialize(conn)
            version = read_version(conn)
            if version is None:
                if not create:
                    raise SchemaVersionError(
                        f"{url} has no tunelab schema; create a study there first "
                        f"(tunelab run …) or run `tunelab db upgrade {url}`"
                    )
                schema.metadata.create_all(conn)
                conn.execute(
                    schema.meta.insert().values(
                        key="schema_version", value=str(schema.SCHEMA_VERSION)
                    )
                )
                return schema.SCHEMA_VERSION
            return version

    try:
        version = with_retries(run, f"opening {url}")
    except StorageError:
        raise
    except Exception as e:
        raise StorageError(f"cannot open {url}: {_describe(e)}") from None
    if version > schema.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{url} has schema version {version}, newer than this tunelab knows "
            f"({schema.SCHEMA_VERSION}); upgrade tunelab (pip install -U tunelab)"
        )
    if version < schema.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{url} has schema version {version}, older than this tunelab's "
            f"({schema.SCHEMA_VERSION}); run `tunelab db upgrade {url}` (back up the file first)"
        )
    return version


def _serialize(conn: Connection) -> None:
    """PostgreSQL: one schema check or creation at a time per database. Workers that start
    together on a new database would otherwise race to CREATE the same tables (SQLite's
    immediate write transaction serializes them already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})


def upgrade(engine: Engine) -> tuple[int, int]:
    """Apply pending migrations in one transaction; return (from, to) versions."""
    with engine.connect().execution_options(tunelab_write=True) as conn, conn.begin():
        _serialize(conn)
        start = read_version(conn)
        if start is None:
            schema.metadata.create_all(conn)
            conn.execute(
                schema.meta.insert().values(key="schema_version", value=str(schema.SCHEMA_VERSION))
            )
            return (0, schema.SCHEMA_VERSION)
        version = start
        while version < schema.SCHEMA_VERSION:
            if version not in MIGRATIONS:
                raise SchemaVersionError(
                    f"no migration from schema version {version}; this file was not written "
                    "by a released tunelab"
                )
            MIGRATIONS[version](conn)
            version += 1
            conn.execute(
                schema.meta.update()
                .where(schema.meta.c.key == "schema_version")
                .values(value=str(version))
            )
        return (start, version)


def _describe(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
