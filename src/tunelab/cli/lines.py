"""One line per finished trial, for output that is not a terminal (a log file, a pipe,
a cluster job's output), where a progress bar shows nothing until the run ends:

    trial 12 COMPLETE val_accuracy=0.951 (best #9 0.969) 3.2 s

Like the progress bar it polls storage, so it sees every trial of the study that
finishes while it runs, whichever process ran it (`--jobs 4` children, other workers);
each trial gets one line, printed and flushed when the poll sees it finished. User text
(metric names, failure reasons) passes through `plain`."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import Any, TextIO

from tunelab._terminal import plain
from tunelab.study.front import pareto_front, top
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

POLL_S = 0.5


def wants_lines() -> bool:
    """Lines instead of a bar when stdout or stderr (the bar's stream) is no terminal."""
    return not (_isatty(sys.stdout) and _isatty(sys.stderr))


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # None, or a closed stream
        return False


def _num(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, (int, float)) else plain(value)


def _seconds(t: FrozenTrial) -> str:
    return "" if t.duration is None else f" {t.duration:.1f} s"


def trial_line(study: Any, t: FrozenTrial, done: Sequence[FrozenTrial]) -> str:
    """The line of finished trial `t`; `done`: the study's trials finished up to it (for
    the best so far, with `Study.top_trials`'s tie-break, or the Pareto front's size)."""
    words = [f"trial {t.number} {t.state.value}"]
    if t.state is TrialState.PRUNED and t.last_step is not None:
        words.append(f"at step {t.last_step}")
    if t.state is TrialState.FAIL:
        lines = (t.reason or "").strip().splitlines()
        return f"{words[0]}: {plain(lines[0]) if lines else 'no reason given'}{_seconds(t)}"
    if t.values is not None and len(t.values) == len(study.metrics):
        words += [f"{plain(m)}={_num(v)}" for m, v in zip(study.metrics, t.values, strict=True)]
    if t.state is TrialState.COMPLETE and not t.feasible:
        words.append("infeasible")
    if study.multi_objective:
        words.append(f"(front {len(pareto_front(done, study.objectives))})")
    else:
        best = top(done, study.objectives, 1)
        words.append(f"(best #{best[0].number} {_num(best[0].value)})" if best else "(best -)")
    return " ".join(words) + _seconds(t)


class TrialLines:
    """While entered, print a line for each trial of `study` that finishes (see the
    module docstring); on exit, one last poll prints the trials that finished since."""

    def __init__(self, study: Any, stream: TextIO | None = None, interval: float = POLL_S):
        self._study = study
        self._stream = stream
        self._interval = interval
        self._seen: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _finished(self) -> list[FrozenTrial]:
        states = [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL]
        return self._study.storage.get_trials(self._study.study_id, states, with_reports=False)

    def poll(self) -> None:
        """Print the lines of the trials finished since the last poll, in finishing order."""
        with self._lock:
            finished = sorted(
                self._finished(), key=lambda t: (t.datetime_complete or 0.0, t.number)
            )
            new = [t for t in finished if t.trial_id not in self._seen]
            stream = self._stream or sys.stdout
            for t in new:
                self._seen.add(t.trial_id)
                if t.state is TrialState.PRUNED:  # the step it stopped at: its reports
                    t = self._study.storage.get_trial(t.trial_id)
                end = (t.datetime_complete or 0.0, t.number)
                done = [d for d in finished if (d.datetime_complete or 0.0, d.number) <= end]
                stream.write(trial_line(self._study, t, done) + "\n")
                stream.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.poll()
            except Exception:  # a busy database: the next poll tries again
                continue

    def __enter__(self) -> TrialLines:
        self._seen = {t.trial_id for t in self._finished()}  # earlier runs' trials: no line
        self._thread = threading.Thread(target=self._run, name="tunelab-lines", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if kind is None or not issubclass(kind, KeyboardInterrupt):  # Ctrl-C: leave at once
            self.poll()
