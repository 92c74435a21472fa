"""Population-based training on the study's side: the files and records behind the
scheduler's decisions (tunelab.schedulers.pbt).

When a trial pauses, its checkpoint is copied to a snapshot of that step beside it
(`last.step-7.pt`, tunelab.study.repause), so a trial that falls behind can later take a parent's weights of
the step both reached even if the parent has trained on since. When a bottom trial is
resumed, it takes a copy of a top trial's snapshot as its own checkpoint and that
trial's values, explored; its stored params become the new values (what `trial.hp`
answers from then on), and the change is appended to its system attribute `schedule`:
[{"step": first step trained with the values, "params": {...}, "parent": number|None}].
Files are copied whole (shutil), never loaded here."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab.errors import ConfigurationError
from tunelab.schedulers.decision import ExploitRequest
from tunelab.schedulers.pbt import SCHEDULE_ATTR, PBTScheduler
from tunelab.schedulers.replay import ReplayScheduler
from tunelab.trial import FrozenTrial, Trial

if TYPE_CHECKING:
    from tunelab.study.study import Study

log = logging.getLogger("tunelab")

CHECKPOINT_KEY = "checkpoint"  # as tunelab.study.host names a paused trial's checkpoint
KEEP_SNAPSHOTS = 3  # per trial: the population moves on together, so older ones go unused


def needs_resume(trial: Trial) -> str:
    return (
        f"scheduler 'pbt' (or 'pb2') needs trials that can go on from a checkpoint, but trial "
        f"{trial.number} is not resumable; train with fit(..., checkpoint='last') or call "
        "trial.set_resumable(path) and load trial.resume_from when it is set"
    )


def snapshot_path(checkpoint: str | os.PathLike[str], step: int) -> Path:
    """Where a trial's checkpoint of `step` is kept for others to copy."""
    path = Path(checkpoint)
    return path.with_name(f"{path.stem}.step-{step}{path.suffix}")


def on_pause(study: Study, trial: Trial) -> dict[str, Any]:
    """Under PBT, start the trial's schedule; the system attributes to store with the
    pause ({} under other schedulers). The snapshot of this step is kept by every pause
    (tunelab.study.repause)."""
    scheduler = study.scheduler
    if not isinstance(scheduler, PBTScheduler | ReplayScheduler) or trial.checkpoint is None:
        return {}
    stored = study.storage.get_trial(trial.trial_id)
    if SCHEDULE_ATTR in stored.system_attrs:
        return {}
    first = stored.reports[0].step if stored.reports else 0
    return {SCHEDULE_ATTR: [{"step": first, "params": dict(trial.hp.values), "parent": None}]}


def check(study: Study, budget: int | None) -> None:
    """Refuse, before any trial is claimed, what PBT cannot serve: a budget below the
    population, hyperparameters that cannot be perturbed."""
    scheduler = study.scheduler
    if not isinstance(scheduler, PBTScheduler):
        return
    scheduler.check_budget(budget)
    host = study._host
    host.refreshed(study.storage.get_trials(study.study_id))
    if len(host.space):
        scheduler.mutable(host.space)


