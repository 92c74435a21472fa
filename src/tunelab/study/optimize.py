"""The trial loop: ask, run the objective, tell, through the study's public API. Every
worker process runs it: `optimize()` in its own process, or each process of
`optimize(n_jobs=k)` and `tunelab worker` (supervise.py starts and watches them).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tunelab._process import rss_mb, set_torch_threads
from tunelab.errors import (
    ConfigurationError,
    ConfigurationTypeError,
    GridExhausted,
    TrialDiverged,
    TrialError,
    TrialFailed,
    TrialOutOfMemory,
    TrialPaused,
    TrialPruned,
    TunelabError,
)
from tunelab.study.thaw import not_resumable
from tunelab.trial import FrozenTrial, Trial
from tunelab.types import EndCause, TrialState

if TYPE_CHECKING:
    from tunelab.study.study import Study

log = logging.getLogger("tunelab")

Objective = Callable[[Trial], Any]
Callback = Callable[["Study", FrozenTrial], None]


@dataclass(frozen=True)
class RunPlan:
    """When to stop and how to treat failures; the same for every worker."""

    total: int | None  # study-wide trial budget
    deadline: float | None  # time.time() after which no trial starts
    catch: tuple[type[BaseException], ...] = (Exception,)
    max_consecutive_failures: int | None = 5
    n_jobs: int = 1
    started_at: float = field(default_factory=time.time)  # a later `tunelab stop` ends it
    trials_per_process: int | None = None  # then the process exits to be replaced
    max_rss_mb: float | None = None  # likewise once its memory grows past this

    def time_left(self) -> bool:
        return self.deadline is None or time.time() < self.deadline


def plan_run(
    study: Study,
    n_trials: int | None,
    timeout: float | None,
    add: bool,
    catch: tuple[type[BaseException], ...],
    max_consecutive_failures: int | None,
    n_jobs: int,
    in_processes: bool,
) -> RunPlan:
    """The plan of one `optimize()` call: a study-wide budget (`add`: that many more than
    already count), a deadline; refused when worker processes cannot share the storage."""
    if in_processes and not study.storage.shared_across_processes:
        raise ConfigurationError(
            "n_jobs > 1 and gpus run worker processes, which cannot share in-memory "
            "storage; use a SQLite file (the default) or another database URL"
        )
    total = n_trials
    if add and n_trials is not None:
        total = study.storage.count_trials(study.study_id).budget_used + n_trials
    deadline = None if timeout is None else time.time() + timeout
    return RunPlan(total, deadline, catch, max_consecutive_failures, n_jobs)


def check_count(label: str, value: Any) -> None:
    """Raise unless `value` is None or a non-negative int (a budget, a number of trials)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ConfigurationError(f"{label} must be a non-negative int or None, got {value!r}")


def check_limits(n_trials: int | None, timeout: float | None) -> None:
    """A run's trial budget and time limit, as `optimize` and `tunelab worker` take them."""
    check_count("n_trials", n_trials)
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ConfigurationError(f"timeout must be > 0 seconds or None, got {timeout!r}")


def checked_run(
    objective: Any, callbacks: Any, catch: Any, max_consecutive_failures: Any
) -> tuple[list[Callback], tuple[type[BaseException], ...]]:
    """`optimize`'s other arguments, checked before any trial starts (a mistake here would
    otherwise fail every trial, or surface only when the first exception is caught); the
    callbacks as a list and `catch` as a tuple (one exception class may be given alone)."""
    if not callable(objective):
        raise ConfigurationTypeError(
            f"the objective must be a function objective(trial), but got {objective!r}"
        )
    if callable(callbacks) or not isinstance(callbacks, (list, tuple, type(None))):
        raise ConfigurationTypeError(
            f"callbacks must be a list of functions f(study, trial), but got {callbacks!r}; "
            "wrap a single one in a list"
        )
    for callback in callbacks or ():
        if not callable(callback):
            raise ConfigurationTypeError(
                f"each callback must be a function f(study, trial), but got {callback!r}"
            )
    classes = (catch,) if isinstance(catch, type) else catch
    if not isinstance(classes, (list, tuple)) or not all(
        isinstance(c, type) and issubclass(c, BaseException) for c in classes
    ):
        raise ConfigurationTypeError(
            f"catch must be a tuple of exception classes, e.g. (ValueError,), but got {catch!r}"
        )
    limit = max_consecutive_failures
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigurationError(
            "max_consecutive_failures must be a positive int, or None to never stop on "
            f"failures, but got {limit!r}"
        )
    return list(callbacks or ()), tuple(classes)


STOP_SETTING = "stop"
_FROM_OUTSIDE = (EndCause.INTERRUPTED, EndCause.LOST)  # trials Ctrl-C or a dead worker ended
STOP_CHECK_S = 1.0


