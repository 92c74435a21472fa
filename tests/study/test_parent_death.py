"""A trial process dies with its parent, by each of its two watches alone, with real
processes: the test forks a parent, the parent starts a child that watches it, and the
test kills the parent with SIGKILL. A SIGTERM while the parent lives ends the child as
it always did."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tunelab._process import process_alive
from tunelab.study.parent_death import ParentLink, ParentWatch, die_with_parent

pytestmark = pytest.mark.skipif(
    "fork" not in mp.get_all_start_methods(), reason="forks its parent process"
)
FORK = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
GONE_WITHIN_S = 5.0


def _put(path: Path, text: str) -> None:
    """Write a file whole, so that a reader polling for it never sees it half written."""
    path.with_suffix(".tmp").write_text(text)
    os.replace(path.with_suffix(".tmp"), path)


def _read_when_there(path: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"timed out waiting for {path.name}"
        time.sleep(0.01)
    return path.read_text()


def _child(link: ParentLink, tmp: Path, ignore_sigterm: bool, arm_after: float) -> None:
    time.sleep(arm_after)
    die_with_parent(link, lambda: _put(tmp / "recorded", str(os.getpid())))
    if ignore_sigterm:  # as an objective may: now only the pipe can tell
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _put(tmp / "armed", "")
    time.sleep(60)


def _parent(tmp: Path, ignore_sigterm: bool, leak: bool, arm_after: float) -> None:
    """Start the watching child; with `leak`, hand the pipe's write end to a process that
    outlives this one, so that only the kernel's signal or getppid() can tell."""
    assert FORK is not None
    watch = ParentWatch(FORK)
    link = watch.link()
    if leak:
        assert link.inherited_writer is not None
        helper = subprocess.Popen(["sleep", "30"], pass_fds=[link.inherited_writer])
        _put(tmp / "helper", str(helper.pid))
    child = FORK.Process(target=_child, args=(link, tmp, ignore_sigterm, arm_after))
    child.start()
    _put(tmp / "child", str(child.pid))
    child.join()
    _put(tmp / "exitcode", str(child.exitcode))
    os._exit(0)


def _run(
    tmp: Path, ignore_sigterm: bool = False, leak: bool = False, arm_after: float = 0.0
) -> tuple[Any, int]:
    assert FORK is not None
    parent = FORK.Process(target=_parent, args=(tmp, ignore_sigterm, leak, arm_after))
    parent.start()
    child = int(_read_when_there(tmp / "child"))
    return parent, child


def _assert_gone_and_recorded(tmp: Path, child: int) -> None:
    deadline = time.monotonic() + GONE_WITHIN_S
    while process_alive(child):
        assert time.monotonic() < deadline, f"the child outlived its parent by {GONE_WITHIN_S} s"
        time.sleep(0.02)
    assert (tmp / "recorded").read_text() == str(child)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("ignore_sigterm", "leak"),
    [(False, False), (True, False), (False, True)],
    ids=["both-watches", "pipe-only", "signal-only"],
)
def test_the_child_records_and_exits_when_its_parent_is_killed(
    tmp_path: Path, ignore_sigterm: bool, leak: bool
) -> None:
    if leak and not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    parent, child = _run(tmp_path, ignore_sigterm, leak)
    try:
        _read_when_there(tmp_path / "armed")
        parent.kill()
        parent.join()
        _assert_gone_and_recorded(tmp_path, child)
    finally:
        _kill(child)
        if leak:
            _kill(int(_read_when_there(tmp_path / "helper")))


def test_a_parent_dead_before_the_child_watches_is_noticed_at_once(tmp_path: Path) -> None:
    """The parent dies before the child asks for the signal, and the pipe is held open
    elsewhere: only getppid() can tell."""
    parent, child = _run(tmp_path, leak=True, arm_after=1.0)
    try:
        parent.kill()
        parent.join()
        assert not (tmp_path / "armed").exists()  # killed before the child armed its watch
        _assert_gone_and_recorded(tmp_path, child)
    finally:
        _kill(child)
        _kill(int(_read_when_there(tmp_path / "helper")))


def test_sigterm_while_the_parent_lives_ends_the_child_as_before(tmp_path: Path) -> None:
    parent, child = _run(tmp_path)
    try:
        _read_when_there(tmp_path / "armed")
        os.kill(child, signal.SIGTERM)
        assert int(_read_when_there(tmp_path / "exitcode")) == -signal.SIGTERM
        parent.join(30)
        assert parent.exitcode == 0
        assert not (tmp_path / "recorded").exists()
    finally:
        _kill(child)
        _kill(parent.pid)
