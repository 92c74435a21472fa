"""Export a study's trials as CSV or JSON (one record per trial), and the rules for the
files that `export -o` and `report -o` write."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from tunelab.trial import FrozenTrial


def output_path(path: str, force: bool) -> Path:
    """`path` checked before any work: its folder exists, and an existing file is replaced
    only with `force` (an export or report must never destroy a file silently)."""
    target = Path(path)
    if target.is_dir():
        raise click.ClickException(f"cannot write {path!r}: it is a folder; give a file name")
    if not target.parent.is_dir():
        raise click.ClickException(
            f"cannot write {path!r}: the folder {str(target.parent)!r} does not exist; "
            "create it first or give another path"
        )
    if (target.exists() or target.is_symlink()) and not force:
        raise click.ClickException(
            f"{path!r} exists already; pass --force to replace it, or give another file name"
        )
    return target


def cannot_write(path: Path, error: OSError) -> click.ClickException:
    """The one line for a file the system refused to write (read-only, full, not a file)."""
    why = error.strerror or type(error).__name__
    return click.ClickException(f"cannot write {str(path)!r}: {why}; give a path you can write to")


def write_output(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise cannot_write(path, e) from None


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
