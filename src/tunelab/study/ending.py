"""What finishing a trial stores: the objective's result judged against the study's
objectives (one value each), its constraint values (the study's, over returned or
reported metrics, and the objective's own), its parameters and the scheduler's words."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tunelab.errors import TrialError
from tunelab.storage import Outcome
from tunelab.study.outcome import Judged, constrain, judge_all
from tunelab.trial import CONSTRAINTS_ATTR, Trial
from tunelab.types import EndCause, TrialState

if TYPE_CHECKING:
    from tunelab.study.host import Host
    from tunelab.study.study import Study


def outcome_of(
    study: Study,
    host: Host,
    handle: Trial,
    values: Any,
    state: TrialState | None,
    reason: str | None,
    cause: EndCause | None,
) -> Outcome:
    """What finishing the trial stores: the judged result, params, scheduler attrs."""
    metrics: dict[str, Any] = {}
    kept: tuple[float, ...] | None = None
    judged = Judged(TrialState.FAIL, EndCause.RAISED)
    if state is None or state is TrialState.COMPLETE:
        judged = _judge(study, handle, values)
        metrics, kept = judged.metrics, judged.values
        if state is None:
            state, reason = judged.state, judged.reason
            cause = cause or judged.cause
        else:
            cause = cause or EndCause.COMPLETED
    elif state is TrialState.PRUNED:
        last = _last_reported(study, handle)
        kept = tuple(last[m] for m in study.metrics) if len(last) == len(study.metrics) else None
        judged = constrain(Judged(state, EndCause.PRUNED), study.constraints, last.get, {})
        cause = cause or EndCause.PRUNED
    elif state is TrialState.FAIL:
        cause = cause or EndCause.RAISED
    else:
        raise TrialError(f"tell() finishes a trial as COMPLETE, PRUNED or FAIL, not {state}")
    params, verdict = host.settle(handle)
    attrs: dict[str, Any] = {}
    if study.scheduler is not None:
        attrs.update(study.scheduler.trial_attrs(handle.number))
        if state is TrialState.PRUNED and verdict is not None:
            reason = verdict.reason or reason  # the scheduler's why, over fit's "stopped"
            attrs.update(verdict.attrs)
            if cause is EndCause.PRUNED:
                cause = verdict.cause
    constraints = {**judged.constraints, **handle.constraints}
    if constraints:
        attrs[CONSTRAINTS_ATTR] = constraints
    return Outcome(
        handle.trial_id,
        state,
        cause,
        values=kept,
        metrics=metrics,
        params=params,
        reason=reason,
        system_attrs=attrs or None,
    )


def _judge(study: Study, handle: Trial, result: Any) -> Judged:
    """What the objective returned, judged, with the constraints' values."""
    judged = judge_all(result, study.metrics)
    if judged.state is not TrialState.COMPLETE:
        return judged
    wanted = [c.metric for c in study.constraints if c.metric not in judged.metrics]
    reported: dict[str, float] = _last_reported(study, handle, wanted) if wanted else {}
    return constrain(judged, study.constraints, reported.get, handle.constraints)


def _last_reported(
    study: Study, trial: Trial, metrics: Sequence[str] | None = None
) -> dict[str, float]:
    """The last finite value the trial reported of each metric (default: the
    objectives'; the constraints' too) that it reported at all."""
    if trial.last_step is None:
        return {}
    if metrics is None:
        metrics = [*study.metrics, *(c.metric for c in study.constraints)]
    stored = study.storage.get_trial(trial.trial_id)
    out = {}
    for metric in metrics:
        values = [v for v in stored.intermediate(metric).values() if math.isfinite(v)]
        if values:
            out[metric] = values[-1]
    return out
