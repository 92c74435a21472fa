"""Engines from URLs: SQLite files tuned for many processes, any other SQLAlchemy URL as is.

SQLite: WAL journal (readers never block the writer), a short busy timeout (a
longer wait is `Retrier`'s, which says that it waits), and `BEGIN IMMEDIATE` for
write transactions so two writers queue on the lock instead of failing when a read
transaction tries to upgrade. PostgreSQL: a connect timeout, so a server that
vanished is noticed in seconds rather than minutes.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

from tunelab.errors import StorageError
from tunelab.storage.sql import schema

DEFAULT_URL = "sqlite:///tunelab.db"
BUSY_TIMEOUT_S = 0.75  # SQLite's own wait for the lock; under a second, then Retrier waits
PG_CONNECT_TIMEOUT_S = 10
_SQLITE_MAGIC = b"SQLite format 3\x00"
_URL_HINT = "expected e.g. sqlite:///tunelab.db, a file path, or postgresql+psycopg://user@host/db"


def normalize_url(url: str | os.PathLike[str]) -> str:
    """Accept a bare file path as a SQLite URL."""
    if not isinstance(url, (str, os.PathLike)):
        raise StorageError(f"the storage URL must be a string, but got {url!r}; {_URL_HINT}")
    text = os.fspath(url).strip()
    if not text:
        raise StorageError(f"the storage URL is empty; {_URL_HINT}")
    if "://" not in text:
        if text.startswith(("sqlite:", "postgres")):
            raise StorageError(f"malformed storage URL {text!r}; {_URL_HINT}")
        return f"sqlite:///{text}"
    return text


def _check_sqlite_file(database: str | None, display: str, must_exist: bool) -> None:
    if not database or database == ":memory:":
        raise StorageError(
            f"{display}: an in-memory SQLite database cannot be shared between connections; "
            "use storage=':memory:' for tunelab's in-memory storage or a file path"
        )
    path = Path(database)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise StorageError(
            f"cannot open {display}: the folder {str(parent)!r} does not exist; create it first"
        )
    if path.is_dir():
        raise StorageError(f"cannot open {display}: {str(path)!r} is a folder, not a file")
    if must_exist and not path.exists():
        raise StorageError(
            f"no database at {str(path)!r}; run a study first (tunelab run …) or give --storage"
        )
    head = b""
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as fh:
            head = fh.read(_FIRST_CELLS + 2)
        if head[:16] != _SQLITE_MAGIC:
            raise StorageError(
                f"{str(path)!r} is not a SQLite database (it may be corrupted or another kind "
                "of file); point the storage at a tunelab database or at a new file path"
            )
    # SQLite would make an empty file a database, and switch one with no tables to WAL:
    # a command that only reads refuses both and leaves them as they are
    if must_exist and (not head or _no_tables(path, head)):
        what = "an empty file (0 bytes)" if not head else "a SQLite database with no tables"
        raise StorageError(
            f"{str(path)!r} is {what}, not a tunelab database, and was left as it is; point "
            "the storage at your database, or start a study there (creating one takes an "
            "empty file as a new database)"
        )


_FIRST_CELLS = 103  # page 1's b-tree header follows the 100-byte file header


def _no_tables(path: Path, head: bytes) -> bool:
    """True when the file's schema table is one empty leaf page and no write-ahead log
    holds changes not yet copied into the file."""
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return False
    return len(head) == _FIRST_CELLS + 2 and head[100] == 0x0D and head[_FIRST_CELLS:] == b"\0\0"


def make_engine(url: str, must_exist: bool = False) -> Engine:
    """An engine for `url`; with `must_exist`, a missing SQLite file is an error, not created."""
    text = normalize_url(url)
    try:
        parsed = make_url(text)
    except (exc.ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise StorageError(f"malformed storage URL {text!r}; {_URL_HINT}") from None
    display = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_file(parsed.database, display, must_exist)
        try:
            engine = create_engine(
                parsed, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
            )
        except Exception as e:  # pragma: no cover - driver missing
            raise StorageError(f"cannot open {display}: {e}") from None
        _tune_sqlite(engine)
        return engine
    try:
        # No pool_pre_ping: it costs a round trip per transaction (a worker's trial is one). A
        # connection the server dropped fails its first statement instead, SQLAlchemy then
        # invalidates the pool, and `Retrier` runs the transaction again on a new one.
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
        return create_engine(parsed, pool_recycle=1800, connect_args=connect_args)
    except exc.NoSuchModuleError:
        raise StorageError(f"unknown database kind in {display!r}; {_URL_HINT}") from None
    except ImportError as e:
        raise StorageError(
            f"the driver for {display!r} is not installed ({e}); for PostgreSQL install "
            "tunelab[postgres]"
        ) from None


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        if _is_empty_or_tunelab(cur):  # never rewrite the header of someone else's database
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "handle_error")
    def _on_error(ctx: Any) -> None:
        # Ctrl-C (any non-Exception) during a statement: SQLAlchemy drops the connection
        # without closing the cursor, and SQLite keeps a closed connection whose statement
        # is still open as a "zombie" that holds its write lock until the traceback is
        # collected, so the process's own next write (recording the interrupted trial)
        # waits out the busy timeout. Closing the cursor lets the connection close.
        cursor = getattr(ctx.execution_context, "cursor", None)
        if cursor is not None and not isinstance(ctx.original_exception, Exception):
            with contextlib.suppress(Exception):
                cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("tunelab_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _is_empty_or_tunelab(cur: Any) -> bool:
    """Switching to WAL rewrites the file header, so it is done only for a new database or
    a tunelab one; any other database is refused by the schema check, byte for byte intact."""
    cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    names = {row[0] for row in cur.fetchall()}
    return not names or schema.meta.name in names
