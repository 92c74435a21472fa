"""Where the epochs went and how far the curve model could be trusted: the steps each
trial trained (pauses and resumes in its hover box), and the curve model's predictions
against the final values the complete trials really reached."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tunelab.insight import CheckedTrial, Effort
from tunelab.insight.extrapolation import StoppedTrial
from tunelab.plot.axes import fmt
from tunelab.plot.figures import Figure, layout
from tunelab.plot.timeline import STATE_COLOURS

PAUSED = "#9467bd"
INSIDE, OUTSIDE, STOPPED = "#2ca02c", "#d62728", "#ff7f0e"


def effort_figure(effort: Effort) -> Figure | None:
    """One bar per trial: the steps (epochs) it trained, resumes included, coloured by its
    state; the label on a bar counts its resumes (↻) and the weights it took (PBT, ⇐).
    None when no trial has trained a step."""
    trained = [t for t in effort.trials if t.steps]
    if not trained:
        return None
    by_state: dict[str, list[Any]] = {}
    for t in trained:
        by_state.setdefault(t.state.value.lower(), []).append(t)
    data = []
    for state, group in by_state.items():
        data.append(
            {
                "type": "bar",
                "name": state,
                "x": [t.number for t in group],
                "y": [t.steps for t in group],
                "text": [_marks(t.resumes, t.exploits) for t in group],
                "textposition": "outside",
                "marker": {"color": PAUSED if state == "paused" else STATE_COLOURS.get(state)},
                "customdata": [[t.resumes, t.exploits] for t in group],
                "hovertemplate": f"trial #%{{x}} ({state})<br>%{{y}} steps<br>"
                "resumed %{customdata[0]} times<br>took weights %{customdata[1]} times"
                "<extra></extra>",
            }
        )
    title = f"Steps trained per trial ({effort.steps} in all"
    title += f", {effort.resumes} resumes)" if effort.resumes else ")"
    return {
        "data": data,
        "layout": layout(
            title,
            barmode="overlay",
            xaxis={"title": {"text": "trial"}},
            yaxis={"title": {"text": "steps (epochs)"}},
            height=360,
        ),
    }


def _marks(resumes: int, exploits: int) -> str:
    return " ".join(
        mark
        for mark in (f"↻{resumes}" if resumes else "", f"⇐{exploits}" if exploits else "")
        if mark
    )


def curve_check_figure(
    metric: str,
    checked: Sequence[CheckedTrial],
    stopped: Sequence[StoppedTrial] = (),
    final_step: int | None = None,
) -> Figure | None:
    """The curve model's 80 % intervals against the truth. For each complete trial of the
    leave-one-out check (`checked`): its predicted final `metric` with the interval, and
    the value it really ended at, green inside the interval and red outside. For each
    trial the extrapolate scheduler stopped (`stopped`): the interval it was stopped on
    and its value when stopped (its final value was never seen). None when there is
    neither."""
    shown = [s for s in stopped if None not in (s.predicted, s.low, s.high)]
    if not checked and not shown:
        return None
    data: list[dict[str, Any]] = []
    if checked:
        data += _intervals("complete", checked, "#1f77b4")
        for name, colour, group in (
            (
                "complete: final, inside",
                INSIDE,
                [c for c in checked if c.low <= c.actual <= c.high],
            ),
            (
                "complete: final, outside",
                OUTSIDE,
                [c for c in checked if not c.low <= c.actual <= c.high],
            ),
        ):
            if group:
                data.append(
                    {
                        "type": "scatter",
                        "mode": "markers",
                        "name": name,
                        "x": [f"#{c.number}" for c in group],
                        "y": [c.actual for c in group],
                        "marker": {"color": colour, "size": 9, "symbol": "diamond"},
                        "hovertemplate": "trial %{x}: ended at %{y:.4g}<extra></extra>",
                    }
                )
    if shown:
        data += _intervals("stopped", shown, STOPPED)
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "stopped: value when stopped",
                "x": [f"#{s.number}" for s in shown],
                "y": [s.value for s in shown],
                "marker": {"color": "#7f7f7f", "size": 8, "symbol": "x"},
                "hovertemplate": "trial %{x}: %{y:.4g} when stopped<extra></extra>",
            }
        )
    wrong = sum(not c.low <= c.actual <= c.high for c in checked)
    at = "" if final_step is None else f" at step {final_step}"
    title = f"Curve model: predicted against final {metric}{at}"
    if checked:
        title += f" (outside the interval {wrong} of {len(checked)} times)"
    numbers = sorted({c.number for c in checked} | {s.number for s in shown})
    return {
        "data": data,
        "layout": layout(
            title,
            xaxis={
                "title": {"text": "trial"},
                "type": "category",
                "categoryorder": "array",
                "categoryarray": [f"#{n}" for n in numbers],
            },
            yaxis={"title": {"text": metric}},
            height=380,
        ),
    }


def _intervals(name: str, rows: Sequence[Any], colour: str) -> list[dict[str, Any]]:
    """Each trial's 80 % interval as a vertical bar and its predicted value as a dot
    (a bar, not error bars around the dot: a calibrated interval need not hold the
    model's mean)."""
    xs: list[Any] = []
    ys: list[Any] = []
    for r in rows:
        xs += [f"#{r.number}", f"#{r.number}", None]
        ys += [r.low, r.high, None]
    return [
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"{name}: 80% interval",
            "legendgroup": name,
            "x": xs,
            "y": ys,
            "line": {"color": colour, "width": 5},
            "opacity": 0.45,
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": f"{name}: predicted",
            "legendgroup": name,
            "x": [f"#{r.number}" for r in rows],
            "y": [r.predicted for r in rows],
            "marker": {"color": colour, "size": 7},
            "text": [f"{fmt(r.low)} to {fmt(r.high)}" for r in rows],
            "hovertemplate": "trial %{x}: predicted %{y:.4g} (80% interval %{text})<extra></extra>",
        },
    ]
