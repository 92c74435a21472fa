"""One line per finished trial, for output that is not a terminal (a log file, a pipe,
a cluster job's output), where a progress bar shows nothing until the run ends:

    trial 12 COMPLETE val_accuracy=0.951 (best #9 0.969) 3.2 s

`TrialLines` is a finished-trial callback of `optimize` / `run_worker`: it runs in the
process that ran the trial, right after the trial is stored, and reads the study's best
so far through that process's own study and storage. No other thread or connection
polls the database, so a database outage is met, and announced, once per process by
the trial loop's own storage, and a worker killed with SIGKILL leaves nothing behind.
With several trial processes (`--jobs 4`) each prints the lines of its own trials to
the output they share; a line is one write, so lines never interleave mid-line."""

from __future__ import annotations

import sys
from typing import Any

from tunelab._terminal import plain
from tunelab.study.front import best_by, pareto_front
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState


def is_terminal() -> bool:
    """Whether both stdout and stderr (the progress bar's stream) are terminals."""
    return _isatty(sys.stdout) and _isatty(sys.stderr)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # None, or a closed stream
        return False


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return plain(value)
    return f"{value:.6g}"


def _seconds(t: FrozenTrial) -> str:
    return "" if t.duration is None else f" {t.duration:.1f} s"


def _standing(study: Any) -> str:
    """'(best #9 0.969)' with `study.best_trial`'s tie-break, or '(front 4)'."""
    complete = study.storage.get_trials(study.study_id, [TrialState.COMPLETE], with_reports=False)
    if study.multi_objective:
        return f"(front {len(pareto_front(complete, study.objectives))})"
    best = best_by(complete, study.objectives, study.metric)
    return "(best -)" if best is None else f"(best #{best.number} {_num(best.value)})"


def trial_line(study: Any, t: FrozenTrial, standing: str | None) -> str:
    """The line of finished trial `t`; `standing`: the best so far or the front's size
    (None when it could not be read)."""
    head = f"trial {t.number} {t.state.value}"
    if t.state is TrialState.FAIL:
        lines = (t.reason or "").strip().splitlines()
        return f"{head}: {plain(lines[0]) if lines else 'no reason given'}{_seconds(t)}"
    words = [head]
    if t.state is TrialState.PRUNED and t.last_step is not None:
        words.append(f"at step {t.last_step}")
    if t.values is not None and len(t.values) == len(study.metrics):
        words += [f"{plain(m)}={_num(v)}" for m, v in zip(study.metrics, t.values, strict=True)]
    if t.state is TrialState.COMPLETE and not t.feasible:
        words.append("infeasible")
    if standing is not None:
        words.append(standing)
    return " ".join(words) + _seconds(t)


class TrialLines:
    """The callback `f(study, trial)` that prints a finished trial's line to stdout.

    Picklable (it holds no stream), so trial processes started by spawn get it too.
    A failure to read the best so far never stops the run: the line goes without it."""

    def __call__(self, study: Any, trial: FrozenTrial) -> None:
        try:
            standing: str | None = _standing(study)
        except Exception:  # the database gave up waiting: the trial loop will say so
            standing = None
        stream = sys.stdout
        if stream is None:
            return
        try:
            stream.write(trial_line(study, trial, standing) + "\n")
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: the run itself goes on
            pass
