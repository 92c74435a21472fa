"""A study as a list of sections (tables as HTML, plots as Plotly figures).

The report writes the sections into one file; the dashboard serves the very same
sections as JSON and redraws them as trials arrive, so both always show the same thing."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from tunelab.plot.axes import Axis, fmt, tuned_axes
from tunelab.plot.contour import contour, contour_pairs
from tunelab.plot.curves import curves_by_axis, learning_curves, reported_metrics
from tunelab.plot.figures import history, parallel_coordinates, scored, slices
from tunelab.plot.scores import Score, scores_of
from tunelab.report import insight_sections
from tunelab.report.front import front_sections
from tunelab.report.lost import LOST, lost_trials, state_label
from tunelab.report.markup import Keyed, definition_list, esc, note, seconds, table
from tunelab.report.section import Section
from tunelab.report.training import training_sections
from tunelab.study import Study
from tunelab.trial import FrozenTrial, best_trial
from tunelab.types import TrialState

NO_COMPLETE = "no complete trials yet"
REASON_CHARS = 160


def counts(trials: Sequence[FrozenTrial], lost: frozenset[int] = frozenset()) -> dict[str, int]:
    """Trials per state as shown, lost running trials apart (see lost.py)."""
    out = {s.value.lower(): 0 for s in TrialState} | {LOST: 0}
    for t in trials:
        out[state_label(t, lost)] += 1
    return out


def _best(study: Study, trials: Sequence[FrozenTrial]) -> FrozenTrial | None:
    return best_trial([t for t in trials if t.state is TrialState.COMPLETE], study.direction)


def overview(
    study: Study, trials: Sequence[FrozenTrial], lost: frozenset[int] = frozenset()
) -> Section:
    c = counts(trials, lost)
    sampler = study.sampler.to_json()
    objectives = ", ".join(f"{o.metric} ({o.direction.value})" for o in study.objectives)
    facts = [
        ("study", study.name),
        ("objectives" if study.multi_objective else "metric", objectives),
        ("sampler", _sampler_text(sampler) or repr(study.sampler)),
        ("pruning", _scheduler_text(study)),
        (
            "trials",
            f"{len(trials)}: " + ", ".join(f"{v} {k}" for k, v in c.items() if v)
            if trials
            else "0",
        ),
        ("as of", time.strftime("%Y-%m-%d %H:%M:%S %Z")),
    ]
    if study.constraints:
        facts.insert(2, ("constraints", ", ".join(c.describe() for c in study.constraints)))
    parts = [definition_list(facts)]
    if not any(t.state is TrialState.COMPLETE for t in trials):
        parts.append(note(_why_empty(study, trials), "warn"))
    return Section("overview", f"Study {study.name}", "".join(parts))


def _sampler_text(data: Any) -> str:
    if not isinstance(data, dict):
        return ""
    name = str(data.get("name") or data.get("type") or "")
    args = ", ".join(
        f"{k}={fmt(v)}"
        for k, v in data.items()
        if k not in ("name", "type", "state") and not isinstance(v, (dict, list))
    )
    return f"{name}({args})" if name else ""


def _scheduler_text(study: Study) -> str:
    scheduler = study.scheduler  # None: the study prunes nothing itself
    if scheduler is None:
        return "none"
    return _sampler_text(scheduler.to_json()) or repr(scheduler)


def _why_empty(study: Study, trials: Sequence[FrozenTrial]) -> str:
    if not trials:
        return f"{NO_COMPLETE}: study {study.name!r} has no trials; run some to see plots here."
    failed = [t for t in trials if t.state is TrialState.FAIL]
    text = f"{NO_COMPLETE}: {len(trials)} trials, {len(failed)} failed"
    if failed and failed[-1].reason:
        text += f"; last failure: {failed[-1].reason.splitlines()[0][:REASON_CHARS]}"
    return text + "."


def fixed_settings(trials: Sequence[FrozenTrial]) -> dict[str, Any]:
    """The parameters that took one value in every trial that used them (a `Fixed`
    setting, or a range the search never left), by name: shown once, not per trial."""
    seen: dict[str, set[str]] = {}
    first: dict[str, Any] = {}
    for t in trials:
        for name, value in t.params.items():
            seen.setdefault(name, set()).add(fmt(value))
            first.setdefault(name, value)
    if sum(1 for t in trials if t.params) < 2:
        return {}
    return {n: first[n] for n, values in seen.items() if len(values) == 1}


def fixed_html(fixed: dict[str, Any]) -> str:
    """The fixed settings as one line of name = value pairs."""
    if not fixed:
        return ""
    pairs = ", ".join(f"{esc(k)} = {esc(v)}" for k, v in fixed.items())
    return f'<p class="fixed"><span class="label">fixed settings</span> {pairs}</p>'


def best_section(
    study: Study, best: FrozenTrial, trials: Sequence[FrozenTrial] | None = None
) -> Section:
    """The best trial: its values, its tuned hyperparameters as a table and the settings
    every trial shared (from `trials`, default the study's) apart, then the diagnosis."""
    facts: list[tuple[str, Any]] = [
        ("trial", f"#{best.number}"),
        (study.metric, best.value),
        ("duration", seconds(best.duration)),
    ]
    facts += [(k, v) for k, v in best.metrics.items() if k != study.metric]
    facts += [(k, v) for k, v in best.user_attrs.items() if not isinstance(v, (dict, list))]
    fixed = fixed_settings(study.trials if trials is None else trials)
    tuned = [(k, v) for k, v in best.params.items() if k not in fixed]
    params = (
        table(["tuned hyperparameter", "value"], tuned)
        if tuned
        else note("no hyperparameter varied between trials")
    )
    shared = fixed_html({k: v for k, v in fixed.items() if k in best.params})
    html = definition_list(facts) + insight_sections.confirmation_html(study) + params + shared
    html += insight_sections.diagnosis_html(study, best)
    return Section("best", "Best trial", html)


def space_section(study: Study) -> Section:
    rows = []
    for entry in study.space:
        data = entry.to_json()
        domain = ", ".join(
            f"{k}={fmt(v)}"
            for k, v in data.items()
            if k not in ("name", "type", "default", "conditions") and v is not None
        )
        cond = "; ".join(
            f"{c.get('parent_name')} in {fmt(c.get('parent_values'))}"
            for c in data.get("conditions", [])
        )
        rows.append((data.get("name"), data.get("type"), domain, cond or ""))
    html = (
        table(["name", "type", "domain", "active when"], rows, numeric_from=99)
        if rows
        else note("no hyperparameters registered yet")
    )
    return Section("space", "Search space", html)


def trials_section(
    study: Study,
    trials: Sequence[FrozenTrial],
    lost: frozenset[int] = frozenset(),
) -> Section:
    """Every trial, newest first: state (infeasible ones marked), one column per
    objective, time, the parameters that varied and why it ended; the settings every
    trial shared are listed once above the table. A click on a header sorts by it."""
    scores = scores_of(study)
    fixed = fixed_settings(trials)
    names = [n for n in dict.fromkeys(n for t in trials for n in t.params) if n not in fixed]
    ordered = sorted(trials, key=lambda t: -t.number)
    rows = []
    for t in ordered:
        reason = (t.reason or "").splitlines()[0][:REASON_CHARS] if t.reason else ""
        state = state_label(t, lost) + ("" if t.feasible else " (infeasible)")
        rows.append(
            [t.number, state, *(s.of(t) for s in scores), Keyed(seconds(t.duration), t.duration)]
            + [t.params.get(n, "") for n in names]
            + [reason]
        )
    html = (
        fixed_html(fixed)
        + table(
            ["#", "state", *(s.metric for s in scores), "time", *names, "reason"],
            rows,
            numeric_from=2,
            cls="trials wrap sortable",
            row_keys=[t.number for t in ordered],
        )
        if rows
        else note("no trials yet")
    )
    return Section("trials", f"All trials ({len(trials)})", html)


def build_sections(study: Study, curves_by: str | None = None) -> list[Section]:
    """Every section of the report for `study`, read once from storage. A study of
    several objectives gets its Pareto front and hypervolume history instead of a best
    trial and a best-so-far line, and its effects, importance, slices and contours once
    per objective."""
    trials = study.trials
    space = study.space.to_json()
    lost = lost_trials(trials, study.settings)
    scores = scores_of(study)
    several = study.multi_objective
    out = [overview(study, trials, lost)]
    done = scored(trials, scores)
    axes = tuned_axes(done, space)
    importances = [insight_sections.importance_or_note(study, s) for s in scores] if done else []
    ranked = next((list(imp.scores) for imp, _ in importances if imp is not None), [])
    if several:
        out += front_sections(trials, scores)
    else:
        best = _best(study, trials)
        if best is not None:
            out.append(best_section(study, best, trials))
            out.append(
                Section(
                    "history",
                    "Optimization history",
                    figures=(("fig-history", history(trials, scores[0])),),
                )
            )
    curve_axis = curves_by_axis(
        tuned_axes([t for t in trials if t.reports], space), ranked, curves_by
    )
    metrics = reported_metrics(trials, study.metric)
    curves = learning_curves(trials, metrics, curve_axis)
    if curves is not None:
        html = note(
            "One line per trial, coloured by "
            + (curve_axis.name if curve_axis else "trial")
            + "; dotted lines ending in \u00d7 are pruned trials (stopped early). "
            "Pick the metric in the menu at the top right."
        )
        out.append(Section("curves", "Learning curves", html, (("fig-curves", curves),)))
    out += training_sections(study, trials)
    for score, imp in zip(scores, importances, strict=True) if done else ():
        out.append(insight_sections.effects_section(study, score))
        out.append(insight_sections.importance_section(imp, score, several))
    if done and axes:
        out += _parameter_plots(done, axes, scores, ranked)
    if done:
        out.append(insight_sections.next_ranges_section(study))
    out.append(space_section(study))
    out.append(trials_section(study, trials, lost))
    return out


def _parameter_plots(
    done: Sequence[FrozenTrial],
    axes: Sequence[Axis],
    scores: Sequence[Score],
    ranked: Sequence[str],
) -> list[Section]:
    """Parallel coordinates, then slices and contours once per objective."""
    several = len(scores) > 1
    colour = f" Lines are coloured by {scores[0].metric}." if several else ""
    out = [
        Section(
            "parallel",
            "Parallel coordinates",
            note(
                "Drag along an axis to keep only the trials inside a range; — marks a "
                "parameter the trial did not use." + colour
            ),
            (("fig-parallel", parallel_coordinates(done, axes, scores)),),
        )
    ]
    slice_figs = tuple(
        (f"fig-slice{insight_sections.suffix(s, several)}", slices(done, axes, s, scores))
        for s in scores
    )
    by = note("One figure per objective: " + ", ".join(s.metric for s in scores)) if several else ""
    out.append(Section("slice", "Slice plots", by, slice_figs))
    figs = []
    for s in scores:
        for i, (x, y) in enumerate(contour_pairs(axes, ranked)):
            fig = contour(done, x, y, s)
            if fig is not None:
                figs.append((f"fig-contour{insight_sections.suffix(s, several)}-{i}", fig))
    if figs:
        out.append(
            Section(
                "contour",
                "Contour plots",
                note("Interpolated between the trials (dots)."),
                tuple(figs),
            )
        )
    return out
