"""Export a study's trials as CSV or JSON (one record per trial)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from tunelab.trial import FrozenTrial


def trial_record(t: FrozenTrial) -> dict[str, Any]:
    return {
        "number": t.number,
        "state": t.state.value,
        "value": t.value,
        "values": None if t.values is None else list(t.values),
        "feasible": t.feasible,
        "constraints": dict(t.constraints),
        "duration": t.duration,
        "datetime_start": t.datetime_start,
        "datetime_complete": t.datetime_complete,
        "reason": t.reason,
        "params": dict(t.params),
        "metrics": dict(t.metrics),
        "reports": [{"step": r.step, **r.metrics} for r in t.reports],
        "user_attrs": dict(t.user_attrs),
    }


def to_json(trials: Sequence[FrozenTrial], study: dict[str, Any]) -> str:
    data = {"study": study, "trials": [trial_record(t) for t in trials]}
    return json.dumps(data, indent=2, default=str)


def to_csv(trials: Sequence[FrozenTrial]) -> str:
    params: list[str] = []
    metrics: list[str] = []
    for t in trials:
        params.extend(k for k in t.params if k not in params)
        metrics.extend(k for k in t.metrics if k not in metrics)
    head = ["number", "state", "value", "duration", "reason"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(head + [f"params_{p}" for p in params] + [f"metrics_{m}" for m in metrics])
    for t in trials:
        writer.writerow(
            [t.number, t.state.value, t.value, t.duration, t.reason or ""]
            + [t.params.get(p, "") for p in params]
            + [t.metrics.get(m, "") for m in metrics]
        )
    return out.getvalue()
