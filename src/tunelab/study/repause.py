"""A paused-and-resumed trial whose worker dies mid-slice goes back to PAUSED, from the
checkpoint it last paused with, instead of ending LOST with its training thrown away.

Every pause keeps a copy of the trial's checkpoint as of that step beside it
(`last.step-7.pt`, the snapshot PBT also copies weights from) and stores the step
(system attribute `paused_step`). The copy is needed because the next run rewrites the
checkpoint file after every epoch: by the time its worker dies, the file may hold an
epoch the study has no report of, or one whose report was never stored.

When a worker finds such a trial lost, storage puts it back to PAUSED at `paused_step`
in one transaction (`repause_trial`, conditional on the lost worker still holding it, so
of two workers that find it at once one acts), marks it `restore_step`, names the lost
worker in `lost_workers` and says so in its reason; under PBT its schedule and params
go back to those it paused with (an exploit the lost run began with is undone, and is
decided again when it resumes). The worker that claims it next copies
the snapshot back over the checkpoint before the objective runs, then clears the mark.

The reports after the paused step are dropped, not kept: the resumed run trains those
steps again from the checkpoint of the paused step and reports them anew, and storage
keeps a step once (steps must increase). Keeping them would need an overwrite storage
refuses, and meanwhile the curve would mix two runs. So the final curve has each step
once, every value measured on the weights the run at that point really had.

Only when the study's scheduler pauses, the trial has paused before with a checkpoint
file, and its worker is provably gone (it ran on this host and its process is dead):
a trial judged lost by its heartbeat alone (a worker on another host, or one stopped
past the grace) may still have a live worker that would go on writing into the resumed
trial, so it ends LOST as before. A re-paused trial is PAUSED, not FAIL: `retry_lost`
queues no copy of it. If its snapshot is gone when it is claimed, it ends LOST then.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab.errors import ConfigurationError
from tunelab.schedulers.pbt import SCHEDULE_ATTR, PBTScheduler
from tunelab.storage import BaseStorage
from tunelab.storage.base import Outcome
from tunelab.study.host import CHECKPOINT_KEY
from tunelab.study.pbt import (
    KEEP_SNAPSHOTS,
    copy_whole,
    drop_old_snapshots,
    schedule_of,
    snapshot_path,
)
from tunelab.trial import FrozenTrial, Trial
from tunelab.types import EndCause, TrialState

if TYPE_CHECKING:
    from tunelab.study.study import Study

log = logging.getLogger("tunelab")

PAUSED_STEP_KEY = "paused_step"  # the step of the trial's last pause with a snapshot kept
RESTORE_KEY = "restore_step"  # set while the snapshot must be copied back before it runs
LOST_WORKERS_KEY = "lost_workers"  # [{"worker", "step", "time"}]: each re-pause


def keep_snapshot(trial: Trial) -> dict[str, Any]:
    """Copy a pausing trial's checkpoint to the snapshot of its step, before the pause is
    stored; the system attributes to store with it. A checkpoint that is not a file (a
    folder, or none written yet) keeps no snapshot, and the trial is not re-paused."""
    source = Path(trial.checkpoint) if trial.checkpoint is not None else None
    if source is None or trial.last_step is None or not source.is_file():
        return {PAUSED_STEP_KEY: None, RESTORE_KEY: None}
    copy_whole(source, snapshot_path(source, trial.last_step))
    return {PAUSED_STEP_KEY: trial.last_step, RESTORE_KEY: None}


def drop_snapshots(study: Study, stored: FrozenTrial) -> None:
    """Once a pause is stored, delete the snapshots it no longer needs: PBT keeps a few
    (laggards copy weights of earlier steps), the other schedulers only the latest."""
    checkpoint = stored.system_attrs.get(CHECKPOINT_KEY)
    if stored.state is not TrialState.PAUSED or not isinstance(checkpoint, str):
        return
    keep = KEEP_SNAPSHOTS if isinstance(study.scheduler, PBTScheduler) else 1
    drop_old_snapshots(Path(checkpoint), keep)


def paused_step(trial: FrozenTrial) -> int | None:
    """The step a lost trial would go back to; None when it cannot (never paused with a
    snapshot kept)."""
    step = trial.system_attrs.get(PAUSED_STEP_KEY)
    checkpoint = trial.system_attrs.get(CHECKPOINT_KEY)
    if isinstance(step, bool) or not isinstance(step, int) or not isinstance(checkpoint, str):
        return None
    return step


def repause(storage: BaseStorage, trial: FrozenTrial) -> bool:
    """Put a lost RUNNING trial back to PAUSED at its paused step (see the module); False
    when it cannot be, or another worker changed it first."""
    step = paused_step(trial)
    if step is None or trial.worker is None:
        return False
    lost = list(trial.system_attrs.get(LOST_WORKERS_KEY) or [])
    lost.append({"worker": trial.worker, "step": step, "time": time.time()})
    attrs: dict[str, Any] = {RESTORE_KEY: step, LOST_WORKERS_KEY: lost}
    params = None
    if SCHEDULE_ATTR in trial.system_attrs:  # PBT: forget what the lost run took on
        with contextlib.suppress(ConfigurationError, KeyError, TypeError):  # damaged: as is
            kept = [e for e in schedule_of(trial) if e["step"] <= step]
            params = kept[-1]["params"] if kept else None
            attrs[SCHEDULE_ATTR] = kept
    done = storage.repause_trial(
        trial.trial_id,
        trial.worker,
        step,
        attrs,
        params=params,
        reason=(
            f"re-paused at step {step} after its worker was lost ({trial.worker}): it goes "
            f"on from its checkpoint of step {step}; later reports were dropped"
        ),
    )
    if done:
        log.warning(
            "trial %d: its worker %s was lost; re-paused at step %d, to go on from its "
            "checkpoint of that step",
            trial.number,
            trial.worker,
            step,
        )
    return done


def restore(storage: BaseStorage, claimed: FrozenTrial) -> FrozenTrial | None:
    """A just-claimed trial ready to run: a re-paused one gets its snapshot copied back
    over its checkpoint first. None when that snapshot is gone: the trial is then ended
    LOST (it may be retried) and the caller looks for other work."""
    step = claimed.system_attrs.get(RESTORE_KEY)
    checkpoint = claimed.system_attrs.get(CHECKPOINT_KEY)
    if isinstance(step, bool) or not isinstance(step, int) or not isinstance(checkpoint, str):
        return claimed
    snapshot = snapshot_path(checkpoint, step)
    try:
        copy_whole(snapshot, Path(checkpoint))
    except OSError as e:
        storage.finish(
            Outcome(
                claimed.trial_id,
                TrialState.FAIL,
                EndCause.LOST,
                reason=(
                    f"worker lost: re-paused at step {step}, but its checkpoint of that "
                    f"step ({snapshot}) could not be restored ({e}); keep trial folders "
                    "until the study ends"
                ),
            )
        )
        return None
    storage.set_system_attrs(claimed.trial_id, {RESTORE_KEY: None})
    return storage.get_trial(claimed.trial_id)
