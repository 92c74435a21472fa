"""Suite-wide settings and the PostgreSQL fixture.

PostgreSQL: a fresh database per test on the real server at 127.0.0.1:5432 (CI starts
it in .ci/run; TUNELAB_PG_DSN picks another). Tests fail, never skip, when it is not
reachable: PostgreSQL support must be proven, not assumed."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest

# Tests start worker subprocesses beside the test process on a 2-core machine: one torch
# thread each keeps training times stable (two threads on a busy core run ~100x slower).
os.environ.setdefault("TUNELAB_TORCH_THREADS", "1")

ADMIN_DSN = os.environ.get("TUNELAB_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")


def _admin() -> psycopg.Connection:
    try:
        return psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        raise RuntimeError(
            f"PostgreSQL is not reachable at {ADMIN_DSN!r} ({e}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
        ) from None


def create_database() -> str:
    """Create an empty database and return its SQLAlchemy URL."""
    name = f"tunelab_test_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = psycopg.conninfo.conninfo_to_dict(ADMIN_DSN)
    user = params.get("user", "postgres")
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    return f"postgresql+psycopg://{user}@{host}:{port}/{name}"


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def new_postgres_database() -> Iterator[Callable[[], str]]:
    """Makes empty databases on demand (for a test that needs more than one), all dropped
    after the test."""
    made: list[str] = []

    def make() -> str:
        made.append(create_database())
        return made[-1]

    try:
        yield make
    finally:
        for url in made:
            drop_database(url)
