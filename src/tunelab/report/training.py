"""Sections on how the epochs were spent, each shown only when the study has its data:
pauses and resumes with the steps per trial (freeze-thaw, PBT), the curve model's
predictions against the truth (when the extrapolate scheduler stopped trials), and the
schedules and lineage population-based training found."""

from __future__ import annotations

from collections.abc import Sequence

from tunelab.insight import InsightError, extrapolation_check, training_effort
from tunelab.insight.effort import exploits, lineage_text, paused_or_resumed, scheduled
from tunelab.insight.extrapolation import stopped_trials
from tunelab.plot.effort import curve_check_figure, effort_figure
from tunelab.plot.population import best_number, lineage_figure, schedule_figure, schedule_params
from tunelab.report.markup import esc, note
from tunelab.report.section import Section
from tunelab.study import Study
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState


def training_sections(study: Study, trials: Sequence[FrozenTrial]) -> list[Section]:
    """The sections of this module that the study has data for, in reading order."""
    out = []
    if paused_or_resumed(trials):
        out.append(effort_section(trials))
    if stopped_trials(trials, study.metric):
        out.append(curve_model_section(study, trials))
    if scheduled(trials):
        out += pbt_sections(study, trials)
    return out


def effort_section(trials: Sequence[FrozenTrial]) -> Section:
    """Steps trained per trial, with the study's pauses and resumes in one line."""
    effort = training_effort(trials)
    said = effort.text()
    html = note(
        said[:1].upper()
        + said[1:]
        + ". A resumed trial goes on as the same trial, so its bar counts every step it "
        "trained; ↻ counts its resumes, ⇐ the times it took another trial's weights (PBT)."
    )
    figure = effort_figure(effort)
    figures = () if figure is None else (("fig-effort", figure),)
    return Section("effort", "Steps per trial, pauses and resumes", html, figures)


def curve_model_section(study: Study, trials: Sequence[FrozenTrial]) -> Section:
    """The trials the curve model stopped, and how often it was wrong on the complete
    trials (leave-one-out, insight.extrapolation_check)."""
    metric = study.metric
    stopped = stopped_trials(trials, metric)
    done = sum(t.state is TrialState.COMPLETE for t in trials)
    parts = [
        note(
            f"The extrapolate scheduler stopped {len(stopped)} of "
            f"{len(stopped) + done} trials on a predicted final {metric}. Their final "
            "values were never seen, so the model is judged on the complete trials: each "
            "one cut where the scheduler decides and predicted from the others."
        )
    ]
    try:
        check = extrapolation_check(study)
    except InsightError as e:
        check = None
        parts.append(note(f"curve model: {e}", "warn"))
    if check is not None:
        wrong = len(check.trials) - check.covered
        lines = check.text(limit=0).splitlines()[:2]
        parts.append(f"<p>{esc(' '.join(lines))}</p>")
        parts.append(
            note(
                f"The model was wrong (the final value outside its 80% interval) for "
                f"{wrong} of {check.checked} complete trials.",
                "warn" if check.wrongly_stopped else "note",
            )
        )
    figure = curve_check_figure(
        metric,
        () if check is None else check.trials,
        stopped,
        None if check is None else check.final_step,
    )
    figures = () if figure is None else (("fig-curve-model", figure),)
    return Section("curve-model", "Curve model: predicted against actual", "".join(parts), figures)


def pbt_sections(study: Study, trials: Sequence[FrozenTrial]) -> list[Section]:
    """The schedules PBT found, the best trial's lineage in words, and the lineage."""
    names = schedule_params(study, trials)
    best = best_number(study, trials)
    found = exploits(trials)
    head = note(
        f"{len(found)} exploits among {len(scheduled(trials))} trials: a trial in the bottom "
        "quantile took the weights of one in the top and went on with its values, perturbed."
    )
    if best is not None:
        try:
            head += (
                f"<p><b>Best trial #{best}</b> trained with: "
                f"{esc(lineage_text(trials, best, names))}. "
                f"Replay it on fresh weights: <code>tunelab replay {esc(study.name)} "
                f"--trial {best}</code>.</p>"
            )
        except InsightError as e:
            head += note(str(e), "warn")
    out = []
    schedules = schedule_figure(trials, names, study.space.to_json(), best)
    if schedules is not None:
        out.append(
            Section("schedules", "Schedules found by PBT", head, (("fig-schedules", schedules),))
        )
        head = ""
    lineage = lineage_figure(trials, names, best)
    if lineage is not None:
        text = note(
            "One row per trial; each arrow runs from the trial whose weights were copied, at "
            "the step they were saved, to the trial that went on from them. Hover an arrow's "
            "head for the values before and after."
        )
        out.append(Section("lineage", "PBT lineage", head + text, (("fig-lineage", lineage),)))
    return out
