"""Another real process that holds a SQLite file's write lock until the test lets go.

Imported as `lock_holder` (tests/ is on sys.path, as for cli_process)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

_HOLDER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()  # until the test closes this pipe
con.execute("COMMIT")
"""


@contextlib.contextmanager
def write_lock_held(path: Path | str) -> Iterator[Callable[[], None]]:
    """Hold the write lock of the SQLite file `path` in a subprocess; yields `release()`,
    which ends the holder's transaction (called at the latest on leaving the block)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def release() -> None:
        if proc.stdin is not None and not proc.stdin.closed:
            proc.stdin.close()
        proc.wait(timeout=30)

    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked", "the holder did not get the lock"
        yield release
    finally:
        with contextlib.suppress(Exception):
            release()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
