"""The storage contract.

Storage keeps studies, trials and their reports. The Study is its only writer.
Records handed out are frozen: later writes never change them. Everything
stored is JSON. Every backend passes `tunelab.testing.storage_conformance`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from tunelab.errors import ConfigurationError, TrialError
from tunelab.objectives import Constraint, Objective
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, EndCause, TrialState

T = TypeVar("T")

RESUMES_ATTR = "resumes"  # the system attribute counting a trial's resumptions


@dataclass(frozen=True)
class StudyRecord:
    """A study as stored. `objectives` (one or more) and `constraints` are fixed when the
    study is created and never written again; `metric` and `direction` are the first
    objective's (the whole of it in a single-objective study). `settings` may change."""

    study_id: int
    name: str
    metric: str
    direction: Direction
    sampler: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    objectives: tuple[Objective, ...] = ()
    constraints: tuple[Constraint, ...] = ()

    def __post_init__(self) -> None:
        for name in ("sampler", "settings", "user_attrs"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        objectives = study_objectives(self.metric, self.direction, self.objectives)
        object.__setattr__(self, "objectives", objectives)
        object.__setattr__(self, "constraints", tuple(self.constraints))

    @property
    def multi_objective(self) -> bool:
        """Whether the study has more than one objective."""
        return len(self.objectives) > 1


def study_objectives(
    metric: str, direction: Direction, objectives: Sequence[Objective]
) -> tuple[Objective, ...]:
    """A study's objectives: `objectives`, whose first must be `metric` in `direction`, or
    that one alone. Storages check this before they write a study."""
    first = Objective(metric, Direction(direction))
    out = tuple(objectives) or (first,)
    if out[0] != first:
        raise ConfigurationError(
            f"a study's metric and direction are its first objective's, but got "
            f"metric={metric!r}, direction={first.direction.value!r} and the objectives "
            f"{[o.to_json() for o in out]}"
        )
    return out


@dataclass(frozen=True)
class TrialCounts:
    """How many trials of a study are in each state."""

    by_state: Mapping[TrialState, int]
    interrupted: int = 0  # finished but outside the budget: interrupted, lost or retried

    def __getitem__(self, state: TrialState) -> int:
        return self.by_state.get(state, 0)

    @property
    def total(self) -> int:
        """Trials in every state, WAITING included."""
        return sum(self.by_state.values())

    @property
    def budget_used(self) -> int:
        """Trials that count toward `n_trials` (see FrozenTrial.counts_toward_budget)."""
        return self.total - self[TrialState.WAITING] - self.interrupted


@dataclass(frozen=True)
class StudySummary:
    """One line of `list_studies`: a study's record, its trial counts and its best value.

    Attributes:
        record: The study as stored.
        counts: How many of its trials are in each state.
        best_value: The best trial's value; None before a trial completes, and for a study with
            several objectives (it has a front, not one best).
    """

    record: StudyRecord
    counts: TrialCounts
    best_value: float | None


_DEFAULT_CAUSE = {
    TrialState.COMPLETE: EndCause.COMPLETED,
    TrialState.PRUNED: EndCause.PRUNED,
    TrialState.FAIL: EndCause.RAISED,
}


@dataclass(frozen=True)
class Outcome:
    """How a trial ended: what `finish` stores for it. `system_attrs` (a scheduler's
    bookkeeping) are merged into the stored ones."""

    trial_id: int
    state: TrialState
    end_cause: EndCause
    values: tuple[float, ...] | None = None
    metrics: Mapping[str, Any] | None = None
    params: Mapping[str, Any] | None = None
    reason: str | None = None
    system_attrs: Mapping[str, Any] | None = None

    @property
    def value(self) -> float | None:
        """The first objective's value (what the `value` column sorts on)."""
        return self.values[0] if self.values else None

    @property
    def counts_toward_budget(self) -> bool:
        """Whether the trial counts toward the study's `n_trials` (its end cause decides)."""
        return self.end_cause.counts_toward_budget


class LockedView(ABC):
    """Reads and writes inside one study-wide exclusive transaction."""

    @abstractmethod
    def get_trials(self) -> list[FrozenTrial]:
        """The study's trials, inside the transaction, with their reports."""

    @abstractmethod
    def create_trial(
        self, state: TrialState, worker: str | None, budget: int | None = None
    ) -> FrozenTrial | None:
        """Insert a trial with the next free number, or None once `budget` trials count.

        Args:
            state: The new trial's state (WAITING or RUNNING).
            worker: The worker that runs it, if RUNNING.
            budget: The study's trial budget; None for no limit.
        """

    @abstractmethod
    def set_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        """Replace the params of trial `trial_id` (ordered mapping)."""


class BaseStorage(ABC):
    """Abstract storage. Subclasses implement every method; semantics are in docstrings."""

    url: str = ""
    shared_across_processes: bool = False  # whether other processes see its studies
    local_file: Path | None = None  # the database file, for a storage kept in one (SQLite)

    def for_workers(self, fork: bool) -> BaseStorage | str:
        """What a worker process opens this storage from: its URL by default; a storage
        whose object survives a fork (its connections closed first) may hand over itself."""
        return self.url

    # -- studies ---------------------------------------------------------------------------
    @abstractmethod
    def create_study(
        self,
        name: str,
        metric: str,
        direction: Direction,
        sampler: Mapping[str, Any],
        settings: Mapping[str, Any],
        objectives: Sequence[Objective] = (),
        constraints: Sequence[Constraint] = (),
    ) -> StudyRecord:
        """Create a study; raise StudyConflictError if the name is taken. `objectives`
        (default: the one of `metric` and `direction`, which must be the first) and
        `constraints` are stored once and never change."""

    @abstractmethod
    def get_study(self, name: str) -> StudyRecord | None:
        """The study named `name`, or None if there is none."""

    @abstractmethod
    def list_studies(self) -> list[StudySummary]:
        """Every study with its trial counts and best value, in creation order."""

    @abstractmethod
    def set_study_setting(self, study_id: int, key: str, value: Any) -> StudyRecord:
        """Set one key of a study's settings (a JSON value; None removes the key) in one
        transaction, and return the new record. Workers read flags such as `stop` here."""

    @abstractmethod
    def delete_study(self, name: str) -> bool:
        """Delete a study with its trials and reports; False if it did not exist."""

    # -- search space registry --------------------------------------------------------------
    @abstractmethod
    def get_space(self, study_id: int) -> list[dict[str, Any]]:
        """Parameter definitions (JSON) in the order they were first registered."""

    @abstractmethod
    def register_params(
        self, study_id: int, entries: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Add definitions whose names are new (first writer wins); return the full space."""

    def space_size(self, study_id: int) -> int:
        """How many parameters the study's space holds: a study checks this once per burst
        of suggestions for definitions other workers registered, and reads the space only
        when it grew. Storages override it with something cheaper than reading the space."""
        return len(self.get_space(study_id))

    # -- trials ---------------------------------------------------------------------------------
    @abstractmethod
    def create_trial(
        self,
        study_id: int,
        state: TrialState,
        worker: str | None = None,
        params: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
        budget: int | None = None,
        enqueued: Mapping[str, Any] | None = None,
    ) -> FrozenTrial | None:
        """Insert a trial with the next free number of its study (`enqueued`: values fixed
        before it runs). With `budget`, insert only while fewer trials than that count
        toward it (else None), atomically."""

    @abstractmethod
    def claim_waiting_trial(
        self, study_id: int, worker: str, budget: int | None = None
    ) -> FrozenTrial | None:
        """Atomically move the oldest WAITING trial to RUNNING for `worker`; once `budget`
        trials count toward the study, only a queued retry (see `start_trial`)."""

    @abstractmethod
    def retry_trial(self, trial_id: int) -> FrozenTrial | None:
        """Atomically queue a WAITING trial that repeats FAIL trial `trial_id`: its params
        (over any values it had enqueued) become the new trial's `enqueued`, its
        `retry_of` is the original's number and its `attempt` the original's + 1. The
        original gets `retried_by` (the new number), so it stops counting toward the
        budget: its retry counts instead. None, with nothing changed, when the trial is
        not FAIL or was retried already (two workers cannot both retry it)."""

    @abstractmethod
    def set_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        """Replace the params of a RUNNING trial (ordered mapping)."""

    @abstractmethod
    def add_report(self, trial_id: int, step: int, metrics: Mapping[str, float]) -> None:
        """Store the metrics a RUNNING trial reported at `step`; steps must increase (else TrialError).

        Args:
            trial_id: The trial that reports.
            step: The step (epoch, iteration) the metrics were measured at.
            metrics: Metric name to value.
        """

    @abstractmethod
    def set_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        """Set one user attribute (a JSON value) of trial `trial_id`."""

    @abstractmethod
    def heartbeat(self, trial_ids: Sequence[int], now: float) -> None:
        """Record that the RUNNING trials `trial_ids` are alive at time `now` (seconds since the epoch).

        Trials whose heartbeat stops are declared lost (`fail_lost_trials`).
        """

    def finish_trial(
        self,
        trial_id: int,
        state: TrialState,
        value: float | None = None,
        metrics: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        reason: str | None = None,
        system_attrs: Mapping[str, Any] | None = None,
        end_cause: EndCause | None = None,
        values: Sequence[float] | None = None,
    ) -> bool:
        """`finish` with the outcome these arguments describe; the cause defaults from the
        state (COMPLETE: COMPLETED, PRUNED: PRUNED, FAIL: RAISED), `values` from `value`."""
        state = TrialState(state)
        if end_cause is None:
            if state not in _DEFAULT_CAUSE:
                raise TrialError(f"a trial cannot finish as {state.value}")
            end_cause = _DEFAULT_CAUSE[state]
        if values is None and value is not None:
            values = (value,)
        kept = None if values is None else tuple(float(v) for v in values)
        return self.finish(
            Outcome(
                trial_id, state, EndCause(end_cause), kept, metrics, params, reason, system_attrs
            )
        )

    @abstractmethod
    def finish(self, outcome: Outcome) -> bool:
        """Move a RUNNING trial to a finished state. Return False (and change nothing)
        if it is no longer RUNNING, e.g. because it was declared lost meanwhile."""

    # -- freeze-thaw: a trial paused between slices of its training ----------------------
    @abstractmethod
    def pause_trial(
        self,
        trial_id: int,
        system_attrs: Mapping[str, Any] | None = None,
        reason: str | None = None,
    ) -> bool:
        """Move a RUNNING trial to PAUSED, keeping its params, reports and attributes
        (`system_attrs`, e.g. its checkpoint's path, are merged into the stored ones). Its
        heartbeat is cleared: no worker holds it. False, with nothing changed, when it is
        no longer RUNNING (declared lost meanwhile, say)."""

    @abstractmethod
    def claim_paused_trial(self, trial_id: int, worker: str) -> FrozenTrial | None:
        """Atomically move a PAUSED trial back to RUNNING for `worker` (a conditional
        update: of two workers claiming one trial, one gets it) and count the resumption
        in its system attribute `resumes`. Returns the record with its reports; the next
        report must follow the last one. None, with nothing changed, when it is not
        PAUSED (another worker resumed it first)."""

    @abstractmethod
    def repause_trial(
        self,
        trial_id: int,
        worker: str,
        step: int,
        system_attrs: Mapping[str, Any] | None = None,
        reason: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> bool:
        """Put a RUNNING trial whose worker `worker` was lost back to PAUSED as it stood
        when it paused at `step`, in one transaction: its reports after `step` are
        deleted (the resumed run trains those steps again from the checkpoint of `step`
        and reports them anew; a step is stored once and steps must increase), its
        heartbeat cleared, `system_attrs` merged into the stored ones, its params
        replaced by `params` if given (the values it paused with). False, with nothing
        changed, when it is no longer RUNNING or another worker holds it: of two workers
        that find one lost trial, one re-pauses it."""

    @abstractmethod
    def set_system_attrs(self, trial_id: int, system_attrs: Mapping[str, Any]) -> None:
        """Merge `system_attrs` (JSON) into a RUNNING trial's system attributes: what a
        scheduler records as a trial goes on (population-based training's schedule).
        TrialError when the trial is not RUNNING."""

    @abstractmethod
    def get_trial(self, trial_id: int) -> FrozenTrial:
        """The trial with id `trial_id`, with its reports; raise TrialError if there is none."""

    # -- the per-trial path: one call to start, one to finish --------------------------------
    def start_trial(
        self, study_id: int, worker: str, budget: int | None = None
    ) -> FrozenTrial | None:
        """The next trial `worker` runs: the oldest WAITING trial, claimed, else a new
        RUNNING one; None when `budget` trials count toward the study already and no
        retry is queued (a queued retry is owed work: it runs past the budget). Databases
        override this to do it in one transaction: it runs once per trial."""
        claimed = self.claim_waiting_trial(study_id, worker, budget)
        if claimed is not None:
            return claimed
        return self.create_trial(study_id, TrialState.RUNNING, worker, budget=budget)

    def finish_and_get_trial(
        self, outcome: Outcome, with_reports: bool = True
    ) -> FrozenTrial | None:
        """`finish_trial` with `outcome`, and the finished record as stored (with its
        reports only if `with_reports`); None, with nothing changed, when the trial was no
        longer RUNNING. Databases override this to read the record in the same statement."""
        if not self.finish(outcome):
            return None
        trial = self.get_trial(outcome.trial_id)
        return trial if with_reports else dataclasses.replace(trial, reports=())

    @abstractmethod
    def get_trials(
        self, study_id: int, states: Sequence[TrialState] | None = None, with_reports: bool = True
    ) -> list[FrozenTrial]:
        """A study's trials in number order.

        Args:
            study_id: The study.
            states: Only trials in these states; None for all.
            with_reports: Whether each record carries its reports (the learning curve).
        """

    @abstractmethod
    def count_trials(self, study_id: int) -> TrialCounts:
        """Counts per state, and how many failed trials were interrupted."""

    @abstractmethod
    def locked(self, study_id: int, fn: Callable[[LockedView], T]) -> T:
        """Run `fn` inside one exclusive transaction over the study (grid decisions)."""

    def fail_lost_trials(
        self,
        study_id: int,
        is_lost: Callable[[FrozenTrial], bool],
        reason: str,
        cause: EndCause = EndCause.LOST,
    ) -> list[int]:
        """Finish RUNNING trials for which `is_lost` holds as FAIL with `cause` (LOST, or
        INTERRUPTED for a worker's own trials on its way out)."""
        lost = []
        for t in self.get_trials(study_id, [TrialState.RUNNING], with_reports=False):
            if is_lost(t) and self.finish(
                Outcome(t.trial_id, TrialState.FAIL, cause, reason=reason)
            ):
                lost.append(t.trial_id)
        return lost

    def close(self) -> None:  # noqa: B027 - a no-op unless the backend holds connections
        """Release connections (the storage may be reopened from its URL)."""

    @contextlib.contextmanager
    def session(self) -> Iterator[BaseStorage]:
        """Use the storage in a `with` block that closes it on the way out.

        Example:
            ```python
            with get_storage("sqlite:///tuning.db").session() as storage:
                print([s.record.name for s in storage.list_studies()])
            ```
        """
        try:
            yield self
        finally:
            self.close()
