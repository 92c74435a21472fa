"""`tunelab run --confirm-top`, `tunelab confirm` and the confirmation block of `tunelab
show`, as real subprocesses."""

from __future__ import annotations

import subprocess
from pathlib import Path

import tunelab as tunelab_api
from cli_process import run_tunelab

NOISY = """
import random

METRIC = "score"

def objective(trial):
    x = trial.hp.Float("x", 0.0, 1.0)
    return x + random.Random(trial.seed).gauss(0, 0.01)
"""


def test_confirm_reruns_reports_and_keeps_its_reruns(tmp_path: Path) -> None:
    (tmp_path / "noisy.py").write_text(NOISY)

    def tunelab(*args: str) -> subprocess.CompletedProcess[str]:
        return run_tunelab(*args, cwd=tmp_path, timeout=120)

    first = tunelab(
        "run",
        "noisy.py",
        "--trials",
        "5",
        "--seed",
        "1",
        "--no-progress",
        "--confirm-top",
        "2",
        "--confirm-seeds",
        "2",
    )
    assert first.returncode == 0, first.stderr
    assert "mean ± 95% interval (re-runs in noisy/seeds)" in first.stdout
    assert first.stdout.count("(2 seeds)") >= 2 and "Welch p" in first.stdout
    refused = tunelab("confirm", "noisy", "--top", "2", "--seeds", "3")  # one more seed each
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "--script" in refused.stderr and "--use-stored-script" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr

    ran = tunelab("confirm", "noisy", "--top", "2", "--seeds", "3", "--use-stored-script")
    assert ran.returncode == 0, ran.stderr
    assert "mean ± 95% interval (re-runs in noisy/seeds)" in ran.stdout
    assert ran.stdout.count("(3 seeds)") >= 2
    assert "beyond seed noise" in ran.stdout or "cannot be told apart" in ran.stdout
    assert len(tunelab_api.load_study("noisy/seeds", str(tmp_path / "tunelab.db")).trials) == 6

    shown = tunelab("show", "noisy")
    assert shown.returncode == 0, shown.stderr
    verdict = [line for line in ran.stdout.splitlines() if "Welch p" in line]
    assert verdict and verdict[0] in shown.stdout  # the same verdict, read back from storage

    again = tunelab("confirm", "noisy", "--top", "2", "--seeds", "3")  # nothing missing
    assert again.returncode == 0, again.stderr
    assert verdict[0] in again.stdout and "script" not in again.stdout.splitlines()[0]
