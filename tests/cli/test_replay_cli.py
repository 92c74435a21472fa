"""`tunelab replay STUDY --trial N`: the schedule PBT found, replayed on a fresh trial by a
real subprocess; a trial without a schedule is refused in one line before any script runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import tunelab
from cli_process import run_tunelab
from tunelab.schedulers import PBTScheduler
from tunelab.study import schedule_of

SCRIPT = """
import json
import tunelab

METRIC = "acc"

def objective(trial):
    lr = trial.hp.Float("lr", 0.01, 0.5, sampling="log")
    w, start = 0.0, 0
    if trial.resume_from is not None:
        state = json.loads(open(trial.resume_from).read())
        w, start = state["w"], state["next"]
    folder = trial.artifact_dir()
    folder.mkdir(parents=True, exist_ok=True)
    trial.set_resumable(folder / "state.json")
    for epoch in range(start, 6):
        w += lr * (1.0 - w)
        trial.report(epoch, acc=w)
        (folder / "state.json").write_text(json.dumps({"w": w, "next": epoch + 1}))
        if epoch < 5 and trial.should_pause():
            raise tunelab.TrialPaused
    return w
"""


def test_replay_runs_the_found_schedule_on_a_fresh_trial(tmp_path: Path) -> None:
    script = tmp_path / "weights.py"
    script.write_text(SCRIPT)
    spec = importlib.util.spec_from_file_location("weights", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    db = str(tmp_path / "pbt.db")
    study = tunelab.create_study(
        "pbt",
        storage=db,
        metric="acc",
        direction="maximize",
        scheduler=PBTScheduler(population_size=4, interval=2, hyperparams=["lr"]),
    )
    for lr in (0.02, 0.03, 0.2, 0.3):
        study.enqueue({"lr": lr})
    study.optimize(module.objective, n_trials=4)
    child = next(t for t in study.trials if len(schedule_of(t)) > 1)

    ran = run_tunelab(
        "replay",
        "pbt",
        "--trial",
        str(child.number),
        "--storage",
        db,
        "--script",
        str(script),
        cwd=tmp_path,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert f"schedule found for trial {child.number}" in ran.stdout
    replayed = tunelab.load_study(f"pbt/replay-{child.number}", db).trials
    assert len(replayed) == 1 and replayed[0].value == pytest.approx(child.value)
    assert f"replayed as trial 0 of pbt/replay-{child.number}: COMPLETE" in ran.stdout

    missing = run_tunelab(
        "replay",
        "pbt",
        "--trial",
        "99",
        "--storage",
        db,
        "--script",
        str(script),
        cwd=tmp_path,
        timeout=60,
    )
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert "no trial 99" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
