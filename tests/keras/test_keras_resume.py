"""overwrite=False resumes a search killed with SIGKILL, without repeating finished trials."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tunelab
from tunelab import TrialState

JOB = Path(__file__).with_name("kt_resume_job.py")


def _run(directory: Path, kill_in_fit: int, log: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KERAS_BACKEND": "torch", "TUNELAB_TORCH_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(JOB), str(directory), str(kill_in_fit), str(log)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_resume_after_kill_9(digits, tmp_path: Path) -> None:
    x_tr, y_tr, x_val, y_val = digits
    np.savez(tmp_path / "digits.npz", x_tr=x_tr, y_tr=y_tr, x_val=x_val, y_val=y_val)
    log = tmp_path / "fits.log"
    first = _run(tmp_path, kill_in_fit=2, log=log)
    assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
    storage = str(tmp_path / "resume" / "tunelab.db")
    before = tunelab.load_study("resume", storage).trials
    assert [t.state for t in before] == [TrialState.COMPLETE, TrialState.RUNNING]
    assert sorted(before[1].intermediate("val_accuracy")) == [0]  # killed mid-trial

    # The rerun, in this process (a new worker: the killed one's pid is gone).
    from kt_resume_job import search

    search(str(tmp_path), kill_in_fit=0, fit_log=str(log))
    after = tunelab.load_study("resume", storage).trials
    assert log.read_text().count("fit") == 2 + 2  # the rerun trained two trials, not three
    assert [t.state for t in after] == [TrialState.COMPLETE, TrialState.FAIL] + [
        TrialState.COMPLETE
    ] * 2
    assert (after[1].reason or "").startswith("worker lost")
    old, new = before[0], after[0]  # the finished trial is untouched
    assert (old.params, old.value, old.reports) == (new.params, new.value, new.reports)
    assert len({tuple(t.params.values()) for t in after if t.state is TrialState.COMPLETE}) == 3
    assert (tmp_path / "resume" / "models" / "trial_00000.keras").is_file()
