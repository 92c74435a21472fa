"""Sections drawn from tunelab.insight: effect tables ("value → time → metric", as in
the tutorials), importance, the best trial's diagnosis and ranges for a follow-up study.

An analysis that has nothing to work with (too few trials, a metric never reported)
raises an InsightError; its message becomes the section's note instead of failing the
whole report."""

from __future__ import annotations

from tunelab.errors import TunelabError
from tunelab.insight import (
    Importance,
    confirmation,
    diagnose,
    effect_tables,
    importance,
    next_ranges,
)
from tunelab.plot.axes import fmt
from tunelab.plot.importance import importance_figure
from tunelab.plot.scores import Score
from tunelab.report.markup import esc, note, seconds, table
from tunelab.report.section import Figure, Section
from tunelab.study import Study
from tunelab.trial import FrozenTrial

MAX_PAIRS = 5


def _section(
    id_: str, title: str, html: str, figures: tuple[tuple[str, Figure], ...] = ()
) -> Section:
    return Section(id_, title, html, figures)


def suffix(score: Score, several: bool) -> str:
    """What tells one objective's section or figure from another's: nothing when the
    study has one objective."""
    return f"-{score.index}" if several else ""


def effects_section(study: Study, score: Score) -> Section:
    """One table per hyperparameter: value (or bin) → trials, best, median, time, pruned,
    for the objective `score` (one section per objective in a study of several)."""
    several = study.multi_objective
    sid = "effects" + suffix(score, several)
    title = "Effect of each hyperparameter" + (f" on {score.metric}" if several else "")
    try:
        tables = effect_tables(study, metric=score.metric)
    except (TunelabError, ValueError) as e:
        return _section(sid, title, note(str(e), "warn"))
    if not tables:
        return _section(sid, title, note("no hyperparameters to compare yet"))
    parts = [
        note(
            "Per value (or range) of each hyperparameter: how many trials used it, the best "
            f"and median {score.label}, the median training time and the share pruned."
        )
    ]
    for t in tables:
        medians = [r.median for r in t.rows]
        known = [(m, i) for i, m in enumerate(medians) if m is not None]
        best_row = None
        if known:
            pick = max if t.direction == "maximize" else min
            best_row = pick(known)[1]
        rows = [
            (r.label, r.n, r.best, r.median, seconds(r.median_seconds), f"{r.pruned_share:.0%}")
            for r in t.rows
        ]
        parts.append(f"<h3>{esc(t.param)}{' (log bins)' if t.log_scale else ''}</h3>")
        parts.append(
            table(
                [
                    t.param,
                    "trials",
                    f"best {t.metric}",
                    f"median {t.metric}",
                    "median time",
                    "pruned",
                ],
                rows,
                highlight=best_row,
                cls="effects",
            )
        )
    return _section(sid, title, "".join(parts))


def importance_or_note(study: Study, score: Score) -> tuple[Importance | None, str]:
    """The importance for one objective, or why there is none."""
    try:
        return importance(study, metric=score.metric), ""
    except (TunelabError, ValueError) as e:
        return None, str(e)


def importance_section(
    result: tuple[Importance | None, str], score: Score, several: bool = False
) -> Section:
    imp, why = result
    sid = "importance" + suffix(score, several)
    title = "Hyperparameter importance" + (f" for {score.metric}" if several else "")
    if imp is None:
        return _section(sid, title, note(why, "warn"))
    figure = importance_figure(imp)
    html = note(f"Method: {imp.method}, from {imp.n_trials} trials (seeded, so reruns agree).")
    html += "".join(note(w, "warn") for w in imp.warnings)
    if imp.pairs:
        html += table(
            ["pair", "interaction share"],
            [(f"{a} \u00d7 {b}", f"{s:.1%}") for a, b, s in imp.pairs[:MAX_PAIRS]],
        )
    return _section(sid, title, html, ((f"fig-{sid}", figure),))


def diagnosis_html(study: Study, trial: FrozenTrial) -> str:
    """The fit diagnosis of one trial, with the next step in the study's own terms."""
    try:
        d = diagnose(trial, study)
    except (TunelabError, ValueError) as e:
        return note(f"diagnosis: {e}", "warn")
    kind = getattr(d.kind, "value", d.kind)
    advice = "".join(f"<li>{esc(a)}</li>" for a in d.advice)
    return (
        f'<div class="diagnosis"><h3>Diagnosis: {esc(str(kind).replace("_", " ").lower())}</h3>'
        f"<p>{esc(d.evidence)}</p>" + (f"<ul>{advice}</ul>" if advice else "") + "</div>"
    )


def confirmation_html(study: Study) -> str:
    """One line under the best trial: the seed re-runs' verdict (tunelab confirm), when
    the study has re-runs."""
    try:
        found = confirmation(study)
    except (TunelabError, ValueError) as e:
        return note(f"seed re-runs: {e}", "warn")
    if found is None:
        return ""
    return f'<p class="confirm"><b>Seed re-runs:</b> {esc(found.verdict)}</p>'


def next_ranges_section(study: Study) -> Section:
    """Where the best trials lie, as ranges for a follow-up study."""
    try:
        ranges = next_ranges(study)
    except (TunelabError, ValueError) as e:
        return _section("next", "What to try next", note(str(e), "warn"))
    if not ranges:
        return _section("next", "What to try next", note("no hyperparameters to narrow yet"))
    rows = []
    for r in ranges:
        where = ", ".join(fmt(v) for v in r.values) if r.values else f"{fmt(r.low)} - {fmt(r.high)}"
        rows.append((r.param, where, f"at the {r.at_edge} edge" if r.at_edge else "", r.text))
    top = "the top 20% of trials" + (" by Pareto rank" if study.multi_objective else "")
    html = note(f"Ranges where {top} lie; an edge flag means widen the range.")
    html += table(
        ["hyperparameter", "suggested range", "", "advice"], rows, numeric_from=99, cls="wrap"
    )
    return _section("next", "What to try next", html)
