"""Where a study's epochs went: the steps each trial trained, how often freeze-thaw or
population-based training paused and resumed it, and which trial took whose weights.

Read from what storage already holds: a trial's reports (it trained up to its last
reported step), its system attribute `resumes` (one per continuation after a pause) and,
under PBT, its `schedule` (tunelab.study.schedule_of), whose entries with a parent are
the exploits: the trial went on from the parent's weights of the step before."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tunelab.errors import ConfigurationError
from tunelab.insight._common import InsightError
from tunelab.study import found_schedule
from tunelab.study import schedule_of as stored_schedule
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

RESUMES = "resumes"  # the system attribute counting a trial's continuations after a pause


@dataclass(frozen=True)
class TrialEffort:
    """One trial's share of the work.

    Attributes:
        number: The trial's number.
        state: How it stands (`PAUSED` while it waits to be resumed).
        steps: Steps (epochs) it trained: its last reported step + 1, resumes included.
        resumes: How often it went on after a pause.
        exploits: How often it took another trial's weights (PBT).
    """

    number: int
    state: TrialState
    steps: int
    resumes: int
    exploits: int

    @property
    def pauses(self) -> int:
        """Times it was paused: once per resume, and once more while it waits."""
        return self.resumes + (self.state is TrialState.PAUSED)


@dataclass(frozen=True)
class Effort:
    """The steps and pauses of every trial of a study (`training_effort`)."""

    trials: tuple[TrialEffort, ...]

    @property
    def steps(self) -> int:
        """Steps trained by all trials together."""
        return sum(t.steps for t in self.trials)

    @property
    def paused_now(self) -> int:
        """Trials waiting in state PAUSED."""
        return sum(t.state is TrialState.PAUSED for t in self.trials)

    @property
    def resumes(self) -> int:
        """Continuations after a pause, all trials together."""
        return sum(t.resumes for t in self.trials)

    @property
    def exploits(self) -> int:
        """Times a trial took another's weights (PBT), all trials together."""
        return sum(t.exploits for t in self.trials)

    @property
    def ever_paused(self) -> int:
        """Trials paused at least once."""
        return sum(t.pauses > 0 for t in self.trials)

    def steps_by_state(self) -> dict[str, int]:
        """Steps trained by the trials of each state ("complete", "pruned", ...), the
        states with none left out."""
        out: dict[str, int] = {}
        for t in self.trials:
            if t.steps:
                key = t.state.value.lower()
                out[key] = out.get(key, 0) + t.steps
        return out

    def to_dict(self) -> dict[str, Any]:
        """The effort as a dict of JSON values (states by name)."""
        return {
            "trials": [{**asdict(t), "state": t.state.value} for t in self.trials],
            "steps": self.steps,
            "resumes": self.resumes,
            "exploits": self.exploits,
            "paused_now": self.paused_now,
        }

    def text(self) -> str:
        """One line: pauses and resumes, then the steps trained, by state."""
        trained = [t.steps for t in self.trials if t.steps]
        parts = []
        if self.ever_paused:
            parts.append(
                f"{self.ever_paused} of {len(self.trials)} trials paused "
                f"{sum(t.pauses for t in self.trials)} times and resumed {self.resumes} "
                f"times, {self.paused_now} paused now"
            )
        if self.exploits:
            took = sum(t.exploits > 0 for t in self.trials)
            parts.append(f"{self.exploits} exploits (weights copied) by {took} trials")
        if trained:
            states = self.steps_by_state()
            said = f"{self.steps} steps trained"
            if len(states) > 1:
                said += " (" + ", ".join(f"{n} by {s} trials" for s, n in states.items()) + ")"
            if min(trained) == max(trained):
                said += f", {trained[0]} per trial"
            else:
                said += (
                    f", per trial {min(trained)} to {max(trained)} "
                    f"(median {statistics.median(trained):g})"
                )
            parts.append(said)
        return "; ".join(parts)


def schedule_of(trial: FrozenTrial) -> list[dict[str, Any]]:
    """The trial's stored PBT schedule; [] when it has none or it cannot be read (the
    views go on; `tunelab replay` names the damage)."""
    try:
        return stored_schedule(trial)
    except ConfigurationError:
        return []


