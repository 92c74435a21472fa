"""Learning curves: every trial's reported metrics by step, one colour per value (or
range) of a chosen hyperparameter, pruned trials dotted so runs cut short are visible,
paused ones dashed.

As in the tutorials' "effect of learning rate on training loss" plot: losses on a log
axis, one line per trial, grouped by learning rate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tunelab.plot.axes import Axis
from tunelab.plot.colours import NOT_SET, SEQUENTIAL, categorical, colour_bar, sequential
from tunelab.plot.figures import Figure, layout
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

MAX_GROUPS = 8  # numeric parameters with more values are binned into this many ranges
MAX_POINTS = 120  # points kept per curve: more cannot be told apart at the plot's width
NOT_SET_LABEL = "not set"


def reported_metrics(trials: Sequence[FrozenTrial], first: str | None = None) -> list[str]:
    """Metric names reported at any step: the study's metric first, then losses."""
    names: list[str] = []
    for t in trials:
        for r in t.reports:
            names.extend(n for n in r.metrics if n not in names)
    return sorted(names, key=lambda n: (n != first, "loss" not in n, names.index(n)))


def _groups(
    trials: Sequence[FrozenTrial], axis: Axis | None
) -> tuple[dict[int, str], list[str], dict[str, str]]:
    """trial number -> group label, the labels in display order and each label's colour:
    a numeric parameter's value (or range) on the sequential scale, a category from the
    qualitative palette."""
    if axis is None:
        return {t.number: "all trials" for t in trials}, ["all trials"], {"all trials": "#1f77b4"}
    have = [t for t in trials if axis.name in t.params]
    label_of: dict[int, str] = {t.number: NOT_SET_LABEL for t in trials}
    distinct = sorted({axis.position(t.params[axis.name]) for t in have})
    lo, hi = (distinct[0], distinct[-1]) if distinct else (0.0, 0.0)
    position: dict[str, float] = {}
    if not axis.numeric or len(distinct) <= MAX_GROUPS + 2:
        for t in have:
            label = axis.label(t.params[axis.name])
            label_of[t.number] = label
            position.setdefault(label, axis.position(t.params[axis.name]))
    else:  # many values: equal-width bins on the axis' own (log or linear) scale
        width = (hi - lo) / MAX_GROUPS
        edges = [lo + width * k for k in range(MAX_GROUPS + 1)]

        def shown(p: float) -> str:
            return f"{10**p if axis.log else p:.2g}"

        for k in range(MAX_GROUPS):
            position[f"{shown(edges[k])}\u2013{shown(edges[k + 1])}"] = edges[k] + width / 2
        labels = list(position)
        for t in have:
            k = min(int((axis.position(t.params[axis.name]) - lo) / width), MAX_GROUPS - 1)
            label_of[t.number] = labels[k]
    used = set(label_of.values())
    order = sorted((g for g in position if g in used), key=lambda g: position[g])
    colour = {
        g: sequential((position[g] - lo) / (hi - lo) if hi > lo else 0.5)
        if axis.numeric
        else categorical(i)
        for i, g in enumerate(order)
    }
    if NOT_SET_LABEL in used:
        order.append(NOT_SET_LABEL)
        colour[NOT_SET_LABEL] = NOT_SET
    return label_of, order, colour


def _thin(points: dict[int, float]) -> list[tuple[int, float]]:
    """At most MAX_POINTS of a curve, evenly spaced, its first and last always kept."""
    items = list(points.items())
    if len(items) <= MAX_POINTS:
        return items
    step = (len(items) - 1) / (MAX_POINTS - 1)
    return [items[round(i * step)] for i in range(MAX_POINTS)]


def _trace(
    metric: str, group: str, colour: str, trials: Sequence[FrozenTrial], by: Axis | None
) -> dict[str, Any] | None:
    """One line per trial of one group and state, joined into one trace with gaps, so a
    study of a thousand trials draws a few dozen traces rather than thousands."""
    x: list[int | None] = []
    y: list[float | None] = []
    numbers: list[int | None] = []  # the trial of each point, for its hover box
    sizes: list[int] = []
    pruned = bool(trials) and trials[0].state is TrialState.PRUNED
    paused = bool(trials) and trials[0].state is TrialState.PAUSED
    for t in trials:
        points = _thin(t.intermediate(metric))
        if not points:
            continue
        x += [step for step, _ in points] + [None]
        y += [_short(v) for _, v in points] + [None]
        numbers += [t.number] * len(points) + [None]
        sizes += [0] * (len(points) - 1) + [9, 0]
    if not x:
        return None
    state = trials[0].state.value.lower()
    return {
        "type": "scatter",
        "mode": "lines+markers" if pruned else "lines",
        "x": x[:-1],
        "y": y[:-1],
        "customdata": numbers[:-1],
        "name": group,
        "legendgroup": group,
        "line": {
            "color": colour,
            "width": 1.5,
            "dash": "dot" if pruned else "dash" if paused else "solid",  # paused: may go on
        },
        "marker": {"symbol": "x", "size": sizes[:-1] if pruned else 0, "color": colour},
        "connectgaps": False,
        "hovertemplate": f"trial #%{{customdata}} ({state})"
        + (f"<br>{by.name} {group}" if by is not None else "")
        + f"<br>step %{{x}}<br>{metric} = %{{y:.4g}}<extra></extra>",
    }


