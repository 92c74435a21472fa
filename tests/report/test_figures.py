"""The figures as data: what each plot shows for a study whose answer is known."""

from __future__ import annotations

import math

from tunelab.plot.axes import axis_for, tuned_axes
from tunelab.plot.contour import contour, contour_pairs
from tunelab.plot.curves import learning_curves, reported_metrics
from tunelab.plot.figures import MISSING, history, parallel_coordinates, slices
from tunelab.plot.scores import Score, scores_of
from tunelab.types import Direction, TrialState


def test_history_best_so_far_never_gets_worse(demo_study):
    study = demo_study
    fig = history(study.trials, scores_of(study)[0])
    complete, best = fig["data"][0], fig["data"][1]
    values = [t.value for t in study.trials if t.state is TrialState.COMPLETE]
    assert sorted(complete["y"]) == sorted(values)
    assert best["y"] == [max(complete["y"][: i + 1]) for i in range(len(best["y"]))]
    assert best["y"][-1] == study.best_value
    pruned = [d for d in fig["data"] if d["name"].startswith("pruned")]
    assert len(pruned[0]["x"]) == sum(t.state is TrialState.PRUNED for t in study.trials)


def test_history_minimize_tracks_the_lowest_value(demo_study):
    study = demo_study
    fig = history(study.trials, Score(study.metric, Direction.MINIMIZE))
    best = fig["data"][1]["y"]
    assert best == [min(fig["data"][0]["y"][: i + 1]) for i in range(len(best))]


def test_axes_follow_the_search_space(demo_study):
    study = demo_study
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    axes = {a.name: a for a in tuned_axes(done, study.space.to_json())}
    assert list(axes) == ["learning_rate", "dropout", "optimizer", "num_layers", "units_1"]
    assert axes["learning_rate"].numeric and axes["learning_rate"].log
    assert axes["dropout"].numeric and not axes["dropout"].log
    assert not axes["optimizer"].numeric and axes["optimizer"].categories == ("adam", "sgd")
    # numeric choices spanning decades go on a log axis; a choice of words keeps its order
    assert axis_for("lr", {"type": "choice", "values": [1e-4, 1e-3, 1e-2]}, [1e-4, 1e-2]).log
    words = axis_for("opt", {"type": "choice", "values": ["sgd", "adam"]}, ["adam", "sgd"])
    assert words.categories == ("sgd", "adam")


def test_parallel_coordinates_one_dimension_per_parameter_and_the_metric(demo_study):
    study = demo_study
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    axes = tuned_axes(done, study.space.to_json())
    fig = parallel_coordinates(done, axes, scores_of(study))
    dims = fig["data"][0]["dimensions"]
    assert [d["label"] for d in dims] == [
        "learning_rate (log)",
        "dropout",
        "optimizer",
        "num_layers",
        "units_1",
        "val_accuracy",
    ]
    lr = dims[0]
    assert lr["values"] == [math.log10(t.params["learning_rate"]) for t in done]
    assert all(float(text) > 0 for text in lr["ticktext"])  # labelled in the parameter's units
    assert dims[2]["ticktext"] == ["adam", "sgd"]
    units = dims[4]  # conditional: trials with one layer have no units_1
    without = sum("units_1" not in t.params for t in done)
    assert without > 0 and units["ticktext"][0] == MISSING
    assert units["values"].count(units["tickvals"][0]) == without
    assert dims[-1]["values"] == [t.value for t in done]


def test_slices_put_log_parameters_on_log_axes(demo_study):
    study = demo_study
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    axes = tuned_axes(done, study.space.to_json())
    fig = slices(done, axes, scores_of(study)[0])
    assert len(fig["data"]) == len(axes)
    assert fig["layout"]["xaxis"]["type"] == "log"  # learning_rate
    assert fig["layout"]["xaxis3"]["type"] == "category"  # optimizer
    assert set(fig["data"][2]["x"]) == {"adam", "sgd"}
    assert fig["layout"]["grid"] == {"rows": 2, "columns": 3, "pattern": "independent"}


def test_contour_interpolates_over_numeric_pairs(demo_study):
    study = demo_study
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    axes = tuned_axes(done, study.space.to_json())
    pairs = contour_pairs(axes, ["dropout", "learning_rate"])
    assert (pairs[0][0].name, pairs[0][1].name) == ("dropout", "learning_rate")
    assert all(a.numeric and b.numeric for a, b in pairs)
    lr = next(a for a in axes if a.name == "learning_rate")
    dropout = next(a for a in axes if a.name == "dropout")
    fig = contour(done, lr, dropout, scores_of(study)[0])
    assert fig is not None
    z = fig["data"][0]["z"]
    values = [t.value for t in done]
    flat = [v for row in z for v in row]
    assert all(v is not None for v in flat)
    assert min(values) - 1e-9 <= min(flat) and max(flat) <= max(values) + 1e-9
    assert fig["layout"]["xaxis"]["type"] == "log"
    assert contour(done[:3], lr, dropout, scores_of(study)[0]) is None


def test_learning_curves_group_by_learning_rate_and_mark_pruned(demo_study):
    study = demo_study
    trials = study.trials
    metrics = reported_metrics(trials, study.metric)
    assert metrics[0] == "val_accuracy" and set(metrics[1:3]) == {"train_loss", "val_loss"}
    axes = {a.name: a for a in tuned_axes(trials, study.space.to_json())}
    fig = learning_curves(trials, metrics, axes["learning_rate"])
    assert fig is not None
    shown = [d for d in fig["data"] if d["visible"]]
    with_reports = [t for t in trials if t.intermediate("val_accuracy")]
    assert len(shown) == len(with_reports)
    pruned = [d for d in shown if d["line"]["dash"] == "dot"]
    n_pruned = sum(t.state is TrialState.PRUNED for t in with_reports)
    assert len(pruned) == n_pruned > 0
    assert all(len(d["x"]) == 3 for d in pruned)  # cut short at epoch 2
    # one legend entry per learning-rate group, each group one colour
    legend = [d["name"] for d in shown if d["showlegend"]]
    assert len(legend) == len(set(legend)) == len({d["name"] for d in shown})
    colours = {(d["name"], d["line"]["color"]) for d in shown}
    assert len(colours) == len(legend)
    # the metric menu switches to losses on a log axis
    buttons = fig["layout"]["updatemenus"][0]["buttons"]
    loss = next(b for b in buttons if b["label"] == "train_loss")
    assert loss["args"][1]["yaxis"]["type"] == "log"
    assert sum(loss["args"][0]["visible"]) == len(with_reports)


def test_learning_curves_none_without_reports(make_study):
    study = make_study(0)
    assert learning_curves(study.trials, [], None) is None
