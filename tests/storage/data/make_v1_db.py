"""Build v1.db, a schema-v1 tunelab database holding every kind of trial v1 records, and
v1_expected.json, every study and trial as the v1 code reads them back.

Run at commit 3091371 with the v1 code; the output is committed (the v2 code cannot
write a v1 file, so the fixture cannot be rebuilt later):

    PYTHONPATH=src python tests/storage/data/make_v1_db.py [OUT_DIR]   # at 3091371

Everything goes through tunelab's public API and real runs: `optimize`, ask/tell,
`enqueue`, worker processes that die holding a trial (found lost through their dead pid,
then retried), Ctrl-C's `interrupt_running`, `tunelab retry --failed` and a supervised
`tunelab worker` with a trial time limit. Only the study's user attributes are written
with SQL: v1 has the column but no setter.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tunelab
from tunelab.storage.codec import _wrap  # the stored encoding: NaN as {"$float": "nan"}

HERE = Path(__file__).resolve().parent
SRC = Path(tunelab.__file__).resolve().parents[1]  # subprocesses run this same tunelab


def space(trial: Any) -> None:
    """Parameters of every kind, one of them conditional."""
    trial.hp.Float("lr", 1e-4, 1e-1, sampling="log")
    trial.hp.Int("layers", 1, 3)
    if trial.hp.Choice("optimizer", ["adam", "sgd"]) == "sgd":
        trial.hp.Float("momentum", 0.5, 0.99, parent_name="optimizer", parent_values=["sgd"])
    trial.hp.Boolean("batch_norm")


def mixed_objective(plan: Iterator[str]) -> Any:
    def objective(trial: Any) -> Any:
        space(trial)
        kind = next(plan)
        if kind == "complete_dict":
            for step in range(3):
                trial.report(step, val_accuracy=0.5 + 0.1 * step, train_loss=1.0 / (step + 1))
            trial.set_user_attr("note", "the first one")
            trial.set_user_attr("curve", {"epochs": [0, 1, 2], "best": None, "$x": 1})
            return {"val_accuracy": 0.81, "train_loss": 0.33, "epochs": 3, "optimizer": "adam"}
        if kind == "complete_float":
            trial.report(0, val_accuracy=0.7)
            return 0.77
        if kind == "pruned_user":
            trial.report(0, val_accuracy=0.2)
            trial.report(5, val_accuracy=0.21)
            raise tunelab.TrialPruned("plateau: no gain in 5 epochs")
        if kind == "pruned_scheduler":  # the rules scheduler sees a NaN: "diverged at step 1"
            trial.report(0, val_accuracy=0.3, train_loss=2.0)
            trial.report(1, val_accuracy=0.1, train_loss=math.nan)
            assert trial.should_prune()
            raise tunelab.TrialPruned("stopped")
        if kind == "raise":
            trial.report(0, val_accuracy=0.4)
            raise ValueError("batch of size 0")
        if kind == "nan":
            trial.report(0, val_accuracy=math.inf)
            return math.nan
        if kind == "missing":
            return {"loss": 0.2, "accuracy": 0.9}
        if kind == "non_number":
            return "high"
        if kind == "none":
            return None
        raise AssertionError(kind)

    return objective


DIE_HOLDING_A_TRIAL = """
import os, sys, tunelab
study = tunelab.load_study("v1-mixed", sys.argv[1])
trial = study.ask()
trial.hp.Float("lr", 1e-4, 1e-1, sampling="log")
trial.hp.Int("layers", 1, 3)
trial.report(0, val_accuracy=0.25)
os._exit(3)
"""

LIMITS_SCRIPT = """
import os, signal, time
METRIC = "val_loss"
DIRECTION = "minimize"

def objective(trial):
    width = trial.hp.Int("width", 8, 64, step=8)
    trial.report(0, val_loss=1.0 / width)
    if trial.number == 0:
        time.sleep(60)  # past --trial-timeout: the supervisor fails and kills it
    if trial.number == 1:
        os.kill(os.getpid(), signal.SIGKILL)  # the process dies: "died (signal 9)"
    return 0.5
