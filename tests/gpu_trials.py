"""What the GPU-slot tests share: an objective that records the devices its process sees
and when it ran, and the check that trials kept to their devices.

Any test module imports it as `gpu_trials` (tests/ is on sys.path, as for cli_process)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

SLEEP_S = 0.3  # long enough that the trial processes' trials overlap

OBJECTIVE_SOURCE = f"""
import os, time
METRIC = "loss"
DIRECTION = "minimize"

def objective(trial):
    x = trial.hp.Float("x", -1.0, 1.0)
    trial.set_user_attr("gpu", os.environ.get("CUDA_VISIBLE_DEVICES"))
    trial.set_user_attr("pid", os.getpid())
    trial.set_user_attr("start", time.time())
    time.sleep({SLEEP_S})
    trial.set_user_attr("end", time.time())
    return x * x
"""


def objective(trial: Any) -> float:
    """OBJECTIVE_SOURCE's objective, for `optimize` in a test."""
    x = float(trial.hp.Float("x", -1.0, 1.0))
    trial.set_user_attr("gpu", os.environ.get("CUDA_VISIBLE_DEVICES"))
    trial.set_user_attr("pid", os.getpid())
    trial.set_user_attr("start", time.time())
    time.sleep(SLEEP_S)
    trial.set_user_attr("end", time.time())
    return x * x


def assert_shared_fairly(trials: Sequence[Any], devices: set[str], per_gpu: int) -> None:
    """Every trial saw exactly one of `devices`, each process always the same one, every
    device ran trials, and at no trial's start did more than `per_gpu` run on its device."""
    seen = {t.user_attrs["gpu"] for t in trials}
    assert seen == devices, seen
    by_pid: dict[int, set[str]] = {}
    for t in trials:
        by_pid.setdefault(t.user_attrs["pid"], set()).add(t.user_attrs["gpu"])
    assert all(len(gpus) == 1 for gpus in by_pid.values()), by_pid
    assert os.getpid() not in by_pid  # trials ran in child processes
    spans = [(t.user_attrs["start"], t.user_attrs["end"], t.user_attrs["gpu"]) for t in trials]
    for start, _, gpu in spans:
        sharing = [g for s, e, g in spans if s <= start < e and g == gpu]
        assert len(sharing) <= per_gpu, spans
