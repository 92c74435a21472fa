"""Fixtures that start worker processes running a script file with `sys.executable`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .workers import WORKER_SCRIPT, Spawn


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return str(tmp_path / "studies.db")


@pytest.fixture
def spawn(tmp_path: Path, db_url: str) -> Iterator[Spawn]:
    """spawn(**cfg) starts a worker process; every one still alive at teardown is killed."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    procs: list[subprocess.Popen[str]] = []

    def start(**cfg: Any) -> subprocess.Popen[str]:
        cfg = {
            "name": "s",
            "url": db_url,
            "kind": "sleep",
            "sleep": 0.0,
            "steps": 2,
            "n_trials": 10,
            **cfg,
        }
        proc = subprocess.Popen(  # its own process group, as a job a terminal starts
            [sys.executable, str(script), json.dumps(cfg)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            start_new_session=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:  # the worker and any processes it started (n_jobs)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
