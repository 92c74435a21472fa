"""Contour plots: the metric over pairs of numeric parameters, interpolated between the
trials (shown as dots) so the good region of two interacting parameters is visible."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tunelab.plot.axes import Axis
from tunelab.plot.figures import Figure, layout, scored
from tunelab.plot.scores import Score
from tunelab.trial import FrozenTrial
from tunelab.types import Direction

GRID = 40
MIN_POINTS = 4


def _interpolate(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> np.ndarray:
    """z on a GRID x GRID lattice over the unit square: linear inside the trials' hull,
    nearest trial outside it (and everywhere when the points are collinear)."""
    from scipy.interpolate import griddata

    gx, gy = np.meshgrid(np.linspace(0, 1, GRID), np.linspace(0, 1, GRID))
    points = np.column_stack([px, py])
    nearest = griddata(points, pz, (gx, gy), method="nearest")
    try:
        linear = griddata(points, pz, (gx, gy), method="linear")
    except Exception:  # Qhull refuses collinear or too few distinct points
        return np.asarray(nearest)
    return np.where(np.isnan(linear), nearest, linear)


def _unit(values: list[float]) -> tuple[np.ndarray, float, float]:
    arr = np.asarray(values, dtype=float)
    lo, hi = float(arr.min()), float(arr.max())
    span = hi - lo or 1.0
    return (arr - lo) / span, lo, span


def contour(trials: Sequence[FrozenTrial], x: Axis, y: Axis, score: Score) -> Figure | None:
    """A contour of one objective over parameters `x` and `y` (None with too few trials)."""
    metric, direction = score.metric, score.direction
    have = [t for t in scored(trials, (score,)) if x.name in t.params and y.name in t.params]
    if len(have) < MIN_POINTS:
        return None
    xs = [x.position(t.params[x.name]) for t in have]
    ys = [y.position(t.params[y.name]) for t in have]
    zs = np.asarray([score.of(t) for t in have], dtype=float)
    ux, xlo, xspan = _unit(xs)
    uy, ylo, yspan = _unit(ys)
    if len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    z = _interpolate(ux, uy, zs)
    grid = np.linspace(0, 1, GRID)
    gx = [xlo + g * xspan for g in grid]
    gy = [ylo + g * yspan for g in grid]

    def shown(axis: Axis, vals: Sequence[float]) -> list[float]:
        return [10**v for v in vals] if axis.log else list(vals)

    def axis_layout(axis: Axis) -> dict[str, Any]:
        return {"title": {"text": axis.name}, **({"type": "log"} if axis.log else {})}

    data = [
        {
            "type": "contour",
            "x": shown(x, gx),
            "y": shown(y, gy),
            "z": [[None if math.isnan(v) else float(v) for v in row] for row in z],
            "colorscale": "Viridis",
            "reversescale": direction is Direction.MINIMIZE,
            "colorbar": {"title": {"text": metric}},
            "contours": {"coloring": "heatmap"},
            "hoverinfo": "skip",
            "name": metric,
        },
        {
            "type": "scatter",
            "mode": "markers",
            "x": shown(x, xs),
            "y": shown(y, ys),
            "text": [
                f"trial #{t.number}<br>{metric} = {z:.4g}" for t, z in zip(have, zs, strict=True)
            ],
            "hoverinfo": "text",
            "marker": {"color": "#000", "size": 6, "line": {"color": "#fff", "width": 1}},
            "showlegend": False,
            "name": "trials",
        },
    ]
    return {
        "data": data,
        "layout": layout(
            f"{metric} over {x.name} \u00d7 {y.name}",
            xaxis=axis_layout(x),
            yaxis=axis_layout(y),
            height=380,
        ),
    }


def contour_pairs(
    axes: Sequence[Axis], ranked: Sequence[str], limit: int = 3
) -> list[tuple[Axis, Axis]]:
    """Pairs of numeric parameters to draw: among the (up to three) most important ones."""
    numeric = {a.name: a for a in axes if a.numeric}
    order = [n for n in ranked if n in numeric] + [n for n in numeric if n not in ranked]
    top = order[:3]
    pairs = [(numeric[a], numeric[b]) for i, a in enumerate(top) for b in top[i + 1 :]]
    return pairs[:limit]
