"""ASHA across two worker processes on one SQLite study: each worker prunes from the
reports both wrote, because rung state is derived from stored reports."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import tunelab
from tunelab.schedulers import ASHAScheduler, HyperbandScheduler
from tunelab.testing.scheduler_conformance import request
from tunelab.types import TrialState

pytestmark = pytest.mark.slow

WORKER = """
import json, math, sys, time
import tunelab
from tunelab.errors import TrialPruned

cfg = json.loads(sys.argv[1])
study = tunelab.load_study("s", storage=cfg["url"])  # the stored scheduler, as any worker
assert type(study.scheduler).__name__ == "ASHAScheduler", study.scheduler


def objective(trial):
    x = trial.hp.Float("x", 0.0, 1.0)
    for step in range(9):
        time.sleep(0.01)
        trial.report(step, loss=x + math.exp(-(step + 1) / 3))
        if trial.should_prune():
            raise TrialPruned("pruned")
    return x + math.exp(-3)


study.optimize(objective, n_trials=cfg["n_trials"])
print("done", flush=True)
"""


def run_two_workers(tmp_path: Path, script: str, cfg: dict[str, Any], timeout: float) -> None:
    """Run `script` (it reads `cfg` as JSON from argv) in two processes at once; both must
    exit cleanly and print "done"."""
    path = tmp_path / "worker.py"
    path.write_text(script)
    procs = [
        subprocess.Popen(
            [sys.executable, str(path), json.dumps(cfg)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for _ in range(2)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0 and "done" in out, err


def test_asha_prunes_across_two_worker_processes(tmp_path: Path) -> None:
    url = str(tmp_path / "s.db")
    asha = ASHAScheduler(min_resource=1, max_resource=9, reduction_factor=3)
    tunelab.create_study(
        "s",
        storage=url,
        metric="loss",
        direction="minimize",
        sampler="random",
        seed=7,
        scheduler=asha,
    ).close()
    run_two_workers(tmp_path, WORKER, {"url": url, "n_trials": 40}, timeout=120)

    study = tunelab.load_study("s", storage=url)
    trials = study.trials
    assert len(trials) == 40 and all(t.state.is_finished for t in trials)
    assert {t.state for t in trials} == {TrialState.COMPLETE, TrialState.PRUNED}
    workers = {t.worker for t in trials}
    assert len(workers) == 2

    saw_the_other_worker = False
    for t in study.get_trials([TrialState.PRUNED]):
        k = t.system_attrs["rung"]
        resource = asha.rungs[k]
        assert t.reports[-1].step == resource - 1 and t.value == t.reports[-1].metrics["loss"]
        match = re.search(r"ranks (\d+) of (\d+); only the top (\d+)", t.reason or "")
        assert match, t.reason
        rank, n, keep = map(int, match.groups())
        assert keep == max(1, n // 3) and rank > keep
        # peers this worker alone had put at the rung before this trial got there
        reached = t.reports[-1].time
        own = [
            o
            for o in trials
            if o.worker == t.worker
            and o.number != t.number
            and len(o.reports) >= resource
            and o.reports[resource - 1].time < reached
        ]
        if n - 1 > len(own):
            saw_the_other_worker = True
    assert saw_the_other_worker


ADAPTIVE_WORKER = """
import json, sys, time
import tunelab
from tunelab.errors import TrialPruned

cfg = json.loads(sys.argv[1])
study = tunelab.load_study("s", storage=cfg["url"])  # the stored scheduler, as any worker
assert study.scheduler.adaptive, study.scheduler


def objective(trial):
    x = trial.hp.Float("x", 0.0, 1.0)
    loss = 1.0
    for step in range(9):
        time.sleep(0.002)
        t = (step + 1) / 9
        loss = (1 - x) * 0.5 + x * 0.1 + (0.2 + 0.8 * x) * (1 - t) ** 2 + 0.3 * (1 - x) * t
        trial.report(step, loss=loss)
        if trial.should_prune():
            raise TrialPruned("stopped")
    return loss


study.optimize(objective, n_trials=cfg["n_trials"])
print("done", flush=True)
"""


def test_adaptive_hyperband_two_worker_processes_store_the_brackets_a_fresh_reader_computes(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "s.db")
    tunelab.create_study(
        "s",
        storage=url,
        metric="loss",
        direction="minimize",
        sampler="random",
        seed=5,
        scheduler=HyperbandScheduler(max_resource=9, adaptive=True),
    ).close()
    run_two_workers(tmp_path, ADAPTIVE_WORKER, {"url": url, "n_trials": 80}, timeout=300)
    study = tunelab.load_study("s", storage=url)
    trials = study.trials
    assert len(trials) == 80 and len({t.worker for t in trials}) == 2
    fresh = HyperbandScheduler(max_resource=9, adaptive=True)
    bare = [replace(t, system_attrs={}) for t in trials]
    of = fresh._adaptive_brackets(request(bare[0], bare))
    stored = [t.system_attrs["bracket"] for t in trials]
    assert [of(t) for t in bare] == stored  # every worker and a later reader agree
    # once trials reached max_resource, the late bloomers moved trials out of bracket 0
    assert any(b != fresh.bracket_of(t.number) for t, b in zip(trials, stored, strict=True))
