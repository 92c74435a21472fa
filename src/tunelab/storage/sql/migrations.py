"""Schema versions and upgrades.

Every tunelab reads the version in `tunelab_meta` (schema_version) and refuses a
database older or newer than itself, with one line that says what to do. Nothing is
upgraded silently: an older database is upgraded only by `tunelab db upgrade URL`,
which copies a SQLite file to FILE.vN-backup first and runs the Alembic migrations
(alembic/versions/) in one transaction, so a failed upgrade changes nothing. A v1
database predates Alembic: it is stamped with the v1 baseline revision, then upgraded.
A new, empty database is created at the current version directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, select, text
from sqlalchemy.exc import DatabaseError

from tunelab.errors import SchemaVersionError, StorageError
from tunelab.storage.sql import schema
from tunelab.storage.sql.backup import copy_sqlite
from tunelab.storage.sql.retry import Retrier, first_line

if TYPE_CHECKING:  # Alembic is imported only to upgrade
    from alembic.config import Config

SCHEMA_LOCK_KEY = 0x7475_6E65  # "tune": the advisory lock taken around schema changes
ALEMBIC_DIR = Path(__file__).with_name("alembic")
BASELINES = {1: "0001"}  # versions from before Alembic -> the revision that built them
DAMAGED = "the database is damaged: restore it from a backup"
# Every schema version has these; a database without one of them cannot be read.
_CORE_TABLES = {t.name for t in (schema.meta, schema.studies, schema.params, schema.trials)}
_CORE_TABLES.add(schema.reports.name)


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade_database` did: versions before and after, and the SQLite copy."""

    start: int
    end: int
    backup: Path | None = None


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
        raise SchemaVersionError(f"the tunelab_meta table has no schema_version; {DAMAGED}")
    try:
        version = int(row[0])
    except ValueError:
        raise SchemaVersionError(
            f"the tunelab_meta table holds schema_version {row[0]!r:.40}, not a number; {DAMAGED}"
        ) from None
    missing = sorted(_CORE_TABLES - names)
    if missing:
        raise SchemaVersionError(
            f"this tunelab database lacks its table(s) {', '.join(missing)}; {DAMAGED}"
        )
    return version


def ensure_schema(
    engine: Engine, url: str, create: bool = True, retrier: Retrier | None = None
) -> int:
    """Check (and on an empty database, create) the schema; return its version.

    The check is a plain read: workers opening a database at once never queue on its
    write lock. Only an empty database is written, under the lock, and checked again."""
    retrier = retrier or Retrier(url)

    def check() -> int | None:
        with engine.connect() as conn, conn.begin():
            return read_version(conn)

    def create_if_empty() -> int:
        with engine.connect().execution_options(tunelab_write=True) as conn, conn.begin():
            _serialize(conn)
            version = read_version(conn)
            if version is None:
                _create(conn)
                return schema.SCHEMA_VERSION
            return version

    try:
        version = retrier.run(check, f"opening {url}")
        if version is None and not create:
            raise SchemaVersionError(
                f"{url} has no tunelab schema; create a study there first "
                f"(tunelab run …) or run `tunelab db upgrade {url}`"
            )
        if version is None:
            version = retrier.run(create_if_empty, f"opening {url}")
    except StorageError:
        raise
    except Exception as e:
        raise StorageError(f"cannot open {url}: {first_line(e)}{_hint(engine, e)}") from None
    if version > schema.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{url} has schema version {version}, newer than this tunelab knows "
            f"({schema.SCHEMA_VERSION}); upgrade tunelab (pip install -U tunelab)"
        )
    if version < schema.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{url} has schema version {version}, older than this tunelab's "
            f"({schema.SCHEMA_VERSION}); stop its workers and run `tunelab db upgrade {url}` "
            "(a SQLite file is copied first)"
        )
    return version


