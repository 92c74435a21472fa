"""The `tunelab` command as a real subprocess: the one way CLI tests start it.

Any test module imports it as `cli_process` (tests/ is on sys.path: tests/conftest.py
has no package around it). Every command runs with this interpreter, in its own process
group (a signal a test sends reaches what the test means and no more), with output 200
columns wide (Rich wraps no line a test looks for) and one torch thread (two threads on
a busy core run ~100x slower)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

CLI_ENV = {"COLUMNS": "200", "TUNELAB_TORCH_THREADS": "1"}


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment with CLI_ENV, then `extra`, over it."""
    return {**os.environ, **CLI_ENV, **(extra or {})}


def run_tunelab(
    *args: str, cwd: Path, timeout: float, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `tunelab ARGS` in `cwd` to its end, at most `timeout` seconds; output as text."""
    return subprocess.run(
        [sys.executable, "-m", "tunelab", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
        env=cli_env(env),
    )


def start_tunelab(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start `tunelab ARGS` in `cwd`, stdout and stderr piped as text; the caller waits."""
    return subprocess.Popen(
        [sys.executable, "-m", "tunelab", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=cli_env(env),
    )
