"""Helpers for tests that run worker processes: the worker script and ways to wait on it."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tunelab
from tunelab.storage.sql import SQLStorage

WORKER_SCRIPT = '''
import json, os, pathlib, sys, time
import tunelab

cfg = json.loads(sys.argv[1])
study = tunelab.create_study(
    cfg["name"], storage=cfg["url"], metric="loss", direction="minimize",
    sampler=cfg.get("sampler", "random"), heartbeat_interval=cfg.get("heartbeat", 10.0),
)
if cfg.get("go"):  # start together: say ready, then wait for the go file
    pathlib.Path(cfg["ready"]).touch()
    while not os.path.exists(cfg["go"]):
        time.sleep(0.01)


def hang_here(trial):
    """In trial number `hang_at` (or any from `hang_from` on): tell the test which trial
    through the marker file, then stay inside it a while."""
    if trial.number == cfg.get("hang_at"):
        marker = pathlib.Path(cfg["marker"])
    elif cfg.get("hang_from") is not None and trial.number >= cfg["hang_from"]:
        marker = pathlib.Path(f"{cfg['marker']}.{trial.number}")
    else:
        return
    tmp = marker.with_name(f".{marker.name}.tmp")  # whole or absent to a test reading it
    tmp.write_text(str(trial.trial_id))
    os.replace(tmp, marker)
    time.sleep(cfg.get("hang_s", 600))  # killed (or stopped, or interrupted) here


def objective(trial):
    if cfg["kind"] == "grid":
        a = trial.hp.Choice("a", [1, 2, 3])
        b = trial.hp.Choice("b", ["x", "y"])
        c = trial.hp.Boolean("c")
        trial.report(0, loss=float(a))
        hang_here(trial)
        time.sleep(cfg["sleep"])
        return a + len(b) + int(c)
    x = trial.hp.Float("x", 0.0, 1.0)
    units = trial.hp.Int("units", 8, 64, step=8)
    for step in range(cfg["steps"]):
        trial.report(step, loss=x + step, units=units)
        if step == 0:
            hang_here(trial)
        time.sleep(cfg["sleep"])
    return x


study.optimize(objective, n_trials=cfg["n_trials"], n_jobs=cfg.get("n_jobs", 1))
print("worker done", os.getpid(), flush=True)
'''

Spawn = Callable[..., subprocess.Popen[str]]


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    """Wait for a worker; fail with its output unless it exited cleanly. Return its stdout."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"worker exited with {proc.returncode}:\n{out}\n{err}"
    assert "Traceback" not in err and "Error" not in err, err
    return out


def completed(url: str, name: str = "s") -> int:
    """How many trials of study `name` are COMPLETE, read through a short-lived storage."""
    with tunelab.get_storage(url).session() as storage:
        record = storage.get_study(name)
        assert record is not None
        return storage.count_trials(record.study_id)[tunelab.TrialState.COMPLETE]


def wait_for(condition: Callable[[], bool], timeout: float = 30, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def start_together(spawn: Spawn, tmp_path: Path, n: int, **cfg: Any) -> list[subprocess.Popen[str]]:
    """Start n workers and release them at once, after all have opened the study."""
    go = tmp_path / "go"
    procs = [spawn(ready=str(tmp_path / f"ready{i}"), go=str(go), **cfg) for i in range(n)]
    wait_for(
        lambda: all((tmp_path / f"ready{i}").exists() for i in range(n)),
        what="the workers to open the study",
    )
    go.touch()
    return procs


def open_study(url: str, name: str = "s") -> tunelab.Study:
    return tunelab.load_study(name, storage=SQLStorage(url))