def trial_effort(trial: FrozenTrial) -> TrialEffort:
    """The steps, resumes and exploits of one trial."""
    resumes = trial.system_attrs.get(RESUMES, 0)
    exploits = sum(e.get("parent") is not None for e in schedule_of(trial))
    steps = 0 if trial.last_step is None else trial.last_step + 1
    return TrialEffort(
        trial.number,
        trial.state,
        steps,
        resumes if isinstance(resumes, int) and not isinstance(resumes, bool) else 0,
        exploits,
    )


def training_effort(trials: Sequence[FrozenTrial]) -> Effort:
    """Every trial's steps (epochs), pauses, resumes and exploits, by trial number."""
    return Effort(tuple(trial_effort(t) for t in sorted(trials, key=lambda t: t.number)))


def paused_or_resumed(trials: Sequence[FrozenTrial]) -> bool:
    """Whether any trial was paused (freeze-thaw or PBT): the effort is worth showing."""
    return any(t.state is TrialState.PAUSED or t.system_attrs.get(RESUMES) for t in trials)


@dataclass(frozen=True)
class Exploit:
    """One PBT exploit: `trial` went on at `step` from `parent`'s weights of the step
    before, with `params` (the parent's values, explored) in place of `previous`."""

    trial: int
    parent: int
    step: int
    params: dict[str, Any]
    previous: dict[str, Any]


def exploits(trials: Sequence[FrozenTrial]) -> list[Exploit]:
    """Every exploit stored in the trials' schedules, by step, then trial number."""
    found = []
    for t in trials:
        schedule = schedule_of(t)
        for before, entry in itertools.pairwise(schedule):
            if entry.get("parent") is not None:
                found.append(
                    Exploit(
                        t.number,
                        int(entry["parent"]),
                        int(entry["step"]),
                        dict(entry["params"]),
                        dict(before["params"]),
                    )
                )
    return sorted(found, key=lambda e: (e.step, e.trial))


def scheduled(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The trials that hold a stored schedule (PBT paused them at least once)."""
    return [t for t in trials if schedule_of(t)]


def schedule_names(trials: Sequence[FrozenTrial], preferred: Sequence[str] = ()) -> list[str]:
    """The hyperparameters a schedule figure or text shows: `preferred` (those PBT may
    change) where the schedules hold them, else those that changed within a trial's
    schedule, else those that differ between schedules."""
    schedules = [schedule_of(t) for t in trials]
    held = list(dict.fromkeys(n for s in schedules for e in s for n in e["params"]))
    if preferred and any(n in held for n in preferred):
        return [n for n in preferred if n in held]
    changed = [
        n for n in held if any(len({repr(e["params"].get(n)) for e in s}) > 1 for s in schedules)
    ]
    if changed:
        return changed
    return [n for n in held if len({repr(e["params"].get(n)) for s in schedules for e in s}) > 1]


def lineage_text(
    trials: Sequence[FrozenTrial], number: int, names: Sequence[str] = (), digits: int = 4
) -> str:
    """The schedule trial `number`'s weights trained with, through its lineage, in one
    line: 'lr 0.2 from step 0 (#3), 0.16 from step 4 (#7 took #3's weights), ...'."""
    try:
        schedule = found_schedule(list(trials), number)
    except ConfigurationError as e:  # no schedule stored, or a damaged one
        raise InsightError(str(e)) from e
    shown = list(names) or schedule_names(trials) or list(schedule[0]["params"])
    parts = []
    for i, entry in enumerate(schedule):
        values = ", ".join(
            f"{n} {_short(entry['params'][n], digits)}" for n in shown if n in entry["params"]
        )
        before = schedule[i - 1]["trial"] if i else None
        if before is None or before == entry["trial"]:  # a replayed schedule's own change
            whose = "own" if entry["trial"] == number else f"#{entry['trial']}"
        else:
            whose = f"#{entry['trial']} took #{before}'s weights"
        parts.append(f"{values} from step {entry['step']} ({whose})")
    return ", ".join(parts)


def _short(value: Any, digits: int) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)