"""


def tunelab_cli(*args: str, cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200"}
    subprocess.run([sys.executable, "-m", "tunelab", *args], cwd=cwd, env=env, check=True)


def die_holding_a_trial(url: str, cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    code = subprocess.run([sys.executable, "-c", DIE_HOLDING_A_TRIAL, url], cwd=cwd, env=env)
    assert code.returncode == 3, code


def build(url: str, work: Path) -> None:
    # -- v1-mixed: every trial kind a single worker records -------------------------------
    mixed = tunelab.create_study(
        "v1-mixed",
        storage=url,
        metric="val_accuracy",
        direction="maximize",
        sampler="random",
        seed=7,
        max_retries=2,
        scheduler="rules",
        heartbeat_interval=0.2,
    )
    mixed.enqueue({"lr": 0.01, "optimizer": "adam"})  # run first, by `complete_dict`
    kinds = [
        "complete_dict",
        "complete_float",
        "pruned_user",
        "pruned_scheduler",
        "raise",
        "nan",
        "missing",
        "non_number",
        "none",
    ]
    mixed.optimize(mixed_objective(iter(kinds)), n_trials=len(kinds))

    # a callback fails after a trial: the next one, started in the same commit, is "not run"
    def failing_callback(study: Any, frozen: Any) -> None:
        raise RuntimeError("callback failed")

    try:
        mixed.optimize(
            mixed_objective(iter(["complete_float"])),
            n_trials=2,
            add=True,
            callbacks=[failing_callback],
        )
    except RuntimeError as e:
        assert "callback failed" in str(e)
    else:
        raise AssertionError("the failing callback did not stop optimize")

    # Ctrl-C in the middle of a trial
    trial = mixed.ask()
    space(trial)
    trial.report(0, val_accuracy=0.6)
    trial.set_user_attr("interrupted_at", 0)
    mixed.interrupt_running()

    # a worker dies holding a trial: lost, retried, and the retry runs
    die_holding_a_trial(url, work)
    assert len(mixed.fail_lost_trials()) == 1
    mixed.optimize(mixed_objective(iter(["complete_float"])), n_trials=1, add=True)

    # a lost trial whose retry is lost too: the second retry waits
    die_holding_a_trial(url, work)
    assert len(mixed.fail_lost_trials()) == 1
    die_holding_a_trial(url, work)  # claims the retry, dies
    assert len(mixed.fail_lost_trials()) == 1
    die_holding_a_trial(url, work)  # claims the second retry and dies: RUNNING, not yet found

    mixed.enqueue({"lr": 0.05, "layers": 2, "batch_norm": True})  # stays WAITING
    mixed.close()
    mixed.storage.close()

    # -- v1-cli-retry: `tunelab retry --failed` on a raised and a diverged trial ----------
    retried = tunelab.create_study(
        "v1-cli-retry", storage=url, metric="loss", direction="minimize", sampler="random", seed=1
    )
    outcomes = iter(["raise", "nan", "ok"])

    def objective(trial: Any) -> Any:
        x = trial.hp.Float("x", -1.0, 1.0)
        what = next(outcomes, "ok")
        if what == "raise":
            raise KeyError("missing column")
        return math.nan if what == "nan" else x * x

    retried.optimize(objective, n_trials=3)
    retried.storage.close()
    tunelab_cli("retry", "v1-cli-retry", "--failed", "--storage", url, cwd=work)
    retried = tunelab.load_study("v1-cli-retry", url)
    retried.optimize(objective, n_trials=2, add=True)
    retried.storage.close()

    # -- v1-limits: a supervised worker kills a trial past its time limit; one dies ------
    script = work / "limits_objective.py"
    script.write_text(textwrap.dedent(LIMITS_SCRIPT))
    tunelab_cli(
        "worker", "v1-limits", "--storage", url, "--script", str(script),
        "--trials", "3", "--trial-timeout", "1.5", cwd=work,
    )  # fmt: skip
    tunelab_cli("retry", "v1-limits", "--failed", "--storage", url, cwd=work)  # both wait

    # -- v1-grid: a grid study run to exhaustion -------------------------------------------
    grid = tunelab.create_study("v1-grid", storage=url, metric="score", sampler="grid")

    def grid_objective(trial: Any) -> float:
        lr = trial.hp.Choice("lr", [0.01, 0.1])
        layers = trial.hp.Choice("layers", [1, 2])
        trial.report(1, score=lr * layers)
        return lr * layers + 0.5

    grid.optimize(grid_objective)
    grid.storage.close()

    # -- v1-hyperband: scheduler-pruned trials with their bracket -----------------------------
    hyper = tunelab.create_study(
        "v1-hyperband",
        storage=url,
        metric="val_accuracy",
        sampler="random",
        seed=3,
        scheduler={
            "name": "hyperband",
            "min_resource": 1,
            "max_resource": 9,
            "reduction_factor": 3,
        },
    )

    def curve(trial: Any) -> float:
        quality = trial.hp.Float("quality", 0.0, 1.0)
        value = 0.0
        for step in range(1, 10):
            value = quality * (1 - 0.5**step)
            trial.report(step, val_accuracy=value)
            if trial.should_prune():
                raise tunelab.TrialPruned()
        return value

    hyper.optimize(curve, n_trials=12)
    hyper.storage.close()

    # study user attributes: v1 reads and keeps them, but has no setter
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    with db:
        db.execute(
            "UPDATE tunelab_studies SET user_attrs_json = ? WHERE name = 'v1-mixed'",
            (json.dumps({"owner": "lab-a", "tags": ["v1", "fixture"]}, separators=(",", ":")),),
        )
    db.close()


def trial_record(t: Any) -> dict[str, Any]:
    """A trial as v1_expected.json holds it (JSON as stored: NaN marked)."""
    return _wrap(
        {
            "trial_id": t.trial_id,
            "number": t.number,
            "state": t.state.value,
            "params": dict(t.params),
            "value": t.value,
            "metrics": dict(t.metrics),
            "reports": [
                {"step": p.step, "metrics": dict(p.metrics), "time": p.time} for p in t.reports
            ],
            "reason": t.reason,
            "worker": t.worker,
            "heartbeat": t.heartbeat,
            "datetime_start": t.datetime_start,
            "datetime_complete": t.datetime_complete,
            "user_attrs": dict(t.user_attrs),
            "system_attrs": dict(t.system_attrs),
            "counts_toward_budget": t.counts_toward_budget,
        }
    )


def expected(url: str) -> dict[str, Any]:
    """Every study and trial as the v1 code reads them back (JSON as stored: NaN marked)."""
    storage = tunelab.get_storage(url)
    studies = []
    for summary in sorted(storage.list_studies(), key=lambda s: s.record.study_id):
        r = summary.record
        trials = [trial_record(t) for t in storage.get_trials(r.study_id)]
        studies.append(
            {
                "study_id": r.study_id,
                "name": r.name,
                "metric": r.metric,
                "direction": r.direction.value,
                "sampler": dict(r.sampler),
                "settings": dict(r.settings),
                "user_attrs": dict(r.user_attrs),
                "space": storage.get_space(r.study_id),
                "trials": trials,
            }
        )
    storage.close()
    return _wrap({"schema_version": 1, "made_at_commit": "3091371", "studies": studies})


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else HERE).resolve()
    path = out / "v1.db"
    for stale in (path, path.with_name("v1.db-wal"), path.with_name("v1.db-shm")):
        stale.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    with tempfile.TemporaryDirectory() as work:
        build(url, Path(work))
    db = sqlite3.connect(path)
    db.execute("VACUUM")  # small, and every page in the main file
    db.close()
    (out / "v1_expected.json").write_text(
        json.dumps(expected(url), indent=1, sort_keys=True) + "\n"
    )
    print(f"wrote {path} ({path.stat().st_size} bytes) and v1_expected.json")


if __name__ == "__main__":
    main()
