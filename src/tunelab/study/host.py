"""The study's side of its running trials: what `trial.hp`, `trial.report()`,
`trial.should_prune()` and `trial.set_user_attr()` call.

A suggestion registers the parameter's definition in the stored space (first writer
wins, so every worker agrees on a name's domain), asks the sampler with the history,
and makes the choice visible to other workers at once when a model-based sampler will
treat running trials as pending points. Reports go to storage and, when a scheduler
prunes, to an in-memory curve it reads at each report.
"""

from __future__ import annotations

import os
import threading
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab.errors import ConfigurationError, SearchSpaceError, TrialError
from tunelab.samplers import SampleRequest, Wait
from tunelab.schedulers import PruneRequest, Verdict
from tunelab.space import Condition, Fixed, Param, SearchSpace
from tunelab.space.search_space import Entry
from tunelab.storage.base import RESUMES_ATTR
from tunelab.study.artifacts import trial_folder
from tunelab.study.front import InfeasibleAsFailed
from tunelab.study.pbt import needs_resume
from tunelab.trial import FrozenTrial, Report, Trial
from tunelab.types import TrialState

if TYPE_CHECKING:
    from tunelab.study.study import Study

CHECKPOINT_KEY = "checkpoint"  # the system attribute naming a paused trial's checkpoint
WAIT_POLL_S = 0.05
WAIT_POLL_MAX_S = 1.0
HISTORY_TTL_S = 1.0


