"""The trade-off of a study of several objectives: its Pareto front as a scatter (two
objectives), a 3-D scatter (three) or a scatter matrix (more), and its hypervolume over
the trials, which takes the place of "best so far" in the optimization history.

In the scatter the front is highlighted, the other feasible complete trials are faded and
the infeasible ones are grey crosses, never on the front. Each point's hover box holds
the trial's number, values and parameters, and its `customdata` the trial number.

The hypervolume is measured in the minimization convention (a maximized objective
negated) against one fixed reference point: `tunelab._pareto.default_reference_point`
of the values of every feasible complete trial, i.e. the nadir of the study's front plus
10% of the front's range in each objective. A fixed reference makes the curve
non-decreasing; its last value is the hypervolume of the study's front."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tunelab.errors import ConfigurationError
from tunelab.plot.axes import fmt
from tunelab.plot.figures import Figure, layout, scored
from tunelab.plot.scores import Score, hover, scores_of
from tunelab.study import Study
from tunelab.study.front import hypervolume_history, pareto_front
from tunelab.trial import FrozenTrial
from tunelab.types import Direction

FRONT = "Pareto front"
DOMINATED = "dominated"
INFEASIBLE = "infeasible"
_STYLE: dict[str, dict[str, Any]] = {
    FRONT: {"color": "#d62728", "size": 9, "line": {"color": "#7f1d1d", "width": 1}},
    DOMINATED: {"color": "#1f77b4", "size": 6, "opacity": 0.35},
    INFEASIBLE: {"color": "#9a9a9a", "size": 7, "symbol": "x", "opacity": 0.8},
}


def pareto_figure(study: Study) -> Figure:
    """The Pareto-front plot of `study` (see the module docstring). Reads the study once;
    a single-objective study has no front to plot and is refused in one line."""
    if not study.multi_objective:
        raise ConfigurationError(
            f"study {study.name!r} has one objective ({study.metric}), so no Pareto front to "
            "plot; a Pareto plot is for studies created with metrics=[...] and directions=[...]"
        )
    return pareto_plot(study.trials, scores_of(study))


def split_front(
    trials: Sequence[FrozenTrial], scores: Sequence[Score]
) -> dict[str, list[FrozenTrial]]:
    done = scored(trials, scores)
    objectives = [s.objective for s in scores]
    front = pareto_front(done, objectives)
    on = {t.trial_id for t in front}
    return {
        FRONT: _by_first(front, scores[0]),
        DOMINATED: [t for t in done if t.feasible and t.trial_id not in on],
        INFEASIBLE: [t for t in done if not t.feasible],
    }


def _by_first(front: list[FrozenTrial], first: Score) -> list[FrozenTrial]:
    """The front along its first objective, best first, so its line runs along it."""
    sign = -1.0 if first.direction is Direction.MAXIMIZE else 1.0
    return sorted(front, key=lambda t: (sign * (first.of(t) or 0.0), t.number))


def pareto_plot(trials: Sequence[FrozenTrial], scores: Sequence[Score]) -> Figure:
    """The figure of trials in the space of two or more objectives."""
    return front_plot(split_front(trials, scores), scores)


def front_plot(groups: dict[str, list[FrozenTrial]], scores: Sequence[Score]) -> Figure:
    n = len(scores)
    data = []
    for name, members in groups.items():
        trace: dict[str, Any] = {
            "name": f"{name} ({len(members)})",
            "text": [hover(t, scores) for t in members],
            "customdata": [t.number for t in members],
            "hoverinfo": "text",
            "marker": dict(_STYLE[name]),
        }
        values = [[s.of(t) for t in members] for s in scores]
        if n == 2:
            trace.update(type="scatter", x=values[0], y=values[1])
            trace["mode"] = "lines+markers" if name == FRONT else "markers"
            if name == FRONT:
                trace["line"] = {"color": "#d62728", "width": 1, "shape": "linear"}
        elif n == 3:
            trace.update(type="scatter3d", mode="markers", x=values[0], y=values[1], z=values[2])
            trace["marker"]["size"] = max(3, trace["marker"]["size"] - 3)
        else:
            trace.update(
                type="splom",
                dimensions=[
                    {"label": s.metric, "values": v} for s, v in zip(scores, values, strict=True)
                ],
                diagonal={"visible": False},
                showupperhalf=False,
            )
        data.append(trace)
    title = f"Pareto front: {len(groups[FRONT])} of {sum(map(len, groups.values()))} trials"
    if n == 2:
        extra: dict[str, Any] = {
            "xaxis": {"title": {"text": scores[0].label}},
            "yaxis": {"title": {"text": scores[1].label}},
            "height": 440,
        }
    elif n == 3:
        extra = {
            "scene": {
                "xaxis": {"title": {"text": scores[0].metric}},
                "yaxis": {"title": {"text": scores[1].metric}},
                "zaxis": {"title": {"text": scores[2].metric}},
            },
            "height": 560,
        }
    else:
        extra = {"height": 180 * n, "dragmode": "select"}
    return {"data": data, "layout": layout(title, **extra)}


def hypervolume_plot(trials: Sequence[FrozenTrial], scores: Sequence[Score]) -> Figure:
    """The hypervolume of the feasible front after each feasible complete trial, by trial
    number, against the fixed reference of the module docstring, which the title gives
    in the objectives' own units."""
    done, volumes, reference = hypervolume_history(trials, [s.objective for s in scores])
    grew = [i for i, v in enumerate(volumes) if v > (volumes[i - 1] if i else 0.0)]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "hypervolume so far",
            "x": [t.number for t in done],
            "y": volumes,
            "line": {"color": "#d62728", "shape": "hv", "width": 2},
            "hovertemplate": "after trial #%{x}: %{y:.4g}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": "trial that enlarged it",
            "x": [done[i].number for i in grew],
            "y": [volumes[i] for i in grew],
            "text": [hover(done[i], scores) for i in grew],
            "hoverinfo": "text",
            "marker": {"color": "#1f77b4", "size": 7},
        },
    ]
    where = "none yet" if reference is None else _in_units(reference.tolist(), scores)
    return {
        "data": data,
        "layout": layout(
            f"Hypervolume of the Pareto front (reference point: {where})",
            xaxis={"title": {"text": "trial"}},
            yaxis={"title": {"text": "hypervolume"}, "rangemode": "tozero"},
            height=380,
        ),
    }


def _in_units(reference: Sequence[float], scores: Sequence[Score]) -> str:
    """A minimization-convention point in the objectives' own units and directions."""
    return ", ".join(
        f"{s.metric} = {fmt(-r if s.direction is Direction.MAXIMIZE else r)}"
        for s, r in zip(scores, reference, strict=True)
    )
