"""The report and the dashboard in a real headless Chromium (Debian's package, driven by
Playwright): every plot drawn, no console errors, and a live trial showing up."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tunelab.report import write_report
from tunelab.types import TrialState

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium (scripts/dev-env.sh)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


def open_page(browser: Any) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


DRAWN = """divs => divs.map(d => ({
  id: d.id,
  plotted: d.classList.contains('js-plotly-plot'),
  svg: d.querySelectorAll('svg.main-svg').length,
  canvas: d.querySelectorAll('canvas').length,
  points: d.querySelectorAll('.scatterlayer .point').length,
  lines: d.querySelectorAll('.scatterlayer .trace path.js-line').length,
  bars: d.querySelectorAll('.barlayer .point').length,
  contours: d.querySelectorAll('.contourlayer path').length,
}))"""


def test_report_draws_every_plot_without_console_errors(browser, demo_study, tmp_path):
    path = write_report(demo_study, tmp_path / "report.html")
    page, errors = open_page(browser)
    page.goto(path.as_uri())
    page.wait_for_function(
        "() => [...document.querySelectorAll('.fig')].every(d => d.querySelector('svg.main-svg'))"
    )
    drawn = {d["id"]: d for d in page.eval_on_selector_all(".fig", DRAWN)}
    assert {"fig-history", "fig-curves", "fig-importance", "fig-parallel", "fig-slice"} <= set(
        drawn
    )
    assert all(d["plotted"] and d["svg"] > 0 for d in drawn.values()), drawn
    scored = [t for t in demo_study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert drawn["fig-history"]["points"] == len(scored)
    assert drawn["fig-curves"]["lines"] > 0
    assert drawn["fig-importance"]["bars"] > 0
    assert drawn["fig-parallel"]["canvas"] > 0  # parcoords draws its lines with WebGL
    assert drawn["fig-slice"]["points"] > 0
    contours = [d for k, d in drawn.items() if k.startswith("fig-contour")]
    assert contours and all(d["contours"] > 0 for d in contours)
    # the learning-curve menu switches to the training loss, on a log axis
    page.click("#fig-curves .updatemenu-header-group")
    page.locator("#fig-curves .updatemenu-dropdown-button", has_text="train_loss").click()
    page.wait_for_function(
        "() => document.querySelector('#fig-curves .ytitle').textContent === 'train_loss'"
    )
    assert page.evaluate("document.getElementById('fig-curves').layout.yaxis.type") == "log"
    assert errors == []


def test_dashboard_shows_a_trial_that_completes_while_the_page_is_open(
    browser, make_study, add_trial
):
    study = make_study(3)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tunelab",
            "dashboard",
            "--storage",
            study.storage.url,
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "http://127.0.0.1:" in line, (line, proc.stderr.read() if proc.poll() else "")
        url = line.split(" on ", 1)[1].split()[0]
        page, errors = open_page(browser)
        page.goto(url)
        page.wait_for_selector("#fig-history svg.main-svg", timeout=60_000)
        assert page.text_content("#s-trials h2") == "All trials (3)"
        assert page.text_content("#studies a.active").startswith("demo3 trials")

        trial = study.ask()  # written from outside while the page is open
        trial.hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        trial.report(0, val_accuracy=0.3, train_loss=1.5, val_loss=1.6)
        study.tell(trial, {"val_accuracy": 0.4242})

        page.wait_for_function(
            "() => document.querySelector('#s-trials h2').textContent === 'All trials (4)'",
            timeout=30_000,
        )
        assert "0.4242" in page.text_content("#s-trials")
        page.wait_for_function(
            "() => document.querySelector('#studies a.active').textContent.includes('4 trials')"
        )
        history = page.evaluate("document.getElementById('fig-history').data[0].y")
        assert 0.4242 in history
        assert errors == []
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
