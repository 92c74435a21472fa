"""Freeze-thaw across worker processes on one SQLite file: no trial is ever resumed by two
workers (each run of a trial takes an exclusive marker file, so a double resume would fail
the trial), and trials paused by a worker killed with SIGKILL are resumed by another."""

from __future__ import annotations

import functools
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import tunelab
from tunelab.schedulers import FreezeThawScheduler
from tunelab.types import TrialState

EPOCHS, SLICE = 6, 2
HERE = Path(__file__).parent


def objective(folder: Path, hang: int | None, trial: tunelab.Trial) -> float:
    x = trial.hp.Float("x", 0.0, 1.0)
    marker = folder / f"run-{trial.number}-{trial.resumes}"
    with open(marker, "x") as f:  # FileExistsError: this pause was resumed twice
        f.write(str(os.getpid()))
    start = 0 if trial.resume_from is None else json.loads(Path(trial.resume_from).read_text())
    trial.set_resumable(folder / f"trial-{trial.number}.json")
    acc = 0.0
    for epoch in range(int(start), EPOCHS):
        if trial.number == hang:
            time.sleep(300)  # killed here
        acc = x * (1 - math.exp(-(epoch + 1) / 3))
        trial.report(epoch, acc=acc)
        Path(trial.checkpoint or "").write_text(json.dumps(epoch + 1))
        time.sleep(0.02)  # the workers overlap
        if epoch < EPOCHS - 1 and trial.should_pause():
            raise tunelab.TrialPaused
    return acc


def _study(db: Path) -> tunelab.Study:
    return tunelab.create_study(
        "ft",
        storage=str(db),
        metric="acc",
        direction="maximize",
        scheduler=FreezeThawScheduler(slice=SLICE, initial=3, min_chance=0.0),
        heartbeat_interval=0.2,
        load_if_exists=True,
    )


def _check_curves(study: tunelab.Study, numbers: list[int]) -> None:
    for t in study.trials:
        if t.number in numbers:
            assert t.state is TrialState.COMPLETE, t.reason
            assert [r.step for r in t.reports] == list(range(EPOCHS))
            assert t.system_attrs["resumes"] == EPOCHS // SLICE - 1


def test_two_workers_never_resume_one_trial_twice(tmp_path: Path) -> None:
    study = _study(tmp_path / "ft.db")
    study.optimize(functools.partial(objective, tmp_path, None), n_trials=6, n_jobs=2)
    study = tunelab.load_study("ft", str(tmp_path / "ft.db"))
    _check_curves(study, list(range(6)))
    assert len(study.trials) == 6
    runs = sorted(p.name for p in tmp_path.glob("run-*"))
    assert runs == sorted(f"run-{n}-{r}" for n in range(6) for r in range(EPOCHS // SLICE))
    assert len({p.read_text() for p in tmp_path.glob("run-*")}) == 2  # both workers ran some


def test_trials_paused_by_a_killed_worker_are_resumed_by_another(tmp_path: Path) -> None:
    db = tmp_path / "ft.db"
    _study(db).storage.close()
    script = (
        f"import sys, functools; sys.path.insert(0, {str(HERE)!r}); "
        "import test_freeze_thaw_workers as m; from pathlib import Path; "
        f"s = m._study(Path({str(db)!r})); "
        f"s.optimize(functools.partial(m.objective, Path({str(tmp_path)!r}), 3), n_trials=4)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    worker = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        study = tunelab.load_study("ft", str(db))
        deadline = time.monotonic() + 120
        while True:  # until trial 3 hangs in the first worker with trials paused
            states = {t.number: t.state for t in study.get_trials()}
            if states.get(3) is TrialState.RUNNING and TrialState.PAUSED in states.values():
                break
            assert worker.poll() is None and time.monotonic() < deadline, states
            time.sleep(0.1)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    paused = [n for n, s in states.items() if s is TrialState.PAUSED]
    time.sleep(1.0)  # past the heartbeat grace (4 intervals): trial 3 is lost
    study.optimize(functools.partial(objective, tmp_path, None), n_trials=4)
    _check_curves(study, paused)
    mine = str(os.getpid())
    for n in paused:  # their last slice ran here
        assert (tmp_path / f"run-{n}-{EPOCHS // SLICE - 1}").read_text() == mine
    lost = study.trials[3]
    assert lost.state is TrialState.FAIL and lost.end_cause is tunelab.EndCause.LOST
