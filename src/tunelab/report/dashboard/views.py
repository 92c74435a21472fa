"""What the dashboard shows beyond the report's sections: the plots optuna-dashboard users
look for (empirical distribution, timeline per worker, rank plot) and a page per trial."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from tunelab.plot.axes import tuned_axes
from tunelab.plot.curves import learning_curves, reported_metrics
from tunelab.plot.effects import edf_figure
from tunelab.plot.figures import scored
from tunelab.plot.rank import rank_figure
from tunelab.plot.scores import Score, scores_of
from tunelab.plot.timeline import timeline
from tunelab.report.lost import state_label
from tunelab.report.markup import definition_list, esc, note, seconds, table
from tunelab.report.section import Section
from tunelab.report.sections import fixed_html, fixed_settings
from tunelab.study import Study
from tunelab.trial import FrozenTrial

RANK_AXES = 4  # the rank plot's scatter matrix stays readable up to this many


def study_link(name: str, trial: int | None = None) -> str:
    """The page address of a study (or one of its trials), as the dashboard's script
    reads it: the name percent-encoded, so '/', '&' and '#' in it survive."""
    return f"#study={quote(name, safe='')}" + (f"&trial={trial}" if trial is not None else "")


def extra_sections(
    study: Study, trials: Sequence[FrozenTrial], lost: frozenset[int] = frozenset()
) -> list[Section]:
    """Empirical distribution and rank plot per objective, and the timeline."""
    out = []
    scores = scores_of(study)
    several = len(scores) > 1
    done = scored(trials, scores)
    if done:
        figs = tuple(
            (f"fig-edf-{s.index}", edf_figure([(study.name, _values(done, s))], s)) for s in scores
        )
        out.append(Section("edf", "Empirical distribution", figures=figs))
    span = timeline(trials, lost)
    if span is not None:
        out.append(
            Section(
                "timeline",
                "Timeline",
                note("One bar per trial, from its start to its end, on its worker's row."),
                (("fig-timeline", span),),
            )
        )
    axes = tuned_axes(done, study.space.to_json())[:RANK_AXES]
    figs = tuple((f"fig-rank-{s.index}", rank_figure(done, axes, s)) for s in scores)
    if axes and len(done) > 1:
        what = "Each objective apart. " if several else ""
        out.append(
            Section(
                "rank",
                "Rank plot",
                note(what + "Each pair of parameters, every complete trial coloured by its rank."),
                figs,
            )
        )
    return out


def _values(trials: Sequence[FrozenTrial], score: Score) -> list[float]:
    return [v for t in trials if (v := score.of(t)) is not None]


def _when(stamp: float | None) -> str:
    return "-" if stamp is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def trial_sections(
    study: Study, trials: Sequence[FrozenTrial], trial: FrozenTrial, lost: frozenset[int]
) -> list[Section]:
    """The page of one trial: how it ended and where it ran, its values, its tuned
    hyperparameters (the study's fixed settings apart) and its learning curves."""
    back = f'<p><a class="back" href="{esc(study_link(study.name))}">\u2190 all trials of {esc(study.name)}</a></p>'
    facts: list[tuple[str, Any]] = [("state", state_label(trial, lost))]
    if not trial.feasible:
        facts.append(("feasible", "no: a constraint does not hold"))
    if trial.reason:
        facts.append(("reason", trial.reason))
    facts += [
        ("worker", trial.worker or "-"),
        ("started", _when(trial.datetime_start)),
        ("ended", _when(trial.datetime_complete)),
        ("duration", seconds(trial.duration)),
        ("last step", trial.last_step if trial.last_step is not None else "-"),
    ]
    if trial.retry_of is not None:
        facts.append(("retry of", f"#{trial.retry_of}"))
    if trial.retried_by is not None:
        facts.append(("retried by", f"#{trial.retried_by}"))
    scores = scores_of(study)
    values = [(s.metric, s.of(trial)) for s in scores]
    values += [(k, v) for k, v in trial.metrics.items() if k not in {s.metric for s in scores}]
    values += [(k, v) for k, v in trial.constraints.items()]
    values += [(k, v) for k, v in trial.user_attrs.items() if not isinstance(v, (dict, list))]
    fixed = fixed_settings(trials)
    tuned = [(k, v) for k, v in trial.params.items() if k not in fixed]
    params = table(["tuned hyperparameter", "value"], tuned) if tuned else ""
    shared = fixed_html({k: v for k, v in fixed.items() if k in trial.params})
    out = [
        Section("trial", f"Trial #{trial.number}", back + definition_list(facts)),
        Section(
            "trial-values",
            "Values and hyperparameters",
            definition_list(values) + params + shared
            or note("this trial has no values or hyperparameters yet"),
        ),
    ]
    curves = learning_curves([trial], reported_metrics([trial], study.metric), None)
    if curves is not None:
        out.append(
            Section("trial-curves", "Learning curve", figures=(("fig-trial-curves", curves),))
        )
    else:
        out.append(Section("trial-curves", "Learning curve", note("this trial reported no steps")))
    return out
