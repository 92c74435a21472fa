"""Studies of several objectives in the report: the Pareto plot's data (its highlighted
trials are exactly study.best_trials, infeasible ones never among them), the hypervolume
history (non-decreasing, hand-computed on a small case, equal to the front's
hypervolume at the end), per-objective sections, and a Pareto plot asked of a
single-objective study refused in one line with nothing stored changed."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from tunelab._pareto import default_reference_point, hypervolume
from tunelab.errors import ConfigurationError
from tunelab.plot.pareto import hypervolume_plot
from tunelab.plot.scores import scores_of
from tunelab.report import build_sections, pareto_figure
from tunelab.study.front import minimized, rankable


def _trace(fig: dict, prefix: str) -> dict:
    (found,) = [d for d in fig["data"] if d["name"].startswith(prefix)]
    return found


def test_two_objectives_highlight_exactly_the_feasible_front(make_mo) -> None:
    study = make_mo()
    fig = pareto_figure(study)
    front, dominated = _trace(fig, "Pareto front"), _trace(fig, "dominated")
    infeasible = _trace(fig, "infeasible")
    assert sorted(front["customdata"]) == [t.number for t in study.best_trials] == [0, 1, 4, 6, 7]
    assert sorted(infeasible["customdata"]) == [5, 8]  # the study's size bound, own constraint
    assert sorted(dominated["customdata"]) == [2, 3]
    assert infeasible["marker"]["symbol"] == "x" and dominated["marker"]["opacity"] < 1
    assert all(d["type"] == "scatter" for d in fig["data"])
    # the front's line runs along the first objective, best (highest accuracy) first
    assert front["x"] == [0.99, 0.95, 0.90, 0.90, 0.80]
    assert front["y"] == [3000.0, 1000.0, 500.0, 500.0, 100.0]
    # hover: trial number, every objective, the parameters; constraints for infeasible ones
    first = study.trials[front["customdata"][0]]
    text = front["text"][0]
    assert f"trial #{first.number}" in text and "acc = 0.99" in text and "size = 3000" in text
    assert all(f"{name} = " in text for name in first.params)
    assert "constraint memory = 1" in infeasible["text"][infeasible["customdata"].index(8)]
    assert fig["layout"]["xaxis"]["title"]["text"] == "acc (maximize)"


def test_three_objectives_draw_a_3d_scatter_with_the_same_rule(make_mo) -> None:
    study = make_mo(n_objectives=3)
    fig = pareto_figure(study)
    assert {d["type"] for d in fig["data"]} == {"scatter3d"}
    front = _trace(fig, "Pareto front")
    assert sorted(front["customdata"]) == [t.number for t in study.best_trials]
    assert 8 not in front["customdata"] and 5 not in front["customdata"]
    assert 3 in front["customdata"]  # dominated in two objectives, not once latency counts
    assert fig["layout"]["scene"]["zaxis"]["title"]["text"] == "latency"


def test_four_objectives_draw_a_scatter_matrix(tmp_path: Path) -> None:
    import tunelab

    study = tunelab.create_study(
        "four", storage=str(tmp_path / "m4.db"), metrics=["a", "b", "c", "d"],
        directions=["min"] * 4, sampler="random", seed=1,
    )  # fmt: skip
    for i, point in enumerate([(1, 2, 3, 4), (4, 3, 2, 1), (5, 5, 5, 5)]):
        trial = study.ask()
        trial.hp.Float("x", 0.0, 1.0)
        study.tell(trial, point if i else dict(zip("abcd", point, strict=True)))
    fig = pareto_figure(study)
    assert {d["type"] for d in fig["data"]} == {"splom"}
    assert sorted(_trace(fig, "Pareto front")["customdata"]) == [0, 1]
    assert [d["label"] for d in fig["data"][0]["dimensions"]] == ["a", "b", "c", "d"]


def test_hypervolume_history_hand_computed(make_mo) -> None:
    # maximize acc, minimize size: (0.90, 500) then (0.95, 1000). Negated, the front is
    # (-0.90, 500), (-0.95, 1000); the reference is its nadir (-0.90, 1000) plus 10% of its
    # range (0.05, 500): (-0.895, 1050). After the first trial: 0.005 * 550 = 2.75; after
    # both: 2.75 + 0.05 * 50 = 5.25.
    study = make_mo(points=[(0.90, 500.0, 1.0), (0.95, 1000.0, 1.0)])
    fig = hypervolume_plot(study.trials, scores_of(study))
    line = fig["data"][0]
    assert line["x"] == [0, 1]
    assert line["y"] == pytest.approx([2.75, 5.25])
    assert "acc = 0.895, size = 1050" in fig["layout"]["title"]["text"]


@pytest.mark.parametrize("n_objectives", [2, 3])
def test_hypervolume_history_never_falls_and_ends_at_the_fronts(make_mo, n_objectives: int) -> None:
    study = make_mo(n_objectives=n_objectives)
    fig = hypervolume_plot(study.trials, scores_of(study))
    line, grew = fig["data"]
    volumes = line["y"]
    assert line["x"] == [0, 1, 2, 3, 4, 6, 7]  # the feasible complete trials, in order
    assert all(b >= a for a, b in pairwise(volumes))
    assert volumes[0] > 0
    feasible = minimized(rankable(study.trials, len(study.objectives)), study.objectives)
    front = minimized(study.best_trials, study.objectives)
    assert volumes[-1] == pytest.approx(hypervolume(front, default_reference_point(feasible)))
    # the marked trials are those that made the volume grow: the copy (6) adds nothing
    assert 6 not in grew["x"] and set(grew["x"]) <= {0, 1, 2, 3, 4, 7}


def test_sections_of_a_study_of_two_objectives(make_mo) -> None:
    study = make_mo()
    sections = {s.id: s for s in build_sections(study)}
    assert "best" not in sections  # no single best trial
    assert {"pareto", "history", "effects-0", "effects-1", "importance-0", "importance-1"} <= set(
        sections
    )
    assert sections["effects-1"].title == "Effect of each hyperparameter on size"
    assert (
        "best size" in sections["effects-1"].html
        and "size (minimize)" in sections["effects-1"].html
    )
    assert sections["importance-0"].title == "Hyperparameter importance for acc"
    assert (
        dict(sections["importance-1"].figures)["fig-importance-1"]["layout"]["title"]["text"]
        == "Importance for size"
    )
    assert dict(sections["history"].figures)["fig-history"]["data"][0]["name"] == (
        "hypervolume so far"
    )
    assert "reference point" in sections["history"].html
    slices = dict(sections["slice"].figures)
    assert set(slices) == {"fig-slice-0", "fig-slice-1"}
    assert slices["fig-slice-1"]["layout"]["yaxis"]["title"]["text"] == "size"
    parallel = dict(sections["parallel"].figures)["fig-parallel"]["data"][0]
    assert [d["label"] for d in parallel["dimensions"]][-2:] == ["acc", "size"]
    assert "(infeasible)" in sections["trials"].html and ">size<" in sections["trials"].html
    assert sections["pareto"].title == "Pareto front (5 trials)"
    overview = sections["overview"].html
    assert "acc (maximize), size (minimize)" in overview and "size &lt;= 4000" in overview


def test_a_pareto_plot_of_one_objective_is_refused_in_one_line(demo_study) -> None:
    before = [(t.trial_id, t.state, t.values, dict(t.system_attrs)) for t in demo_study.trials]
    settings = dict(demo_study.storage.get_study(demo_study.name).settings)
    with pytest.raises(ConfigurationError) as caught:
        pareto_figure(demo_study)
    message = str(caught.value)
    assert "\n" not in message
    assert "one objective (val_accuracy)" in message and "metrics=[...]" in message
    after = [(t.trial_id, t.state, t.values, dict(t.system_attrs)) for t in demo_study.trials]
    assert after == before
    assert dict(demo_study.storage.get_study(demo_study.name).settings) == settings


def test_a_study_with_no_feasible_trial_says_so(make_mo) -> None:
    study = make_mo(points=[(0.9, 9000.0, 1.0)])
    sections = {s.id: s for s in build_sections(study)}
    assert "no feasible complete trial yet" in sections["pareto"].html
