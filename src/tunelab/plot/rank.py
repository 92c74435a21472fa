"""The rank plot: every pair of parameters as a scatter (a scatter matrix), each trial
coloured by the rank of its objective value, so where the good trials of two interacting
parameters lie shows even when the values themselves are spread unevenly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tunelab.plot.axes import Axis
from tunelab.plot.figures import MISSING, Figure, layout
from tunelab.plot.scores import Score, hover
from tunelab.trial import FrozenTrial
from tunelab.types import Direction


def ranks(trials: Sequence[FrozenTrial], score: Score) -> list[float]:
    """Each trial's place among `trials` from 0 (worst) to 1 (best); ties share a place."""
    values = [score.of(t) for t in trials]
    known = sorted({v for v in values if v is not None})
    if score.direction is Direction.MAXIMIZE:
        known.reverse()  # best first
    place = {v: 1.0 - i / max(1, len(known) - 1) for i, v in enumerate(known)}
    return [place[v] if v is not None else 0.0 for v in values]


def _values(axis: Axis, trials: Sequence[FrozenTrial]) -> list[Any]:
    if axis.numeric:
        return [t.params.get(axis.name) for t in trials]
    return [axis.label(t.params[axis.name]) if axis.name in t.params else MISSING for t in trials]


def rank_figure(trials: Sequence[FrozenTrial], axes: Sequence[Axis], score: Score) -> Figure:
    """A scatter matrix of `axes` over the scored `trials`, coloured by rank (1 = best)."""
    dims = [{"label": a.name, "values": _values(a, trials)} for a in axes]
    trace: dict[str, Any] = {
        "type": "splom",
        "dimensions": dims,
        "text": [hover(t, (score,)) for t in trials],
        "hoverinfo": "text",
        "showupperhalf": False,
        "diagonal": {"visible": len(axes) == 1},
        "marker": {
            "color": ranks(trials, score),
            "colorscale": "RdYlBu",
            "cmin": 0,
            "cmax": 1,
            "size": 7,
            "line": {"width": 0.5, "color": "#555"},
            "showscale": True,
            "colorbar": {"title": {"text": f"rank of {score.metric} (1 = best)"}},
        },
    }
    extra: dict[str, Any] = {}
    for i, axis in enumerate(axes):
        suffix = "" if i == 0 else str(i + 1)
        if axis.log:
            extra[f"xaxis{suffix}"] = {"type": "log"}
            extra[f"yaxis{suffix}"] = {"type": "log"}
    size = max(360, 220 * len(axes))
    return {
        "data": [trace],
        "layout": layout(f"Rank of {score.metric} by parameter", height=size, **extra),
    }
