"""`optimize(gpus=…, trials_per_gpu=m)`: each trial process sees its own device(s) through
CUDA_VISIBLE_DEVICES, and m trials share each one. Real worker processes on a real SQLite
file; no GPU is needed to see what each process is told."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tunelab
from gpu_trials import assert_shared_fairly, objective
from tunelab.errors import ConfigurationError
from tunelab.types import TrialState

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _all_devices_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def test_two_gpus_two_trials_each(tmp_path: Path) -> None:
    study = tunelab.create_study(
        "g", storage=str(tmp_path / "g.db"), metric="loss", sampler="random"
    )
    study.optimize(objective, n_trials=8, gpus=[0, "1"], trials_per_gpu=2)
    trials = study.get_trials([TrialState.COMPLETE])
    assert len(trials) == 8
    assert_shared_fairly(trials, {"0", "1"}, per_gpu=2)
    assert "CUDA_VISIBLE_DEVICES" not in os.environ  # set in the children only


def test_one_gpu_runs_in_a_child_and_indices_count_the_visible_devices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7,9")  # a scheduler's allocation
    study = tunelab.create_study(
        "one", storage=str(tmp_path / "g.db"), metric="loss", sampler="random"
    )
    study.optimize(objective, n_trials=2, gpus=[1])
    assert_shared_fairly(study.trials, {"7"}, per_gpu=1)
    study.optimize(objective, n_trials=2, add=True, gpus=["0,2"], n_jobs=1)  # a group
    assert [t.user_attrs["gpu"] for t in study.trials[2:]] == ["5,9", "5,9"]
    with pytest.raises(ConfigurationError, match="gpus names GPU 3, but this process sees"):
        study.optimize(objective, n_trials=9, gpus=[3])
    assert len(study.trials) == 4
