"""Freeze-thaw in the multi-fidelity benchmarks (multifidelity.py, multifidelity_digits.py).

Freeze-thaw decides in the study which paused trial goes on, so its runs go through
`study.optimize` with a resumable objective, not through ask/tell: the objective replays a
configuration's curve from the epoch after its last report, keeps where it stands in a tiny
JSON file (its "checkpoint", declared with `trial.set_resumable`), and raises TrialPaused at
each slice's end. Epochs are counted as they are reported, over all slices; the study stops
when a COMPLETE trial reaches the target, or before a slice starts once the epoch cap is
spent (the slice in progress ends, as a trial in progress does in the ask/tell runs)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import tunelab
from tunelab.schedulers import FreezeThawScheduler
from tunelab.types import TrialState


def freeze_thaw_run(
    sampler: str,
    seed: int,
    target: float,
    params_of: Callable[[Any], dict[str, Any]],
    curve_of: Callable[[dict[str, Any], int], np.ndarray],
    run: Any,
    cap: int,
    spent: dict[int, int] | None = None,
) -> Any:
    """Fill `run` (epochs, best, hit_at) with the epochs `sampler` + freeze-thaw spends until
    a COMPLETE trial reaches `target` or `cap` epochs are spent. `spent`, if given, receives
    every trial's epochs over all its slices (for checking the count)."""
    per_trial: dict[int, int] = {} if spent is None else spent
    with tempfile.TemporaryDirectory(prefix="mf-freeze-thaw-") as folder:

        def objective(trial: tunelab.Trial) -> float:
            acc = curve_of(params_of(trial.hp), seed)
            checkpoint = Path(folder) / f"trial-{trial.number}.json"
            start = 0
            if trial.resume_from is not None:
                start = json.loads(Path(trial.resume_from).read_text())["next_epoch"]
                expected = (trial.resumed_from_step or 0) + 1
                if start != expected:
                    raise RuntimeError(f"checkpoint at epoch {start}, trial at {expected}")
            trial.set_resumable(checkpoint)
            for epoch in range(start, len(acc)):
                run.epochs += 1
                per_trial[trial.number] = per_trial.get(trial.number, 0) + 1
                trial.report(epoch, val_accuracy=float(acc[epoch]))
                checkpoint.write_text(json.dumps({"next_epoch": epoch + 1}))
                if trial.should_prune():
                    raise tunelab.TrialPruned(f"stopped at epoch {epoch}")
                if epoch + 1 < len(acc) and trial.should_pause():
                    raise tunelab.TrialPaused(f"paused after epoch {epoch}")
            return float(acc[-1])

        def watch(study: tunelab.Study, frozen: Any) -> None:
            if frozen.state is TrialState.COMPLETE and frozen.value is not None:
                run.best = max(run.best, frozen.value)
                if run.best >= target and run.hit_at is None:
                    run.hit_at = run.epochs
            if run.hit_at is not None or run.epochs >= cap:
                study.stop()

        study = tunelab.create_study(
            storage=":memory:",
            metric="val_accuracy",
            direction="maximize",
            sampler=sampler,
            seed=seed,
            scheduler=FreezeThawScheduler(),
        )
        # n_trials counts configurations; every one costs at least an epoch, so `cap`
        # of them never binds before the epoch cap does
        study.optimize(objective, n_trials=cap, callbacks=[watch], catch=())
        study.close()
    return run
