"""tunelab.plot: each function returns a plotly Figure holding what the study says, and
the figure is the one the report draws (the same builder, the same JSON)."""

from __future__ import annotations

import sys

import plotly.graph_objects as go
import pytest

import tunelab
from tunelab import plot as tp
from tunelab.errors import ConfigurationError
from tunelab.insight import effect_tables, importance
from tunelab.report import build_sections
from tunelab.types import TrialState

PARAMS = ["learning_rate", "dropout", "optimizer"]


def _complete(study: tunelab.Study) -> list[tunelab.FrozenTrial]:
    return [t for t in study.trials if t.state is TrialState.COMPLETE]


def _report_figure(study: tunelab.Study, figure_id: str) -> dict:
    for section in build_sections(study):
        for fid, figure in section.figures:
            if fid == figure_id:
                return figure
    raise AssertionError(f"the report has no {figure_id}")


def test_optimization_history_is_the_reports_figure(study) -> None:
    fig = tp.plot_optimization_history(study)
    assert isinstance(fig, go.Figure)
    report = go.Figure(_report_figure(study, "fig-history"))
    assert fig.to_plotly_json() == report.to_plotly_json()
    complete, best = fig.data[0], fig.data[1]
    assert sorted(complete.y) == sorted(t.value for t in _complete(study))
    assert best.y[-1] == study.best_value
    assert fig.layout.yaxis.title.text == "val_accuracy"


def test_target_name_relabels_the_objective(study) -> None:
    fig = tp.plot_optimization_history(study, target_name="accuracy on held-out data")
    assert fig.layout.yaxis.title.text == "accuracy on held-out data"
    assert fig.data[1].y[-1] == study.best_value


def test_parallel_coordinate_is_the_reports_figure(study) -> None:
    fig = tp.plot_parallel_coordinate(study)
    report = go.Figure(_report_figure(study, "fig-parallel"))
    assert fig.to_plotly_json() == report.to_plotly_json()
    labels = [d.label for d in fig.data[0].dimensions]
    assert labels == ["learning_rate (log)", "dropout", "optimizer", "val_accuracy"]
    only = tp.plot_parallel_coordinate(study, params=["dropout"])
    assert [d.label for d in only.data[0].dimensions] == ["dropout", "val_accuracy"]


def test_slice_has_one_panel_per_parameter_on_its_own_scale(study) -> None:
    fig = tp.plot_slice(study)
    assert fig.to_plotly_json() == go.Figure(_report_figure(study, "fig-slice")).to_plotly_json()
    assert [t.name for t in fig.data] == PARAMS
    assert fig.layout.xaxis.type == "log"  # learning_rate was sampled on a log scale
    assert fig.layout.xaxis3.type == "category"
    assert len(fig.data[0].x) == len(_complete(study))
    assert [t.name for t in tp.plot_slice(study, params="dropout").data] == ["dropout"]


def test_contour_of_a_pair(study) -> None:
    fig = tp.plot_contour(study, params=["learning_rate", "dropout"])
    assert [t.type for t in fig.data] == ["contour", "scatter"]
    assert fig.layout.xaxis.type == "log"
    assert fig.layout.xaxis.title.text == "learning_rate"
    assert fig.layout.yaxis.title.text == "dropout"
    default = tp.plot_contour(study)  # the report's first pair: the numeric parameters
    report = go.Figure(_report_figure(study, "fig-contour-0"))
    assert default.to_plotly_json() == report.to_plotly_json()
    assert {default.layout.xaxis.title.text, default.layout.yaxis.title.text} == {
        "learning_rate",
        "dropout",
    }
    with pytest.raises(ConfigurationError, match=r"pass params=\[x, y\]"):
        tp.plot_contour(study, params=["learning_rate"])


def test_param_importances_ranks_learning_rate_first(study) -> None:
    fig = tp.plot_param_importances(study)
    report = go.Figure(_report_figure(study, "fig-importance"))
    assert fig.to_plotly_json() == report.to_plotly_json()
    bars = fig.data[0]
    assert bars.type == "bar" and set(bars.y) == set(PARAMS)
    assert bars.y[-1] == next(iter(importance(study).scores))  # most important on top
    assert bars.y[-1] == "learning_rate"


