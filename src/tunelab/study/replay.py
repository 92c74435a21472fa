"""Replay the schedule of values population-based training found for one trial, as a
fixed schedule on a fresh trial of a sibling study `<name>/replay-<number>` in the same
storage: it starts with the lineage's first values and changes them at the same steps
(tunelab.schedulers.ReplayScheduler), training its own weights throughout."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tunelab.schedulers.replay import ReplayScheduler
from tunelab.study.api import create_study
from tunelab.study.pbt import found_schedule
from tunelab.trial import FrozenTrial, Trial

if TYPE_CHECKING:
    from tunelab.study.study import Study


def replay_name(study: Study, number: int) -> str:
    """The sibling study that holds the replays of trial `number`."""
    return f"{study.name}/replay-{number}"


def replay(study: Study, number: int, objective: Callable[[Trial], Any]) -> FrozenTrial:
    """Run `objective` once more with trial `number`'s found schedule; the new trial."""
    schedule = found_schedule(study.trials, number)
    sibling = create_study(
        replay_name(study, number),
        storage=study.storage,
        metric=study.metric,
        direction=study.direction,
        scheduler=ReplayScheduler([{"step": e["step"], "params": e["params"]} for e in schedule]),
        load_if_exists=True,
    )
    used = sibling.storage.count_trials(sibling.study_id).budget_used
    queued = sibling.enqueue(schedule[0]["params"])
    sibling.optimize(objective, n_trials=used + 1)
    return sibling.storage.get_trial(queued.trial_id)
