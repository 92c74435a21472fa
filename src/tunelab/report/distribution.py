"""The figures optuna-dashboard users look for beside the history: the empirical
distribution of the metric (how often a trial reaches a value), the timeline of trials
per worker (who ran what, when, and how it ended) and the rank plot (which parameter
values the best trials share)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from tunelab.report.axes import Axis
from tunelab.report.figures import Figure, layout, scored
from tunelab.report.lost import LOST, state_label
from tunelab.report.scores import Score, hover
from tunelab.trial import FrozenTrial

STATE_COLOURS = {
    "complete": "#2ca02c",
    "pruned": "#ff7f0e",
    "fail": "#d62728",
    "running": "#1f77b4",
    LOST: "#7f7f7f",
    "waiting": "#bcbd22",
}
NO_WORKER = "(no worker)"


def edf(trials: Sequence[FrozenTrial], score: Score) -> Figure:
    """The share of complete trials whose value is at most (for a metric to minimize) or
    at least (to maximize) each value: a steep curve near the good end means the search
    found good values often."""
    values = sorted(v for t in scored(trials, (score,)) if (v := score.of(t)) is not None)
    maximize = score.direction.value == "maximize"
    n = len(values)
    if maximize:
        share = [(n - i) / n for i in range(n)]
        axis_title = f"share of trials with {score.metric} \u2265 x"
    else:
        share = [(i + 1) / n for i in range(n)]
        axis_title = f"share of trials with {score.metric} \u2264 x"
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": score.metric,
                "x": values,
                "y": share,
                "line": {"shape": "hv", "color": "#1f77b4", "width": 2},
                "hovertemplate": f"{score.metric} %{{x:.4g}}: %{{y:.0%}} of trials<extra></extra>",
            }
        ],
        "layout": layout(
            f"Empirical distribution of {score.metric} ({n} complete trials)",
            xaxis={"title": {"text": score.metric}},
            yaxis={"title": {"text": axis_title}, "range": [0, 1.05], "tickformat": ".0%"},
            height=340,
        ),
    }


def _iso(stamp: float) -> str:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(stamp)) + f".{int(stamp % 1 * 1000):03d}"
    )


def timeline(
    trials: Sequence[FrozenTrial], lost: frozenset[int] = frozenset(), now: float | None = None
) -> Figure | None:
    """One bar per trial from its start to its end (a running one: to now) on its
    worker's row, coloured by how it ended; None when no trial has started."""
    clock = time.time() if now is None else now
    started = [t for t in trials if t.datetime_start is not None]
    if not started:
        return None
    by_state: dict[str, list[FrozenTrial]] = {}
    for t in started:
        by_state.setdefault(state_label(t, lost), []).append(t)
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


def rank(
    trials: Sequence[FrozenTrial], pairs: Sequence[tuple[Axis, Axis]], score: Score
) -> Figure | None:
    """For each pair of parameters, the complete trials at their values coloured by
    their rank in `score` (the best trial darkest, whatever the metric's scale): where
    the good ranks crowd, the search has found its region. None without a pair."""
    done = scored(trials, (score,))
    if not pairs or len(done) < 2:
        return None
    maximize = score.direction.value == "maximize"
    order = sorted(done, key=lambda t: score.of(t) or 0.0, reverse=maximize)
    fraction = {t.number: i / (len(order) - 1) for i, t in enumerate(order)}
    cols = min(3, len(pairs))
    rows = -(-len(pairs) // cols)
    data: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    for i, (x, y) in enumerate(pairs):
        suffix = "" if i == 0 else str(i + 1)
        have = [t for t in done if x.name in t.params and y.name in t.params]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [_shown(x, t.params[x.name]) for t in have],
                "y": [_shown(y, t.params[y.name]) for t in have],
                "text": [hover(t, (score,)) for t in have],
                "hoverinfo": "text",
                "xaxis": f"x{suffix}",
                "yaxis": f"y{suffix}",
                "showlegend": False,
                "marker": {
                    "color": [fraction[t.number] for t in have],
                    "cmin": 0,
                    "cmax": 1,
                    "colorscale": "Viridis",
                    "size": 7,
                    "line": {"width": 0.5, "color": "#555"},
                    "showscale": i == 0,
                    "colorbar": {
                        "title": {"text": f"rank in {score.metric}"},
                        "tickvals": [0, 1],
                        "ticktext": ["best", "worst"],
                        "len": 0.6,
                    },
                },
            }
        )
        extra[f"xaxis{suffix}"] = _axis(x)
        extra[f"yaxis{suffix}"] = _axis(y)
    return {
        "data": data,
        "layout": layout(
            f"Rank plot ({score.metric})",
            grid={"rows": rows, "columns": cols, "pattern": "independent"},
            height=300 * rows + 60,
            **extra,
        ),
    }


def _shown(axis: Axis, value: Any) -> Any:
    return value if axis.numeric else axis.label(value)


def _axis(axis: Axis) -> dict[str, Any]:
    out: dict[str, Any] = {"title": {"text": axis.name}}
    if axis.log:
        out["type"] = "log"
    elif not axis.numeric:
        out.update(type="category", categoryorder="array", categoryarray=list(axis.categories))
    return out
