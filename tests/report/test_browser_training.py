"""The report's freeze-thaw, curve-model and PBT figures in a real headless Chromium:
drawn under the report's Content-Security-Policy with no console error, the lineage with
one arrow per exploit stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_browser import DRAWN, open_report

from training_studies import extrapolate_study, pbt_study
from tunelab.report import write_report

pytestmark = pytest.mark.slow


def test_report_draws_the_pbt_and_curve_model_figures(browser, tmp_path: Path) -> None:
    pbt = pbt_study(tmp_path / "pbt")
    exploits = sum(
        e["parent"] is not None for t in pbt.trials for e in t.system_attrs.get("schedule", [])
    )
    page, errors = open_report(browser, write_report(pbt, tmp_path / "pbt.html"))
    drawn = {d["id"]: d for d in page.eval_on_selector_all(".fig", DRAWN)}
    assert drawn["fig-effort"]["bars"] == len(pbt.trials)
    assert drawn["fig-schedules"]["lines"] == len(pbt.trials)
    assert drawn["fig-lineage"]["lines"] >= len(pbt.trials)
    arrows = page.locator("#fig-lineage g.annotation-arrow-g").count()
    assert exploits >= 2 and arrows == exploits
    assert page.evaluate("window.__violations") == [] and errors == []

    ex = extrapolate_study(tmp_path / "ex")
    page, errors = open_report(browser, write_report(ex, tmp_path / "ex.html"))
    drawn = {d["id"]: d for d in page.eval_on_selector_all(".fig", DRAWN)}
    assert drawn["fig-curve-model"]["points"] >= len(ex.trials)
    assert page.evaluate("window.__violations") == [] and errors == []
