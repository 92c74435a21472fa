"""PBT across two worker processes on one SQLite file: every resume is claimed by exactly
one worker (each run of a trial takes an exclusive marker file, so a double resume fails
the trial), and exploits read the parents' snapshots whichever worker wrote them."""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path

import pytest

import tunelab
from tunelab.schedulers import PB2Scheduler, PBTScheduler
from tunelab.study.pbt import schedule_of
from tunelab.types import TrialState

EPOCHS, INTERVAL, POPULATION = 6, 2, 4


def objective(folder: Path, trial: tunelab.Trial) -> float:
    lr = trial.hp.Float("lr", 0.01, 0.5, sampling="log")
    with open(folder / f"run-{trial.number}-{trial.resumes}", "x") as f:
        f.write(str(os.getpid()))  # FileExistsError: this pause was resumed twice
    w, start = 0.0, 0
    if trial.resume_from is not None:
        state = json.loads(Path(trial.resume_from).read_text())
        w, start = state["w"], state["next"]
    trial.set_resumable(folder / f"trial-{trial.number}.json")
    for epoch in range(start, EPOCHS):
        loaded = w
        w += lr * (1.0 - w)
        trial.report(epoch, acc=w, loaded=loaded)
        Path(trial.checkpoint or "").write_text(json.dumps({"w": w, "next": epoch + 1}))
        time.sleep(0.02)  # the workers overlap
        if epoch < EPOCHS - 1 and trial.should_pause():
            raise tunelab.TrialPaused
    return w


@pytest.mark.parametrize("kind", [PBTScheduler, PB2Scheduler])  # each worker rebuilds it
def test_two_workers_never_resume_one_trial_twice(tmp_path: Path, kind: type[PBTScheduler]) -> None:
    db = str(tmp_path / "pbt.db")
    study = tunelab.create_study(
        "pbt",
        storage=db,
        metric="acc",
        direction="maximize",
        scheduler=kind(population_size=POPULATION, interval=INTERVAL, hyperparams=["lr"]),
    )
    for lr in (0.01, 0.015, 0.3, 0.4):
        study.enqueue({"lr": lr})
    study.optimize(functools.partial(objective, tmp_path), n_trials=POPULATION, n_jobs=2)
    loaded = tunelab.load_study("pbt", db)
    assert type(loaded.scheduler) is kind
    trials = {t.number: t for t in loaded.trials}
    assert len(trials) == POPULATION
    for t in trials.values():
        assert t.state is TrialState.COMPLETE, t.reason
        assert [r.step for r in t.reports] == list(range(EPOCHS))
        assert t.system_attrs["resumes"] == EPOCHS // INTERVAL - 1
        for entry in schedule_of(t)[1:]:  # its start after an exploit: the parent's weights
            parent = trials[entry["parent"]].reports[entry["step"] - 1].metrics["acc"]
            assert t.reports[entry["step"]].metrics["loaded"] == pytest.approx(parent)
    assert sum(len(schedule_of(t)) - 1 for t in trials.values()) >= 1
    runs = sorted(p.name for p in tmp_path.glob("run-*"))
    expected = [f"run-{n}-{r}" for n in range(POPULATION) for r in range(EPOCHS // INTERVAL)]
    assert runs == sorted(expected)
    assert len({p.read_text() for p in tmp_path.glob("run-*")}) == 2  # both workers ran some
