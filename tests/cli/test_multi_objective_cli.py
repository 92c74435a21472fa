"""`tunelab run` with several objectives (the script's METRICS/DIRECTIONS or --metrics/
--directions) and `tunelab show` / `show --pareto`, as real processes; mistakes get one
line, a non-zero exit and leave the database as it was."""

from __future__ import annotations

import functools
import json
import sqlite3
from pathlib import Path

import pytest

from cli_process import run_tunelab

SCRIPT = """
METRICS = ["val_accuracy", "n_parameters"]
DIRECTIONS = ["max", "min"]

def objective(trial):
    units = trial.hp.Int("units", 1, 64)
    trial.report(0, n_parameters=units * 100)
    return {"val_accuracy": 1 - 1 / (units + 1), "n_parameters": units * 100}
"""

PLAIN = """
def objective(trial):
    x = trial.hp.Float("x", 0.0, 1.0)
    return {"acc": x, "size": round(1000 * x), "latency": 1.0 - x}
"""

METRICS = ["val_accuracy", "n_parameters"]
tunelab = functools.partial(run_tunelab, timeout=120)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "mo.py").write_text(SCRIPT)
    (tmp_path / "plain.py").write_text(PLAIN)
    return tmp_path


def _front(stdout: str) -> list[tuple[int, float]]:
    """(trial number, first objective) of each row of the Pareto-front table."""
    rows = []
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) >= 3 and cells[0].isdigit():
            rows.append((int(cells[0]), float(cells[1])))
    return rows


def test_script_constants_run_a_study_of_two_objectives_and_show_its_front(work: Path) -> None:
    ran = tunelab("run", "mo.py", "--trials", "8", "--seed", "2", "--no-progress", cwd=work)
    assert ran.returncode == 0, ran.stderr
    assert "Pareto front" in ran.stdout
    shown = tunelab("show", "mo", cwd=work)
    assert shown.returncode == 0, shown.stderr
    assert "maximize val_accuracy, minimize n_parameters" in shown.stdout
    assert "best hyperparameters" not in shown.stdout
    pareto = tunelab("show", "mo", "--pareto", cwd=work)
    assert pareto.returncode == 0, pareto.stderr
    assert "8 trials (" not in pareto.stdout  # the front alone, no header
    front = _front(pareto.stdout)
    # accuracy and size both grow with units: every distinct trial is on the front,
    # and the table is sorted by accuracy, best first
    with sqlite3.connect(work / "tunelab.db") as conn:
        assert conn.execute("select count(*) from tunelab_trials").fetchone()[0] == 8
    assert len(front) == 8 and [a for _, a in front] == sorted((a for _, a in front), reverse=True)
    exported = json.loads(tunelab("export", "mo", "--format", "json", cwd=work).stdout)
    assert [o["metric"] for o in exported["study"]["objectives"]] == METRICS
    trial = exported["trials"][0]
    assert trial["values"] == [trial["metrics"][m] for m in METRICS] and trial["feasible"]


def test_options_name_the_objectives_and_show_respects_their_directions(work: Path) -> None:
    ran = tunelab(
        "run", "plain.py", "--trials", "10", "--metrics", "acc,size", "--directions", "max,min",
        "--sampler", "random", "--seed", "1", "--no-progress", cwd=work,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    pareto = tunelab("show", "plain", "--pareto", cwd=work)
    assert pareto.returncode == 0 and "acc" in pareto.stdout and "size" in pareto.stdout
    assert len(_front(pareto.stdout)) == 10  # more accuracy always costs size here
    studies = tunelab("studies", cwd=work)
    assert "maximize acc, minimize size" in " ".join(studies.stdout.replace("│", " ").split())


ERRORS = [
    (["show", "single", "--pareto"], "has one objective (acc), so no Pareto front"),
    (["run", "plain.py", "--trials", "2", "--metrics", "acc,size"], "--metrics needs --directions"),
    (["run", "plain.py", "--trials", "2", "--directions", "max"], "--directions goes with --metrics"),
    (["run", "plain.py", "--trials", "2", "--metrics", "acc,size", "--directions", "max"],
     "metrics and directions must have the same length"),
    (["run", "plain.py", "--trials", "2", "--metrics", "acc,size", "--directions", "max,upward"],
     "but got 'upward'"),
    (["run", "plain.py", "--trials", "2", "--study", "single", "--metrics", "acc,size",
      "--directions", "max,min"], "a study keeps its objectives"),
    (["run", "plain.py", "--trials", "2", "--metric", "acc", "--metrics", "acc,size",
      "--directions", "max,min"], "not both"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), ERRORS, ids=[e[1][:24] for e in ERRORS])
def test_mistakes_get_one_line_and_change_nothing(
    work: Path, args: list[str], message: str
) -> None:
    made = tunelab(
        "run", "plain.py", "--study", "single", "--metric", "acc", "--trials", "1",
        "--no-progress", cwd=work,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    db = work / "tunelab.db"
    before = db.read_bytes()
    result = tunelab(*args, cwd=work)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("select name from tunelab_studies")]
    assert names == ["single"] and db.read_bytes() == before
