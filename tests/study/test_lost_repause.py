"""A worker killed with SIGKILL in the middle of a slice, under freeze-thaw and PBT: its
trial, which paused before, goes back to PAUSED from the checkpoint it last paused with
(not the later one the killed run wrote), the reports after that step are dropped, and a
later run resumes it to a curve with each step once and the values of an uninterrupted
run. A study whose scheduler never pauses, or a trial killed before its first pause,
still ends LOST. Real worker processes on a real SQLite file, and on PostgreSQL."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import tunelab
from tunelab.cli.main import main
from tunelab.schedulers import FreezeThawScheduler, PBTScheduler
from tunelab.study.pbt import schedule_of
from tunelab.study.repause import LOST_WORKERS_KEY, RESTORE_KEY
from tunelab.types import EndCause, TrialState

EPOCHS, SLICE = 6, 2
HERE = Path(__file__).parent


def objective(folder: Path, hang: tuple[int, int, int] | None, trial: tunelab.Trial) -> float:
    """w moves toward 1 by lr each epoch: the curve of an uninterrupted run is
    1 - (1 - lr)^(epoch + 1). `hang` = (trial, epoch, from which resume): sleep there."""
    lr = trial.hp.Float("lr", 0.05, 0.5)
    source = trial.resume_from
    w, start = json.loads(Path(source).read_text()) if source is not None else (0.0, 0)
    trial.set_resumable(folder / f"trial-{trial.number}.json")
    for epoch in range(start, EPOCHS):
        if hang is not None and (trial.number, epoch) == hang[:2] and trial.resumes >= hang[2]:
            (folder / "hanging").write_text(str(start))
            time.sleep(300)  # killed here
        loaded = w
        w += lr * (1.0 - w)
        trial.report(epoch, acc=w, loaded=loaded)
        Path(trial.checkpoint or "").write_text(json.dumps([w, epoch + 1]))
        if epoch < EPOCHS - 1 and trial.should_pause():
            raise tunelab.TrialPaused
    return w


def _study(url: str, kind: str) -> tunelab.Study:
    scheduler: Any = {
        "freeze-thaw": FreezeThawScheduler(slice=SLICE, initial=1, min_chance=0.0),
        "pbt": PBTScheduler(population_size=2, interval=SLICE, hyperparams=["lr"]),
        "none": None,
    }[kind]
    return tunelab.create_study(
        "lost",
        storage=url,
        metric="acc",
        direction="maximize",
        scheduler=scheduler,
        heartbeat_interval=0.2,
        max_retries=2,
        load_if_exists=True,
    )


def _killed_mid_trial(url: str, kind: str, folder: Path, hang: tuple[int, int, int]) -> None:
    """Run a worker until it sleeps at `hang`, then SIGKILL it."""
    study = _study(url, kind)
    for lr in (0.1, 0.4)[: 2 if kind == "pbt" else 1]:
        study.enqueue({"lr": lr})
    study.storage.close()
    script = (
        f"import sys, functools; sys.path.insert(0, {str(HERE)!r}); "
        "import test_lost_repause as m; from pathlib import Path; "
        f"s = m._study({url!r}, {kind!r}); "
        f"s.optimize(functools.partial(m.objective, Path({str(folder)!r}), {hang!r}), "
        f"n_trials={2 if kind == 'pbt' else 1})"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    worker = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 120
        while not (folder / "hanging").exists():
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()  # reaped: its pid is free, so this host knows it is gone


def _expected(lr: float) -> list[float]:
    return [1.0 - (1.0 - lr) ** (epoch + 1) for epoch in range(EPOCHS)]


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "lost.db")
    return str(request.getfixturevalue("postgres_url"))


def test_freeze_thaw_trial_goes_back_to_its_paused_checkpoint(url: str, tmp_path: Path) -> None:
    # slice 1 (epochs 0-1) pauses at step 1; the kill lands after epoch 2 of slice 2
    _killed_mid_trial(url, "freeze-thaw", tmp_path, (0, 3, 1))
    study = tunelab.load_study("lost", url)
    (before,) = study.trials
    assert before.state is TrialState.RUNNING and [r.step for r in before.reports] == [0, 1, 2]
    checkpoint = Path(before.system_attrs["checkpoint"])
    assert json.loads(checkpoint.read_text())[1] == 3  # the killed run wrote on

    assert study.fail_lost_trials() == [before.trial_id]
    assert study.fail_lost_trials() == []
    (paused,) = study.trials  # no retry queued: it was not failed
    assert paused.state is TrialState.PAUSED and [r.step for r in paused.reports] == [0, 1]
    assert paused.reason is not None and "after its worker was lost" in paused.reason
    assert paused.system_attrs[RESTORE_KEY] == 1
    assert [e["worker"] for e in paused.system_attrs[LOST_WORKERS_KEY]] == [before.worker]
    shown: Any = json.loads(_cli(url, "show", "lost", "--json"))
    assert "re-paused at step 1" in shown["trials"][0]["reason"]
    assert "re-paused at step 1 after its worker was lost" in _cli(url, "show", "lost")

    study.optimize(functools.partial(objective, tmp_path, None), n_trials=1)  # a later run
    (done,) = study.trials
    assert done.state is TrialState.COMPLETE, done.reason
    assert [r.step for r in done.reports] == list(range(EPOCHS))  # each step once
    acc = [r.metrics["acc"] for r in done.reports]
    assert acc == pytest.approx(_expected(0.1))  # as if never interrupted
    assert done.reports[2].metrics["loaded"] == pytest.approx(acc[1])  # from step 1's state
    assert done.system_attrs[RESTORE_KEY] is None
    assert study.storage.count_trials(study.study_id).budget_used == 1
    study.storage.close()


def test_pbt_trial_goes_back_with_the_values_it_paused_with(tmp_path: Path) -> None:
    url = str(tmp_path / "lost.db")
    _killed_mid_trial(url, "pbt", tmp_path, (0, 3, 1))
    study = tunelab.load_study("lost", url)
    lost = study.trials[0]
    assert lost.state is TrialState.RUNNING and lost.last_step == 2
    assert study.fail_lost_trials() == [lost.trial_id]
    paused = study.trials[0]
    assert paused.state is TrialState.PAUSED and [r.step for r in paused.reports] == [0, 1]
    assert [e["step"] for e in schedule_of(paused)] == [0]  # a later exploit is undone
    assert dict(paused.params) == {"lr": 0.1}
    assert len(study.trials) == 2

    study.optimize(functools.partial(objective, tmp_path, None), n_trials=2)
    trials = {t.number: t for t in study.trials}
    assert len(trials) == 2
    for t in trials.values():
        assert t.state is TrialState.COMPLETE, t.reason
        assert [r.step for r in t.reports] == list(range(EPOCHS))
        starts = {e["step"]: e["parent"] for e in schedule_of(t)}
        for step in range(1, EPOCHS):  # each step goes on from the weights it should
            parent = starts.get(step)
            source = trials[parent] if parent is not None else t
            expected = source.reports[step - 1].metrics["acc"]
            assert t.reports[step].metrics["loaded"] == pytest.approx(expected)
    study.storage.close()


def test_a_re_paused_trial_whose_snapshot_is_gone_ends_lost(tmp_path: Path) -> None:
    url = str(tmp_path / "lost.db")
    _killed_mid_trial(url, "freeze-thaw", tmp_path, (0, 3, 1))
    study = tunelab.load_study("lost", url)
    assert len(study.fail_lost_trials()) == 1
    (snapshot,) = tmp_path.glob("trial-0.step-*.json")
    assert snapshot.name == "trial-0.step-1.json"
    snapshot.unlink()  # lost with a disk, say
    study.optimize(functools.partial(objective, tmp_path, None), n_trials=1)
    lost, *others = study.trials
    assert (lost.state, lost.end_cause) == (TrialState.FAIL, EndCause.LOST)
    assert lost.reason is not None and "could not be restored" in lost.reason
    assert [r.step for r in lost.reports] == [0, 1]
    # outside the budget, so a new trial runs to the end
    (new,) = [t for t in others if t.retry_of is None]
    assert new.state is TrialState.COMPLETE, new.reason
    assert [r.step for r in new.reports] == list(range(EPOCHS))
    # and the lost configuration is retried (max_retries): queued by the next look for lost
    # trials, which may come before this run ends or after it, depending on timing
    study.fail_lost_trials()
    retries = [t for t in study.trials if t.retry_of == 0]
    assert len(retries) == 1  # the same configuration, queued or already run
    assert {**retries[0].enqueued, **retries[0].params} == dict(lost.params)
    study.storage.close()


@pytest.mark.parametrize(
    ("kind", "hang"),
    [("none", (0, 3, 0)), ("freeze-thaw", (0, 1, 0))],
    ids=["scheduler-that-never-pauses", "killed-before-its-first-pause"],
)
def test_a_trial_that_never_paused_is_still_lost(
    kind: str, hang: tuple[int, int, int], tmp_path: Path
) -> None:
    url = str(tmp_path / "lost.db")
    _killed_mid_trial(url, kind, tmp_path, hang)
    study = tunelab.load_study("lost", url)
    tid = study.trials[0].trial_id
    assert study.fail_lost_trials() == [tid]
    lost, retry = study.trials
    assert (lost.state, lost.end_cause) == (TrialState.FAIL, EndCause.LOST)
    assert [r.step for r in lost.reports] == list(range(hang[1]))
    assert retry.state is TrialState.WAITING and retry.retry_of == 0  # max_retries, as before
    study.storage.close()


def _cli(url: str, *args: str) -> str:
    runner = CliRunner()
    with runner.isolation(env={"COLUMNS": "200"}) as streams:
        try:
            main([*args, "--storage", url])
        except SystemExit as e:
            assert not e.code, streams[1].getvalue().decode()
        return " ".join(streams[0].getvalue().decode().split())
