"""Trial processes die with the process that started them.

A supervisor (`optimize(n_jobs=k)`, `tunelab worker --jobs k`) killed with SIGKILL
cannot stop its children; left alone they would train to the end of their budget,
holding GPU memory and competing with a rerun. So each child watches its parent in
two ways, either one enough:

- Linux: the kernel sends the child SIGTERM when the parent dies (prctl
  PR_SET_PDEATHSIG), asked for first thing in the child; a parent that died before
  that is caught by comparing getppid() with the parent's pid. (The kernel means the
  thread that forked the child: the supervisor forks every child from the thread that
  waits for them all.)
- Any POSIX system: a pipe whose only write end the parent holds. A thread in the
  child reads it; end-of-file means the parent is gone, since the kernel closes a
  dead process's files.

Either way the child records its running trial as LOST (outside the budget; the next
sweep for lost trials queues its retry) and exits. If that record hangs past
HARD_EXIT_S (a locked database, a network timeout), faulthandler's watchdog, a C
thread that needs no GIL, ends the process anyway and prints where it was stuck; the
trial then stays RUNNING, and a rerun on this host finds it lost at once by its pid.

Why SIGTERM, handled, rather than SIGKILL: SIGKILL would end the child before it can
record anything, so its trial would wait for a worker on this host to look (workers
elsewhere wait for the heartbeat grace). The handler only hands the work to a thread,
so the main thread is never cut off mid-write. A SIGTERM that comes while the parent
lives (`kill <child pid>`) ends the child as it did before this module, by the signal,
and the supervisor fails the trial and starts another child.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tunelab._process import exit_now, set_parent_death_signal

log = logging.getLogger("tunelab")

HARD_EXIT_S = 5.0  # how long an orphaned child may take to record its trial
EXIT_ORPHANED = 128 + signal.SIGTERM  # the shell's status for "terminated"


@dataclass(frozen=True)
class ParentLink:
    """What a child needs to notice its parent's death; picklable for a spawned child."""

    parent_pid: int
    reader: Any  # the pipe's read end (a multiprocessing Connection)
    inherited_writer: int | None  # the write end's fd, which a forked child must close


class ParentWatch:
    """The parent's side: holds the pipe's write end while its children run."""

    def __init__(self, ctx: Any) -> None:
        self._reader, self._writer = ctx.Pipe(duplex=False)
        self._forked = ctx.get_start_method() == "fork"

    def link(self) -> ParentLink:
        """For a child about to be started from this process."""
        writer = self._writer.fileno() if self._forked else None
        return ParentLink(os.getpid(), self._reader, writer)

    def close(self) -> None:
        """After the last child has exited."""
        self._reader.close()
        self._writer.close()


def die_with_parent(link: ParentLink, on_orphaned: Callable[[], None]) -> None:
    """In a child, first thing: once its parent is gone, call `on_orphaned` (in a thread
    of its own) to record what it can, and exit."""
    if link.inherited_writer is not None:
        os.close(link.inherited_writer)  # else this child would keep its own pipe open
    orphan = _Orphan(on_orphaned)
    if threading.current_thread() is threading.main_thread():

        def on_sigterm(signum: int, frame: Any) -> None:
            if os.getppid() != link.parent_pid:
                orphan.start()
                return
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not from the kernel: as before
            os.kill(os.getpid(), signal.SIGTERM)

        signal.signal(signal.SIGTERM, on_sigterm)  # before the prctl: no signal unhandled
        set_parent_death_signal(signal.SIGTERM)
    threading.Thread(
        target=_watch, args=(link.reader, orphan.start), name="tunelab-parent", daemon=True
    ).start()
    if os.getppid() != link.parent_pid:  # died before the prctl: no signal will come
        orphan.start()


def _watch(reader: Any, orphaned: Callable[[], None]) -> None:
    """Read the pipe until end-of-file (nothing is ever written to it)."""
    with contextlib.suppress(EOFError, OSError):
        while True:
            reader.recv_bytes()
    orphaned()


class _Orphan:
    """Records and exits once, however many times the parent's death is noticed."""

    def __init__(self, record: Callable[[], None]) -> None:
        self._record = record
        self._once = threading.Lock()  # taken by the first start() and never released

    def start(self) -> None:
        if not self._once.acquire(blocking=False):  # never waits: a signal handler calls it
            return
        threading.Thread(target=self._end, name="tunelab-orphaned", daemon=True).start()

    def _end(self) -> None:
        _hard_exit_after(HARD_EXIT_S)
        log.warning(
            "trial process %d: its parent died; recording its trial and exiting", os.getpid()
        )
        try:
            self._record()
        except Exception as e:  # exiting either way: say why the record is missing
            log.error("trial process %d could not record its trial: %s", os.getpid(), e)
        exit_now(EXIT_ORPHANED)


def _hard_exit_after(seconds: float) -> None:
    """End this process after `seconds` whatever it is doing (module docstring)."""
    stream = sys.__stderr__
    if stream is not None:
        with contextlib.suppress(Exception):  # a stderr without a file descriptor
            faulthandler.dump_traceback_later(seconds, exit=True, file=stream)
            return
    timer = threading.Timer(seconds, os._exit, args=(EXIT_ORPHANED,))
    timer.daemon = True
    timer.start()
