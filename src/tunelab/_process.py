"""Per-process facts every worker needs, whatever runs the trials (the optimize loop, a
supervised child, the Keras drop-in): torch's thread count, resident memory, which
process a pid names now, and the kernel's parent-death signal.
Depends on nothing else in tunelab."""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from tunelab.errors import ConfigurationError


def torch_threads(n_jobs: int = 1) -> int:
    """Torch threads per worker: TUNELAB_TORCH_THREADS when set, else 1.

    Intra-op threads gain little on the small models tuned here (12% for the digits MLP
    with 2 threads on an idle 2-core machine) but lose badly once another process needs
    a core: OpenMP threads spin-wait for each other, and the same 10 epochs took 3.6x
    longer with 2 threads (up to ~100x in the worst case seen) while another worker ran.
    Parallel trials (n_jobs) are the better use of cores; `n_jobs` is kept in the
    signature so a future policy can share cores among workers."""
    override = os.environ.get("TUNELAB_TORCH_THREADS", "").strip()
    if override:
        if not override.isdigit() or int(override) < 1:
            raise ConfigurationError(
                "TUNELAB_TORCH_THREADS must be a positive integer, but got "
                f"TUNELAB_TORCH_THREADS={override!r}; set it to e.g. 1, or unset it"
            )
        return int(override)
    return 1


def set_torch_threads(n_jobs: int = 1) -> None:
    """Set torch's thread count deliberately in every worker, if torch is in use: two
    workers with two threads each on two cores run many times slower than with one each."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    wanted = torch_threads(n_jobs)
    if torch.get_num_threads() != wanted:
        with contextlib.suppress(RuntimeError):  # refused once parallel work has begun
            torch.set_num_threads(wanted)


def rss_mb(pid: int | None = None) -> float | None:
    """Resident memory of a process in MiB, from /proc (Linux); None where unknown."""
    try:
        with open(f"/proc/{pid or 'self'}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def exit_now(code: int) -> None:
    """Leave at once, without the atexit handlers a forked child inherits, output flushed."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def boot_id() -> str | None:
    """This boot of the machine (Linux), shortened; None where unknown. A pid and a start
    time name one process only within one boot."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip().replace("-", "")[:12] or None
    except OSError:
        return None


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command name (field 3 on); None where unreadable."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            text = fh.read()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()  # the name may hold spaces and ')'
    return fields if len(fields) > 19 else None


def start_time(pid: int | None = None) -> int | None:
    """When a process started, in clock ticks after boot (Linux); None where unknown.
    A pid is reused, but not together with its start time."""
    fields = _stat(os.getpid() if pid is None else pid)
    if fields is None or not fields[19].isdigit():
        return None
    return int(fields[19])


def process_alive(pid: int, started: int | None = None) -> bool:
    """Whether `pid` names a live process (a zombie is dead) and, when `started` is given,
    still the one that started then. Where /proc cannot tell (another platform, a hidden
    process of another user), an existing pid counts as alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, belongs to another user
    except (OverflowError, ValueError):
        return False  # not a pid at all
    fields = _stat(pid)
    if fields is None:
        return True
    if fields[0] in ("Z", "X"):
        return False
    return started is None or fields[19] == str(started)


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def set_parent_death_signal(signum: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send this process `signum` when its parent dies (Linux prctl
    PR_SET_PDEATHSIG). Returns False where the platform has no such thing. The caller
    checks getppid() afterwards: a parent that died before this call sends nothing."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # only in the processes that ask

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        done = libc.prctl(
            ctypes.c_int(PR_SET_PDEATHSIG),
            ctypes.c_ulong(signum),
            ctypes.c_ulong(0),
            ctypes.c_ulong(0),
            ctypes.c_ulong(0),
        )
    except (OSError, AttributeError):
        return False
    return bool(done == 0)
