"""One tie-break everywhere: when two trials share the best value, `tunelab run`'s
summary, `show --diagnose`, the report (and so the dashboard, which
serves the report's sections) and `study.best_trial` all name the earlier one."""

from __future__ import annotations

import json
from pathlib import Path

import tunelab
from cli_process import run_tunelab
from tunelab.report.dashboard.app import DashboardApp
from tunelab.report.sections import build_sections

TIED = """
METRIC = "val_accuracy"
DIRECTION = "maximize"
VALUES = [0.5, 0.9, 0.9, 0.3]  # trials #1 and #2 tie for best

def objective(trial):
    x = trial.hp.Float("x", 0.0, 1.0)
    value = VALUES[trial.number]
    for epoch in range(4):
        trial.report(epoch, train_loss=1 / (epoch + 1), val_loss=1.1 / (epoch + 1) + x / 100)
    return value
"""


def test_every_view_names_the_earlier_of_two_tied_trials(tmp_path: Path) -> None:
    (tmp_path / "tied.py").write_text(TIED)
    ran = run_tunelab("run", "tied.py", "--trials", "4", "--no-progress", cwd=tmp_path, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert "best trial #1:" in ran.stdout, ran.stdout
    diagnosed = run_tunelab("show", "tied", "--diagnose", cwd=tmp_path, timeout=120)
    assert diagnosed.returncode == 0, diagnosed.stderr
    assert "trial #1:" in diagnosed.stdout and "trial #2:" not in diagnosed.stdout

    study = tunelab.load_study("tied", str(tmp_path / "tunelab.db"))
    assert study.best_trial.number == 1
    assert study.top_trials(2)[0].number == 1 and study.top_trials(2)[1].number == 2
    best = next(s for s in build_sections(study) if s.id == "best")
    assert "#1<" in best.html and "#2<" not in best.html
    payload = json.loads(DashboardApp(study.storage).study("tied"))
    served = next(s for s in payload["sections"] if s["id"] == "best")
    assert "#1<" in served["html"]
