from __future__ import annotations

import os

import pytest

from tunelab.study.optimize import torch_threads


def test_each_worker_gets_its_share_of_the_cores(monkeypatch):
    monkeypatch.delenv("TUNELAB_TORCH_THREADS", raising=False)
    cores = os.cpu_count() or 1
    assert torch_threads(1) == cores
    assert torch_threads(cores) == 1
    assert torch_threads(cores * 4) == 1


def test_the_environment_overrides_and_is_validated(monkeypatch):
    monkeypatch.setenv("TUNELAB_TORCH_THREADS", "3")
    assert torch_threads(8) == 3
    monkeypatch.setenv("TUNELAB_TORCH_THREADS", "zero")
    with pytest.raises(ValueError, match="TUNELAB_TORCH_THREADS must be a positive integer"):
        torch_threads(1)
