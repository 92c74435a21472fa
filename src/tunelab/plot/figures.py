"""Plotly figures (plain JSON dicts) of a study's trials: optimization history,
parallel coordinates and slice plots.

The figures are data, not code: the report embeds them and the dashboard serves them,
and the same bundled plotly.js draws them in both."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tunelab.plot.axes import Axis, fmt
from tunelab.plot.colours import line_colours
from tunelab.plot.scores import Score, hover
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

Figure = dict[str, Any]  # a plotly figure as JSON: {"data": [...], "layout": {...}}
FONT = {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12}
MISSING = "—"  # a conditional parameter the trial never asked for


def layout(title: str, **extra: Any) -> dict[str, Any]:
    """The look every figure shares."""
    base: dict[str, Any] = {
        "title": {"text": title, "x": 0.01, "xanchor": "left"},
        "font": FONT,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "plot_bgcolor": "#fafafa",
        "paper_bgcolor": "#ffffff",
        "hovermode": "closest",
    }
    base.update(extra)
    return base


def scored(
    trials: Sequence[FrozenTrial], scores: Sequence[Score], state: TrialState = TrialState.COMPLETE
) -> list[FrozenTrial]:
    """The trials in `state` holding a value in every one of `scores`."""
    return [t for t in trials if t.state is state and all(s.of(t) is not None for s in scores)]


def history(trials: Sequence[FrozenTrial], score: Score, scores: Sequence[Score] = ()) -> Figure:
    """Each trial's value by trial number, with the best value so far as a step line.
    `scores` (default: `score` alone) are the values each point's hover box shows."""
    shown = scores or (score,)
    metric, direction = score.metric, score.direction
    done = sorted(scored(trials, (score,)), key=lambda t: t.number)
    pruned = scored(trials, (score,), TrialState.PRUNED)
    best_x: list[int] = []
    best_y: list[float] = []
    for t in done:
        value = score.of(t)
        if value is None:  # scored() kept only trials with one
            continue
        if not best_y or direction.better(value, best_y[-1]):
            best_y.append(value)
        else:
            best_y.append(best_y[-1])
        best_x.append(t.number)

    def markers(name: str, group: list[FrozenTrial], marker: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "scatter",
            "mode": "markers",
            "name": name,
            "x": [t.number for t in group],
            "y": [score.of(t) for t in group],
            "text": [hover(t, shown) for t in group],
            "hoverinfo": "text",
            "marker": {**marker, "size": 7},
        }

    data: list[dict[str, Any]] = [
        markers("complete", done, {"color": "#1f77b4"}),
        {
            "type": "scatter",
            "mode": "lines",
            "name": "best so far",
            "x": best_x,
            "y": best_y,
            "line": {"color": "#d62728", "shape": "hv", "width": 2},
        },
    ]
    if pruned:
        data.append(markers("pruned (last value)", pruned, {"color": "#aaaaaa", "symbol": "x"}))
    return {
        "data": data,
        "layout": layout(
            f"Optimization history ({direction.value} {metric})",
            xaxis={"title": {"text": "trial"}},
            yaxis={"title": {"text": metric}},
            height=380,
        ),
    }


def _log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Tick positions (log10 units) and labels in the parameter's own units."""
    first, last = math.floor(lo), math.ceil(hi)
    vals = [float(k) for k in range(first, last + 1) if lo - 1e-9 <= k <= hi + 1e-9]
    if len(vals) < 2:  # less than a decade: five evenly spaced ticks
        vals = [lo + (hi - lo) * i / 4 for i in range(5)] if hi > lo else [lo]
    return vals, [fmt(10**v) for v in vals]


def _dimension(axis: Axis, trials: Sequence[FrozenTrial]) -> dict[str, Any]:
    present = [axis.position(t.params[axis.name]) for t in trials if axis.name in t.params]
    missing = len(present) < len(trials)
    if not axis.numeric:
        labels = list(axis.categories) + ([MISSING] if missing else [])
        values = [
            float(labels.index(axis.label(t.params[axis.name])))
            if axis.name in t.params
            else float(len(labels) - 1)
            for t in trials
        ]
        return {
            "label": axis.name,
            "values": values,
            "tickvals": list(range(len(labels))),
            "ticktext": labels,
            "range": [-0.25, len(labels) - 0.75] if len(labels) > 1 else [-1, 1],
        }
    lo, hi = min(present), max(present)
    sentinel = lo - 0.15 * ((hi - lo) or 1.0)
    distinct = sorted(set(present))
    values = [
        axis.position(t.params[axis.name]) if axis.name in t.params else sentinel for t in trials
    ]
    dim: dict[str, Any] = {"label": axis.name + (" (log)" if axis.log else ""), "values": values}
    if axis.log:
        tickvals, ticktext = _log_ticks(lo, hi)
        dim.update(tickvals=tickvals, ticktext=ticktext)
    elif len(distinct) <= 8:  # a few values (layers, units): tick exactly those
        dim.update(tickvals=distinct, ticktext=[fmt(v) for v in distinct])
    if missing:
        if "tickvals" not in dim:
            dim["tickvals"] = [lo + (hi - lo) * i / 4 for i in range(5)]
            dim["ticktext"] = [fmt(v) for v in dim["tickvals"]]
        dim["tickvals"] = [sentinel, *dim["tickvals"]]
        dim["ticktext"] = [MISSING, *dim["ticktext"]]
    return dim


