"""A search that kills itself (SIGKILL, no clean-up) in the middle of its N-th fit.

Usage: python kt_resume_job.py DIRECTORY KILL_IN_FIT FIT_LOG   (KILL_IN_FIT=0: never)
The data: DIRECTORY/digits.npz (x_tr, y_tr, x_val, y_val), written by the test, which also
imports `search` to resume in its own process."""

from __future__ import annotations

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras
import numpy as np
from kt_seed_model import build_model, kt


class KillInFit(keras.callbacks.Callback):
    """Counts fits in a file (callbacks are copied per trial) and kills the process in
    the second epoch of fit number `kill_in_fit`."""

    def __init__(self, kill_in_fit: int, fit_log: str) -> None:
        super().__init__()
        self.kill_in_fit = kill_in_fit
        self.fit_log = fit_log
        self.kill = False

    def on_train_begin(self, logs=None):  # type: ignore[no-untyped-def]
        with open(self.fit_log, "a") as f:
            f.write("fit\n")
        with open(self.fit_log) as f:
            self.kill = sum(1 for _ in f) == self.kill_in_fit

    def on_epoch_begin(self, epoch, logs=None):  # type: ignore[no-untyped-def]
        if self.kill and epoch == 1:  # the first epoch is done and reported
            os.kill(os.getpid(), signal.SIGKILL)


def search(directory: str, kill_in_fit: int, fit_log: str) -> None:
    data = np.load(os.path.join(directory, "digits.npz"), allow_pickle=False)
    x_tr, y_tr, x_val, y_val = (data[k] for k in ("x_tr", "y_tr", "x_val", "y_val"))
    tuner = kt.RandomSearch(
        build_model,
        objective="val_accuracy",
        max_trials=3,
        seed=5,
        directory=directory,
        project_name="resume",
    )
    tuner.search(
        x_tr,
        y_tr,
        epochs=2,
        validation_data=(x_val, y_val),
        callbacks=[KillInFit(kill_in_fit, fit_log)],
        verbose=0,
    )


if __name__ == "__main__":
    search(sys.argv[1], int(sys.argv[2]), sys.argv[3])
