"""Suite-wide settings and the PostgreSQL fixture.

PostgreSQL: a fresh database per test on the real server at 127.0.0.1:5432 (CI starts
it in .ci/run; TUNELAB_PG_DSN picks another). Tests fail, never skip, when it is not
reachable: PostgreSQL support must be proven, not assumed."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

# Tests start worker subprocesses beside the test process on a 2-core machine: one torch
# thread each keeps training times stable (two threads on a busy core run ~100x slower).
os.environ.setdefault("TUNELAB_TORCH_THREADS", "1")

# Tests that cannot share the machine with others. scripts/test.sh runs every other test on
# all cores (pytest-xdist) first, then these alone (`-m serial`). PostgreSQL tests may share:
# each makes its own database (create_database), and tmp_path is per test.
SERIAL_MODULES = {
    "integration/test_postgres_restart.py": "stops the PostgreSQL server every other test uses",
    "integration/test_kill9.py": "kills workers at timed moments",
    "integration/test_orphans.py": "kills parents and times how soon orphans notice",
    "integration/test_worker_faults.py": "kills workers at timed moments; eight workers",
    "storage/test_lock_wait.py": "times how long a writer waits for a lock",
    "cli/test_lock_wait_cli.py": "times how long a command waits for a lock",
    "study/test_parent_death.py": "times how soon a trial process notices its parent died",
    "ray/test_launch.py": "a local Ray cluster: many processes, its own ports",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(tests) and (
            item.path.relative_to(tests).as_posix() in SERIAL_MODULES
        ):
            item.add_marker(pytest.mark.serial)


# pytest-xdist's workers ignore SIGINT, and the processes they start would inherit that:
# the Ctrl-C tests need a tunelab that stops on SIGINT, as under a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

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