class Host:
    """Serves the trials a study object has started in this process (`tunelab.trial.TrialHost`)."""

    def __init__(self, study: Study) -> None:
        self._study = study
        self._storage = study.storage
        self.space = self._stored_space(self._storage.get_space(study.study_id))
        self.lock = threading.Lock()
        self._running: dict[int, Trial] = {}
        self._flushed: dict[int, int] = {}  # how many params storage holds per trial
        self._curves: dict[int, list[Report]] = {}  # reports, read by the scheduler
        self._verdicts: dict[int, Verdict] = {}  # why the scheduler stopped a trial
        self._run_reports: dict[int, int] = {}  # reports since the trial (re)started here
        self._agreed: dict[str, Param] = {}  # by name, the definition last checked
        self._history_cache: tuple[int, float, list[FrozenTrial]] | None = None
        self._space_checked_for: list[FrozenTrial] | None = None
        self._infeasible_as_failed = InfeasibleAsFailed()

    # -- the trials this process runs -----------------------------------------------------
    def start(self, frozen: FrozenTrial) -> Trial:
        """The handle of a trial this process has just started, registered as running."""
        seed = zlib.crc32(f"{self._study.name}:{frozen.number}".encode()) & 0x7FFFFFFF
        study = self._study
        resumed = RESUMES_ATTR in frozen.system_attrs  # a paused trial's continuation
        trial = Trial(
            self,
            frozen.trial_id,
            frozen.number,
            {**frozen.enqueued, **frozen.params},  # a resumed trial asks its own values again
            study.metric,
            seed,
            study.metrics,
            study.name,
        )
        if resumed:
            checkpoint = frozen.system_attrs.get(CHECKPOINT_KEY)
            trial._resumed(
                frozen.last_step,
                int(frozen.system_attrs.get(RESUMES_ATTR, 0)),
                checkpoint if isinstance(checkpoint, str) else None,
            )
        with self.lock:
            self._running[trial.trial_id] = trial
            self._flushed[trial.trial_id] = len(frozen.params)
            self._run_reports[trial.trial_id] = 0
            if resumed and study.scheduler is not None:  # it reads the whole curve
                self._curves[trial.trial_id] = list(frozen.reports)
        return trial

    def get(self, trial: Trial | int) -> Trial | None:
        return trial if isinstance(trial, Trial) else self._running.get(int(trial))

    def running(self) -> list[Trial]:
        with self.lock:
            return list(self._running.values())

    def settle(self, trial: Trial) -> tuple[dict[str, Any], Verdict | None]:
        """The trial's parameters and the scheduler's verdict, as it finishes."""
        with self.lock:
            params = dict(trial.hp.values)
            verdict = self._verdicts.pop(trial.trial_id, None)
            self._curves.pop(trial.trial_id, None)
        trial.finished = True
        return params, verdict

    def forget(self, trial: Trial) -> None:
        """Called once the trial's end is stored: until then liveness may still record it."""
        with self.lock:
            self._running.pop(trial.trial_id, None)
            self._flushed.pop(trial.trial_id, None)
            self._run_reports.pop(trial.trial_id, None)

    # -- the space --------------------------------------------------------------------------
    def refreshed(self, history: list[FrozenTrial]) -> list[FrozenTrial]:
        """Make sure the cached space knows every name the history uses: other workers
        may have registered parameters this process has not asked for yet. A trial stores
        a value only after its parameter is registered, so the space read *after* the
        history holds all of its names: one small read per burst of suggestions."""
        if history is self._space_checked_for:
            return history
        study_id = self._study.study_id
        if self._storage.space_size(study_id) != len(self.space):
            self.space = self._stored_space(self._storage.get_space(study_id))
        self._space_checked_for = history
        return history

    def _stored_space(self, entries: list[dict[str, Any]]) -> SearchSpace:
        return SearchSpace.from_json(entries, f"study {self._study.name!r}")

    def _register(self, param: Param, conditions: tuple[Condition, ...]) -> None:
        if self._agreed.get(param.name) is param:
            return  # this very definition agreed with the space before: names keep domains
        if param.name in self.space:
            self.space.add(param)  # raises on a conflicting domain
        else:
            entry = Entry(param, conditions)
            stored = self._storage.register_params(self._study.study_id, [entry.to_json()])
            self.space = self._stored_space(stored)
            self.space.add(param)  # another worker may have defined the name differently
        self._agreed[param.name] = param

    # -- tunelab.trial.TrialHost ---------------------------------------------------------------
    def suggest(self, trial: Trial, param: Param, conditions: tuple[Condition, ...]) -> Any:
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
        sampler = self._study.sampler
        if sampler.needs_lock:
            return self._decide_locked(trial, param, conditions)
        if not sampler.needs_history:
            return param.validate_value(sampler.sample(self._request(trial, param, conditions, [])))
        history = self.refreshed(self._trial_history(trial))
        value = param.validate_value(
            sampler.sample(self._request(trial, param, conditions, history))
        )
        # Model-based samplers treat running trials as pending points: make this
        # choice visible to the other workers now, not at the first report.
        with self.lock:
            params = {**trial.hp.values, param.name: value}
            self._flushed[trial.trial_id] = len(params)
        self._storage.set_params(trial.trial_id, params)
        return value

    def _decide_locked(self, trial: Trial, param: Param, conditions: tuple[Condition, ...]) -> Any:
        """A sampler that decides under the study lock (a grid cell) waits while it says so."""
        delay = WAIT_POLL_S
        while True:
            try:
                return self._storage.locked(
                    self._study.study_id, lambda v: self._decide(v, trial, param, conditions)
                )
            except Wait:
                time.sleep(delay)
                delay = min(delay * 2, WAIT_POLL_MAX_S)
                self._study.fail_lost_trials(force=True)

    def _decide(
        self, view: Any, trial: Trial, param: Param, conditions: tuple[Condition, ...]
    ) -> Any:
        history = self.refreshed(view.get_trials())
        value = self._study.sampler.sample(self._request(trial, param, conditions, history))
        value = param.validate_value(value)
        with self.lock:
            params = {**trial.hp.values, param.name: value}
            view.set_params(trial.trial_id, params)
            self._flushed[trial.trial_id] = len(params)
        return value

    def _trial_history(self, trial: Trial) -> list[FrozenTrial]:
        """The history a model-based sampler (and the scheduler, at its comparison steps)
        sees, read once per burst: a trial's parameters are asked within milliseconds, and
        planning samplers use the first read anyway. Older than HISTORY_TTL_S, it is read
        again."""
        now = time.monotonic()
        cached = self._history_cache
        if cached is not None and cached[0] == trial.trial_id and now - cached[1] < HISTORY_TTL_S:
            return cached[2]
        history = self._storage.get_trials(self._study.study_id)
        self._history_cache = (trial.trial_id, now, history)
        return history

    def _request(
        self,
        trial: Trial,
        param: Param,
        conditions: tuple[Condition, ...],
        history: Sequence[FrozenTrial],
    ) -> SampleRequest:
        study = self._study
        if not study.sampler.reads_feasibility:
            history = self._infeasible_as_failed(history)
        return SampleRequest(
            trial.number,
            param,
            conditions,
            dict(trial.hp.values),
            self.space,
            history,
            study.direction,
            study.metric,
            study.objectives,
        )

    def flush(self, trial: Trial) -> None:
        """Store the parameters chosen since the last write (a report or a heartbeat)."""
        with self.lock:
            params = dict(trial.hp.values)
            if self._flushed.get(trial.trial_id, -1) in (-1, len(params)):
                return
            self._flushed[trial.trial_id] = len(params)
        self._storage.set_params(trial.trial_id, params)

    def report(self, trial: Trial, step: int, metrics: dict[str, float]) -> None:
        self.flush(trial)
        self._storage.add_report(trial.trial_id, step, metrics)
        with self.lock:
            steps = self._run_reports[trial.trial_id] = self._run_reports.get(trial.trial_id, 0) + 1
        scheduler = self._study.scheduler
        if (
            scheduler is not None
            and scheduler.requires_resume
            and not trial.resumable
            and scheduler.pause_after(step, steps)
        ):
            raise ConfigurationError(needs_resume(trial))  # PBT would pause it here: it cannot
        if self._study.scheduler is not None:  # the scheduler reads this curve from memory
            with self.lock:
                self._curves.setdefault(trial.trial_id, []).append(
                    Report(step, metrics, time.time())
                )

    def should_prune(self, trial: Trial) -> bool:
        """Ask the scheduler about the trial's latest report. Other trials' reports are
        read from storage only when the scheduler compares at this step (ASHA: at rungs),
        and at most once per HISTORY_TTL_S per trial."""
        study = self._study
        scheduler = study.scheduler
        if scheduler is None:
            return False
        with self.lock:
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
        if scheduler.needs_history(curve[-1].step, previous):
            history = self._trial_history(trial)
        verdict = scheduler.decide(
            PruneRequest(
                frozen, history, study.metric, study.direction, study.objectives, study.constraints
            )
        )
        if verdict.stop:
            with self.lock:
                self._verdicts[trial.trial_id] = verdict
        return verdict.stop

    def should_pause(self, trial: Trial) -> bool:
        """The scheduler's word on pausing a resumable trial (freeze-thaw: at a slice's end)."""
        scheduler = self._study.scheduler
        if scheduler is None:
            return False
        with self.lock:
            steps = self._run_reports.get(trial.trial_id, 0)
        return steps > 0 and scheduler.pause_after(trial.last_step, steps)

    def set_user_attr(self, trial: Trial, key: str, value: Any) -> None:
        self._storage.set_user_attr(trial.trial_id, key, value)

    def artifact_dir(self, trial: Trial, root: str | os.PathLike[str] | None) -> Path:
        return trial_folder(self._storage, self._study.name, trial.number, root)

    def check_constraint_name(self, name: str) -> None:
        if any(c.metric == name for c in self._study.constraints):
            raise TrialError(
                f"constraint {name!r} is the study's own constraint on metric {name!r}; "
                "give the one set with trial.set_constraint another name"
            )
