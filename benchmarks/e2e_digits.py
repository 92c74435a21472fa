"""The seed example as a tunelab user runs it for benchmarks/end_to_end.py: the script of
examples/run_hparam_tuning.py with the benchmark's epochs cap, run by

    tunelab run benchmarks/e2e_digits.py --trials N --jobs 2 --scheduler hyperband

(two worker processes sharing one SQLite file; `--scheduler hyperband` sizes Hyperband to
FIT's epochs; the sampler is the default, "auto"). The only addition is one line per
finished trial appended to $E2E_EVENTS, which the benchmark reads to time the run.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from torch import nn

import tunelab
from tunelab import torch as tl_torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _e2e_workers import EPOCHS, STARTED, log_event

METRIC = "val_accuracy"
DIRECTION = "maximize"
DATA = tl_torch.load_digits()  # 8x8 digits in [0, 1], a fixed stratified 80/20 split
FIT = dict(
    optimizer="adam",
    learning_rate=[1e-4, 1e-3, 1e-2],
    batch_size=64,
    epochs=EPOCHS,  # 9: see benchmarks/_e2e_workers.py
    lr_schedule="constant",
    weight_decay=0.0,
)


def build_model(hp: tunelab.HyperParameters) -> nn.Module:
    """The seed tutorial's tunable model, written the Keras Tuner way."""
    hidden1 = hp.Int("hidden1", min_value=32, max_value=512, step=32)
    hidden2 = hp.Int("hidden2", min_value=16, max_value=128, step=16)
    return nn.Sequential(
        nn.Linear(64, hidden1),
        nn.ReLU(),
        nn.Dropout(hp.Float("dropout1", min_value=0.1, max_value=0.5, step=0.1)),
        nn.Linear(hidden1, hidden2),
        nn.ReLU(),
        nn.Dropout(hp.Float("dropout2", min_value=0.1, max_value=0.5, step=0.1)),
        nn.Linear(hidden2, 10),
    )


def objective(trial: tunelab.Trial) -> float:
    log_event("start")
    cpu = time.process_time()
    try:
        value = tl_torch.fit(build_model(trial.hp), DATA, trial, **FIT)
    except tunelab.TrialPruned:
        cpu = time.process_time() - cpu
        log_event("trial", value=None, epochs=trial.last_step, full=False, cpu=cpu)
        raise
    cpu = time.process_time() - cpu
    log_event("trial", value=float(value), epochs=trial.last_step, full=True, cpu=cpu)
    return float(value)


log_event("ready", since_start=time.time() - STARTED)
if os.environ.get("E2E_EVENTS") is None:
    print("set E2E_EVENTS to log trials; benchmarks/end_to_end.py does", file=sys.stderr)
