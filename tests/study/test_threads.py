from __future__ import annotations

import os

import pytest

from tunelab._process import torch_threads


def test_each_worker_gets_one_thread_by_default(monkeypatch):
    monkeypatch.delenv("TUNELAB_TORCH_THREADS", raising=False)
    cores = os.cpu_count() or 1
    assert torch_threads(1) == 1
    assert torch_threads(cores * 4) == 1


def test_workers_really_run_with_the_thread_count(monkeypatch, tmp_path):
    import torch

    import tunelab

    monkeypatch.setenv("TUNELAB_TORCH_THREADS", "1")
    torch.set_num_threads(2)
    study = tunelab.create_study("threads", storage=str(tmp_path / "t.db"))
    study.optimize(lambda t: float(torch.get_num_threads()), n_trials=2, n_jobs=2)
    assert [t.value for t in study.trials] == [1.0, 1.0]


def test_the_environment_overrides_and_is_validated(monkeypatch):
    monkeypatch.setenv("TUNELAB_TORCH_THREADS", "3")
    assert torch_threads(8) == 3
    monkeypatch.setenv("TUNELAB_TORCH_THREADS", "zero")
    with pytest.raises(ValueError, match="TUNELAB_TORCH_THREADS must be a positive integer"):
        torch_threads(1)
