"""Colours for hyperparameter values: a sequential scale for numbers (dark = low, light =
high, measured on the parameter's own linear or log axis) and a qualitative palette for
categories, so 1e-4 and 1e-2 never look alike and 'adam' and 'sgd' never look ordered.

The scale is viridis without its palest yellows, which vanish on the plots' light
background; its colour bar is the same list of stops."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from tunelab.plot.axes import Axis, fmt
from tunelab.trial import FrozenTrial

# viridis from #440154 to #b5de2b, as (fraction, colour) stops plotly reads directly
SEQUENTIAL: list[list[Any]] = [
    [0.0, "#440154"],
    [0.125, "#482475"],
    [0.25, "#414487"],
    [0.375, "#355f8d"],
    [0.5, "#2a788e"],
    [0.625, "#21918c"],
    [0.75, "#22a884"],
    [0.875, "#44bf70"],
    [1.0, "#b5de2b"],
]
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
NOT_SET = "#b0b0b0"  # a conditional parameter the trial never asked for


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def sequential(fraction: float) -> str:
    """The scale's colour at `fraction` (0 = low end, 1 = high end; clipped)."""
    t = min(1.0, max(0.0, fraction)) if math.isfinite(fraction) else 0.0
    for (t0, c0), (t1, c1) in itertools.pairwise(SEQUENTIAL):
        if t <= t1:
            w = (t - t0) / (t1 - t0)
            a, b = _rgb(c0), _rgb(c1)
            return "#" + "".join(f"{round(x + (y - x) * w):02x}" for x, y in zip(a, b, strict=True))
    return str(SEQUENTIAL[-1][1])


def categorical(index: int) -> str:
    return CATEGORICAL[index % len(CATEGORICAL)]


def scale_ticks(axis: Axis, lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Colour-bar ticks between axis positions `lo` and `hi`, labelled in the parameter's
    own units (a log axis ticks whole decades when it spans one or more)."""
    if hi <= lo:
        return [lo], [fmt(10**lo if axis.log else lo)]
    if axis.log and hi - lo >= 1:
        vals = [float(k) for k in range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)]
    else:
        vals = [lo + (hi - lo) * i / 4 for i in range(5)]
    return vals, [fmt(10**v if axis.log else v) for v in vals]


def colour_bar(axis: Axis, lo: float, hi: float, **extra: Any) -> dict[str, Any]:
    """The colour bar of `axis` over positions lo..hi, titled with its name."""
    tickvals, ticktext = scale_ticks(axis, lo, hi)
    title = axis.name + (" (log)" if axis.log else "")
    return {"title": {"text": title}, "tickvals": tickvals, "ticktext": ticktext, **extra}


def line_colours(axis: Axis, trials: Sequence[FrozenTrial]) -> dict[str, Any]:
    """Plotly `line` settings (numbers, scale, colour bar) that colour one line per trial
    by `axis`: numbers on the sequential scale (log positions for a log parameter),
    categories as bands of the qualitative palette; trials without the parameter grey."""
    present = [axis.position(t.params[axis.name]) for t in trials if axis.name in t.params]
    if axis.numeric:
        lo, hi = min(present), max(present)
        hi = hi if hi > lo else lo + 1.0
        scale = SEQUENTIAL
        if len(present) < len(trials):  # a grey band below the scale for "not set"
            gap = (hi - lo) / 9
            scale = [[0.0, NOT_SET], [0.099, NOT_SET]] + [
                [0.1 + 0.9 * float(t), c] for t, c in SEQUENTIAL
            ]
            lo -= gap
        values = [
            axis.position(t.params[axis.name]) if axis.name in t.params else lo for t in trials
        ]
        tickvals, ticktext = scale_ticks(axis, min(present), max(present))
        return {
            "color": values,
            "cmin": lo,
            "cmax": hi,
            "colorscale": scale,
            "colorbar": {
                "title": {"text": axis.name + (" (log)" if axis.log else "")},
                "tickvals": tickvals,
                "ticktext": ticktext,
            },
        }
    labels = list(axis.categories) + (["not set"] if len(present) < len(trials) else [])
    colours = [categorical(i) for i in range(len(axis.categories))] + [NOT_SET]
    k = len(labels)
    bands = [[edge, colours[i]] for i in range(k) for edge in (i / k, (i + 1) / k)]
    values = [
        float(axis.categories.index(axis.label(t.params[axis.name])))
        if axis.name in t.params
        else float(k - 1)
        for t in trials
    ]
    return {
        "color": values,
        "cmin": -0.5,
        "cmax": k - 0.5,
        "colorscale": bands,
        "colorbar": {"title": {"text": axis.name}, "tickvals": list(range(k)), "ticktext": labels},
    }
