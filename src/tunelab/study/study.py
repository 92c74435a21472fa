"""Study: the one coordinator. It asks the sampler for values, stores trials, and is
the only code that writes storage. `optimize()` is a loop over the public ask() / tell();
the running trials' callbacks live in host.py, heartbeats and lost trials in liveness.py."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tunelab._names import PARAM_NAME_MAX, name_problem
from tunelab.errors import (
    ConfigurationError,
    ConfigurationTypeError,
    GridExhausted,
    StudyNotFoundError,
    TrialError,
)
from tunelab.objectives import Constraint, Objective
from tunelab.samplers import Admission, Sampler
from tunelab.schedulers import Scheduler
from tunelab.space import SearchSpace
from tunelab.storage import BaseStorage, StudyRecord, get_storage
from tunelab.study import thaw
from tunelab.study.artifacts import retain_kept
from tunelab.study.confirm import check_request, confirm_runs
from tunelab.study.ending import outcome_of
from tunelab.study.front import best_by, check_plugins, pareto_front, top
from tunelab.study.gpus import worker_slots
from tunelab.study.host import WAIT_POLL_MAX_S, WAIT_POLL_S, Host
from tunelab.study.liveness import INTERRUPTED, Liveness
from tunelab.study.optimize import (
    STOP_SETTING,
    check_count,
    check_limits,
    checked_run,
    plan_run,
    run_trials,
    start_method,
    stop_requested,
)
from tunelab.trial import FrozenTrial, Trial
from tunelab.types import Direction, EndCause, TrialState

log = logging.getLogger("tunelab")

_STATES = {s.value for s in TrialState}  # TrialState is a str: either form is one


class Study:
    """A named set of trials that optimize one metric in one direction, or several
    (`objectives`: then the best trials are a Pareto front), subject to `constraints`."""

    def __init__(
        self,
        record: StudyRecord,
        storage: BaseStorage,
        sampler: Sampler,
        scheduler: Scheduler | None = None,
    ) -> None:
        check_plugins(record, sampler, scheduler)
        self._record = record
        self._storage = storage
        self.sampler = sampler
        self.scheduler = scheduler  # None: no pruning (trials may still raise TrialPruned)
        self._host = Host(self)
        self._liveness = Liveness(self, self._host)
        self.stop_asked: float | None = None  # when stop() was called in this process

    # -- identity ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The study's name, unique in its storage."""
        return self._record.name

    @property
    def metric(self) -> str:
        """The metric the study optimizes (with several objectives: the first one's)."""
        return self._record.metric

    @property
    def direction(self) -> Direction:
        """Whether `metric` is minimized or maximized (with several objectives: the first one's)."""
        return self._record.direction

    @property
    def objectives(self) -> tuple[Objective, ...]:
        """What the study optimizes: one (metric, direction) per objective."""
        return self._record.objectives

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every objective's metric, in order (`(metric,)` for a single-objective study)."""
        return tuple(o.metric for o in self._record.objectives)

    @property
    def directions(self) -> tuple[Direction, ...]:
        """Every objective's direction, in the order of `metrics`."""
        return tuple(o.direction for o in self._record.objectives)

    @property
    def constraints(self) -> tuple[Constraint, ...]:
        """The bounds a trial's metrics must respect to count as feasible (empty: none)."""
        return self._record.constraints

    @property
    def multi_objective(self) -> bool:
        """Whether the study has several objectives (then it has `best_trials`, no `best_trial`)."""
        return self._record.multi_objective

    @property
    def storage(self) -> BaseStorage:
        """The storage that holds the study's trials."""
        return self._storage

    @property
    def study_id(self) -> int:
        """The study's id in its storage."""
        return self._record.study_id

    @property
    def settings(self) -> Mapping[str, Any]:
        """The settings stored with the study (JSON values, read-only here)."""
        return self._record.settings

    @property
    def space(self) -> SearchSpace:
        """The search space as the trials have defined it so far (every worker's definitions)."""
        return self._host.space

    def __repr__(self) -> str:
        if self.multi_objective:
            return (
                f"Study(name={self.name!r}, metrics={list(self.metrics)!r}, "
                f"directions={[d.value for d in self.directions]!r})"
            )
        return (
            f"Study(name={self.name!r}, metric={self.metric!r}, direction={self.direction.value!r})"
        )

    def _repr_html_(self) -> str:
        """A notebook shows the study as a table: objectives, counts, best trial."""
        from tunelab.study.display import study_html

        return study_html(self)

    # -- reading -----------------------------------------------------------------------------
    @property
    def trials(self) -> list[FrozenTrial]:
        """Every trial of the study, in number order, with its reports."""
        return self._storage.get_trials(self.study_id)

    def get_trials(self, states: Sequence[TrialState] | None = None) -> list[FrozenTrial]:
        """The study's trials in number order, only those in `states` if given.

        Args:
            states: The states to keep, as `TrialState` members or their names; None for all.

        Example:
            ```python
            done = study.get_trials([TrialState.COMPLETE, TrialState.PRUNED])
            ```
        """
        for state in states or ():
            if state not in _STATES:
                raise ConfigurationError(f"states are {sorted(_STATES)}, but got {state!r}")
        return self._storage.get_trials(self.study_id, states)

    @property
    def best_trial(self) -> FrozenTrial:
        """The feasible COMPLETE trial with the best value (single-objective studies)."""
        if self.multi_objective:
            raise ConfigurationError(
                f"study {self.name!r} has several objectives {list(self.metrics)}, so no "
                "single best trial; use study.best_trials (the Pareto front) or "
                f"study.best_trial_by({self.metrics[0]!r})"
            )
        return self.best_trial_by(self.metric)

    def best_trial_by(self, metric: str) -> FrozenTrial:
        """The feasible COMPLETE trial best in one of the study's objectives."""
        if metric not in self.metrics:
            raise ConfigurationError(
                f"best_trial_by() takes one of the study's metrics {list(self.metrics)}, "
                f"but got {metric!r}"
            )
        best = best_by(self.get_trials([TrialState.COMPLETE]), self.objectives, metric)
        if best is None:
            raise TrialError(
                f"study {self.name!r} has no feasible complete trial yet; run some trials first"
            )
        return best

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """The Pareto front: the feasible COMPLETE trials no other one dominates (no other
        is at least as good in every objective and better in one), by trial number. In a
        single-objective study, the trials sharing the best value."""
        return pareto_front(self.get_trials([TrialState.COMPLETE]), self.objectives)

    @property
    def best_params(self) -> dict[str, Any]:
        """The best trial's hyperparameter values (see `best_trial`)."""
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        """The best trial's value (see `best_trial`)."""
        return float(self.best_trial.value)  # type: ignore[arg-type]

    def top_trials(self, k: int = 10) -> list[FrozenTrial]:
        """The best `k` feasible COMPLETE trials, best first. With several objectives:
        by non-dominated rank (the Pareto front first), then by crowding distance
        (largest first: a front's ends and sparse parts), then by trial number."""
        check_count("k", k)
        return top(self.get_trials([TrialState.COMPLETE]), self.objectives, k)

    def to_pandas(self) -> Any:
        """One row per trial: number, state, value, duration, params_*, metrics_*."""
        from tunelab.study.display import trials_frame

        return trials_frame(self)

    # -- writing: enqueue, ask, tell --------------------------------------------------------
    def enqueue(self, params: Mapping[str, Any]) -> FrozenTrial:
        """Queue a configuration to try before the sampler's own suggestions.
        Parameters the objective asks for but `params` lacks come from the sampler."""
        if not isinstance(params, Mapping):
            raise ConfigurationTypeError(
                f"enqueue() takes a dict of parameter values, but got {params!r}"
            )
        space = self._host.space
        for name, value in params.items():
            problem = name_problem("each name enqueue() is given", name, PARAM_NAME_MAX)
            if problem is not None:
                raise ConfigurationTypeError(problem)
            if name in space:
                space[name].validate_value(value)
        trial = self._storage.create_trial(self.study_id, TrialState.WAITING, enqueued=dict(params))
        assert trial is not None
        return trial

    def ask(self, budget: int | None = None) -> Trial:
        """Start a trial: a paused one the freeze-thaw scheduler chooses to resume (it
        may run past `budget`: it counts already), else the oldest enqueued one, else a
        new one. Raises GridExhausted
        when the sampler has nothing left to try, and StopIteration when `budget` trials
        already count toward the study."""
        check_count("budget", budget)
        self._liveness.fail_lost_trials(force=False)
        resumed = thaw.resume_paused(self, budget)  # freeze-thaw: a paused trial goes on
        if resumed is not None:
            trial = self._host.start(resumed)
            self._liveness.start()
            return trial
        delay = WAIT_POLL_S
        while True:
            if not self.sampler.needs_lock:  # claim a queued trial or create one, at once
                frozen = self._storage.start_trial(self.study_id, self._liveness.worker, budget)
                break
            frozen = self._storage.claim_waiting_trial(self.study_id, self._liveness.worker, budget)
            if frozen is not None:
                break
            frozen, admission = self._storage.locked(
                self.study_id, lambda v: self._admit(v, budget)
            )
            if admission is Admission.EXHAUSTED:
                raise GridExhausted(f"study {self.name!r}: every grid cell has been tried")
            if admission is Admission.WAIT:
                time.sleep(delay)
                delay = min(delay * 2, WAIT_POLL_MAX_S)
                self._liveness.fail_lost_trials(force=True)
                continue
            break
        if frozen is None:
            raise StopIteration(f"study {self.name!r} has used its budget of {budget} trials")
        trial = self._host.start(frozen)
        self._liveness.start()
        return trial

    def _admit(self, view: Any, budget: int | None) -> tuple[FrozenTrial | None, Admission]:
        history = self._host.refreshed(view.get_trials())
        admission = self.sampler.admit(self._host.space, history)
        if admission is not Admission.START:
            return None, admission
        return view.create_trial(TrialState.RUNNING, self._liveness.worker, budget), admission

    def tell(
        self,
        trial: Trial | int,
        values: Any = None,
        state: TrialState | None = None,
        reason: str | None = None,
        cause: EndCause | None = None,
    ) -> FrozenTrial:
        """Finish a trial with the objective's return value (a number or a dict of
        metrics; with several objectives a dict holding each or a tuple in the metrics'
        order), or with an explicit state: PRUNED (its last reported values are kept) or
        FAIL (`cause` says why: RAISED by default, INTERRUPTED for a run stopped from
        outside, which uses no budget). Bad values make the trial FAIL with a reason.
        Returns the stored record."""
        handle = self._host.get(trial)
        if handle is None:
            raise TrialError(f"trial {trial!r} was not started by this study object")
        if isinstance(state, str) and state in _STATES:
            state = TrialState(state)  # "PRUNED" as well as TrialState.PRUNED
        outcome = outcome_of(self, self._host, handle, values, state, reason, cause)
        stored = self._storage.finish_and_get_trial(outcome, handle.last_step is not None)
        self._host.forget(handle)  # only once stored: an interrupted write leaves it running
        if stored is not None:
            retain_kept(self, stored)  # only the best trials keep their weights
            return stored
        frozen = self._storage.get_trial(handle.trial_id)
        log.warning(
            "trial %d was already %s (%s) when its result arrived; the result was not "
            "stored. Its worker was probably declared lost: raise heartbeat_interval if "
            "trials block the heartbeat thread",
            handle.number,
            frozen.state.value,
            frozen.reason or "no reason",
        )
        return frozen

    def pause(self, trial: Trial | int) -> FrozenTrial:
        """Record a running resumable trial PAUSED (its reports, params and checkpoint
        kept) for a worker to resume later: what `optimize` does when the objective
        raises TrialPaused. Returns the stored record."""
        handle = self._host.get(trial)
        if handle is None:
            raise TrialError(f"trial {trial!r} was not started by this study object")
        return thaw.pause(self, handle)

    def stop(self) -> None:
        """End the running `optimize()` calls after their current trials, cleanly: this
        process's at once, the other worker processes of the study within a second (as
        `tunelab stop` does). For callbacks and notebooks; a later `optimize()` runs as
        usual."""
        self.stop_asked = time.time()
        self._storage.set_study_setting(self.study_id, STOP_SETTING, self.stop_asked)

    # -- liveness ------------------------------------------------------------------------------
    def fail_lost_trials(self, force: bool = True) -> list[int]:
        """End trials whose worker died as LOST (they use no budget); queue their retries
        when the study has `max_retries`. Returns their ids."""
        return self._liveness.fail_lost_trials(force)

    def interrupt_running(
        self, reason: str = INTERRUPTED, cause: EndCause = EndCause.INTERRUPTED
    ) -> None:
        """Record every trial this process is running as FAIL with `cause` (INTERRUPTED by
        default; LOST for a worker whose supervisor died), using no budget."""
        self._liveness.interrupt_running(reason, cause)

    def close(self) -> None:
        """Stop the heartbeat thread (trials still running stay RUNNING)."""
        self._liveness.stop()

    # -- the loop ------------------------------------------------------------------------------
    def optimize(
        self,
        objective: Callable[[Trial], Any],
        n_trials: int | None = None,
        timeout: float | None = None,
        n_jobs: int | None = None,
        callbacks: Sequence[Callable[[Study, FrozenTrial], None]] | None = None,
        catch: tuple[type[BaseException], ...] = (Exception,),
        add: bool = False,
        max_consecutive_failures: int | None = 5,
        show_progress_bar: bool = False,
        gpus: Sequence[int | str] | None = None,
        trials_per_gpu: int | None = None,
        confirm_top: int | None = None,
        confirm_seeds: int = 3,
    ) -> None:
        """Run trials until the study holds `n_trials` (a study-wide total, so rerunning
        the same call resumes an interrupted study; `add=True` means that many more),
        until `timeout` seconds pass, or until a grid is exhausted.

        An objective that raises, or returns NaN or a non-number, makes its trial FAIL
        with the reason, and the study goes on (exceptions not in `catch` stop it after
        being recorded). `n_jobs` worker processes (default 1; -1: one per core) share
        the study through storage.

        `gpus=[0, 1]` runs trials in processes that each see one device as `cuda:0`
        (CUDA_VISIBLE_DEVICES, set before the objective runs), `trials_per_gpu` of them
        per device; `n_jobs` follows. An entry is an index (0 or "0") or a group ("0,1":
        one trial sees both). Even `gpus=[0]` runs in a child process (study/gpus.py).

        `confirm_top=5` then re-runs the 5 best distinct configurations `confirm_seeds`
        times each with new seeds (study/confirm.py), so `tunelab show` and the report can
        tell a better configuration from a lucky seed."""
        check_limits(n_trials, timeout)
        if confirm_top is not None:
            check_request(self, confirm_top, confirm_seeds)
        hooks, catch = checked_run(objective, callbacks, catch, max_consecutive_failures)
        n_jobs, devices = worker_slots(n_jobs, gpus, trials_per_gpu)
        in_processes = n_jobs > 1 or bool(devices)
        plan = plan_run(
            self, n_trials, timeout, add, catch, max_consecutive_failures, n_jobs, in_processes
        )
        progress = None
        if show_progress_bar:  # rich's progress bar costs ~20 ms at import: only when asked
            from tunelab.study.progress import ProgressDisplay

            progress = ProgressDisplay(self, plan.total, n_jobs)
        with progress if progress is not None else contextlib.nullcontext():
            if not in_processes:
                run_trials(self, objective, plan, hooks)
            else:
                self.close()
                opener = self.opener(fork=start_method() == "fork")
                from tunelab.study.supervise import Hygiene, Supervisor  # worker processes only

                hygiene = Hygiene(slots=n_jobs, gpus=devices)
                Supervisor(self, opener, objective, plan, hygiene, hooks).run()
        if confirm_top is not None and not stop_requested(self, plan.started_at):
            confirm_runs(self, objective, confirm_top, confirm_seeds, n_jobs=n_jobs)

    def opener(self, fork: bool) -> Callable[[], Study]:
        """How a worker process opens this study: a forked one reuses the storage object
        where the storage allows it (milliseconds per worker that every short run pays),
        others open its URL afresh. Either gets this object's sampler and scheduler."""
        return functools.partial(
            reopen, self.name, self._storage.for_workers(fork), self.sampler, self.scheduler
        )


def reopen(
    name: str, storage: str | BaseStorage, sampler: Sampler, scheduler: Scheduler | None
) -> Study:
    """Open a stored study in a worker process with the given sampler and scheduler."""
    store = (
        storage if isinstance(storage, BaseStorage) else get_storage(storage, create_schema=False)
    )
    record = store.get_study(name)
    if record is None:
        raise StudyNotFoundError(f"no study named {name!r} in {store.url}")
    return Study(record, store, sampler, scheduler)
