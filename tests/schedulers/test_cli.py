"""`tunelab run --scheduler` and the pruning table of `tunelab show`, as a real subprocess."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

import tunelab
from cli_process import run_tunelab
from tunelab.types import TrialState

SCRIPT = """
import math
from tunelab.errors import TrialPruned

METRIC = "loss"
DIRECTION = "minimize"

def objective(trial):
    x = trial.hp.Float("x", 0.0, 1.0)
    for step in range(9):
        trial.report(step, loss=x + math.exp(-(step + 1) / 3))
        if trial.should_prune():
            raise TrialPruned("pruned")
    return x + math.exp(-3)
"""


cli = functools.partial(run_tunelab, timeout=120)


@pytest.mark.slow
def test_run_with_a_scheduler_then_show_the_pruning(tmp_path: Path) -> None:
    (tmp_path / "curves.py").write_text(SCRIPT)
    done = cli(
        "run",
        "curves.py",
        "--trials",
        "30",
        "--scheduler",
        "asha",
        "--sampler",
        "random",
        "--seed",
        "1",
        "--no-progress",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    study = tunelab.load_study("curves", storage=str(tmp_path / "tunelab.db"))
    pruned = study.get_trials([TrialState.PRUNED])
    assert pruned and study.settings["scheduler"]["name"] == "asha"
    shown = cli("show", "curves", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "pruning · asha" in shown.stdout
    at_rung0 = sum(1 for t in pruned if t.system_attrs["rung"] == 0)
    assert f"│ asha       │       0 │    0 │ {at_rung0:6d} │" in shown.stdout
    complete = study.get_trials([TrialState.COMPLETE])
    saved = sum(9 - len(t.reports) for t in pruned)
    total = saved + sum(len(t.reports) for t in pruned) + 9 * len(complete)
    assert f"{len(pruned)} of 30 trials stopped early; {saved} of {total} steps saved" in " ".join(
        shown.stdout.split()
    )


def test_an_unknown_scheduler_is_refused_by_the_cli(tmp_path: Path) -> None:
    (tmp_path / "curves.py").write_text(SCRIPT)
    done = cli("run", "curves.py", "--trials", "3", "--scheduler", "nope", cwd=tmp_path)
    assert done.returncode != 0 and "nope" in done.stderr