def _serialize(conn: Connection) -> None:
    """PostgreSQL: one schema creation or upgrade at a time per database. Workers that
    start together on a new database would otherwise race to CREATE the same tables, and
    two upgrades to migrate the same rows (SQLite's immediate write transaction
    serializes them already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})


def _create(conn: Connection) -> None:
    """The current schema on an empty database, stamped with the Alembic head."""
    schema.metadata.create_all(conn)
    conn.execute(
        schema.meta.insert().values(key="schema_version", value=str(schema.SCHEMA_VERSION))
    )
    conn.execute(schema.alembic_version.insert().values(version_num=schema.ALEMBIC_HEAD))


def upgrade(engine: Engine) -> tuple[int, int]:
    """Create or upgrade the schema (see `upgrade_database`); return (from, to) versions."""
    done = upgrade_database(engine)
    return done.start, done.end


def upgrade_database(
    engine: Engine,
    force: bool = False,
    before: Callable[[Upgrade], None] | None = None,
) -> Upgrade:
    """Create the schema on an empty database, or upgrade an older one in one transaction.

    Under the database's write lock (PostgreSQL: an advisory lock too, so two upgrades
    run one after the other and the second finds nothing to do), a SQLite file is first
    copied to FILE.vN-backup (an existing copy is overwritten only with `force`; the copy
    is removed again if the upgrade fails). `before(plan)` is called once the copy is
    made and before anything changes."""

    def run() -> Upgrade:
        backup: Path | None = None
        try:
            with engine.connect().execution_options(tunelab_write=True) as conn:
                with conn.begin():
                    _serialize(conn)
                    start = read_version(conn)
                    if start is None:
                        _create(conn)
                        return Upgrade(0, schema.SCHEMA_VERSION)
                    if start > schema.SCHEMA_VERSION:
                        raise SchemaVersionError(
                            f"schema version {start} is newer than this tunelab knows "
                            f"({schema.SCHEMA_VERSION}); upgrade tunelab (pip install -U tunelab)"
                        )
                    if start == schema.SCHEMA_VERSION:
                        return Upgrade(start, start)
                    baseline = _baseline(conn, start)
                    if conn.dialect.name == "sqlite" and engine.url.database:
                        backup = copy_sqlite(Path(engine.url.database), start, force)
                    plan = Upgrade(start, schema.SCHEMA_VERSION, backup)
                    if before is not None:
                        before(plan)
                    _migrate(conn, baseline)
                return plan
        except BaseException:
            if backup is not None:  # the transaction was rolled back: the file is as it was
                backup.unlink(missing_ok=True)
            raise

    try:
        display = engine.url.render_as_string(hide_password=True)
        return Retrier(display).run(run, "upgrading the schema")
    except StorageError:
        raise
    except Exception as e:  # a migration's own error: the transaction was rolled back
        raise StorageError(
            f"the upgrade failed and changed nothing: {first_line(e)}{_hint(engine, e)}"
        ) from e


def _baseline(conn: Connection, start: int) -> str | None:
    """The revision to stamp a database from before Alembic with (None: it has Alembic's
    table already)."""
    if schema.ALEMBIC_VERSION_TABLE in inspect(conn).get_table_names():
        return None
    if start not in BASELINES:
        raise SchemaVersionError(
            f"no migration from schema version {start}; this file was not written "
            "by a released tunelab"
        )
    return BASELINES[start]


def _migrate(conn: Connection, baseline: str | None) -> None:
    """Run the Alembic migrations to the head on `conn`, in its transaction, after
    stamping a database from before Alembic with its `baseline` revision."""
    from alembic import command

    config = alembic_config(conn)
    if baseline is not None:
        command.stamp(config, baseline)
    command.upgrade(config, "head")
    reached = read_version(conn)
    if reached != schema.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"the migrations ended at schema version {reached}, not "
            f"{schema.SCHEMA_VERSION}; nothing was changed"
        )


def alembic_config(conn: Connection) -> Config:
    """An Alembic configuration whose commands run on `conn`, inside its transaction."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.attributes["connection"] = conn
    config.attributes["version_table"] = schema.ALEMBIC_VERSION_TABLE
    return config


def _hint(engine: Engine, error: Exception) -> str:
    """What to do about a SQLite file that SQLite itself cannot read (truncated, or only
    its header is SQLite's)."""
    if engine.dialect.name != "sqlite" or not isinstance(error, DatabaseError):
        return ""
    return "; the file is damaged: restore it from a backup or point the storage at another file"
