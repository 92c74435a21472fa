"""The plot functions for notebooks, named as in `optuna.visualization`: each reads a study
once and returns a `plotly.graph_objects.Figure` built by the same function that draws
that figure in the HTML report and the dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tunelab._extras import require
from tunelab.errors import ConfigurationError, TunelabError
from tunelab.insight import (
    InsightError,
    effect_tables,
    extrapolation_check,
    importance,
    training_effort,
)
from tunelab.insight.extrapolation import stopped_trials
from tunelab.plot.axes import Axis, axis_for, tuned_axes
from tunelab.plot.contour import contour, contour_pairs
from tunelab.plot.curves import curves_by_axis, learning_curves, reported_metrics
from tunelab.plot.effects import edf_figure, effects_figure
from tunelab.plot.effort import curve_check_figure, effort_figure
from tunelab.plot.figures import Figure, history, parallel_coordinates, scored, slices
from tunelab.plot.importance import importance_figure
from tunelab.plot.pareto import hypervolume_plot, pareto_figure
from tunelab.plot.population import (
    best_number,
    lineage_figure,
    schedule_figure,
    schedule_params,
)
from tunelab.plot.rank import rank_figure
from tunelab.plot.scores import Score, scores_of
from tunelab.plot.timeline import timeline
from tunelab.study import Study
from tunelab.trial import FrozenTrial

if TYPE_CHECKING:
    import plotly.graph_objects as go


def _plotly(figure: Figure) -> go.Figure:
    """The JSON figure as a plotly Figure (plotly is the `report` extra)."""
    go_module = require("plotly.graph_objects", extra="plot", user="tunelab.plot")
    return go_module.Figure(figure)


def _score(study: Study, metric: str | None, target_name: str | None = None) -> Score:
    """The objective named `metric` (the study's first when None), labelled `target_name`."""
    scores = scores_of(study)
    if metric is None:
        score = scores[0]
    else:
        match = [s for s in scores if s.metric == metric]
        if not match:
            names = ", ".join(s.metric for s in scores)
            raise ConfigurationError(
                f"study {study.name!r} has no objective {metric!r}; pass metric= one of: {names}"
            )
        score = match[0]
    if target_name is not None:
        return Score(target_name, score.direction, score.index)
    return score


def _complete(study: Study, trials: Sequence[FrozenTrial], score: Score) -> list[FrozenTrial]:
    done = scored(trials, (score,))
    if not done:
        raise ConfigurationError(
            f"study {study.name!r} has no complete trial with a value of {score.metric} to "
            "plot yet; run some trials first"
        )
    return done


def _axes(study: Study, done: Sequence[FrozenTrial], params: Sequence[str] | None) -> list[Axis]:
    """The tuned parameters (those that took two values or more), or exactly `params`."""
    space = study.space.to_json()
    if params is None:
        axes = tuned_axes(done, space)
        if not axes:
            raise ConfigurationError(
                f"study {study.name!r}: no parameter took two values among its complete "
                "trials, so there is nothing to plot against"
            )
        return axes
    if isinstance(params, str):
        params = [params]
    seen = list(dict.fromkeys(n for t in done for n in t.params))
    unknown = [p for p in params if p not in seen]
    if unknown:
        raise ConfigurationError(
            f"study {study.name!r} has no parameter {unknown[0]!r} in its complete trials; "
            f"pass params= some of: {', '.join(seen)}"
        )
    specs = {str(d.get("name")): d for d in space}
    return [axis_for(p, specs.get(p), [t.params[p] for t in done if p in t.params]) for p in params]


def _ranked(study: Study, metric: str) -> list[str]:
    """Parameters by importance, most important first, as the report orders them; none
    when the study is too small to rank them."""
    try:
        return list(importance(study, metric=metric).scores)
    except (TunelabError, ValueError):
        return []


def plot_optimization_history(
    study: Study, *, metric: str | None = None, target_name: str | None = None
) -> go.Figure:
    """Each trial's value by trial number with the best so far as a step line; for a study
    of several objectives without `metric`, the hypervolume of its front instead."""
    trials = study.trials
    if study.multi_objective and metric is None:
        return _plotly(hypervolume_plot(trials, scores_of(study)))
    score = _score(study, metric, target_name)
    _complete(study, trials, score)
    return _plotly(history(trials, score))


def plot_parallel_coordinate(
    study: Study,
    params: Sequence[str] | None = None,
    *,
    metric: str | None = None,
    target_name: str | None = None,
) -> go.Figure:
    """One line per complete trial across the parameters and the objectives, coloured by
    `metric` (the first objective by default)."""
    trials = study.trials
    first = _score(study, metric, target_name)
    scores = [first, *(s for s in scores_of(study) if s.index != first.index)]
    done = _complete(study, scored(trials, scores), first)
    return _plotly(parallel_coordinates(done, _axes(study, done, params), scores))


def plot_slice(
    study: Study,
    params: Sequence[str] | None = None,
    *,
    metric: str | None = None,
    target_name: str | None = None,
) -> go.Figure:
    """The objective against each parameter on its own axis, coloured by trial number;
    each point's hover box holds every objective, as in the report."""
    score = _score(study, metric, target_name)
    done = _complete(study, study.trials, score)
    shown = [score, *(s for s in scores_of(study) if s.index != score.index)]
    return _plotly(slices(done, _axes(study, done, params), score, shown))


def plot_contour(
    study: Study,
    params: Sequence[str] | None = None,
    *,
    metric: str | None = None,
    target_name: str | None = None,
) -> go.Figure:
    """The objective over two numeric parameters, interpolated between the trials. Without
    `params`, the two most important numeric parameters, as the report picks them."""
    score = _score(study, metric, target_name)
    done = _complete(study, study.trials, score)
    if params is None:
        pairs = contour_pairs(
            _axes(study, done, None), _ranked(study, scores_of(study)[score.index].metric), 1
        )
        if not pairs:
            raise ConfigurationError(
                f"study {study.name!r} has fewer than two numeric tuned parameters: no contour"
            )
        x, y = pairs[0]
    else:
        if len(params) != 2 or isinstance(params, str):
            raise ConfigurationError(
                f"plot_contour draws one pair of parameters; pass params=[x, y], not {params!r}"
            )
        x, y = _axes(study, done, params)
    figure = contour(done, x, y, score)
    if figure is None:
        raise ConfigurationError(
            f"study {study.name!r}: too few complete trials with distinct {x.name} and "
            f"{y.name} values for a contour (at least 4 needed)"
        )
    return _plotly(figure)


def plot_rank(
    study: Study,
    params: Sequence[str] | None = None,
    *,
    metric: str | None = None,
    target_name: str | None = None,
) -> go.Figure:
    """Every pair of parameters as a scatter, each trial coloured by the rank of its value
    (1 = best): where the good trials lie, whatever the spread of the values."""
    score = _score(study, metric, target_name)
    done = _complete(study, study.trials, score)
    return _plotly(rank_figure(done, _axes(study, done, params), score))


def plot_param_importances(study: Study, *, metric: str | None = None) -> go.Figure:
    """Each parameter's share of the explained variance of `metric` (fANOVA), most
    important on top."""
    score = _score(study, metric)
    return _plotly(importance_figure(importance(study, metric=score.metric)))


def plot_intermediate_values(
    study: Study, *, by: str | None = None, metric: str | None = None
) -> go.Figure:
    """Learning curves: every trial's reported `metric` (all reported metrics, with a menu,
    when None) by step, one colour per value or range of hyperparameter `by` (default: the
    learning rate, else the most important parameter); pruned trials are dotted."""
    trials = study.trials
    reported = [t for t in trials if t.reports]
    metrics = reported_metrics(trials, study.metric)
    if metric is not None:
        if metric not in metrics:
            raise ConfigurationError(
                f"study {study.name!r}: no trial reported {metric!r}; reported metrics: "
                f"{', '.join(metrics) or 'none'}"
            )
        metrics = [metric]
    axes = tuned_axes(reported, study.space.to_json())
    if by is not None and by not in {a.name for a in axes}:
        raise ConfigurationError(
            f"study {study.name!r}: {by!r} is not a tuned parameter of the trials with "
            f"reports; pass by= one of: {', '.join(a.name for a in axes) or 'none'}"
        )
    names = {a.name for a in axes}
    ranked = [] if by or names & {"learning_rate", "lr"} else _ranked(study, study.metric)
    figure = learning_curves(trials, metrics, curves_by_axis(axes, ranked, by))
    if figure is None:
        raise ConfigurationError(
            f"study {study.name!r}: no trial reported intermediate values (trial.report) yet"
        )
    return _plotly(figure)


def plot_effects(
    study: Study, params: Sequence[str] | None = None, *, metric: str | None = None
) -> go.Figure:
    """The report's effect tables as a chart: per value (or bin) of each hyperparameter, the
    median `metric` and the best trial."""
    score = _score(study, metric)
    tables = effect_tables(study, metric=score.metric)
    if params is not None:
        wanted = [params] if isinstance(params, str) else list(params)
        have = {t.param for t in tables}
        unknown = [p for p in wanted if p not in have]
        if unknown:
            raise ConfigurationError(
                f"study {study.name!r} has no tuned parameter {unknown[0]!r}; pass params= "
                f"some of: {', '.join(have)}"
            )
        tables = [t for t in tables if t.param in wanted]
    if not tables:
        raise ConfigurationError(f"study {study.name!r} has no tuned parameters to compare yet")
    return _plotly(effects_figure(tables))


def plot_pareto_front(study: Study) -> go.Figure:
    """The trials in the space of the study's objectives, its Pareto front highlighted; a
    study of one objective is refused in one line."""
    return _plotly(pareto_figure(study))


def plot_hypervolume_history(study: Study) -> go.Figure:
    """The hypervolume of the Pareto front after each trial (several objectives only)."""
    if not study.multi_objective:
        raise ConfigurationError(
            f"study {study.name!r} has one objective, so no hypervolume; use "
            "plot_optimization_history"
        )
    return _plotly(hypervolume_plot(study.trials, scores_of(study)))


def plot_edf(
    study: Study | Sequence[Study],
    *,
    metric: str | None = None,
    target_name: str | None = None,
) -> go.Figure:
    """The empirical distribution of `metric` over the complete trials of one study or of
    several (one line each, e.g. to compare samplers on the same budget)."""
    studies = [study] if isinstance(study, Study) else list(study)
    if not studies:
        raise ConfigurationError("plot_edf needs at least one study")
    score = _score(studies[0], metric, target_name)
    real = scores_of(studies[0])[score.index].metric
    lines = []
    for s in studies:
        own = _score(s, real)  # the same objective in each study, wherever it sits
        done = scored(s.trials, (own,))
        lines.append((s.name, [v for t in done if (v := own.of(t)) is not None]))
    return _plotly(edf_figure(lines, score))


def plot_timeline(study: Study) -> go.Figure:
    """One bar per trial from its start to its end on its worker's row, coloured by how it
    ended (complete, pruned, failed, running): who ran what, and when."""
    figure = timeline(study.trials)
    if figure is None:
        raise ConfigurationError(
            f"study {study.name!r} has no started trial yet; run some to see a timeline"
        )
    return _plotly(figure)


def plot_training_effort(study: Study) -> go.Figure:
    """One bar per trial: the steps (epochs) it trained, resumes included, coloured by its
    state, with its resumes (freeze-thaw, PBT) and the weights it took (PBT) marked."""
    figure = effort_figure(training_effort(study.trials))
    if figure is None:
        raise ConfigurationError(
            f"study {study.name!r}: no trial reported a step yet (trial.report); run some first"
        )
    return _plotly(figure)


def plot_curve_model_check(study: Study, *, metric: str | None = None) -> go.Figure:
    """The curve model's 80 % intervals against the final values the complete trials
    reached (leave-one-out, as `insight.extrapolation_check`), and the intervals the
    extrapolate scheduler stopped trials on."""
    score = _score(study, metric)
    trials = study.trials
    stopped = stopped_trials(trials, score.metric)
    try:
        check = extrapolation_check(study, metric=score.metric)
    except InsightError:
        if not stopped:
            raise
        check = None
    figure = curve_check_figure(
        score.metric,
        () if check is None else check.trials,
        stopped,
        None if check is None else check.final_step,
    )
    if figure is None:
        raise ConfigurationError(
            f"study {study.name!r}: nothing to check the curve model on; it needs complete "
            "trials or trials stopped by scheduler='extrapolate'"
        )
    return _plotly(figure)


def plot_schedules(study: Study, params: Sequence[str] | None = None) -> go.Figure:
    """The hyperparameter schedules population-based training found: each of `params`
    (default: those PBT may change) against the step, one line per trial through its
    lineage, the best trial in red, log-scale parameters on a log axis."""
    trials = study.trials
    names = schedule_params(study, trials) if params is None else _names(params)
    figure = schedule_figure(trials, names, study.space.to_json(), best_number(study, trials))
    if figure is None:
        raise ConfigurationError(
            f"study {study.name!r} holds no schedule to draw: only trials of a "
            "scheduler='pbt' study that paused at least once have one"
        )
    return _plotly(figure)


def plot_lineage(study: Study) -> go.Figure:
    """Population-based training's lineage: one row per trial across its steps and an
    arrow for each time a trial took another's weights, the best trial's line in red."""
    trials = study.trials
    names = schedule_params(study, trials)
    figure = lineage_figure(trials, names, best_number(study, trials))
    if figure is None:
        raise ConfigurationError(
            f"study {study.name!r} holds no lineage to draw: only trials of a "
            "scheduler='pbt' study that paused at least once have one"
        )
    return _plotly(figure)


def _names(params: Sequence[str] | str) -> list[str]:
    return [params] if isinstance(params, str) else list(params)
