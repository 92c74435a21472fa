"""The report and the dashboard in a real headless Chromium (Debian's package, driven by
Playwright): every plot drawn under their Content-Security-Policy with no console errors
or policy violations, a live trial showing up, and study data that tries to run script
shown as text while the policy blocks any script put into the page."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tunelab
from tunelab.report import write_report
from tunelab.report.dashboard import DashboardApp, make_server
from tunelab.types import TrialState

pytestmark = pytest.mark.slow


# Injected by Playwright before any page script (init scripts are exempt from the policy).
RECORD_VIOLATIONS = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.effectiveDirective + ' ' + (e.blockedURI || '')));"""


def open_page(browser: Any) -> tuple[Any, list[str]]:
    """A page that records console errors and CSP violations (window.__violations)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(RECORD_VIOLATIONS)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def open_report(browser: Any, path: Path) -> tuple[Any, list[str]]:
    """open_page on the report file, once every figure is drawn."""
    page, errors = open_page(browser)
    page.goto(path.as_uri())
    page.evaluate(SCROLL_THROUGH)  # each plot is drawn as it comes near the screen
    page.wait_for_function(
        "() => [...document.querySelectorAll('.fig')].every(d => d.querySelector('svg.main-svg'))"
    )
    return page, errors


SCROLL_THROUGH = """async () => {
  for (const d of document.querySelectorAll('.fig')) {
    d.scrollIntoView();
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  }
  window.scrollTo(0, 0);
}"""


@contextlib.contextmanager
def dashboard(study: tunelab.Study) -> Iterator[str]:
    """A dashboard server over the study's storage, in a thread; yields its URL."""
    store = tunelab.get_storage(study.storage.url, create_schema=False)
    server = make_server(DashboardApp(store), port=0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        store.close()


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
    page, errors = open_report(browser, path)
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
    assert "WebGL is not supported" not in page.text_content("#fig-parallel")  # regl ran
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
    policy = page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content")
    assert "script-src 'sha256-" in policy and "'unsafe-inline'" not in policy.split(";")[1]
    assert page.evaluate("window.__violations") == []
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
        page.wait_for_selector("#fig-parallel .gl-canvas-focus")
        assert "WebGL is not supported" not in page.text_content("#fig-parallel")
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
        assert page.evaluate("window.__violations") == []
        assert errors == []
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


SCRIPT_NAME = "<script>window.__pwned = 'name'</script>"
SCRIPT_VALUE = "<img src=x onerror=\"window.__pwned = 'value'\">"

# What an attacker's markup would do if it reached the DOM: an inline script and an
# inline event handler. The policy must block both, whoever inserted them.
INJECT = """() => {
  const s = document.createElement('script');
  s.textContent = "window.__pwned = 'script'";
  document.body.appendChild(s);
  const d = document.createElement('div');
  d.innerHTML = '<img src="data:," onerror="window.__pwned = \\'handler\\'">';
  document.body.appendChild(d);
}"""


@pytest.fixture
def hostile_study(tmp_path: Path) -> tunelab.Study:
    """A study whose name and one parameter's values are markup that runs script."""
    study = tunelab.create_study(
        f"x{SCRIPT_NAME}", storage=str(tmp_path / "h.db"), sampler="random", seed=3
    )
    for i in range(6):
        trial = study.ask()
        trial.hp.Choice("act", [SCRIPT_VALUE, "relu"])
        lr = trial.hp.Float("lr", 1e-3, 1e-1, sampling="log")
        trial.report(0, val_accuracy=0.3 + lr)
        study.tell(trial, 0.4 + i / 20)
    return study


def assert_nothing_ran_and_injection_is_blocked(page: Any) -> None:
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("window.__violations") == []
    page.evaluate(INJECT)
    assert page.evaluate("window.__pwned") is None  # an allowed inline script runs at once
    page.wait_for_function("() => window.__violations.length >= 2", timeout=10_000)
    assert page.evaluate("window.__pwned") is None
    blocked = page.evaluate("window.__violations")
    assert sorted(v.split()[0] for v in blocked) == ["script-src-attr", "script-src-elem"]


def test_report_shows_hostile_study_data_as_text_and_runs_no_injected_script(
    browser, hostile_study, tmp_path
):
    path = write_report(hostile_study, tmp_path / "report.html")
    page, errors = open_report(browser, path)
    assert SCRIPT_NAME in page.text_content("header.top h1")
    assert SCRIPT_VALUE in page.text_content("#s-trials")
    assert page.locator("#s-trials img").count() == 0
    assert errors == []
    assert_nothing_ran_and_injection_is_blocked(page)


def test_dashboard_shows_hostile_study_data_as_text_and_runs_no_injected_script(
    browser, hostile_study
):
    with dashboard(hostile_study) as url:
        page, errors = open_page(browser)
        page.goto(url)
        page.wait_for_selector("#fig-history svg.main-svg", timeout=60_000)
        assert SCRIPT_NAME in page.text_content("#studies a.active")
        assert SCRIPT_VALUE in page.text_content("#s-trials")
        assert page.locator("#s-trials img").count() == 0
        assert errors == []
        assert_nothing_ran_and_injection_is_blocked(page)
        page.close()


@pytest.mark.parametrize("n_objectives", [2, 3])
def test_report_of_several_objectives_draws_its_front_and_hypervolume(
    browser, make_mo, tmp_path, n_objectives
):
    study = make_mo(n_objectives=n_objectives)
    path = write_report(study, tmp_path / "mo.html")
    page, errors = open_report(browser, path)
    drawn = {d["id"]: d for d in page.eval_on_selector_all(".fig", DRAWN)}
    wanted = {"fig-pareto", "fig-history", "fig-parallel", "fig-importance-0"}
    assert wanted | {f"fig-importance-{n_objectives - 1}", "fig-slice-1"} <= set(drawn)
    assert all(d["plotted"] and d["svg"] > 0 for d in drawn.values()), drawn
    front = [t.number for t in study.best_trials]
    shown = page.evaluate(
        "document.getElementById('fig-pareto').data.map(t => [t.name, t.customdata])"
    )
    assert sorted(next(c for n, c in shown if n.startswith("Pareto front"))) == front
    if n_objectives == 2:  # every trial is a point: front, dominated, infeasible
        assert drawn["fig-pareto"]["points"] == len(study.trials)
    else:  # a 3-D scatter draws with WebGL
        assert drawn["fig-pareto"]["canvas"] > 0
        assert "WebGL is not supported" not in page.text_content("#fig-pareto")
    assert drawn["fig-history"]["lines"] > 0
    assert "Hypervolume of the Pareto front" in page.text_content("#fig-history .gtitle")
    assert "Pareto front" in page.text_content("#s-pareto h2")
    assert page.evaluate("window.__violations") == []
    assert errors == []


def test_dashboard_of_several_objectives_shows_front_and_hypervolume(browser, make_mo):
    study = make_mo(n_objectives=2)
    with dashboard(study) as url:
        page, errors = open_page(browser)
        page.goto(url)
        page.wait_for_selector("#fig-pareto svg.main-svg", timeout=60_000)
        page.wait_for_selector("#fig-history svg.main-svg")
        assert "objectives acc, size" in page.text_content("#studies a.active")
        names = page.evaluate("document.getElementById('fig-history').data.map(t => t.name)")
        assert names[0] == "hypervolume so far"
        front = page.evaluate(
            "document.getElementById('fig-pareto').data.find("
            "t => t.name.startsWith('Pareto front')).customdata"
        )
        assert sorted(front) == [t.number for t in study.best_trials]
        assert page.evaluate("window.__violations") == []
        assert errors == []
        page.close()
