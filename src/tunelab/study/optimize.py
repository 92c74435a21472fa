"""The optimize loop: ask, run the objective, tell. One code path for every worker.

`n_jobs=k` starts k worker processes (never threads: training holds the GIL)
that share the study through storage, exactly as remote workers would.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunelab._process import rss_mb, set_torch_threads
from tunelab.errors import GridExhausted, TrialError, TrialPruned, TunelabError
from tunelab.study.stopping import INTERRUPTED, CtrlC, stop_processes
from tunelab.trial import FrozenTrial, Trial
from tunelab.types import TrialState

log = logging.getLogger("tunelab")

Objective = Callable[[Trial], Any]
Callback = Callable[[Any, FrozenTrial], None]


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


STOP_SETTING = "stop"
STOP_CHECK_S = 1.0


def stop_requested(study: Any, since: float) -> bool:
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
    study: Any, objective: Objective, plan: RunPlan, callbacks: Sequence[Callback] = ()
) -> int:
    """Run trials in this process until the budget, the deadline or the grid ends, or a
    stop is asked; with `plan.trials_per_process` / `max_rss_mb`, until this process has
    run that many trials or grown that large (`process_spent` tells which).

    Finishing a trial and starting the next are one storage transaction when the loop
    goes on (`Study._finish_and_ask`), so the next trial exists (RUNNING) before the
    callbacks of the last one run."""
    set_torch_threads(plan.n_jobs)
    done = 0
    failures_in_row = 0
    study.fail_lost_trials()
    next_stop_check = 0.0

    def may_start(ran: int) -> bool:
        """Whether this process may start another trial, having run `ran`."""
        nonlocal next_stop_check
        if not plan.time_left():
            return False
        if time.monotonic() >= next_stop_check:  # a read per second, not per trial
            if stop_requested(study, plan.started_at):
                return False
            next_stop_check = time.monotonic() + STOP_CHECK_S
        return not process_spent(plan, ran)

    def goes_on(raised: bool) -> bool:
        """Whether the loop goes on after the trial running now ends (`raised`: with an
        exception that `catch` allows)."""
        limit = plan.max_consecutive_failures
        if raised and limit and failures_in_row + 1 >= limit:
            return False
        return may_start(done + 1)

    trial: Trial | None = None  # started with the last finish, or by ask()
    try:
        while True:
            if trial is None:
                if not may_start(done):
                    break
                try:
                    trial = study.ask(budget=plan.total)
                except (StopIteration, GridExhausted):
                    break
            frozen, trial, chained = _run_one(
                study, trial, objective, plan.catch, goes_on, plan.total
            )
            done += 1
            if frozen.system_attrs.get("raised"):
                failures_in_row += 1
                limit = plan.max_consecutive_failures
                if limit and failures_in_row >= limit:
                    raise TunelabError(
                        f"{failures_in_row} trials in a row raised an exception; the last: "
                        f"{frozen.reason}. Fix the objective, then rerun to resume"
                    )
            else:
                failures_in_row = 0
            for callback in callbacks:
                callback(study, frozen)
            if chained and trial is None:
                break  # the budget is used: the chained start said so
    except KeyboardInterrupt:
        study.interrupt_running()  # wherever the signal landed: in the objective, ask or tell
        raise
    except BaseException:
        if trial is not None and not trial.finished:  # started with the last finish, not run
            with contextlib.suppress(Exception):
                study._finish(
                    trial, None, TrialState.FAIL, "not run: its worker stopped on an error",
                    {"interrupted": True},
                )  # fmt: skip
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


def _run_one(
    study: Any,
    trial: Trial,
    objective: Objective,
    catch: tuple[type[BaseException], ...],
    goes_on: Callable[[bool], bool],
    budget: int | None,
) -> tuple[FrozenTrial, Trial | None, bool]:
    """Run the objective and finish the trial: (its record, the next trial when it was
    started in the same transaction, whether that was tried). `goes_on(raised)` tells
    whether the loop continues after this trial."""
    seed_everything(trial.seed)

    def finish(
        state: TrialState | None, reason: str | None, attrs: dict[str, Any], raised: bool = False
    ) -> tuple[FrozenTrial, Trial | None, bool]:
        if not goes_on(raised):
            return study._finish(trial, result, state, reason, attrs), None, False
        frozen, nxt = study._finish_and_ask(trial, result, state, reason, attrs, budget)
        return frozen, nxt, not study.sampler.needs_lock

    result: Any = None
    try:
        result = objective(trial)
    except TrialPruned as e:
        return finish(TrialState.PRUNED, str(e) or "pruned", {})
    except GridExhausted as e:
        frozen = study._finish(trial, None, TrialState.FAIL, str(e), {"interrupted": True})
        return frozen, None, False
    except Exception as e:
        stops = isinstance(e, TunelabError) or not isinstance(e, catch)
        if stops:  # recorded, then raised (unless the trial was declared lost meanwhile)
            frozen = study._finish(
                trial, None, TrialState.FAIL, describe_error(e), {"raised": True}
            )
        else:
            frozen, nxt, chained = finish(
                TrialState.FAIL, describe_error(e), {"raised": True}, raised=True
            )
        if isinstance(e, TrialError) and _declared_lost(frozen):
            # Another worker judged this one dead (it was paused or starved past the
            # heartbeat grace) and its writes are refused now: drop the trial, go on.
            log.warning("trial %d was declared lost while it ran; going on", frozen.number)
            return frozen, None, False
        if stops:
            raise  # a bad space or broken storage fails every trial alike: stop
        log.warning("trial %d failed: %s", frozen.number, frozen.reason)
        return frozen, nxt, chained
    return finish(None, None, {})


def _declared_lost(frozen: FrozenTrial) -> bool:
    return (
        frozen.state is TrialState.FAIL
        and not frozen.system_attrs.get("raised")
        and (frozen.reason or "").startswith("worker lost")
    )


def describe_error(error: BaseException) -> str:
    """'ValueError: message (at file.py:12)' — the line in the user's code that raised."""
    frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ else []
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