def test_intermediate_values_one_line_per_trial_grouped_by_a_parameter(study) -> None:
    fig = tp.plot_intermediate_values(study, by="optimizer", metric="val_loss")
    # each trial one line; a group's trials of one state share a trace, split by gaps
    assert sum(list(t.x).count(None) + 1 for t in fig.data) == len(study.trials)
    assert {t.name for t in fig.data} == {"adam", "sgd"}
    assert fig.layout.legend.title.text == "optimizer"
    assert fig.layout.yaxis.type == "log"  # a loss
    pruned = [t for t in fig.data if t.line.dash == "dot"]
    n_pruned = sum(t.state is TrialState.PRUNED for t in study.trials)
    assert sum(list(t.x).count(None) + 1 for t in pruned) == n_pruned
    menu = tp.plot_intermediate_values(study)  # every metric, by the learning rate
    report = go.Figure(_report_figure(study, "fig-curves"))
    assert menu.to_plotly_json() == report.to_plotly_json()
    assert fig.layout.title.text == "Learning curves: val_loss by optimizer"
    assert menu.layout.legend.title.text == "learning_rate"
    assert [b.label for b in menu.layout.updatemenus[0].buttons] == ["val_accuracy", "val_loss"]
    with pytest.raises(ConfigurationError, match="no trial reported 'train_loss'"):
        tp.plot_intermediate_values(study, metric="train_loss")


def test_effects_shows_each_tables_medians_and_bests(study) -> None:
    fig = tp.plot_effects(study)
    tables = effect_tables(study)
    assert len(fig.data) == 2 * len(tables)
    for i, table in enumerate(tables):
        bars, best = fig.data[2 * i], fig.data[2 * i + 1]
        assert list(bars.x) == [r.label for r in table.rows]
        assert list(bars.y) == [r.median for r in table.rows]
        assert list(best.y) == [r.best for r in table.rows]
    assert len(tp.plot_effects(study, params=["optimizer"]).data) == 2


def test_edf_rises_to_one_over_the_sorted_values(study) -> None:
    fig = tp.plot_edf(study)
    line = fig.data[0]
    values = sorted(t.value for t in _complete(study))
    assert list(line.x) == values
    assert line.y[-1] == 1.0 and list(line.y) == sorted(line.y)
    assert len(tp.plot_edf([study, study]).data) == 2


def test_pareto_front_and_hypervolume_of_two_objectives(two_objectives) -> None:
    fig = tp.plot_pareto_front(two_objectives)
    front = fig.data[0]
    assert front.name.startswith("Pareto front")
    assert sorted(front.customdata) == sorted(t.number for t in two_objectives.best_trials)
    assert fig.layout.xaxis.title.text == "accuracy (maximize)"
    history = tp.plot_optimization_history(two_objectives)
    assert history.data[0].name == "hypervolume so far"
    assert list(history.data[0].y) == sorted(history.data[0].y)  # never falls
    assert tp.plot_hypervolume_history(two_objectives).to_plotly_json() == history.to_plotly_json()
    size = tp.plot_optimization_history(two_objectives, metric="size")
    assert size.data[1].y[-1] == min(t.values[1] for t in _complete(two_objectives))


def test_pareto_front_of_one_objective_is_refused_in_one_line(study) -> None:
    with pytest.raises(ConfigurationError) as caught:
        tp.plot_pareto_front(study)
    message = str(caught.value)
    assert "\n" not in message and "one objective" in message and "metrics=[...]" in message


def test_bad_arguments_name_the_choices(study) -> None:
    with pytest.raises(ConfigurationError, match="pass metric= one of: val_accuracy"):
        tp.plot_slice(study, metric="loss")
    with pytest.raises(ConfigurationError, match=r"no parameter 'units'.*learning_rate"):
        tp.plot_slice(study, params=["units"])
    empty = tunelab.create_study("empty", storage=":memory:")
    with pytest.raises(ConfigurationError, match="no complete trial"):
        tp.plot_optimization_history(empty)


def test_without_plotly_the_error_names_the_extra(study, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(ImportError) as caught:
        tp.plot_slice(study)
    assert str(caught.value) == (
        "tunelab.plot needs plotly, which is not installed: pip install 'tunelab[plot]'"
    )


def test_rank_colours_each_trial_by_its_place(study) -> None:
    fig = tp.plot_rank(study)
    trace = fig.data[0]
    assert trace.type == "splom"
    assert [d.label for d in trace.dimensions] == PARAMS
    done = _complete(study)
    colour = dict(zip((t.number for t in done), trace.marker.color, strict=True))
    best = study.best_trial.number
    worst = min(done, key=lambda t: t.value).number
    assert colour[best] == 1.0 and colour[worst] == 0.0
    assert fig.layout.xaxis.type == "log"  # learning_rate
    assert [d.label for d in tp.plot_rank(study, params=["dropout"]).data[0].dimensions] == [
        "dropout"
    ]
