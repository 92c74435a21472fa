"""`--json` for `tunelab studies`, `show` and `status`: one JSON document on stdout for
scripts, in shapes that stay stable (each has `"version": 1`; a change that breaks a
reader gets a new version). Only plain JSON types: NaN and infinities become null, and
no terminal styling is applied to user text."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import click

from tunelab.cli.export import trial_record
from tunelab.errors import TunelabError
from tunelab.storage import StudySummary, TrialCounts
from tunelab.study.optimize import STOP_SETTING
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

VERSION = 1


def plain_json(value: Any) -> Any:
    """`value` with only JSON's own types: NaN/inf floats as None, tuples as lists,
    mapping keys as strings, anything else (an enum, a path) as its text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    return str(getattr(value, "value", value))


def echo(document: dict[str, Any]) -> None:
    """Write one document to stdout; allow_nan=False guarantees strict JSON."""
    click.echo(json.dumps(plain_json({"version": VERSION, **document}), indent=2, allow_nan=False))


def counts_json(counts: TrialCounts) -> dict[str, int]:
    """Trials per state (every state, zeros included) and the interrupted ones."""
    return {
        **{s.value: counts[s] for s in TrialState},
        "interrupted": counts.interrupted,
        "total": counts.total,
    }


def _objectives(objectives: Sequence[Any], constraints: Sequence[Any]) -> dict[str, Any]:
    return {
        "metrics": [o.metric for o in objectives],
        "directions": [o.direction.value for o in objectives],
        "constraints": [c.to_json() for c in constraints],
    }


def studies_document(summaries: Sequence[StudySummary]) -> dict[str, Any]:
    """What `tunelab studies` lists: per study its objectives, trial counts and best
    value (of the first objective)."""
    return {
        "studies": [
            {
                "name": s.record.name,
                **_objectives(s.record.objectives, s.record.constraints),
                "created_at": s.record.created_at,
                "n_trials": s.counts.total,
                "states": counts_json(s.counts),
                "best_value": s.best_value,
            }
            for s in summaries
        ]
    }


def trial_json(t: FrozenTrial) -> dict[str, Any]:
    """A trial as `tunelab export --format json` writes it, without its per-step reports,
    plus how it ended and its retries."""
    record = trial_record(t)
    del record["reports"]
    return {
        **record,
        "end_cause": None if t.end_cause is None else t.end_cause.value,
        "last_step": t.last_step,
        "retry_of": t.retry_of,
        "retried_by": t.retried_by,
    }


def study_json(study: Any, counts: TrialCounts) -> dict[str, Any]:
    return {
        "name": study.name,
        **_objectives(study.objectives, study.constraints),
        "sampler": study.sampler.name,
        "scheduler": None if study.scheduler is None else study.scheduler.to_json(),
        "n_trials": counts.total,
        "states": counts_json(counts),
    }


def show_document(study: Any, top_k: int) -> dict[str, Any]:
    """What `tunelab show` shows: the study, every trial, the numbers of the top
    `top_k`, the best trial (one objective) or the Pareto front (several), and the seed
    re-runs' confirmation (null when there is none)."""
    counts = study.storage.count_trials(study.study_id)
    top = study.top_trials(top_k)
    best = None
    front = None
    if study.multi_objective:
        front = sorted(t.number for t in study.best_trials)
    elif top:
        best = {"number": top[0].number, "value": top[0].value, "params": dict(top[0].params)}
    return {
        "study": study_json(study, counts),
        "trials": [trial_json(t) for t in study.trials],
        "top": [t.number for t in top],
        "best": best,
        "pareto_front": front,
        "confirmation": _confirmation(study),
        "training": _training(study, best),
    }


def _training(study: Any, best: dict[str, Any] | None) -> dict[str, Any] | None:
    """Steps, pauses and resumes per trial and PBT's exploits with the best trial's
    schedule; null when no trial was paused."""
    from tunelab.insight import exploits, training_effort
    from tunelab.insight.effort import paused_or_resumed, scheduled
    from tunelab.study import found_schedule

    trials = study.trials
    if not paused_or_resumed(trials) and not scheduled(trials):
        return None
    pbt = None
    if scheduled(trials):
        number = None if best is None else best["number"]
        try:
            schedule = None if number is None else found_schedule(trials, number)
        except TunelabError:  # the best trial holds no schedule (it never paused)
            schedule = None
        pbt = {
            "exploits": [asdict(e) for e in exploits(trials)],
            "best": number,
            "best_schedule": schedule,
        }
    return {**training_effort(trials).to_dict(), "pbt": pbt}


def _confirmation(study: Any) -> dict[str, Any] | None:
    """The seed re-runs' summary (`tunelab confirm`), or null without one."""
    from tunelab.insight import confirmation  # insight's imports only when showing

    found = confirmation(study)
    return None if found is None else found.to_dict()


def show_json(study: Any, top_k: int, insight: Any) -> None:
    """`show --json`; the insight views (--effects, --importance, --diagnose, --next)
    have no JSON shape yet, so asking for both is refused rather than one ignored."""
    if insight:
        raise click.UsageError(
            "--json shows the study and its trials; drop --effects, --importance, "
            "--diagnose and --next (they print tables only)"
        )
    echo(show_document(study, top_k))


def status_document(study: Any) -> dict[str, Any]:
    """What `tunelab status` shows: counts, the retry and heartbeat settings, the stop
    flag, the running trials with their workers (times as Unix seconds; `now` is
    when this was read, so ages are `now - heartbeat`), and the paused trials with the
    step each reached and the worker that ran it last."""
    counts = study.storage.count_trials(study.study_id)
    running = study.get_trials([TrialState.RUNNING])
    stop = study.settings.get(STOP_SETTING)
    return {
        "study": study.name,
        "now": time.time(),
        "n_trials": counts.total,
        "states": counts_json(counts),
        "max_retries": study.settings.get("max_retries", 0),
        "heartbeat_interval": study.settings.get("heartbeat_interval", 10.0),
        "stop_requested_at": stop if isinstance(stop, (int, float)) else None,
        "running": [
            {
                "number": t.number,
                "worker": t.worker,
                "datetime_start": t.datetime_start,
                "heartbeat": t.heartbeat,
                "retry_of": t.retry_of,
            }
            for t in running
        ],
        "workers": sorted({t.worker.rsplit(":", 1)[0] for t in running if t.worker}),
        "paused": [
            {"number": t.number, "last_step": t.last_step, "worker": t.worker}
            for t in study.get_trials([TrialState.PAUSED])
        ],
    }


def json_option(command: Any) -> Any:
    """`--json`, as the three commands take it."""
    return click.option(
        "--json",
        "json_",
        is_flag=True,
        help="One JSON document on stdout, for scripts (shapes: the Command line guide).",
    )(command)
