"""Freeze-thaw on the study's side: pausing a trial whose objective raised TrialPaused,
and, when a worker asks for work, resuming the paused trial the scheduler chooses (a
trial re-paused after its worker was lost first gets its checkpoint back: repause.py).

The choice is the scheduler's (`choose_resume`); the claim is storage's, atomic, so two
workers never resume one trial: a worker that loses the race asks again."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tunelab.errors import TrialError
from tunelab.schedulers import ResumeRequest
from tunelab.study import pbt, repause
from tunelab.study.host import CHECKPOINT_KEY
from tunelab.trial import FrozenTrial, Trial
from tunelab.types import TrialState

if TYPE_CHECKING:
    from tunelab.study.study import Study

log = logging.getLogger("tunelab")

CLAIM_TRIES = 5  # other workers resumed the chosen trial first this often: start a new one


def not_resumable(trial: Trial) -> str:
    return (
        f"trial {trial.number} raised TrialPaused but is not resumable; call "
        "trial.set_resumable(checkpoint) or fit(..., checkpoint='last') before it pauses"
    )


def pause(study: Study, trial: Trial) -> FrozenTrial:
    """Record a running, resumable trial PAUSED with its checkpoint, and let go of it."""
    if not trial.resumable:
        raise TrialError(not_resumable(trial))
    host = study._host
    host.flush(trial)
    host.settle(trial)
    attrs = {CHECKPOINT_KEY: trial.checkpoint, **repause.keep_snapshot(trial)}
    done = study.storage.pause_trial(
        trial.trial_id,
        {**attrs, **pbt.on_pause(study, trial)},
        reason=f"paused after step {trial.last_step}",
    )
    host.forget(trial)
    stored = study.storage.get_trial(trial.trial_id)
    if done:
        repause.drop_snapshots(study, stored)
    else:
        log.warning(
            "trial %d was already %s when it paused; it was probably declared lost",
            trial.number,
            stored.state.value,
        )
    return stored


def resume_paused(study: Study, budget: int | None) -> FrozenTrial | None:
    """The paused trial this worker now runs, claimed; None to start a new trial (no
    paused trial, a scheduler that never pauses, or one that prefers a new one)."""
    scheduler = study.scheduler
    if scheduler is None or not scheduler.pauses:
        return None
    storage = study.storage
    pbt.check(study, budget)  # before any claim: a refusal leaves every trial as it was
    for _ in range(CLAIM_TRIES):
        paused = storage.get_trials(study.study_id, [TrialState.PAUSED])
        if not paused:
            return None
        spent = budget is not None and storage.count_trials(study.study_id).budget_used >= budget
        request = ResumeRequest(
            paused, storage.get_trials(study.study_id), study.metric, study.direction, spent
        )
        number = scheduler.choose_resume(request)
        if number is None:
            return None
        chosen = next((t for t in paused if t.number == number), None)
        if chosen is None:
            raise TrialError(f"the scheduler chose trial {number}, which is not paused")
        claimed = storage.claim_paused_trial(chosen.trial_id, study._liveness.worker)
        if claimed is not None:
            claimed = repause.restore(storage, claimed)  # re-paused after a lost worker
        if claimed is not None:
            return pbt.exploit(study, claimed)  # PBT: a bottom trial takes a top one's place
    return None
