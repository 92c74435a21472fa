"""Multi-objective pruning on the digits MLP: epochs spent to reach the hypervolume that 100
unpruned random trials reach (issue 18).

The problem is benchmarks/mo_problems.py's digits (the tabular MLP of
benchmarks/multifidelity_digits.py; maximise val_accuracy at the final epoch, minimise
n_parameters; reference point (0.8, 60,000)); the protocol is benchmarks/multifidelity.py's,
imported from there, with hypervolume in place of the best value. Per seed, random search
without pruning runs 100 full trials (2,700 epochs), and the hypervolume of those trials is the
target. Every method then runs until its COMPLETE trials' hypervolume reaches the target, or
until it has spent 2,700 epochs. A trial reports both metrics every epoch (n_parameters does
not change) so ASHA and Hyperband rank trials at a rung by non-dominated front; a pruned
trial costs the epochs it ran and adds nothing to the hypervolume. Target: <= 1/3 of random
search's epochs (900).

    nice -n 19 env PYTHONPATH=$PWD/src .venv-bench/bin/python \\
        benchmarks/mo_pruning.py --seeds 10 [--methods random,tpe]

Methods whose tunelab sampler cannot serve several objectives yet are skipped with a message.
"""

from __future__ import annotations

import argparse
import functools
import math
import platform
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import multifidelity as mf
import multifidelity_digits as mfd
from _machine import load_average, source_state
from mo_problems import PROBLEMS

import tunelab
from tunelab.schedulers import ASHAScheduler, HyperbandScheduler
from tunelab.types import TrialState

DIGITS = PROBLEMS["digits"]
REACHED = 1e-12  # hypervolumes are sums of the same products: reached means equal or above


def _metrics(params: dict[str, Any]) -> tuple[np.ndarray, float]:
    return mfd.replay(params, 0), DIGITS.evaluate(params)["n_parameters"]


def baseline(seed: int) -> tuple[float, int]:
    """Random search, no pruning, 100 full trials: (their hypervolume, epochs until the
    hypervolume first reached it)."""
    study = tunelab.create_study(
        storage=":memory:",
        metrics=list(DIGITS.metrics),
        directions=list(DIGITS.directions),
        sampler="random",
        seed=seed,
    )
    points, running = [], []
    for _ in range(mf.N_RANDOM):
        trial = study.ask()
        acc, size = _metrics(DIGITS.tunelab_params(trial.hp))
        study.tell(trial, {"val_accuracy": float(acc[-1]), "n_parameters": size})
        points.append((float(acc[-1]), size))
        running.append(DIGITS.hv(points))
    study.close()
    target = running[-1]
    first = next(i for i, hv in enumerate(running) if hv >= target - REACHED)
    return target, (first + 1) * mf.E


def tunelab_run(sampler: str, scheduler: Any, seed: int, target: float) -> mf.Run:
    study = tunelab.create_study(
        storage=":memory:",
        metrics=list(DIGITS.metrics),
        directions=list(DIGITS.directions),
        sampler=sampler,
        seed=seed,
        scheduler=scheduler,
    )
    run, points = mf.Run(), []
    while run.hit_at is None and run.epochs < mf.CAP:
        trial = study.ask()
        acc, size = _metrics(DIGITS.tunelab_params(trial.hp))
        if mf.replay_epochs(trial, acc, run, n_parameters=size):
            study.tell(trial, state=TrialState.PRUNED)
            continue
        study.tell(trial, {"val_accuracy": float(acc[-1]), "n_parameters": size})
        points.append((float(acc[-1]), size))
        run.best = DIGITS.hv(points)
        if run.best >= target - REACHED:
            run.hit_at = run.epochs
    study.close()
    return run


def optuna_run(sampler_name: str, seed: int, target: float) -> mf.Run:
    """Optuna without pruning (its pruners take one objective)."""
    import optuna

    sampler: Any = (
        optuna.samplers.TPESampler(seed=seed)
        if sampler_name == "tpe"
        else optuna.samplers.NSGAIISampler(seed=seed)
    )
    study = optuna.create_study(directions=list(DIGITS.directions), sampler=sampler)
    run, points = mf.Run(), []
    while run.hit_at is None and run.epochs < mf.CAP:
        trial = study.ask()
        acc, size = _metrics(DIGITS.optuna_params(trial))
        run.epochs += mf.E
        study.tell(trial, [float(acc[-1]), size])
        points.append((float(acc[-1]), size))
        run.best = DIGITS.hv(points)
        if run.best >= target - REACHED:
            run.hit_at = run.epochs
    return run


def methods() -> dict[str, Callable[[int, float], mf.Run]]:
    schedulers: dict[str, Callable[[], Any]] = {
        "+ASHA": lambda: ASHAScheduler(1, mf.E, 3),
        "+Hyperband": lambda: HyperbandScheduler(1, mf.E, 3),
        "+Hyperband(plain)": lambda: HyperbandScheduler(1, mf.E, 3, adaptive=False),
        " (no pruning)": lambda: None,
    }
    chosen = {
        "random": ("+ASHA", "+Hyperband", "+Hyperband(plain)"),
        "tpe": ("+ASHA", "+Hyperband", " (no pruning)"),
        "gp": ("+ASHA", " (no pruning)"),
        "auto": ("+ASHA", " (no pruning)"),
    }

    def tl(sampler: str, scheduler: Callable[[], Any]) -> Callable[[int, float], mf.Run]:
        return lambda s, t: tunelab_run(sampler, scheduler(), s, t)

    catalogue = {
        f"tunelab {sampler}{kind}": tl(sampler, schedulers[kind])
        for sampler, kinds in chosen.items()
        for kind in kinds
    }
    for name in ("tpe", "nsga2"):
        catalogue[f"optuna {name} (no pruning)"] = functools.partial(optuna_run, name)
    return catalogue


def _serves_mo(method: str) -> bool:
    from tunelab.samplers import make_sampler

    if not method.startswith("tunelab"):
        return True
    name = method.split()[1].split("+")[0]
    return bool(getattr(make_sampler(name, 0), "multi_objective", False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--methods", default="", help="comma-separated substrings to keep")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    mfd.table_curves()
    catalogue = methods()
    keep = []
    for m in catalogue:
        if args.methods and not any(k in m for k in args.methods.split(",")):
            continue
        if not _serves_mo(m):
            print(f"skipping {m}: its sampler does not serve several objectives yet")
            continue
        keep.append(m)
    print(
        f"# mo_pruning (digits MLP, tabular; val_accuracy vs n_parameters): {args.seeds} seeds, "
        f"E={mf.E}, cap {mf.CAP} epochs; {source_state()}; {load_average()}; "
        f"python {platform.python_version()}, optuna {optuna.__version__}",
        flush=True,
    )
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    targets, found, hits, secs = mf.run_seeds(seeds, baseline, {m: catalogue[m] for m in keep})
    print(
        f"\ntarget: HV of 100 unpruned random trials, median {np.median(targets):.2f} "
        f"(true front {DIGITS.front_hv():.2f})"
    )
    mean_secs = {m: float(np.mean(v)) if v else math.nan for m, v in secs.items()}
    mf.table(found, hits, mean_secs, "its hypervolume was first reached")
    print(load_average())


if __name__ == "__main__":
    main()
