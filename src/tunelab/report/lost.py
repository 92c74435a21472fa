"""Which running trials to show as lost: their worker stopped beating (or, on this host,
its process is gone), so they will never finish.

Display only: reports and the dashboard never write. The study itself ends such a trial
as LOST when one of its workers next looks; until then the stored state is RUNNING."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from tunelab.study.liveness import heartbeat_grace, is_lost, worker_id
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

LOST = "lost"


def lost_trials(
    trials: Iterable[FrozenTrial], settings: Mapping[str, Any], now: float | None = None
) -> frozenset[int]:
    """The ids of the RUNNING trials among `trials` whose worker is gone."""
    grace = heartbeat_grace(settings)
    viewer = worker_id()  # runs no trial, so it owns none of them
    at = time.time() if now is None else now
    return frozenset(
        t.trial_id
        for t in trials
        if t.state is TrialState.RUNNING and is_lost(t, at, grace, viewer)
    )


def state_label(trial: FrozenTrial, lost: frozenset[int]) -> str:
    """The state a person reads: 'lost' for a lost running trial, else the stored state."""
    return LOST if trial.trial_id in lost else trial.state.value.lower()
