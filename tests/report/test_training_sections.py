"""The report's sections on how the epochs were spent, on real studies in SQLite files
(tests/training_studies.py): steps per trial with pauses and resumes (freeze-thaw), the
curve model's predictions against the truth (extrapolate), PBT's schedules and lineage;
each only when the study has such data. The notebook functions return the same figures."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest

import tunelab
from training_studies import extrapolate_study, freeze_thaw_study, pbt_study
from tunelab import plot as tp
from tunelab.errors import ConfigurationError
from tunelab.insight import extrapolation_check
from tunelab.report import build_sections, render_report
from tunelab.study import found_schedule
from tunelab.types import TrialState

TRAINING = {"effort", "curve-model", "schedules", "lineage"}
RED = "#d62728"


@pytest.fixture(scope="module")
def pbt(tmp_path_factory: pytest.TempPathFactory) -> tunelab.Study:
    study = pbt_study(tmp_path_factory.mktemp("pbt"))
    return tunelab.load_study(study.name, study.storage.url)  # read back from the file


@pytest.fixture(scope="module")
def ft(tmp_path_factory: pytest.TempPathFactory) -> tunelab.Study:
    study = freeze_thaw_study(tmp_path_factory.mktemp("ft"))
    return tunelab.load_study(study.name, study.storage.url)


@pytest.fixture(scope="module")
def ex(tmp_path_factory: pytest.TempPathFactory) -> tunelab.Study:
    study = extrapolate_study(tmp_path_factory.mktemp("ex"))
    return tunelab.load_study(study.name, study.storage.url)


def sections(study: tunelab.Study) -> dict[str, Any]:
    return {s.id: s for s in build_sections(study)}


def figure(study: tunelab.Study, section: str) -> dict[str, Any]:
    (only,) = sections(study)[section].figures
    return only[1]


def exploits_stored(study: tunelab.Study) -> list[tuple[int, int, int]]:
    """(child, parent, step) read straight from the trials' stored schedules."""
    return [
        (t.number, entry["parent"], entry["step"])
        for t in study.trials
        for entry in t.system_attrs.get("schedule", [])
        if entry["parent"] is not None
    ]