def stop_requested(study: Study, since: float) -> bool:
    """True when `tunelab stop` (or Study settings' `stop`) was asked at or after `since`:
    workers started before the stop finish their trial and exit; later ones run."""
    record = study.storage.get_study(study.name)
    stop = record.settings.get(STOP_SETTING) if record is not None else None
    return isinstance(stop, (int, float)) and stop >= since


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and (if loaded) torch's global generators, so a trial's model
    initialisation, shuffling and dropout repeat exactly when the trial is rerun."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def run_trials(
    study: Study, objective: Objective, plan: RunPlan, callbacks: Sequence[Callback] = ()
) -> int:
    """Run trials in this process through the study's public `ask` and `tell` until the
    budget, the deadline or the grid ends, or a stop is asked; with
    `plan.trials_per_process` / `max_rss_mb`, until this process has run that many trials
    or grown that large (`process_spent` tells which). Every failed trial says why in one
    line; `plan.max_consecutive_failures` failures in a row stop the run."""
    set_torch_threads(plan.n_jobs)
    done = 0
    failures_in_row = 0
    study.fail_lost_trials()
    next_stop_check = 0.0

    def may_start() -> bool:
        """Whether this process may start another trial."""
        nonlocal next_stop_check
        if not plan.time_left():
            return False
        if study.stop_asked is not None and study.stop_asked >= plan.started_at:
            return False  # study.stop() in this process: no storage read needed
        if time.monotonic() >= next_stop_check:  # a read per second, not per trial
            if stop_requested(study, plan.started_at):
                return False
            next_stop_check = time.monotonic() + STOP_CHECK_S
        return not process_spent(plan, done)

    try:
        while may_start():
            try:
                trial = study.ask(budget=plan.total)
            except (StopIteration, GridExhausted):
                break
            frozen = _run_one(study, trial, objective, plan.catch)
            done += 1
            stopped_from_outside = frozen.end_cause in _FROM_OUTSIDE  # says nothing of it
            if frozen.state is TrialState.FAIL and not stopped_from_outside:
                failures_in_row += 1
                log.warning("trial %d failed: %s", frozen.number, frozen.reason)
                limit = plan.max_consecutive_failures
                if limit and failures_in_row >= limit:
                    raise TunelabError(
                        f"{failures_in_row} trials in a row failed; the last: {frozen.reason}. "
                        "Fix the objective, then rerun to resume"
                    )
            elif not stopped_from_outside:
                failures_in_row = 0
            for callback in callbacks:
                callback(study, frozen)
    except KeyboardInterrupt:
        study.interrupt_running()  # wherever the signal landed: in the objective, ask or tell
        raise
    finally:
        study.close()
    return done


def process_spent(plan: RunPlan, done: int) -> bool:
    """Whether this process has run its share of trials or grown past its memory bound."""
    if plan.trials_per_process is not None and done >= plan.trials_per_process:
        return True
    if plan.max_rss_mb is not None and done:
        rss = rss_mb()
        return rss is not None and rss > plan.max_rss_mb
    return False


_PRUNED_CAUSES = {TrialDiverged: EndCause.DIVERGED, TrialOutOfMemory: EndCause.OUT_OF_MEMORY}


def _run_one(
    study: Study, trial: Trial, objective: Objective, catch: tuple[type[BaseException], ...]
) -> FrozenTrial:
    """Run the objective on a started trial and `tell` the study how it ended."""
    seed_everything(trial.seed)
    try:
        result = objective(trial)
    except TrialPaused:
        if trial.resumable:
            return study.pause(trial)
        return study.tell(trial, state=TrialState.FAIL, reason=not_resumable(trial))
    except TrialPruned as e:
        cause = _PRUNED_CAUSES.get(type(e))
        return study.tell(trial, state=TrialState.PRUNED, reason=str(e) or "pruned", cause=cause)
    except GridExhausted as e:
        return study.tell(trial, state=TrialState.FAIL, reason=str(e), cause=EndCause.INTERRUPTED)
    except Exception as e:
        frozen = study.tell(
            trial, state=TrialState.FAIL, reason=describe_error(e), cause=EndCause.RAISED
        )
        if isinstance(e, TrialError) and frozen.end_cause is EndCause.LOST:
            # Another worker judged this one dead (it was paused or starved past the
            # heartbeat grace) and its writes are refused now: drop the trial, go on.
            log.warning("trial %d was declared lost while it ran; going on", frozen.number)
            return frozen
        if isinstance(e, TunelabError) or not isinstance(e, (TrialFailed, *catch)):
            raise  # a bad space or broken storage fails every trial alike: stop
        return frozen
    return study.tell(trial, result)


def describe_error(error: BaseException) -> str:
    """'ValueError: message (at file.py:12)' — the line in the user's code that raised."""
    frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ else []
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def start_method() -> str:
    """How worker processes start: forked where the platform can, else spawned."""
    return "fork" if "fork" in mp.get_all_start_methods() else "spawn"
