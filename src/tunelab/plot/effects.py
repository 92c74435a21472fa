"""Figures the report draws as tables: the effect of each hyperparameter (the tutorials'
"value → metric" tables as a chart) and the empirical distribution of a study's results."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tunelab.insight import EffectTable
from tunelab.plot.figures import Figure, layout
from tunelab.plot.scores import Score
from tunelab.types import Direction

BAR = "#1f77b4"
BEST = "#d62728"
EDF_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def effects_figure(tables: Sequence[EffectTable]) -> Figure:
    """One panel per hyperparameter: the median metric of each value (or bin) as a blue
    dot, joined in order, and its best trial as a red diamond (no bars: a bar's baseline
    at zero would flatten the differences that matter); the hover box adds the trial
    count, time and pruning."""
    cols = min(3, max(1, len(tables)))
    rows = max(1, math.ceil(len(tables) / cols))
    data: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    metric = tables[0].metric if tables else ""
    for i, table in enumerate(tables):
        suffix = "" if i == 0 else str(i + 1)
        labels = [r.label for r in table.rows]
        hover = [
            f"{table.param} {r.label}<br>{r.n} trials ({r.n_complete} complete)"
            f"<br>median {table.metric} = {_g(r.median)}<br>best {table.metric} = {_g(r.best)}"
            f"<br>median time {_g(r.median_seconds)} s<br>pruned {r.pruned_share:.0%}"
            for r in table.rows
        ]
        common = {"x": labels, "xaxis": f"x{suffix}", "yaxis": f"y{suffix}", "text": hover}
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "median",
                "y": [r.median for r in table.rows],
                "marker": {"color": BAR, "size": 9},
                "line": {"color": BAR, "width": 1},
                "hoverinfo": "text",
                "legendgroup": "median",
                "showlegend": i == 0,
                **common,
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "best",
                "y": [r.best for r in table.rows],
                "marker": {"color": BEST, "symbol": "diamond", "size": 9},
                "hoverinfo": "text",
                "legendgroup": "best",
                "showlegend": i == 0,
                **common,
            }
        )
        title = table.param + (" (log bins)" if table.log_scale else "")
        extra[f"xaxis{suffix}"] = {
            "title": {"text": title},
            "automargin": True,
            "type": "category",
            "categoryorder": "array",
            "categoryarray": labels,
        }
        extra[f"yaxis{suffix}"] = {"title": {"text": metric if i % cols == 0 else ""}}
    return {
        "data": data,
        "layout": layout(
            f"Effect of each hyperparameter on {metric}",
            grid={"rows": rows, "columns": cols, "pattern": "independent"},
            height=300 * rows + 80,
            **extra,
        ),
    }


def edf_figure(studies: Sequence[tuple[str, Sequence[float]]], score: Score) -> Figure:
    """The empirical distribution function of one objective over each study's complete
    trials: the share of trials at or below each value, one step line per study."""
    data: list[dict[str, Any]] = []
    for i, (name, raw) in enumerate(studies):
        values = sorted(v for v in raw if math.isfinite(v))
        n = len(values)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{name} ({n} trials)",
                "x": values,
                "y": [(k + 1) / n for k in range(n)],
                "line": {"shape": "hv", "width": 2, "color": EDF_COLOURS[i % len(EDF_COLOURS)]},
                "hovertemplate": f"{score.metric} \u2264 %{{x:.4g}}: %{{y:.0%}} of trials"
                "<extra></extra>",
            }
        )
    better = "left" if score.direction is Direction.MINIMIZE else "right"
    return {
        "data": data,
        "layout": layout(
            f"Empirical distribution of {score.metric} (better to the {better})",
            xaxis={"title": {"text": score.metric}},
            yaxis={"title": {"text": "share of trials"}, "range": [0, 1.02], "tickformat": ".0%"},
            height=380,
        ),
    }


def _g(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
