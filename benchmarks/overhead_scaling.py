"""Per-trial overhead as a study grows (tunelab only: a before/after check of our own code).

Runs one study on a SQLite file up to 4000 trivial trials and prints the milliseconds per
trial in each stretch. Flat figures mean no per-trial query grows with the study.

    .venv/bin/python benchmarks/overhead_scaling.py
"""

from __future__ import annotations

import os
import tempfile
import time

import tunelab

MARKS = (300, 1000, 2000, 4000)


def objective(trial: tunelab.Trial) -> float:
    hp = trial.hp
    return (
        hp.Float("a", 0.0, 1.0)
        + hp.Float("b", 1e-4, 1.0, sampling="log")
        + hp.Int("c", 1, 9)
        + len(hp.Choice("d", ["x", "yy"]))
    )


def main() -> None:
    folder = tempfile.mkdtemp()
    study = tunelab.create_study(
        "scaling", storage=os.path.join(folder, "s.db"), metric="v", direction="minimize", seed=0
    )
    done, last = 0, time.perf_counter()
    for mark in MARKS:
        study.optimize(objective, n_trials=mark)
        now = time.perf_counter()
        print(f"trials {done:>5}-{mark:<5} {1000 * (now - last) / (mark - done):6.2f} ms/trial")
        done, last = mark, now


if __name__ == "__main__":
    main()
