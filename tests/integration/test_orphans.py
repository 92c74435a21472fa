"""kill -9 of a process that runs trials in children (`tunelab run --jobs 2`,
`optimize(n_jobs=2)`, `tunelab worker --jobs 2`) leaves no orphan training on.

Killing the parent alone: its children notice within moments, record their trials as
LOST and exit. Killing the whole process group: nobody records anything, and the rerun
finds the RUNNING trials' workers dead by their pids (zombies included) at once, far
inside the heartbeat grace. Either way the rerun completes the budget, retrying the
lost trials.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import tunelab
from cli_process import cli_env, start_tunelab
from tunelab._process import process_alive
from tunelab.study.liveness import LOST_REASON, ORPHANED
from tunelab.types import EndCause, TrialState

from .cli_workers import clean_exit
from .workers import wait_for

pytestmark = pytest.mark.slow

N_TRIALS = 6
HEARTBEAT_S = 30.0  # the grace is 4 beats: 120 s, far longer than any of these tests
GONE_WITHIN_S = 5.0
ENTRIES = ["run", "optimize", "worker"]

# With TEST_HANG_DIR set, every trial writes its process's pid and trial id there and
# hangs; without, trials finish at once.
OBJECTIVE = """
import os, pathlib, time
METRIC = "loss"
DIRECTION = "minimize"
HANG = os.environ.get("TEST_HANG_DIR")

def objective(trial):
    x = trial.hp.Float("x", 0.0, 1.0)
    trial.report(0, loss=x)
    if HANG:
        tmp = pathlib.Path(HANG, f"{os.getpid()}.tmp")
        tmp.write_text(str(trial.trial_id))
        os.replace(tmp, pathlib.Path(HANG, str(os.getpid())))
        time.sleep(600)
    return x
"""
OPTIMIZE = """
import sys
import tunelab
from obj import objective

study = tunelab.load_study("s", storage=sys.argv[1])
study.optimize(objective, n_trials=int(sys.argv[2]), n_jobs=2)
"""

Start = Callable[[str, bool], subprocess.Popen[str]]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """start(entry, hang) runs one of the three parents of trial processes on a study made
    here; every process group still alive at teardown is killed."""
    url = str(tmp_path / "s.db")
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    (tmp_path / "opt.py").write_text(OPTIMIZE)
    (tmp_path / "hang").mkdir()
    tunelab.create_study(
        "s",
        storage=url,
        metric="loss",
        direction="minimize",
        heartbeat_interval=HEARTBEAT_S,
        max_retries=1,
    ).storage.close()
    started: list[subprocess.Popen[str]] = []

    def run(entry: str, hang: bool) -> subprocess.Popen[str]:
        env = {"TEST_HANG_DIR": str(tmp_path / "hang") if hang else ""}
        trials, jobs = ("--trials", str(N_TRIALS)), ("--jobs", "2")
        if entry == "run":
            args = ("run", "obj.py", "--study", "s", "--storage", url, *trials, *jobs)
            proc = start_tunelab(*args, "--no-progress", cwd=tmp_path, env=env)
        elif entry == "worker":
            args = ("worker", "s", "--storage", url, "--script", "obj.py", *trials, *jobs)
            proc = start_tunelab(*args, cwd=tmp_path, env=env)
        else:
            proc = subprocess.Popen(
                [sys.executable, "opt.py", url, str(N_TRIALS)],
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
                env=cli_env(env),
            )
        started.append(proc)
        return proc

    yield run
    for proc in started:  # the parent's group holds its children, orphaned or not
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)


def _inside_trials(
    start: Start, entry: str, tmp_path: Path
) -> tuple[subprocess.Popen[str], dict[int, int]]:
    """Start `entry` with hanging trials; once both children are inside one, return the
    parent and {child pid: its trial id}."""
    proc = start(entry, True)
    hang = tmp_path / "hang"
    wait_for(
        lambda: (
            len([p for p in hang.iterdir() if p.name.isdigit()]) == 2 or proc.poll() is not None
        ),
        timeout=60,
        what="both trial processes to enter a trial",
    )
    assert proc.poll() is None, proc.communicate()
    held = {int(p.name): int(p.read_text()) for p in hang.iterdir() if p.name.isdigit()}
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    if children.exists():  # Linux: these are all its children
        assert {int(pid) for pid in children.read_text().split()} == set(held)
    return proc, held


def _wait_gone(pids: set[int]) -> None:
    deadline = time.monotonic() + GONE_WITHIN_S
    while alive := {pid for pid in pids if process_alive(pid)}:
        assert time.monotonic() < deadline, f"trial processes {alive} outlived their parent"
        time.sleep(0.02)


def _trials(url: str) -> list[tunelab.FrozenTrial]:
    with tunelab.get_storage(url).session() as storage:
        record = storage.get_study("s")
        assert record is not None
        return storage.get_trials(record.study_id)


def _rerun_completes(start: Start, entry: str, url: str, lost: set[int], reason: str) -> None:
    """The same command again: it ends the lost trials at once (well inside the grace),
    retries them, and fills the budget."""
    began = time.monotonic()
    clean_exit(start(entry, False), timeout=60)
    assert time.monotonic() - began < HEARTBEAT_S  # a quarter of the grace
    trials = _trials(url)
    by_id = {t.trial_id: t for t in trials}
    for trial_id in lost:
        t = by_id[trial_id]
        assert (t.state, t.end_cause, t.reason) == (TrialState.FAIL, EndCause.LOST, reason)
        assert t.retried_by is not None
    assert [t.state for t in trials].count(TrialState.COMPLETE) == N_TRIALS
    assert len(trials) == N_TRIALS + len(lost)  # the lost trials used no budget


@pytest.mark.parametrize("entry", ENTRIES)
def test_killing_the_parent_ends_its_trial_processes(
    start: Start, tmp_path: Path, entry: str
) -> None:
    proc, held = _inside_trials(start, entry, tmp_path)
    os.kill(proc.pid, signal.SIGKILL)  # the parent only
    proc.wait()
    _wait_gone(set(held))
    by_id = {t.trial_id: t for t in _trials(str(tmp_path / "s.db"))}
    for trial_id in held.values():  # each child recorded its trial on its way out
        t = by_id[trial_id]
        assert (t.state, t.end_cause, t.reason) == (TrialState.FAIL, EndCause.LOST, ORPHANED)
    _rerun_completes(start, entry, str(tmp_path / "s.db"), set(held.values()), ORPHANED)


@pytest.mark.parametrize("entry", ENTRIES)
def test_the_rerun_finds_the_trials_of_a_killed_group_lost_at_once(
    start: Start, tmp_path: Path, entry: str
) -> None:
    proc, held = _inside_trials(start, entry, tmp_path)
    os.killpg(proc.pid, signal.SIGKILL)  # the parent and its children: nobody records
    proc.wait()
    _wait_gone(set(held))  # dead, though maybe not reaped: a zombie's pid still exists
    by_id = {t.trial_id: t for t in _trials(str(tmp_path / "s.db"))}
    assert all(by_id[i].state is TrialState.RUNNING for i in held.values())
    _rerun_completes(start, entry, str(tmp_path / "s.db"), set(held.values()), LOST_REASON)
