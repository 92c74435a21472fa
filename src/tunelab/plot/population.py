"""Population-based training drawn: the schedules of hyperparameter values it found (the
values each trial's weights trained with, step by step, through the trials whose weights
it took) and its lineage (which trial took whose weights at which step).

Both read the schedules PBT stores with each trial (tunelab.study.schedule_of)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from tunelab.errors import ConfigurationError
from tunelab.insight.effort import exploits, schedule_names, schedule_of, scheduled
from tunelab.plot.axes import Axis, axis_for, fmt
from tunelab.plot.figures import Figure, layout
from tunelab.schedulers import PBTScheduler
from tunelab.study import Study, found_schedule
from tunelab.trial import FrozenTrial, best_trial
from tunelab.types import TrialState

BEST = "#d62728"
OTHER = "rgba(90, 110, 140, 0.45)"
ARROW = "#6b7a90"


def lineage_of(trials: Sequence[FrozenTrial], number: int) -> list[dict[str, Any]]:
    """The schedule trial `number`'s weights trained with, through its lineage
    ([{"step", "params", "trial"}]); its own schedule when the lineage cannot be read."""
    try:
        return found_schedule(list(trials), number)
    except ConfigurationError:
        own = next((t for t in trials if t.number == number), None)
        entries = [] if own is None else schedule_of(own)
        return [{"step": e["step"], "params": e["params"], "trial": number} for e in entries]


def _path(trial: FrozenTrial, lineage: list[dict[str, Any]], name: str) -> dict[str, list[Any]]:
    """The step line of one hyperparameter: each value from the step it took effect to the
    next change, the last one to the trial's last step."""
    end = trial.last_step if trial.last_step is not None else lineage[-1]["step"]
    xs: list[Any] = []
    ys: list[Any] = []
    text: list[str] = []
    for entry in lineage:
        if name not in entry["params"]:
            continue
        value = entry["params"][name]
        xs.append(entry["step"])
        ys.append(value)
        text.append(f"trial #{trial.number}: {name} = {fmt(value)} from step {entry['step']}")
        text[-1] += f" (weights of #{entry['trial']})" if entry["trial"] != trial.number else ""
    if xs and end > xs[-1]:
        xs.append(end)
        ys.append(ys[-1])
        text.append(f"trial #{trial.number}: {name} = {fmt(ys[-1])} to step {end}")
    return {"x": xs, "y": ys, "text": text}


def schedule_figure(
    trials: Sequence[FrozenTrial],
    names: Sequence[str],
    space: Sequence[Mapping[str, Any]] = (),
    best: int | None = None,
) -> Figure | None:
    """Each hyperparameter of `names` against the step, one panel each and one step line
    per trial: the values its weights trained with through its lineage (the schedule
    `tunelab replay` re-runs). Trial `best` is drawn thick in red; a log-scale parameter
    (from `space`, the study's stored definitions) gets a log axis. None when no trial
    holds a schedule or `names` is empty."""
    population = scheduled(trials)
    if not population or not names:
        return None
    specs = {str(d.get("name")): dict(d) for d in space}
    lineages = {t.number: lineage_of(trials, t.number) for t in population}
    ordered = sorted(population, key=lambda t: (t.number == best, t.number))  # best on top
    data: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    for i, name in enumerate(names):
        suffix = "" if i == 0 else str(i + 1)
        values = [e["params"][name] for s in lineages.values() for e in s if name in e["params"]]
        axis = axis_for(name, specs.get(name), values)
        for t in ordered:
            path = _path(t, lineages[t.number], name)
            if not path["x"]:
                continue
            top = t.number == best
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers" if top else "lines",
                    "name": f"best trial #{t.number}" if top else "other trials",
                    "legendgroup": "best" if top else "other",
                    "showlegend": i == 0 and (top or t is ordered[0]),
                    **path,
                    "hoverinfo": "text",
                    "line": {
                        "shape": "hv",
                        "color": BEST if top else OTHER,
                        "width": 3 if top else 1,
                    },
                    "xaxis": f"x{suffix}",
                    "yaxis": f"y{suffix}",
                }
            )
        extra[f"yaxis{suffix}"] = _value_axis(axis)
        extra[f"xaxis{suffix}"] = {
            "title": {"text": "step" if i == len(names) - 1 else ""},
            **({} if i == 0 else {"matches": "x"}),
        }
    title = "Hyperparameter schedules found by PBT" + (
        "" if best is None else f" (best trial #{best} in red)"
    )
    return {
        "data": data,
        "layout": layout(
            title,
            grid={"rows": len(names), "columns": 1, "pattern": "independent"},
            height=60 + 220 * len(names),
            **extra,
        ),
    }


def _value_axis(axis: Axis) -> dict[str, Any]:
    out: dict[str, Any] = {"title": {"text": axis.name + (" (log)" if axis.log else "")}}
    if axis.log:
        out["type"] = "log"
    elif not axis.numeric:
        out.update(type="category", categoryorder="array", categoryarray=list(axis.categories))
    return out