def _scale_trace(by: Axis, lo: float, hi: float, at: tuple[Any, Any]) -> dict[str, Any]:
    """An invisible point that carries the colour bar of a numeric parameter."""
    return {
        "type": "scatter",
        "mode": "markers",
        "x": [at[0]],
        "y": [at[1]],
        "showlegend": False,
        "hoverinfo": "skip",
        "marker": {
            "size": 0.1,
            "opacity": 0,
            "color": [lo],
            "cmin": lo,
            "cmax": hi,
            "colorscale": SEQUENTIAL,
            "showscale": True,
            "colorbar": colour_bar(by, lo, hi, len=0.8),
        },
    }


def curves_by_axis(axes: Sequence[Axis], ranked: Sequence[str], wanted: str | None) -> Axis | None:
    """The parameter that colours the curves: the one asked for, else the learning rate,
    else the most important one."""
    by_name = {a.name: a for a in axes}
    for name in (wanted, "learning_rate", "lr", *ranked):
        if name and name in by_name:
            return by_name[name]
    return axes[0] if axes else None


def learning_curves(
    trials: Sequence[FrozenTrial], metrics: Sequence[str], by: Axis | None
) -> Figure | None:
    """One figure with a menu to switch between metrics; None when nothing was reported.
    Lines are coloured by `by`: numbers on a sequential scale (log for a log parameter)
    with its colour bar, categories from a qualitative palette."""
    shown_trials = [t for t in trials if t.reports]
    if not shown_trials or not metrics:
        return None
    label_of, order, color = _groups(shown_trials, by)
    members = {g: [t for t in shown_trials if label_of[t.number] == g] for g in order}
    positions = (
        [by.position(t.params[by.name]) for t in shown_trials if by.name in t.params]
        if by is not None and by.numeric
        else []
    )
    opacity = 1.0 if len(shown_trials) <= 30 else 0.5
    data: list[dict[str, Any]] = []
    owner: list[str] = []
    for metric in metrics:
        legend_done: set[str] = set()
        first = len(data)
        for g in order:
            states = sorted(
                {t.state for t in members[g]}, key=lambda s: (s is not TrialState.COMPLETE, s.value)
            )
            for state in states:  # complete first: its solid line is the legend's
                group_trials = [t for t in members[g] if t.state is state]
                trace = _trace(metric, g, color[g], group_trials, by)
                if trace is None:
                    continue
                trace.update(
                    showlegend=g not in legend_done, visible=metric == metrics[0], opacity=opacity
                )
                data.append(trace)
                owner.append(metric)
                legend_done.add(g)
        if positions and by is not None and len(data) > first:
            scale = _scale_trace(
                by, min(positions), max(positions), (data[first]["x"][0], data[first]["y"][0])
            )
            scale["visible"] = metric == metrics[0]
            data.append(scale)
            owner.append(metric)
    if not data:
        return None

    def yaxis(metric: str) -> dict[str, Any]:
        values = [v for t in shown_trials for v in t.intermediate(metric).values()]
        log = "loss" in metric and all(_finite(v) is None or v > 0 for v in values)
        return {"title": {"text": metric}, "type": "log" if log else "linear"}

    buttons = [
        {
            "label": metric,
            "method": "update",
            "args": [
                {"visible": [m == metric for m in owner]},
                {"yaxis": yaxis(metric), "title.text": _title(metric, by)},
            ],
        }
        for metric in metrics
        if metric in owner
    ]
    extra: dict[str, Any] = {}
    if len(buttons) > 1:
        extra["updatemenus"] = [
            {
                "buttons": buttons,
                "direction": "down",
                "x": 1.0,
                "xanchor": "right",
                "y": 1.15,
                "yanchor": "top",
                "showactive": True,
            }
        ]
    legend: dict[str, Any] = {"title": {"text": by.name if by is not None else ""}}
    if positions:  # the colour bar takes the right-hand side
        legend.update(orientation="h", x=0, y=-0.18, yanchor="top")
    return {
        "data": data,
        "layout": layout(
            _title(metrics[0], by),
            xaxis={"title": {"text": "step (epoch)"}},
            yaxis=yaxis(metrics[0]),
            legend=legend,
            height=420,
            **extra,
        ),
    }


def _title(metric: str, by: Axis | None) -> str:
    return f"Learning curves: {metric}" + (f" by {by.name}" if by is not None else "")


def _short(value: float) -> float | None:
    """A curve's value to 6 significant digits (the hover shows 4): a thousand trials'
    curves stay a few megabytes of JSON, not tens."""
    return float(f"{value:.6g}") if math.isfinite(value) else None


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