def test_sections_appear_only_with_their_data(pbt, ft, ex, tmp_path: Path) -> None:
    plain = tunelab.create_study("plain", storage=str(tmp_path / "p.db"), metric="acc")
    for x in (0.2, 0.5):
        plain.enqueue({"x": x})

    def objective(trial: tunelab.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        for step in range(3):
            trial.report(step, acc=x * step)
        return x

    plain.optimize(objective, n_trials=2)
    assert TRAINING.isdisjoint(sections(plain))
    assert TRAINING & set(sections(ft)) == {"effort"}
    assert TRAINING & set(sections(ex)) == {"curve-model"}
    assert TRAINING & set(sections(pbt)) == {"effort", "schedules", "lineage"}
    html = render_report(pbt)
    assert 'id="fig-lineage"' in html and 'id="fig-schedules"' in html


def test_the_effort_figure_counts_each_trials_steps_and_resumes(ft) -> None:
    trials = ft.trials
    assert {t.state for t in trials} == {TrialState.COMPLETE, TrialState.PAUSED}
    bars = {
        x: (y, text, trace["name"])
        for trace in figure(ft, "effort")["data"]
        for x, y, text in zip(trace["x"], trace["y"], trace["text"], strict=True)
    }
    for t in trials:
        resumes = t.system_attrs.get("resumes", 0)
        assert bars[t.number][0] == t.last_step + 1 == len(t.reports)
        assert bars[t.number][1] == (f"↻{resumes}" if resumes else "")
        assert bars[t.number][2] == t.state.value.lower()
    paused = sum(t.state is TrialState.PAUSED for t in trials)
    resumes = sum(t.system_attrs.get("resumes", 0) for t in trials)
    note = sections(ft)["effort"].html
    assert f"resumed {resumes} times, {paused} paused now" in note
    assert f"{sum(len(t.reports) for t in trials)} steps trained" in note


def test_the_curve_model_section_shows_how_often_the_model_was_wrong(ex) -> None:
    check = extrapolation_check(ex)
    stopped = [t.number for t in ex.trials if t.system_attrs.get("pruned_by") == "extrapolate"]
    assert stopped and check.trials
    section = sections(ex)["curve-model"]
    wrong = check.checked - check.covered
    assert f"stopped {len(stopped)} of {len(ex.trials)} trials" in section.html
    assert f"for {wrong} of {check.checked} complete trials" in section.html
    traces = {t["name"]: t for t in figure(ex, "curve-model")["data"]}
    inside = traces.get("complete: final, inside", {"x": []})["x"]
    outside = traces.get("complete: final, outside", {"x": []})["x"]
    assert len(inside) == check.covered and len(outside) == wrong
    by_number = {t.number: t for t in ex.trials}
    for c in check.trials:  # each complete trial: its interval and where it really ended
        assert c.low <= c.predicted <= c.high
        assert c.actual == by_number[c.number].value
        assert (f"#{c.number}" in inside) == (c.low <= c.actual <= c.high)
    assert traces["stopped: value when stopped"]["x"] == [f"#{n}" for n in stopped]
    assert traces["stopped: value when stopped"]["y"] == [
        by_number[n].reports[-1].metrics["acc"] for n in stopped
    ]
    assert go.Figure(figure(ex, "curve-model")) == tp.plot_curve_model_check(ex)


def test_the_lineage_draws_an_arrow_from_each_parent_at_its_exploit_step(pbt) -> None:
    stored = exploits_stored(pbt)
    assert len(stored) >= 2  # the two slow trials took a fast one's weights
    lineage = figure(pbt, "lineage")
    arrows = {(a["y"], a["ay"], a["x"], a["ax"]) for a in lineage["layout"]["annotations"]}
    assert arrows == {(child, parent, step, step - 1) for child, parent, step in stored}
    # the best trial's weights: red stretches over the rows they came through
    best = pbt.best_trial.number
    path = found_schedule(pbt.trials, best)
    red = [(d["y"][0], d["x"][0]) for d in lineage["data"] if d.get("line", {}).get("color") == RED]
    assert red == [(e["trial"], e["step"]) for e in path]
    red_arrows = {
        (a["y"], a["ay"], a["x"])
        for a in lineage["layout"]["annotations"]
        if a["arrowcolor"] == RED
    }
    assert red_arrows == {
        (e["trial"], before["trial"], e["step"]) for before, e in itertools.pairwise(path)
    }
    assert go.Figure(lineage) == tp.plot_lineage(pbt)


def test_the_schedules_figure_draws_each_trials_values_by_step_best_in_red(pbt) -> None:
    schedules = figure(pbt, "schedules")
    assert schedules["layout"]["yaxis"]["type"] == "log"  # lr is sampled on a log scale
    best = pbt.best_trial
    (red,) = [d for d in schedules["data"] if d["line"]["color"] == RED]
    path = found_schedule(pbt.trials, best.number)
    assert red["x"] == [e["step"] for e in path] + [best.last_step]
    assert red["y"] == [e["params"]["lr"] for e in path] + [path[-1]["params"]["lr"]]
    assert red["y"][-1] == best.params["lr"]
    assert len(schedules["data"]) == len(pbt.trials)
    section = sections(pbt)["schedules"]
    assert f"Best trial #{best.number}</b> trained with: lr " in section.html
    assert f"tunelab replay {pbt.name} --trial {best.number}" in section.html
    assert go.Figure(schedules) == tp.plot_schedules(pbt)


def test_the_notebook_functions_refuse_a_study_without_such_data(ft) -> None:
    with pytest.raises(ConfigurationError, match=r"no schedule to draw.*scheduler='pbt'"):
        tp.plot_schedules(ft)
    with pytest.raises(ConfigurationError, match="no lineage to draw"):
        tp.plot_lineage(ft)
    assert isinstance(tp.plot_training_effort(ft), go.Figure)