def lineage_figure(
    trials: Sequence[FrozenTrial], names: Sequence[str] = (), best: int | None = None
) -> Figure | None:
    """One row per trial of the population across the steps it trained, and an arrow for
    each exploit: from the parent's row at the step whose weights were copied to the
    child's row at the step it went on from them (hover: the values before and after,
    for `names`). The line of steps trial `best`'s weights came through is red. None when
    no trial holds a schedule."""
    population = scheduled(trials)
    if not population:
        return None
    rows = sorted(t.number for t in population)
    line = {t.number: t for t in population}
    best_path = _best_segments(trials, best) if best is not None else []
    # the exploits the best trial's weights came through: (child, step, parent)
    best_exploits = {
        (child, first, parent)
        for (parent, _, _), (child, first, _) in itertools.pairwise(best_path)
    }
    data: list[dict[str, Any]] = []
    for t in sorted(population, key=lambda t: t.number):
        start = schedule_of(t)[0]["step"]
        end = t.last_step if t.last_step is not None else start
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [start, end],
                "y": [t.number, t.number],
                "line": {"color": "#b8c2d0", "width": 6},
                "hoverinfo": "text",
                "text": f"trial #{t.number} ({t.state.value.lower()}), steps {start} to {end}"
                + ("" if t.value is None else f", value {fmt(t.value)}"),
                "showlegend": False,
            }
        )
    for i, (number, first, last) in enumerate(best_path):
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"best trial #{best}'s weights",
                "legendgroup": "best",
                "showlegend": i == 0,
                "x": [first, last],
                "y": [number, number],
                "line": {"color": BEST, "width": 6},
                "hoverinfo": "skip",
            }
        )
    found = [e for e in exploits(trials) if e.trial in line]
    annotations = []
    for e in found:
        on_best = (e.trial, e.step, e.parent) in best_exploits
        annotations.append(
            {
                "x": e.step,
                "y": e.trial,
                "ax": e.step - 1,
                "ay": e.parent,
                "xref": "x",
                "yref": "y",
                "axref": "x",
                "ayref": "y",
                "showarrow": True,
                "arrowhead": 2,
                "arrowsize": 1.2,
                "arrowwidth": 2 if on_best else 1.2,
                "arrowcolor": BEST if on_best else ARROW,
                "text": "",
            }
        )
    if found:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "exploit (weights copied)",
                "x": [e.step for e in found],
                "y": [e.trial for e in found],
                "marker": {"color": ARROW, "size": 7, "symbol": "triangle-right"},
                "hoverinfo": "text",
                "text": [
                    _exploit_text(e.trial, e.parent, e.step, e.previous, e.params, names)
                    for e in found
                ],
            }
        )
    return {
        "data": data,
        "layout": layout(
            f"PBT lineage: {len(found)} exploits among {len(rows)} trials",
            annotations=annotations,
            xaxis={"title": {"text": "step"}},
            yaxis={
                "title": {"text": "trial"},
                "tickvals": rows,
                "ticktext": [f"#{n}" for n in rows],
                "autorange": "reversed",
            },
            height=max(240, 90 + 26 * len(rows)),
        ),
    }


def _best_segments(trials: Sequence[FrozenTrial], best: int) -> list[tuple[int, int, int]]:
    """(trial, first step, last step) for each stretch of the best trial's lineage: whose
    weights it trained, and when (a trial may come twice: A from B, then B from A)."""
    lineage = lineage_of(trials, best)
    by_number = {t.number: t for t in trials}
    out = []
    for entry, after in zip(lineage, [*lineage[1:], None], strict=True):
        owner = by_number.get(entry["trial"])
        if owner is None:
            continue
        if after is not None:
            last = after["step"] - 1
        else:
            last = owner.last_step if owner.last_step is not None else entry["step"]
        out.append((int(entry["trial"]), int(entry["step"]), last))
    return out


def _exploit_text(
    child: int,
    parent: int,
    step: int,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    names: Sequence[str],
) -> str:
    shown = [n for n in names if n in after] or list(after)
    changes = "<br>".join(f"{n}: {fmt(before.get(n))} → {fmt(after[n])}" for n in shown)
    return f"#{child} took #{parent}'s weights of step {step - 1}, from step {step}<br>{changes}"


def schedule_params(study: Study, trials: Sequence[FrozenTrial]) -> list[str]:
    """The hyperparameters to draw: those the study's PBT scheduler may change, where its
    trials' schedules hold them; else those that changed (insight.effort.schedule_names)."""
    preferred: list[str] = []
    scheduler = study.scheduler
    if isinstance(scheduler, PBTScheduler):
        try:
            preferred = scheduler.mutable(study.space)
        except ConfigurationError:  # the space lacks them: the schedules say what changed
            preferred = []
    return schedule_names(trials, preferred)


def best_number(study: Study, trials: Sequence[FrozenTrial]) -> int | None:
    """The best complete trial's number (one objective), for the figures to highlight."""
    if study.multi_objective:
        return None
    found = best_trial([t for t in trials if t.state is TrialState.COMPLETE], study.direction)
    return None if found is None else found.number