def exploit(study: Study, claimed: FrozenTrial) -> FrozenTrial:
    """The claimed (now RUNNING) trial as it goes on: unchanged, or with a top trial's
    checkpoint and explored values when it is in the bottom quantile at its step."""
    scheduler = study.scheduler
    if isinstance(scheduler, ReplayScheduler) and claimed.last_step is not None:
        params = scheduler.values_from(claimed.last_step + 1)
        return claimed if params is None else _go_on_with(study, claimed, params, None)
    if not isinstance(scheduler, PBTScheduler) or claimed.last_step is None:
        return claimed
    own = claimed.system_attrs.get(CHECKPOINT_KEY)
    if not isinstance(own, str):
        return claimed
    storage = study.storage
    history = storage.get_trials(study.study_id)
    by_number = {t.number: t for t in history}
    step = claimed.last_step
    for number in scheduler.parents(claimed, history, study.metric, study.direction):
        parent = by_number[number]
        theirs = parent.system_attrs.get(CHECKPOINT_KEY)
        if not isinstance(theirs, str) or not snapshot_path(theirs, step).is_file():
            continue  # it has not kept that step (it never paused there): try another
        space = study._host.space
        names = scheduler.mutable(space)
        request = ExploitRequest(claimed, parent, history, space, study.metric, study.direction)
        params = scheduler.new_values(request)
        try:
            copy_whole(snapshot_path(theirs, step), Path(own))
        except OSError as e:  # the trial is claimed: it goes on as itself rather than hang
            log.warning(
                "trial %d keeps its own weights: copying trial %d's failed (%s)",
                claimed.number,
                number,
                e,
            )
            return claimed
        log.info(
            "trial %d takes trial %d's weights of step %d and goes on with %s",
            claimed.number,
            number,
            step,
            {n: params[n] for n in names if n in params},
        )
        return _go_on_with(study, claimed, params, number)
    return claimed


def _go_on_with(
    study: Study, claimed: FrozenTrial, params: dict[str, Any], parent: int | None
) -> FrozenTrial:
    """Store the claimed trial's new values and the change in its schedule."""
    assert claimed.last_step is not None
    storage = study.storage
    storage.set_params(claimed.trial_id, params)
    schedule = list(claimed.system_attrs.get(SCHEDULE_ATTR) or [])
    schedule.append({"step": claimed.last_step + 1, "params": params, "parent": parent})
    storage.set_system_attrs(claimed.trial_id, {SCHEDULE_ATTR: schedule})
    return storage.get_trial(claimed.trial_id)


def schedule_of(trial: FrozenTrial) -> list[dict[str, Any]]:
    """The stored schedule of a trial: its values and where each took effect ([] when
    PBT never paused it)."""
    entries = trial.system_attrs.get(SCHEDULE_ATTR)
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ConfigurationError(f"trial {trial.number}'s schedule is damaged: {entries!r}")
    return [dict(e) for e in entries]


def copy_whole(source: Path, target: Path) -> None:
    """Copy a file whole, replacing `target` in one step (a reader never sees half)."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def drop_old_snapshots(checkpoint: Path, keep: int) -> None:
    """Delete the trial's snapshots but the `keep` of the latest steps."""
    found = []
    for path in checkpoint.parent.glob(f"{checkpoint.stem}.step-*{checkpoint.suffix}"):
        step = path.name[
            len(checkpoint.stem) + len(".step-") : len(path.name) - len(checkpoint.suffix)
        ]
        if step.isdigit():
            found.append((int(step), path))
    for _, path in sorted(found)[:-keep]:
        path.unlink(missing_ok=True)


def found_schedule(trials: list[FrozenTrial], number: int) -> list[dict[str, Any]]:
    """The values trial `number`'s weights were trained with, step by step, through its
    lineage: before it took a parent's weights at step s, the parent's schedule counts.
    [{"step", "params", "trial"}], first step first (replayed by tunelab.study.replay)."""
    by_number = {t.number: t for t in trials}
    if number not in by_number:
        raise ConfigurationError(f"the study has no trial {number}")
    segments: list[dict[str, Any]] = []
    current, before = number, None
    for _ in range(len(by_number)):  # a lineage never repeats a trial at earlier steps
        entries = [
            e for e in schedule_of(by_number[current]) if before is None or e["step"] < before
        ]
        if not entries:
            raise ConfigurationError(
                f"trial {current} has no stored schedule; only trials of a scheduler='pbt' or 'pb2' "
                "study that paused at least once have one"
            )
        start = max(i for i, e in enumerate(entries) if i == 0 or e["parent"] is not None)
        segments = [{**e, "trial": current} for e in entries[start:]] + segments
        parent = entries[start]["parent"]
        if parent is None or parent not in by_number:
            break
        current, before = parent, entries[start]["step"]
    return [{"step": e["step"], "params": e["params"], "trial": e["trial"]} for e in segments]
