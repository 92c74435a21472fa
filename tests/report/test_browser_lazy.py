"""The report keeps plotly.js inert until a plot nears the screen: the first screen shows
without it, plots far down wait with a placeholder and appear once scrolled to, and
running plotly.js that way breaks neither the Content-Security-Policy nor the console."""

from __future__ import annotations

from typing import Any

import pytest
from test_browser import RECORD_VIOLATIONS

from tunelab.report import write_report

pytestmark = pytest.mark.slow

PLACEHOLDER = "id => getComputedStyle(document.getElementById(id), '::before').content"
DRAWN = "id => document.getElementById(id).querySelector('svg.main-svg') !== null"
FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def test_report_runs_plotly_only_when_a_plot_nears_the_screen(browser, demo_study, tmp_path):
    path = write_report(demo_study, tmp_path / "report.html")
    # A short window: the first plot starts more than a screen and the 400 px margin
    # below the top, so nothing needs plotly.js at first.
    page: Any = browser.new_page(viewport={"width": 1280, "height": 120})
    page.add_init_script(RECORD_VIOLATIONS)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.evaluate(FRAMES)
    figures = page.evaluate("[...document.querySelectorAll('.fig')].map(d => d.id)")
    first_top = page.evaluate(f"document.getElementById('{figures[0]}').offsetTop")
    assert first_top > 120 + 400, "the window must leave the first plot off the screen"
    assert page.evaluate("typeof window.Plotly") == "undefined"
    assert page.evaluate("document.getElementById('tunelab-plotly').type") == "text/plain"
    last = figures[-1]
    assert not page.evaluate(DRAWN, last)
    assert "drawing the plot" in page.evaluate(PLACEHOLDER, last)
    assert page.locator("h2").first.is_visible()  # the first screen is there already

    page.locator(f"#{last}").scroll_into_view_if_needed()
    page.wait_for_function(DRAWN, arg=last)
    assert page.evaluate("typeof window.Plotly.newPlot") == "function"
    assert page.evaluate(PLACEHOLDER, last) == "none"
    assert page.evaluate("document.getElementById('tunelab-plotly')") is None  # ran once
    assert not page.evaluate(DRAWN, figures[0])  # plots between stay undrawn until seen
    page.evaluate(f"document.getElementById('{figures[0]}').scrollIntoView()")
    page.wait_for_function(DRAWN, arg=figures[0])
    assert page.evaluate("window.__violations") == []
    assert errors == []
    page.close()


def test_printing_the_report_draws_every_plot_first(browser, demo_study, tmp_path):
    path = write_report(demo_study, tmp_path / "report.html")
    page: Any = browser.new_page(viewport={"width": 1280, "height": 120})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.evaluate(FRAMES)
    assert page.evaluate("typeof window.Plotly") == "undefined"
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    drawn = page.evaluate(
        "[...document.querySelectorAll('.fig')].every(d => d.querySelector('svg.main-svg'))"
    )
    assert drawn, "beforeprint must draw every plot at once, plotly.js included"
    assert errors == []
    page.close()
