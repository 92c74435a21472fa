"""The timeline of trials per worker, as optuna-dashboard users know it: who ran what,
when, and how it ended."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from tunelab.plot.figures import Figure, layout
from tunelab.trial import FrozenTrial

LOST = "lost"  # a running trial whose worker is gone (tunelab.report.lost finds them)

STATE_COLOURS = {
    "complete": "#2ca02c",
    "pruned": "#ff7f0e",
    "fail": "#d62728",
    "running": "#1f77b4",
    LOST: "#7f7f7f",
    "waiting": "#bcbd22",
}
NO_WORKER = "(no worker)"


def _iso(stamp: float) -> str:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(stamp)) + f".{int(stamp % 1 * 1000):03d}"
    )


def timeline(
    trials: Sequence[FrozenTrial], lost: frozenset[int] = frozenset(), now: float | None = None
) -> Figure | None:
    """One bar per trial from its start to its end (a running one: to its last heartbeat
    or now) on its worker's row, coloured by how it ended; `lost` holds the ids of
    running trials to show as lost. None when no trial has started."""
    clock = time.time() if now is None else now
    started = [t for t in trials if t.datetime_start is not None]
    if not started:
        return None
    by_state: dict[str, list[FrozenTrial]] = {}
    for t in started:
        label = LOST if t.trial_id in lost else t.state.value.lower()
        by_state.setdefault(label, []).append(t)
    workers = sorted({t.worker or NO_WORKER for t in started})
    data: list[dict[str, Any]] = []
    for state, group in by_state.items():
        ends = [t.datetime_complete or t.heartbeat or clock for t in group]
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": state,
                "y": [t.worker or NO_WORKER for t in group],
                "base": [_iso(t.datetime_start or 0.0) for t in group],
                "x": [
                    max(0.0, (end - (t.datetime_start or end)) * 1000.0)
                    for t, end in zip(group, ends, strict=True)
                ],
                "text": [f"#{t.number}" for t in group],
                "textposition": "inside",
                "insidetextanchor": "middle",
                "marker": {"color": STATE_COLOURS.get(state, "#9467bd")},
                "customdata": [
                    [t.number, round(end - (t.datetime_start or end), 2)]
                    for t, end in zip(group, ends, strict=True)
                ],
                "hovertemplate": f"trial #%{{customdata[0]}} ({state})<br>worker %{{y}}<br>"
                "started %{base}<br>%{customdata[1]} s<extra></extra>",
            }
        )
    return {
        "data": data,
        "layout": layout(
            f"Timeline of trials per worker ({len(started)} started)",
            barmode="overlay",
            xaxis={"type": "date", "title": {"text": "time"}},
            yaxis={
                "title": {"text": "worker"},
                "type": "category",
                "categoryorder": "array",
                "categoryarray": workers,
            },
            height=max(240, 60 + 36 * len(workers)),
        ),
    }
