"""A PAUSED trial as every reader shows it: `tunelab show`, `status` and `studies` (text
and --json), the report's counts and curves; the budget and the lost-trial check leave
it alone. Real SQLite file, commands run in this process through the CLI's `main`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import tunelab
from tunelab.cli.main import main
from tunelab.plot.curves import learning_curves
from tunelab.report.sections import counts
from tunelab.types import TrialState


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Study `ft`: trial 0 COMPLETE, trial 1 PAUSED after two steps (a checkpoint kept)."""
    path = tmp_path / "ft.db"
    study = tunelab.create_study(
        "ft", storage=str(path), metric="acc", direction="maximize", heartbeat_interval=0.05
    )
    for pause in (False, True):
        trial = study.ask()
        x = trial.hp.Float("x", 0.0, 1.0)
        for step in range(2):
            trial.report(step, acc=x * (step + 1) / 2)
        if pause:
            assert study.storage.pause_trial(trial.trial_id, {"checkpoint": "c.pt"})
        else:
            study.tell(trial, x)
    study.close()
    study.storage.close()
    return path


def _cli(db: Path, *args: str) -> str:
    runner = CliRunner()
    with runner.isolation(env={"COLUMNS": "200"}) as streams:
        try:
            main([*args, "--storage", str(db)])
        except SystemExit as e:
            assert not e.code, streams[1].getvalue().decode()
        # the CLI's console may have fixed its width when first imported (another test's
        # COLUMNS): compare words, not line breaks
        return streams[0].getvalue().decode()


def test_the_commands_show_paused_trials(db: Path) -> None:
    assert "0 running, 1 paused)" in " ".join(_cli(db, "show", "ft").split())
    assert "1 paused: #1 at step 1" in _cli(db, "status", "ft")
    table = _cli(db, "studies")
    assert "paused" in table.split("\n", 3)[2]  # a column of its own
    studies: Any = json.loads(_cli(db, "studies", "--json"))
    assert studies["studies"][0]["states"]["PAUSED"] == 1
    shown: Any = json.loads(_cli(db, "show", "ft", "--json"))
    assert [t["state"] for t in shown["trials"]] == ["COMPLETE", "PAUSED"]
    status: Any = json.loads(_cli(db, "status", "ft", "--json"))
    assert status["states"]["PAUSED"] == 1 and status["running"] == []
    assert status["paused"] == [
        {"number": 1, "last_step": 1, "worker": status["paused"][0]["worker"]}
    ]


def test_the_report_counts_and_dashes_paused_curves(db: Path) -> None:
    study = tunelab.load_study("ft", str(db))
    trials = study.trials
    assert counts(trials)["paused"] == 1 and counts(trials)["running"] == 0
    figure = learning_curves(trials, ["acc"], None)
    assert figure is not None
    dashes = [line["line"]["dash"] for line in figure["data"]]
    assert sorted(dashes) == ["dash", "solid"]


def test_a_paused_trial_is_never_lost_and_counts_once(db: Path) -> None:
    study = tunelab.load_study("ft", str(db))
    time.sleep(0.3)  # several heartbeat intervals: a RUNNING trial would be lost now
    assert study.fail_lost_trials(force=True) == []
    assert study.trials[1].state is TrialState.PAUSED
    ran: list[int] = []
    study.optimize(lambda t: ran.append(t.number) or t.hp.Float("x", 0.0, 1.0), n_trials=3)
    assert ran == [2]  # the paused trial holds its place in the budget
    study.storage.close()
