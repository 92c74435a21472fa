"""`tunelab studies|show|status --json` as real processes on real SQLite studies: the
output is one strict JSON document (no NaN, no styling) whose fields match the study."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import pytest

import tunelab
from cli_process import run_tunelab
from tunelab.cli.as_json import plain_json
from tunelab.types import TrialState

tunelab_cli = functools.partial(run_tunelab, timeout=120)


def _strict(text: str) -> Any:
    """Parse as JSON, refusing NaN and infinities (not JSON, though Python writes them)."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"non-JSON constant {name} in the output")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database: `single` (3 complete, 1 failed, 1 running) and `multi` (two
    objectives, a Pareto front of two and one dominated trial)."""
    path = tmp_path_factory.mktemp("json") / "studies.db"
    single = tunelab.create_study("single", storage=str(path), metric="acc", max_retries=2)
    for x in (0.2, 0.9, 0.5):
        single.enqueue({"x": x, "opt": "adam"})

    def objective(trial: Any) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        trial.hp.Choice("opt", ["adam", "sgd"])
        if x > 0.95:
            raise ValueError("x too large\nsecond line")
        return x

    single.optimize(objective, n_trials=3)
    failed = single.ask()
    failed.hp.Float("x", 0.0, 1.0)
    single.tell(failed, state=TrialState.FAIL)
    running = single.ask()  # never told: stays RUNNING
    running.hp.Float("x", 0.0, 1.0)
    single.storage.close()

    multi = tunelab.create_study(
        "multi", storage=str(path), metrics=["acc", "size"], directions=["max", "min"]
    )
    for acc, size in ((0.9, 10.0), (0.8, 2.0), (0.7, 20.0)):
        multi.enqueue({"acc_in": acc, "size_in": size})
    multi.optimize(
        lambda t: (t.hp.Float("acc_in", 0.0, 1.0), t.hp.Float("size_in", 0.0, 100.0)),
        n_trials=3,
    )
    multi.storage.close()
    return path


def _json(db: Path, *args: str) -> Any:
    done = tunelab_cli(*args, "--json", "--storage", str(db), cwd=db.parent)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout
    return _strict(done.stdout)


def test_studies_json_lists_every_study_with_its_counts(db: Path) -> None:
    doc = _json(db, "studies")
    assert doc["version"] == 1
    by_name = {s["name"]: s for s in doc["studies"]}
    assert set(by_name) == {"single", "multi"}
    single = by_name["single"]
    assert single["metrics"] == ["acc"] and single["directions"] == ["maximize"]
    assert single["n_trials"] == 5
    assert single["states"]["COMPLETE"] == 3
    assert single["states"]["FAIL"] == 1 and single["states"]["RUNNING"] == 1
    assert single["best_value"] == pytest.approx(0.9)
    assert by_name["multi"]["directions"] == ["maximize", "minimize"]


def test_show_json_has_every_trial_and_the_best(db: Path) -> None:
    doc = _json(db, "show", "single", "--top", "2")
    assert doc["version"] == 1
    assert doc["study"]["name"] == "single" and doc["study"]["states"]["total"] == 5
    assert doc["top"] == [1, 2]
    assert doc["best"] == {
        "number": 1,
        "value": pytest.approx(0.9),
        "params": {"x": 0.9, "opt": "adam"},
    }
    assert doc["pareto_front"] is None
    trials = {t["number"]: t for t in doc["trials"]}
    assert [trials[n]["state"] for n in range(5)] == [
        "COMPLETE",
        "COMPLETE",
        "COMPLETE",
        "FAIL",
        "RUNNING",
    ]
    assert trials[0]["params"] == {"x": 0.2, "opt": "adam"}
    assert trials[0]["values"] == [pytest.approx(0.2)]
    assert trials[0]["duration"] >= 0
    assert trials[4]["duration"] is None


def test_show_json_of_several_objectives_has_its_front(db: Path) -> None:
    doc = _json(db, "show", "multi")
    assert doc["study"]["metrics"] == ["acc", "size"]
    assert doc["best"] is None
    assert doc["pareto_front"] == [0, 1]
    values = {t["number"]: t["values"] for t in doc["trials"]}
    assert values[2] == [pytest.approx(0.7), pytest.approx(20.0)]


def test_status_json_names_the_running_trial(db: Path) -> None:
    doc = _json(db, "status", "single")
    assert doc["study"] == "single" and doc["max_retries"] == 2
    assert doc["states"]["RUNNING"] == 1 and doc["stop_requested_at"] is None
    (running,) = doc["running"]
    assert running["number"] == 4
    assert running["worker"] and doc["workers"] == [running["worker"].rsplit(":", 1)[0]]
    assert running["heartbeat"] is None or running["heartbeat"] <= doc["now"]


def test_json_with_an_insight_view_is_refused_in_one_line(db: Path) -> None:
    done = tunelab_cli("show", "single", "--json", "--effects", "--storage", str(db), cwd=db.parent)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: --json shows the study and its trials; drop --effects, --importance, "
        "--diagnose and --next (they print tables only)"
    ]
    missing = tunelab_cli("show", "nope", "--json", "--storage", str(db), cwd=db.parent)
    assert missing.returncode == 1 and missing.stdout == ""


def test_plain_json_makes_nan_and_infinities_null() -> None:
    doc = plain_json({"a": math.nan, "b": (math.inf, -math.inf, 1.5), 3: TrialState.FAIL})
    assert doc == {"a": None, "b": [None, None, 1.5], "3": "FAIL"}