# -- worker processes -------------------------------------------------------------------------


def _worker_main(
    open_study: Callable[[], Any],
    objective: Objective,
    plan: RunPlan,
    callbacks: Sequence[Callback],
    errors: Any,
) -> None:
    try:
        study = open_study()
        run_trials(study, objective, plan, callbacks)
    except KeyboardInterrupt:
        sys.exit(130)
    except BaseException as e:
        errors.put(str(e) if isinstance(e, TunelabError) else describe_error(e))
        sys.exit(1)


def run_workers(
    open_study: Callable[[], Any],
    objective: Objective,
    plan: RunPlan,
    callbacks: Sequence[Callback],
    on_tick: Callable[[], None] | None = None,
) -> None:
    """Start `plan.n_jobs` processes that each run `run_trials`, and wait for them."""
    ctx: Any = mp.get_context(start_method())
    errors = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker_main,
            args=(open_study, objective, plan, callbacks, errors),
            name=f"tunelab-worker-{i}",
            daemon=False,
        )
        for i in range(plan.n_jobs)
    ]
    for p in procs:
        p.start()
    try:
        while any(p.is_alive() for p in procs):
            for p in procs:
                p.join(timeout=0.2)
            if on_tick is not None:
                on_tick()
    except KeyboardInterrupt:
        # A terminal's Ctrl-C reaches the workers too: they get a few seconds to stop on
        # their own before it is forwarded (stopping.py; Ctrl-C again: at once).
        with CtrlC() as ctrl_c:
            stop_processes(procs, ctrl_c, 0, INTERRUPTED, open_study, grace_s=5.0)
        raise
    messages = []
    while not errors.empty():
        messages.append(errors.get())
    if messages:
        raise TunelabError(messages[0])
    bad = [p.exitcode for p in procs if p.exitcode not in (0, None)]
    if bad:
        raise TunelabError(f"a worker process exited with code {bad[0]}; see its output above")


def start_method() -> str:
    """How worker processes start: forked where the platform can, else spawned."""
    return "fork" if "fork" in mp.get_all_start_methods() else "spawn"
