"""Cost of a freeze-thaw decision (`FreezeThawScheduler.choose_resume`) with many paused
trials, for two versions of the scheduler on the same requests.

The requests are recorded from one run of the synthetic multi-fidelity benchmark
(multifidelity.py's late bloomers, random sampling, freeze-thaw, up to `--epochs` epochs)
with the `--old` version deciding when one is given (it resumed almost nothing, so paused
trials pile up, the case to time), else with this one;
then each version answers every request in order, one fresh scheduler per version (so
whatever it keeps between decisions counts as it would in a study), and the seconds per
decision are reported for the decisions with at least `--paused` trials paused. `--old`
names a file holding another version of schedulers/freeze_thaw.py (e.g. from git show).
Run: PYTHONPATH=src python benchmarks/freeze_thaw_decisions.py --old /tmp/old_ft.py
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mf_freeze_thaw
import multifidelity as mf

from tunelab.schedulers import FreezeThawScheduler, ResumeRequest


def record(seed: int, epochs: int, deciding: Any) -> list[ResumeRequest]:
    """Every request the study made in one run of random + freeze-thaw."""
    requests: list[ResumeRequest] = []

    class Recording(deciding):  # type: ignore[misc,valid-type]
        def choose_resume(self, request: ResumeRequest) -> int | None:
            requests.append(request)
            return super().choose_resume(request)

    mf_freeze_thaw.FreezeThawScheduler = Recording  # type: ignore[misc]
    target, _ = mf.random_baseline(seed)
    problem = mf.SYNTHETIC
    mf_freeze_thaw.freeze_thaw_run(
        "random", seed, target, problem.tunelab_params, problem.curve, mf.Run(), epochs
    )
    mf_freeze_thaw.FreezeThawScheduler = FreezeThawScheduler  # type: ignore[misc]
    return requests


def load(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("freeze_thaw_other", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FreezeThawScheduler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", help="another freeze_thaw.py to time on the same requests")
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=900)
    parser.add_argument("--paused", type=int, default=150)
    args = parser.parse_args()
    versions = {"this": FreezeThawScheduler}
    if args.old:
        versions["old"] = load(args.old)
    requests = record(args.seed, args.epochs, versions.get("old", FreezeThawScheduler))
    paused = np.array([len(r.paused) for r in requests])
    print(
        f"{len(requests)} decisions recorded (seed {args.seed}, {args.epochs} epochs), "
        f"up to {paused.max()} paused; timing those with >= {args.paused} paused"
    )
    for name, cls in versions.items():
        scheduler = cls()
        seconds = []
        for request in requests:
            started = time.perf_counter()
            scheduler.choose_resume(request)
            seconds.append(time.perf_counter() - started)
        many = np.array(seconds)[paused >= args.paused] * 1e3
        print(
            f"{name:5s}: {len(many)} decisions, ms per decision median {np.median(many):.1f} "
            f"[q1 {np.percentile(many, 25):.1f}, q3 {np.percentile(many, 75):.1f}, "
            f"max {many.max():.1f}]; all {len(seconds)}: total {sum(seconds):.1f} s"
        )


if __name__ == "__main__":
    main()
