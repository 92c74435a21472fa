"""Study: the one coordinator. It asks the sampler for values, stores trials, and is
the only code that writes storage. `optimize()` is a thin loop over ask() / tell()."""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import signal
import threading
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tunelab.errors import GridExhausted, SearchSpaceError, StorageError, TrialError
from tunelab.samplers import Admission, Sampler, SampleRequest, Wait
from tunelab.schedulers import PruneRequest, Scheduler, Verdict
from tunelab.space import Condition, Fixed, Param, SearchSpace
from tunelab.space.search_space import Entry
from tunelab.storage import BaseStorage, InMemoryStorage, Outcome, StudyRecord
from tunelab.study.heartbeat import LOST_REASON, Heartbeat, is_lost, retry_lost, worker_id
from tunelab.trial import FrozenTrial, Report, Trial, best_trial, sorted_by_value
from tunelab.types import Direction, TrialState

log = logging.getLogger("tunelab")

WAIT_POLL_S = 0.05
HISTORY_TTL_S = 1.0
WAIT_POLL_MAX_S = 1.0


class Study:
    """A named set of trials that optimize one metric in one direction."""

    def __init__(
        self,
        record: StudyRecord,
        storage: BaseStorage,
        sampler: Sampler,
        scheduler: Scheduler | None = None,
    ) -> None:
        self._record = record
        self._storage = storage
        self.sampler = sampler
        self.scheduler = scheduler  # None: no pruning (trials may still raise TrialPruned)
        self._curves: dict[int, list[Report]] = {}  # reports of this process's running trials
        self._verdicts: dict[int, Verdict] = {}  # why the scheduler stopped a trial
        self._space = SearchSpace.from_json(storage.get_space(record.study_id))
        self._worker = worker_id()
        self._running: dict[int, Trial] = {}
        self._flushed: dict[int, int] = {}
        self._lock = threading.Lock()
        self._interval = float(record.settings.get("heartbeat_interval", 10.0))
        self._grace = float(record.settings.get("heartbeat_grace", 4 * self._interval))
        self._heartbeat = Heartbeat(self._beat, self._interval)
        self._next_lost_check = 0.0
        self._history_cache: tuple[int, float, list[FrozenTrial]] | None = None
        self._space_checked_for: list[FrozenTrial] | None = None
        self._agreed: dict[str, Param] = {}  # by name, the definition last checked (_register)

    # -- identity ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._record.name

    @property
    def metric(self) -> str:
        return self._record.metric

    @property
    def direction(self) -> Direction:
        return self._record.direction

    @property
    def storage(self) -> BaseStorage:
        return self._storage

    @property
    def study_id(self) -> int:
        return self._record.study_id

    @property
    def settings(self) -> Mapping[str, Any]:
        return self._record.settings

    @property
    def space(self) -> SearchSpace:
        return self._space

    def __repr__(self) -> str:
        return (
            f"Study(name={self.name!r}, metric={self.metric!r}, direction={self.direction.value!r})"
        )

    # -- reading -----------------------------------------------------------------------------
    @property
    def trials(self) -> list[FrozenTrial]:
        return self._storage.get_trials(self.study_id)

    def get_trials(self, states: Sequence[TrialState] | None = None) -> list[FrozenTrial]:
        return self._storage.get_trials(self.study_id, states)

    @property
    def best_trial(self) -> FrozenTrial:
        best = best_trial(self.get_trials([TrialState.COMPLETE]), self.direction)
        if best is None:
            raise TrialError(
                f"study {self.name!r} has no complete trial yet; run some trials first"
            )
        return best

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        return float(self.best_trial.value)  # type: ignore[arg-type]

    def top_trials(self, k: int = 10) -> list[FrozenTrial]:
        return sorted_by_value(self.get_trials([TrialState.COMPLETE]), self.direction)[:k]

    def to_pandas(self) -> Any:
        """One row per trial: number, state, value, duration, params_*, metrics_*."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        rows = []
        for t in self.trials:
            row: dict[str, Any] = {
                "number": t.number,
                "state": t.state.value,
                "value": t.value,
                "duration": t.duration,
                "reason": t.reason,
            }
            row.update({f"params_{k}": v for k, v in t.params.items()})
            row.update({f"metrics_{k}": v for k, v in t.metrics.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    # -- writing: enqueue, ask, tell --------------------------------------------------------
    def enqueue(self, params: Mapping[str, Any]) -> FrozenTrial:
        """Queue a configuration to try before the sampler's own suggestions.
        Parameters the objective asks for but `params` lacks come from the sampler."""
        if not isinstance(params, Mapping):
            raise TypeError(f"enqueue() takes a dict of parameter values, but got {params!r}")
        for name, value in params.items():
            if name in self._space:
                self._space[name].validate_value(value)
        trial = self._storage.create_trial(
            self.study_id, TrialState.WAITING, system_attrs={"fixed_params": dict(params)}
        )
        assert trial is not None
        return trial

    def ask(self, budget: int | None = None) -> Trial:
        """Start a trial. Raises GridExhausted when the sampler has nothing left to try,
        and StopIteration when `budget` trials already count toward the study."""
        self.fail_lost_trials(force=False)
        delay = WAIT_POLL_S
        while True:
            if not self.sampler.needs_lock:  # claim a queued trial or create one, at once
                frozen = self._storage.start_trial(self.study_id, self._worker, budget)
                break
            frozen = self._storage.claim_waiting_trial(self.study_id, self._worker, budget)
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
                self.fail_lost_trials(force=True)
                continue
            break
        if frozen is None:
            raise StopIteration(f"study {self.name!r} has used its budget of {budget} trials")
        return self._handle(frozen)

    def _handle(self, frozen: FrozenTrial) -> Trial:
        """The handle of a trial this process has just started, registered as running."""
        fixed = dict(frozen.system_attrs.get("fixed_params", {}))
        seed = zlib.crc32(f"{self.name}:{frozen.number}".encode()) & 0x7FFFFFFF
        trial = Trial(self, frozen.trial_id, frozen.number, fixed, self.metric, seed)
        with self._lock:
            self._running[trial.trial_id] = trial
            self._flushed[trial.trial_id] = 0
        self._heartbeat.start()
        return trial

    def _history_for_sampler(self, history: list[FrozenTrial]) -> list[FrozenTrial]:
        """Make sure the cached space knows every name the history uses: other workers
        may have registered parameters this process has not asked for yet. A trial stores
        a value only after its parameter is registered, so the space read *after* the
        history holds all of its names: one small read per burst of suggestions instead of
        a scan of every trial's parameters."""
        if history is self._space_checked_for:
            return history
        if self._storage.space_size(self.study_id) != len(self._space):
            self._space = SearchSpace.from_json(self._storage.get_space(self.study_id))
        self._space_checked_for = history
        return history

    def _admit(self, view: Any, budget: int | None) -> tuple[FrozenTrial | None, Admission]:
        history = self._history_for_sampler(view.get_trials())
        admission = self.sampler.admit(self._space, history)
        if admission is not Admission.START:
            return None, admission
        return view.create_trial(TrialState.RUNNING, self._worker, budget), admission

    def tell(
        self,
        trial: Trial | int,
        values: Any = None,
        state: TrialState | None = None,
        reason: str | None = None,
    ) -> FrozenTrial:
        """Finish a trial with the objective's return value (a number or a dict of
        metrics), or with an explicit state. Bad values make the trial FAIL with a reason."""
        return self._finish(trial, values, state, reason, {})

    def _finish(
        self,
        trial: Trial | int,
        values: Any,
        state: TrialState | None,
        reason: str | None,
        attrs: Mapping[str, Any],
    ) -> FrozenTrial:
        handle, outcome = self._outcome(trial, values, state, reason, attrs)
        stored = self._storage.finish_and_get_trial(outcome, handle.last_step is not None)
        return self._finished(handle, stored)

    def _finish_and_ask(
        self,
        trial: Trial,
        values: Any,
        state: TrialState | None,
        reason: str | None,
        attrs: Mapping[str, Any],
        budget: int | None,
    ) -> tuple[FrozenTrial, Trial | None]:
        """`_finish`, then `ask(budget)` in the same storage transaction: one commit for
        the step from one trial to the next. The next trial is None when the budget is
        used. Samplers that decide under the study lock (grid) take the two steps apart."""
        if self.sampler.needs_lock:
            return self._finish(trial, values, state, reason, attrs), None
        handle, outcome = self._outcome(trial, values, state, reason, attrs)
        self.fail_lost_trials(force=False)  # as ask() does
        stored, started = self._storage.finish_and_start_trial(
            outcome, self.study_id, self._worker, budget, handle.last_step is not None
        )
        frozen = self._finished(handle, stored)
        return frozen, self._handle(started) if started is not None else None

    def _outcome(
        self,
        trial: Trial | int,
        values: Any,
        state: TrialState | None,
        reason: str | None,
        attrs: Mapping[str, Any],
    ) -> tuple[Trial, Outcome]:
        """What finishing the trial stores: the judged result, params, scheduler attrs."""
        handle = trial if isinstance(trial, Trial) else self._running.get(int(trial))
        if handle is None:
            raise TrialError(f"trial {trial!r} was not started by this study object")
        value: float | None = None
        metrics: dict[str, Any] = {}
        if state is None:
            state, value, metrics, reason = self._judge(values)
        elif state is TrialState.PRUNED:
            value = self._last_reported(handle)
        elif state is TrialState.COMPLETE:
            _, value, metrics, _ = self._judge(values)
        with self._lock:
            params = dict(handle.hp.values)
            verdict = self._verdicts.pop(handle.trial_id, None)
            self._curves.pop(handle.trial_id, None)
        if self.scheduler is not None:
            attrs = {**self.scheduler.trial_attrs(handle.number), **attrs}
            if state is TrialState.PRUNED and verdict is not None:
                reason = verdict.reason or reason  # the scheduler's why, over fit's "stopped"
                attrs = {**attrs, **verdict.attrs}
        handle.finished = True
        outcome = Outcome(
            handle.trial_id,
            state,
            value=value,
            metrics=metrics,
            params=params,
            reason=reason,
            system_attrs=dict(attrs) or None,
        )
        return handle, outcome

    def _finished(self, handle: Trial, stored: FrozenTrial | None) -> FrozenTrial:
        """The finished record (`stored`), or, when the trial was finished already by
        someone else, the record as it is, with a warning."""
        with self._lock:  # only once stored: an interrupted write leaves it to interrupt_running
            self._running.pop(handle.trial_id, None)
            self._flushed.pop(handle.trial_id, None)
        if stored is not None:
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

    def interrupt_running(self, reason: str = "interrupted (Ctrl-C)") -> None:
        """Record every trial this process is running as interrupted (not using budget).
        Further Ctrl-C is ignored meanwhile, so a second signal cannot cut the record short."""
        previous = signal.getsignal(signal.SIGINT)
        in_main = threading.current_thread() is threading.main_thread()
        if in_main:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            with self._lock:
                running = list(self._running.values())
            for trial in running:
                self._finish(trial, None, TrialState.FAIL, reason, {"interrupted": True})
            # a trial started in storage but not yet known here (Ctrl-C landed between the
            # commit and `_handle`) is found by its worker id
            self._storage.fail_lost_trials(
                self.study_id, lambda t: t.worker == self._worker, reason
            )
        finally:
            if in_main:
                signal.signal(signal.SIGINT, previous)

    def _judge(self, values: Any) -> tuple[TrialState, float | None, dict[str, Any], str | None]:
        fail = TrialState.FAIL
        if isinstance(values, Mapping):
            metrics = {str(k): v for k, v in values.items()}
            if self.metric not in metrics:
                return (
                    fail,
                    None,
                    metrics,
                    (
                        f"the objective returned metrics {sorted(metrics)} without the study's "
                        f"metric {self.metric!r}; return it, or create the study with metric= one of these"
                    ),
                )
            raw = metrics[self.metric]
        else:
            raw = values
            metrics = {}
        if isinstance(raw, bool) or raw is None:
            return (
                fail,
                None,
                metrics,
                (f"the objective returned {raw!r}; return a number or a dict with {self.metric!r}"),
            )
        try:
            number = float(raw)
        except (TypeError, ValueError):
            return (
                fail,
                None,
                metrics,
                (
                    f"the objective returned {raw!r}, which is not a number; return a number "
                    f"or a dict with {self.metric!r}"
                ),
            )
        if not math.isfinite(number):
            return (
                fail,
                None,
                {**metrics, self.metric: number},
                (f"the objective returned {self.metric}={number} (diverged?)"),
            )
        metrics[self.metric] = number
        clean: dict[str, Any] = {}
        for key, v in metrics.items():
            try:
                clean[key] = float(v) if not isinstance(v, (str, bool)) else v
            except (TypeError, ValueError):
                clean[key] = str(v)
        return TrialState.COMPLETE, number, clean, None

    def _last_reported(self, trial: Trial) -> float | None:
        if trial.last_step is None:
            return None
        reported = self._storage.get_trial(trial.trial_id).intermediate(self.metric)
        values = [v for v in reported.values() if math.isfinite(v)]
        return values[-1] if values else None

    # -- the TrialHost protocol ---------------------------------------------------------------
    def _register(self, param: Param, conditions: tuple[Condition, ...]) -> None:
        if self._agreed.get(param.name) is param:
            return  # this very definition agreed with the space before: names keep domains
        if param.name in self._space:
            self._space.add(param)  # raises on a conflicting domain
        else:
            entry = Entry(param, conditions)
            stored = self._storage.register_params(self.study_id, [entry.to_json()])
            self._space = SearchSpace.from_json(stored)
            self._space.add(param)  # another worker may have defined the name differently
        self._agreed[param.name] = param

    def _suggest(self, trial: Trial, param: Param, conditions: tuple[Condition, ...]) -> Any:
        self._register(param, conditions)
        if isinstance(param, Fixed):
            return param.value  # nothing to choose; the value may differ between trials
        if param.name in trial.fixed:
            value = trial.fixed[param.name]
            if not param.contains(value):
                raise SearchSpaceError(
                    f"enqueued value {param.name}={value!r} is not valid for {param.describe()}"
                )
            return param.canonical(value)
        if not self.sampler.needs_lock:
            if not self.sampler.needs_history:
                return param.validate_value(
                    self.sampler.sample(self._request(trial, param, conditions, []))
                )
            history = self._history_for_sampler(self._trial_history(trial))
            value = param.validate_value(
                self.sampler.sample(self._request(trial, param, conditions, history))
            )
            # Model-based samplers treat running trials as pending points: make this
            # choice visible to the other workers now, not at the first report.
            with self._lock:
                params = {**trial.hp.values, param.name: value}
                self._flushed[trial.trial_id] = len(params)
            self._storage.set_params(trial.trial_id, params)
            return value
        delay = WAIT_POLL_S
        while True:
            try:
                return self._storage.locked(
                    self.study_id, lambda v: self._decide(v, trial, param, conditions)
                )
            except Wait:
                time.sleep(delay)
                delay = min(delay * 2, WAIT_POLL_MAX_S)
                self.fail_lost_trials(force=True)

    def _trial_history(self, trial: Trial) -> list[FrozenTrial]:
        """The history a model-based sampler (and the scheduler, at its comparison steps)
        sees, read once per burst: a trial's parameters are asked within milliseconds, and
        planning samplers use the first read anyway. Older than HISTORY_TTL_S, it is read
        again."""
        now = time.monotonic()
        cached = self._history_cache
        if cached is not None and cached[0] == trial.trial_id and now - cached[1] < HISTORY_TTL_S:
            return cached[2]
        history = self._storage.get_trials(self.study_id)
        self._history_cache = (trial.trial_id, now, history)
        return history

    def _request(
        self,
        trial: Trial,
        param: Param,
        conditions: tuple[Condition, ...],
        history: Sequence[FrozenTrial],
    ) -> SampleRequest:
        return SampleRequest(
            trial.number,
            param,
            conditions,
            dict(trial.hp.values),
            self._space,
            history,
            self.direction,
            self.metric,
        )

    def _decide(
        self, view: Any, trial: Trial, param: Param, conditions: tuple[Condition, ...]
    ) -> Any:
        history = self._history_for_sampler(view.get_trials())
        value = self.sampler.sample(self._request(trial, param, conditions, history))
        value = param.validate_value(value)
        with self._lock:
            params = {**trial.hp.values, param.name: value}
            view.set_params(trial.trial_id, params)
            self._flushed[trial.trial_id] = len(params)
        return value

    def _flush(self, trial: Trial) -> None:
        with self._lock:
            params = dict(trial.hp.values)
            if self._flushed.get(trial.trial_id, -1) in (-1, len(params)):
                return
            self._flushed[trial.trial_id] = len(params)
        self._storage.set_params(trial.trial_id, params)

    def _report(self, trial: Trial, step: int, metrics: dict[str, float]) -> None:
        self._flush(trial)
        self._storage.add_report(trial.trial_id, step, metrics)
        if self.scheduler is not None:  # the scheduler reads this trial's curve from memory
            with self._lock:
                self._curves.setdefault(trial.trial_id, []).append(
                    Report(step, metrics, time.time())
                )

    def _should_prune(self, trial: Trial) -> bool:
        """Ask the scheduler about the trial's latest report. Other trials' reports are
        read from storage only when the scheduler compares at this step (ASHA: at rungs),
        and at most once per HISTORY_TTL_S per trial."""
        if self.scheduler is None:
            return False
        with self._lock:
            curve = list(self._curves.get(trial.trial_id, ()))
        if not curve:
            return False
        frozen = FrozenTrial(
            trial.trial_id,
            trial.number,
            TrialState.RUNNING,
            dict(trial.hp.values),
            reports=tuple(curve),
        )
        previous = curve[-2].step if len(curve) > 1 else None
        history: list[FrozenTrial] = []
        if self.scheduler.needs_history(curve[-1].step, previous):
            history = self._trial_history(trial)
        verdict = self.scheduler.decide(PruneRequest(frozen, history, self.metric, self.direction))
        if verdict.stop:
            with self._lock:
                self._verdicts[trial.trial_id] = verdict
        return verdict.stop

    def _set_user_attr(self, trial: Trial, key: str, value: Any) -> None:
        self._storage.set_user_attr(trial.trial_id, key, value)

    # -- liveness ------------------------------------------------------------------------------
    def _beat(self) -> None:
        with self._lock:
            running = list(self._running.values())
        for trial in running:
            with contextlib.suppress(TrialError, StorageError):
                self._flush(trial)
        self._storage.heartbeat([t.trial_id for t in running], time.time())

    def fail_lost_trials(self, force: bool = True) -> list[int]:
        """Mark trials whose worker died as FAIL ('worker lost'); they do not use budget."""
        now = time.time()
        if not force and now < self._next_lost_check:
            return []
        self._next_lost_check = now + self._interval
        lost = self._storage.fail_lost_trials(
            self.study_id,
            lambda t: is_lost(t, time.time(), self._grace, self._worker),
            reason=LOST_REASON,
        )
        max_retries = int(self._record.settings.get("max_retries", 0))
        if max_retries and not self.sampler.needs_lock:  # a grid re-runs a lost cell itself
            retry_lost(self._storage, self.study_id, max_retries)
        return lost

    def close(self) -> None:
        """Stop the heartbeat thread (trials still running stay RUNNING)."""
        self._heartbeat.stop()

    # -- the loop ------------------------------------------------------------------------------
    def optimize(
        self,
        objective: Callable[[Trial], Any],
        n_trials: int | None = None,
        timeout: float | None = None,
        n_jobs: int = 1,
        callbacks: Sequence[Callable[[Study, FrozenTrial], None]] | None = None,
        catch: tuple[type[BaseException], ...] = (Exception,),
        add: bool = False,
        max_consecutive_failures: int | None = 5,
        show_progress_bar: bool = False,
    ) -> None:
        """Run trials until the study holds `n_trials` (a study-wide total, so rerunning
        the same call resumes an interrupted study; `add=True` means that many more),
        until `timeout` seconds pass, or until a grid is exhausted.

        An objective that raises, or returns NaN or a non-number, makes its trial FAIL
        with the reason, and the study goes on (exceptions not in `catch` stop it after
        being recorded). `n_jobs` worker processes share the study through storage."""
        from tunelab.study.api import load_study, reopen
        from tunelab.study.optimize import RunPlan, run_trials, run_workers, start_method
        from tunelab.study.progress import ProgressDisplay

        if n_trials is not None and (
            isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0
        ):
            raise ValueError(f"n_trials must be a non-negative int or None, got {n_trials!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds or None, got {timeout!r}")
        if n_jobs == -1:
            n_jobs = os.cpu_count() or 1
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise ValueError(f"n_jobs must be a positive int or -1 (all cores), got {n_jobs!r}")
        total = n_trials
        if add and n_trials is not None:
            total = self._storage.count_trials(self.study_id).budget_used + n_trials
        plan = RunPlan(
            total,
            None if timeout is None else time.time() + timeout,
            tuple(catch),
            max_consecutive_failures,
            n_jobs,
        )
        progress = ProgressDisplay(self, total, n_jobs) if show_progress_bar else None
        with progress if progress is not None else contextlib.nullcontext():
            if n_jobs == 1:
                run_trials(self, objective, plan, list(callbacks or ()))
                return
            if isinstance(self._storage, InMemoryStorage):
                raise ValueError(
                    "n_jobs > 1 runs worker processes, which cannot share in-memory storage; "
                    "use a SQLite file (the default) or another database URL"
                )
            from tunelab.storage.sql import SQLStorage

            self.close()
            self._storage.close()  # no pooled connection may cross a fork
            if start_method() == "fork" and isinstance(self._storage, SQLStorage):
                # A forked worker reuses this storage object (its pool is empty now; its
                # compiled statements and checked schema come along) instead of opening
                # the URL again: milliseconds per worker that every short run pays.
                opener = functools.partial(
                    load_study, self.name, self._storage, self.sampler, self.scheduler
                )
            else:
                opener = functools.partial(
                    reopen, self.name, self._storage.url, self.sampler, self.scheduler
                )
            run_workers(opener, objective, plan, list(callbacks or ()))
