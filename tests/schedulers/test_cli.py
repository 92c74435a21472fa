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


def test_run_sizes_hyperband_to_the_scripts_budget_and_names_it_in_the_header(
    tmp_path: Path,
) -> None:
    (tmp_path / "curves.py").write_text(SCRIPT)  # reports 9 steps, says nothing of it
    args = ("--sampler", "random", "--no-progress")
    unknown = cli(
        "run", "curves.py", "--trials", "2", "--scheduler", "hyperband", *args, cwd=tmp_path
    )
    assert unknown.returncode == 0, unknown.stderr
    warned = [line for line in unknown.stderr.splitlines() if line.startswith("warning:")]
    assert warned == [
        "warning: --scheduler hyperband assumes trials report 27 steps (its default "
        "max_resource); set MAX_RESOURCE = <epochs> in curves.py so its brackets fit the "
        "training: with fewer steps, brackets that start past the last one never prune and "
        "adaptive brackets never start"
    ]
    assert "UserWarning" not in unknown.stderr
    header = unknown.stdout.splitlines()[0]
    assert (
        " · HyperbandScheduler(min_resource=1, max_resource=27, reduction_factor=3, seed=0, "
        "adaptive=True) · 0 trials so far" in header
    )

    # the stored, explicit 27 is kept, with a warning, once the script states its budget
    (tmp_path / "curves.py").write_text(SCRIPT + "\nMAX_RESOURCE = 9\n")
    kept = cli("run", "curves.py", "--trials", "3", *args, cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert (
        "warning: the study's hyperband scheduler has max_resource=27, but curves.py trains at "
        "most 9 steps: its rungs past 9 are never reached (rerun with --scheduler hyperband "
        "to size it to the script)"
    ) in kept.stderr.splitlines()

    sized = cli(
        "run", "curves.py", "--trials", "4", "--scheduler", "hyperband", *args, cwd=tmp_path
    )
    assert sized.returncode == 0, sized.stderr
    assert "warning" not in sized.stderr
    assert "HyperbandScheduler(min_resource=1, max_resource=9," in sized.stdout.splitlines()[0]
    study = tunelab.load_study("curves", storage=str(tmp_path / "tunelab.db"))
    assert study.settings["scheduler"]["max_resource"] == 9 and len(study.trials) == 4


def test_the_run_header_says_when_nothing_prunes(tmp_path: Path) -> None:
    (tmp_path / "curves.py").write_text(SCRIPT)
    done = cli("run", "curves.py", "--trials", "1", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert " · no scheduler · 0 trials so far" in done.stdout.splitlines()[0]
