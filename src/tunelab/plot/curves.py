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
from tunelab.plot.figures import Figure, layout
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

ORDERED = ["#440154", "#3b528b", "#21918c", "#5ec962", "#c8a800", "#e8590c", "#c92a2a", "#862e9c"]
CATEGORICAL = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
MAX_GROUPS = 6


def reported_metrics(trials: Sequence[FrozenTrial], first: str | None = None) -> list[str]:
    """Metric names reported at any step: the study's metric first, then losses."""
    names: list[str] = []
    for t in trials:
        for r in t.reports:
            names.extend(n for n in r.metrics if n not in names)
    return sorted(names, key=lambda n: (n != first, "loss" not in n, names.index(n)))


def _groups(trials: Sequence[FrozenTrial], axis: Axis | None) -> tuple[dict[int, str], list[str]]:
    """trial number -> group label, and the labels in display order."""
    if axis is None:
        return {t.number: "all trials" for t in trials}, ["all trials"]
    have = [t for t in trials if axis.name in t.params]
    label_of: dict[int, str] = {t.number: "not set" for t in trials}
    distinct = sorted({axis.position(t.params[axis.name]) for t in have})
    if not axis.numeric or len(distinct) <= MAX_GROUPS + 2:
        position: dict[str, float] = {}
        for t in have:
            label = axis.label(t.params[axis.name])
            label_of[t.number] = label
            position.setdefault(label, axis.position(t.params[axis.name]))
        order = sorted(position, key=lambda k: position[k])
    else:  # many values: equal-width bins on the axis' own (log or linear) scale
        lo, hi = distinct[0], distinct[-1]
        width = (hi - lo) / MAX_GROUPS
        edges = [lo + width * k for k in range(MAX_GROUPS + 1)]

        def shown(p: float) -> str:
            return f"{10**p if axis.log else p:.2g}"

        order = [f"{shown(edges[k])}\u2013{shown(edges[k + 1])}" for k in range(MAX_GROUPS)]
        for t in have:
            k = min(int((axis.position(t.params[axis.name]) - lo) / width), MAX_GROUPS - 1)
            label_of[t.number] = order[k]
    order = [g for g in order if g in label_of.values()]
    order += sorted({g for g in label_of.values() if g not in order})
    return label_of, order


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
    """One figure with a menu to switch between metrics; None when nothing was reported."""
    shown_trials = [t for t in trials if t.reports]
    if not shown_trials or not metrics:
        return None
    label_of, order = _groups(shown_trials, by)
    palette = ORDERED if by is not None and by.numeric else CATEGORICAL
    if palette is ORDERED and 1 < len(order) <= len(ORDERED):  # spread over the whole scale
        step = (len(ORDERED) - 1) / (len(order) - 1)
        color = {g: ORDERED[round(i * step)] for i, g in enumerate(order)}
    else:
        color = {g: palette[i % len(palette)] for i, g in enumerate(order)}
    data: list[dict[str, Any]] = []
    owner: list[str] = []
    by_legend = sorted(shown_trials, key=lambda t: (t.state is TrialState.PRUNED, t.number))
    opacity = 1.0 if len(shown_trials) <= 30 else 0.5
    for metric in metrics:
        legend_done: set[str] = set()
        for g in order:
            for t in by_legend:  # a complete trial first: its solid line is the legend's
                if label_of[t.number] != g:
                    continue
                points = t.intermediate(metric)
                if not points:
                    continue
                pruned = t.state is TrialState.PRUNED
                paused = t.state is TrialState.PAUSED  # dashed: it may go on
                data.append(
                    {
                        "type": "scatter",
                        "mode": "lines+markers" if pruned else "lines",
                        "x": list(points),
                        "y": [_finite(v) for v in points.values()],
                        "name": g,
                        "legendgroup": g,
                        "showlegend": g not in legend_done,
                        "visible": metric == metrics[0],
                        "line": {
                            "color": color[g],
                            "width": 1.5,
                            "dash": "dot" if pruned else "dash" if paused else "solid",
                        },
                        "marker": {
                            "symbol": "x",
                            "size": [0] * (len(points) - 1) + [9] if pruned else 0,
                        },
                        "opacity": opacity,
                        "hovertemplate": f"trial #{t.number} ({t.state.value.lower()})<br>"
                        f"{by.name if by else ''} {g}<br>step %{{x}}<br>{metric} = %{{y:.4g}}<extra></extra>",
                    }
                )
                owner.append(metric)
                legend_done.add(g)
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
    return {
        "data": data,
        "layout": layout(
            _title(metrics[0], by),
            xaxis={"title": {"text": "step (epoch)"}},
            yaxis=yaxis(metrics[0]),
            legend={"title": {"text": by.name if by is not None else ""}},
            height=420,
            **extra,
        ),
    }


def _title(metric: str, by: Axis | None) -> str:
    return f"Learning curves: {metric}" + (f" by {by.name}" if by is not None else "")


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
