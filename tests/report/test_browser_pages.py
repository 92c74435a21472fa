"""The report's trial table, colour scales and metric menu, and the dashboard's trial
pages and extra plots, in a real headless Chromium: elements present, behaviour as a
user clicks, no console errors or policy violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_browser import DRAWN, dashboard, open_page, open_report

import tunelab
from tunelab.report import write_report
from tunelab.types import TrialState

pytestmark = pytest.mark.slow

COLUMN = """([table, col]) => [...document.querySelectorAll(table + ' tbody tr')]
  .map(r => r.cells[col].textContent.trim())"""

# What the learning-curve figure shows: the menu's header text, the y-axis title and the
# metric named in the hover template of every visible line.
CURVES_STATE = """id => {
  const d = document.getElementById(id);
  const header = d.querySelector('.updatemenu-header .updatemenu-item-text');
  const plotted = [...new Set(d.data.filter(t => t.visible !== false && t.hovertemplate)
    .map(t => t.hovertemplate.match(/<br>([^<]*) = %\\{y/)[1]))];
  return {menu: header ? header.textContent : null, axis: d.layout.yaxis.title.text, plotted};
}"""


def fixed_study(path: Path, name: str = "fixed") -> tunelab.Study:
    """12 trials with a fixed batch size, a log learning rate and curves; #5 fails."""
    study = tunelab.create_study(
        name, storage=str(path), metric="val_loss", direction="minimize", sampler="random", seed=3
    )
    for number in range(12):
        trial = study.ask()
        lr = trial.hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        trial.hp.Fixed("batch_size", 32)
        trial.hp.Choice("optimizer", ["adam", "sgd"])
        if number == 5:
            study.tell(trial, state=TrialState.FAIL, reason="ValueError: boom")
            continue
        for epoch in range(4):
            trial.report(epoch, val_loss=1.0 / (epoch + 1) + lr, train_loss=0.9 / (epoch + 1))
        study.tell(trial, {"val_loss": 1.0 / 4 + lr})
    return study


def header_index(page: Any, table: str, text: str) -> int:
    heads = page.eval_on_selector_all(f"{table} thead th", "hs => hs.map(h => h.textContent)")
    return heads.index(text)


def test_report_trial_table_sorts_numbers_with_missing_last_and_lists_fixed_settings(
    browser, tmp_path
):
    study = fixed_study(tmp_path / "t.db")
    page, errors = open_report(browser, write_report(study, tmp_path / "r.html"))
    table = "#s-trials table.sortable"
    heads = page.eval_on_selector_all(f"{table} thead th", "hs => hs.map(h => h.textContent)")
    assert "batch_size" not in heads and "learning_rate" in heads
    assert "batch_size = 32" in page.text_content("#s-trials p.fixed")
    assert "batch_size = 32" in page.text_content("#s-best p.fixed")
    assert "batch_size" not in page.text_content("#s-best table")
    # numbers sort as numbers (10 after 9), the failed trial's empty value stays last
    number = header_index(page, table, "#")
    page.click(f"{table} thead th >> nth={number}")
    assert page.evaluate(COLUMN, [table, number]) == [str(i) for i in range(12)]
    col = header_index(page, table, "val_loss")
    page.click(f"{table} thead th >> nth={col}")
    up = page.evaluate(COLUMN, [table, col])
    page.click(f"{table} thead th >> nth={col}")
    down = page.evaluate(COLUMN, [table, col])
    values = sorted(float(t.value) for t in study.trials if t.value is not None)
    assert [float(v) for v in up[:-1]] == pytest.approx(values, rel=1e-3) and up[-1] == "-"
    assert [float(v) for v in down[:-1]] == pytest.approx(values[::-1], rel=1e-3)
    assert down[-1] == "-"  # missing: last either way
    assert page.get_attribute(f"{table} thead th >> nth={col}", "aria-sort") == "descending"
    assert errors == [] and page.evaluate("window.__violations") == []


def test_report_curves_show_a_colour_bar_and_the_menu_names_the_plotted_metric(browser, tmp_path):
    study = fixed_study(tmp_path / "t.db")
    page, errors = open_report(browser, write_report(study, tmp_path / "r.html"))
    assert page.locator("#fig-curves .colorbar").count() == 1
    assert "learning_rate" in page.text_content("#fig-curves .colorbar")
    assert "val_loss" in page.text_content("#fig-parallel .colorbar")
    page.click("#fig-parallel .updatemenu-header-group")
    page.locator("#fig-parallel .updatemenu-dropdown-button", has_text="learning_rate").click()
    page.wait_for_function(
        "() => document.querySelector('#fig-parallel .colorbar').textContent"
        ".includes('learning_rate (log)')"
    )
    first = page.evaluate(CURVES_STATE, "fig-curves")
    assert first == {"menu": "val_loss", "axis": "val_loss", "plotted": ["val_loss"]}
    page.click("#fig-curves .updatemenu-header-group")
    page.locator("#fig-curves .updatemenu-dropdown-button", has_text="train_loss").click()
    page.wait_for_function(
        "() => document.querySelector('#fig-curves .ytitle').textContent === 'train_loss'"
    )
    after = page.evaluate(CURVES_STATE, "fig-curves")
    assert after == {"menu": "train_loss", "axis": "train_loss", "plotted": ["train_loss"]}
    assert errors == []


def test_dashboard_keeps_the_picked_metric_in_menu_and_plot_when_trials_arrive(
    browser, make_study, add_trial
):
    study = make_study(6)
    with dashboard(study) as url:
        page, errors = open_page(browser)
        page.goto(url + "#study=demo")
        page.wait_for_selector("#fig-curves svg.main-svg")
        page.click("#fig-curves .updatemenu-header-group")
        page.locator("#fig-curves .updatemenu-dropdown-button", has_text="val_loss").click()
        page.wait_for_function(
            "() => document.querySelector('#fig-curves .ytitle').textContent === 'val_loss'"
        )
        add_trial(study, 6)
        page.wait_for_function(
            "() => document.querySelector('#s-trials h2').textContent === 'All trials (7)'"
        )
        page.wait_for_timeout(300)  # the curves redraw in the same pass
        state = page.evaluate(CURVES_STATE, "fig-curves")
        assert state == {"menu": "val_loss", "axis": "val_loss", "plotted": ["val_loss"]}
        assert errors == []


def test_dashboard_draws_distribution_timeline_and_rank_plots(browser, make_study):
    study = make_study(10)
    with dashboard(study) as url:
        page, errors = open_page(browser)
        page.goto(url + "#study=demo")
        page.wait_for_selector("#fig-rank-0 svg.main-svg")
        drawn = {d["id"]: d for d in page.eval_on_selector_all(".fig", DRAWN)}
        assert drawn["fig-edf-0"]["lines"] == 1
        started = [t for t in study.trials if t.datetime_start is not None]
        assert drawn["fig-timeline"]["bars"] == len(started)
        complete = [t for t in study.trials if t.state is TrialState.COMPLETE]
        rank = page.evaluate("document.getElementById('fig-rank-0').data[0]")
        assert rank["type"] == "splom" and drawn["fig-rank-0"]["canvas"] > 0  # WebGL
        assert len(rank["marker"]["color"]) == len(complete) > 0
        legend = page.text_content("#fig-timeline .legend")
        assert "complete" in legend and "fail" in legend and "pruned" in legend
        assert errors == [] and page.evaluate("window.__violations") == []


def test_dashboard_trial_page_of_a_study_named_with_a_slash(browser, tmp_path):
    study = fixed_study(tmp_path / "t.db", name="study/seeds")
    with dashboard(study) as url:
        page, errors = open_page(browser)
        page.goto(url)
        page.click('#studies a[data-study="study/seeds"]')
        page.wait_for_selector("#s-trials a.trial-link")
        page.click("#s-trials a.trial-link >> text='5'")
        page.wait_for_function("() => document.querySelector('#s-trial h2')")
        assert page.evaluate("location.hash") == "#study=study%2Fseeds&trial=5"
        assert page.text_content("#s-trial h2") == "Trial #5"
        facts = page.text_content("#s-trial dl")
        assert "fail" in facts and "ValueError: boom" in facts and "worker" in facts
        page.click("#s-trial a.back")
        page.click("#s-trials a.trial-link >> text='3'")
        page.wait_for_selector("#fig-trial-curves svg.main-svg")
        assert page.text_content("#s-trial h2") == "Trial #3"
        values = page.text_content("#s-trial-values")
        assert "batch_size = 32" in page.text_content("#s-trial-values p.fixed")
        assert "tuned hyperparameter" in values and "learning_rate" in values
        lines = page.eval_on_selector_all("#fig-trial-curves", DRAWN)[0]["lines"]
        assert lines == 1  # one metric shown at a time
        assert errors == [] and page.evaluate("window.__violations") == []
