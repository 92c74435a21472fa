"""`tunelab run --gpus` and `tunelab worker --gpus` with `--trials-per-gpu`, as real
processes on a real SQLite file: each trial process sees its own device."""

from __future__ import annotations

from pathlib import Path

import pytest

import tunelab
from cli_process import run_tunelab
from gpu_trials import OBJECTIVE_SOURCE, assert_shared_fairly
from tunelab.types import TrialState

pytestmark = pytest.mark.slow


def test_run_then_a_worker_share_two_gpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    (tmp_path / "obj.py").write_text(OBJECTIVE_SOURCE)
    shared = ["--storage", "g.db", "--gpus", "0,1", "--trials-per-gpu", "2"]
    run = run_tunelab(
        "run", "obj.py", "--trials", "8", "--sampler", "random", "--no-progress", *shared,
        cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "GPUs 0, 1 (2 trials each)" in run.stdout
    worker = run_tunelab(
        "worker", "obj", "--script", "obj.py", "--trials", "16", *shared, cwd=tmp_path, timeout=120
    )
    assert worker.returncode == 0, worker.stderr
    assert "4 at a time · GPUs 0, 1 (2 trials each)" in worker.stdout
    study = tunelab.load_study("obj", str(tmp_path / "g.db"))
    trials = study.get_trials([TrialState.COMPLETE])
    assert len(trials) == 16
    assert_shared_fairly(trials[:8], {"0", "1"}, per_gpu=2)
    assert_shared_fairly(trials[8:], {"0", "1"}, per_gpu=2)