def parallel_coordinates(
    trials: Sequence[FrozenTrial], axes: Sequence[Axis], scores: Sequence[Score]
) -> Figure:
    """One line per complete trial across every tuned parameter and then every objective,
    coloured by the first objective (bright is better; the colour bar names it) or, from
    the menu, by any parameter (numbers on a sequential scale, categories apart); drag
    along an axis to keep only the lines that cross a range."""
    done = scored(trials, scores)
    first = scores[0]
    metric, direction = first.metric, first.direction
    values = [first.of(t) for t in done]
    dims = [_dimension(a, done) for a in axes]
    dims += [{"label": s.metric, "values": [s.of(t) for t in done]} for s in scores]
    by_metric: dict[str, Any] = {
        "color": values,
        "cmin": min((v for v in values if v is not None), default=0.0),
        "cmax": max((v for v in values if v is not None), default=1.0),
        "colorscale": "Viridis",
        "reversescale": direction is Direction.MINIMIZE,
        "colorbar": {"title": {"text": metric}},
    }
    choices = [(metric, by_metric)] + [
        (a.name, {"reversescale": False, **line_colours(a, done)}) for a in axes
    ]
    buttons = [
        {
            "label": f"colour: {name}",
            "method": "restyle",
            "args": [{f"line.{k}": [v] for k, v in line.items()}],
        }
        for name, line in choices
    ]
    menu = {"buttons": buttons, "direction": "down", "x": 0.0, "xanchor": "left", "y": 1.18}
    return {
        "data": [
            {
                "type": "parcoords",
                "dimensions": dims,
                "line": {**by_metric, "showscale": True},
            }
        ],
        "layout": layout(
            "",
            height=440,
            margin={"l": 80, "r": 80, "t": 70, "b": 40},
            updatemenus=[menu] if len(buttons) > 1 else [],
        ),
    }


def slices(
    trials: Sequence[FrozenTrial], axes: Sequence[Axis], score: Score, scores: Sequence[Score] = ()
) -> Figure:
    """The metric against each parameter on its own axis, coloured by trial number:
    where good values of one parameter lie, whatever the others were. `scores`
    (default: `score` alone) are the values each point's hover box shows."""
    shown = scores or (score,)
    metric = score.metric
    done = scored(trials, (score,))
    cols = min(3, max(1, len(axes)))
    rows = max(1, math.ceil(len(axes) / cols))
    data: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    for i, axis in enumerate(axes):
        suffix = "" if i == 0 else str(i + 1)
        have = [t for t in done if axis.name in t.params]
        xs = [
            t.params[axis.name] if axis.numeric else axis.label(t.params[axis.name]) for t in have
        ]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": axis.name,
                "x": xs,
                "y": [score.of(t) for t in have],
                "text": [hover(t, shown) for t in have],
                "hoverinfo": "text",
                "xaxis": f"x{suffix}",
                "yaxis": f"y{suffix}",
                "showlegend": False,
                "marker": {
                    "color": [t.number for t in have],
                    "colorscale": "Blues",
                    "reversescale": True,
                    "size": 7,
                    "line": {"width": 0.5, "color": "#555"},
                    "showscale": i == 0,
                    "colorbar": {"title": {"text": "trial"}, "len": 0.5},
                },
            }
        )
        xaxis: dict[str, Any] = {"title": {"text": axis.name}}
        if axis.log:
            xaxis["type"] = "log"
        elif not axis.numeric:
            xaxis.update(
                type="category", categoryorder="array", categoryarray=list(axis.categories)
            )
        extra[f"xaxis{suffix}"] = xaxis
        extra[f"yaxis{suffix}"] = {"title": {"text": metric if i % cols == 0 else ""}}
    return {
        "data": data,
        "layout": layout(
            "",
            grid={"rows": rows, "columns": cols, "pattern": "independent"},
            height=260 * rows + 60,
            margin={"l": 60, "r": 20, "t": 20, "b": 50},
            **extra,
        ),
    }
