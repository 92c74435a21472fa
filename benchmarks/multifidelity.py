"""Multi-fidelity benchmark: epochs spent to reach what 100 full-length random trials find.

No training: a parametric family of synthetic learning curves stands in for it, with
epochs as the resource (E = 27). For a configuration
    x = log10(lr) in [-4, -1],  u = log2(units) in [4, 9],  d = dropout in [0, 0.5],
    w = log10(weight_decay) in [-6, -2]
the validation accuracy after t epochs is
    acc(t) = 0.1 + (A - 0.1) * (1 - exp(-k t)) - o * (t / E) * (1 - exp(-k t)) + noise
with
    asymptote  A = 0.96 - 0.10 (x + 2.6)^2 - 0.012 (u - 7.5)^2 - 0.3 (d - 0.25)^2
                    - 0.005 (w + 4)^2                                (clipped to [0.15, 0.99])
    rate       k = 2 * 10^(0.6 (x + 1.5)) * (1 - d / 2)              (per epoch)
    overfit    o = 0.04 * max(0, u - 6) / 3 * (0.5 - d) / 0.5        (big nets, no dropout)
    noise      N(0, 0.004) per epoch, fixed by the configuration and the seed.
The best asymptote sits at lr ~ 2.5e-3, whose curve rises with k ~ 0.4 per epoch:
learning rates near 1e-2 lead for the first ~6 epochs and finish lower, and small
learning rates (k down to 0.06 at 1e-4) keep climbing to the last epoch. Those late
bloomers are what makes early stopping risky. A trial's value is acc(E) at its last epoch.

For each seed: random search without pruning runs 100 full trials; its best value is
the target. Every method then runs until a COMPLETE trial reaches the target, or until
it has spent as many epochs as random search did (CAP = 100 x 27 = 2700).
Reported: epochs spent (medians, quartiles) and how many seeds
reached the target. Run:  .venv-bench/bin/python benchmarks/multifidelity.py --seeds 10
--steady: a control family where every configuration rises at the same rate (k = 0.4), so
early epochs rank as the last does.
"Hyperband" is HyperbandScheduler's default, adaptive=True: brackets drawn by how well each
starting rung's ranking predicts the final one (see schedulers/hyperband.py);
"Hyperband(plain)" is adaptive=False, the fixed order of Li et al.
"tpe[top step]" is an ablation: the TPE fitted on the top step with enough trials only
(`fidelity_observations(..., explained_at_least=None)`, BOHB's rule), as before the default
learnt to take a lower step that ranks alike (samplers/fidelity.py).
"gp" learns from the trials valued at one fidelity (samplers/gp/observations.py
`learning_history`: `fidelity.model_history` without the trials pruned below that step);
"gp[clipped]", "gp[pruned kept]" and "gp[min 8]" are ablations (`gp_history`).
"freeze-thaw" rows run `study.optimize` with a resumable replay (benchmarks/mf_freeze_thaw.py):
trials pause every 3 epochs and the study chooses what goes on; epochs count over all slices.
"tpe" learns from `fidelity.model_history`: the pruned trials that stopped below the
chosen step stay in the model, ranked after the others (before 2026-11-23 03:00 UTC they
were dropped, as BOHB does; the "tpe[pruned kept]" rows of benchmarks/RESULTS.md measured
the change before it was made).

Another problem reuses this protocol and table through `Problem` and `main(problem)`
(benchmarks/multifidelity_digits.py: the digits MLP, tabular).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import math
import platform
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

import tunelab
from tunelab.schedulers import ASHAScheduler, ExtrapolateScheduler, HyperbandScheduler
from tunelab.types import TrialState

E = 27  # epochs of a full-length trial (max resource)
N_RANDOM = 100
CAP = N_RANDOM * E  # a method gets random search's own budget to reach the target


def curve(params: dict[str, float], seed: int, steady: bool = False) -> np.ndarray:
    """acc(1..E) for one configuration (see the module doc); steady: every configuration
    rises at the same rate k = 0.4, so early epochs rank configurations as the last does
    (up to noise): a control family without late bloomers."""
    x = math.log10(params["lr"])
    u = math.log2(params["units"])
    d = params["dropout"]
    w = math.log10(params["weight_decay"])
    a = 0.96 - 0.10 * (x + 2.6) ** 2 - 0.012 * (u - 7.5) ** 2 - 0.3 * (d - 0.25) ** 2
    a = min(0.99, max(0.15, a - 0.005 * (w + 4) ** 2))
    k = 0.4 if steady else 2 * 10 ** (0.6 * (x + 1.5)) * (1 - d / 2)
    o = 0.04 * max(0.0, u - 6) / 3 * (0.5 - d) / 0.5
    t = np.arange(1, E + 1, dtype=float)
    rise = 1 - np.exp(-k * t)
    key = zlib.crc32(json.dumps([round(params[n], 12) for n in sorted(params)]).encode())
    noise = np.random.default_rng([seed, key]).normal(0.0, 0.004, E)
    return 0.1 + (a - 0.1) * rise - o * (t / E) * rise + noise


class Budget(Exception):
    """The method spent CAP epochs."""


@dataclass
class Run:
    epochs: int = 0
    best: float = -math.inf
    hit_at: int | None = None


# -- tunelab -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """What a method tunes: the parameters (asked the tunelab way and the Optuna way, in
    the same order) and the learning curve acc(1..E) of a configuration for a seed."""

    name: str
    tunelab_params: Callable[[Any], dict[str, Any]]
    optuna_params: Callable[[Any], dict[str, Any]]
    curve: Callable[[dict[str, Any], int], np.ndarray]


def _synthetic_tunelab(hp: Any) -> dict[str, Any]:
    return {
        "lr": hp.Float("lr", 1e-4, 1e-1, sampling="log"),
        "units": hp.Int("units", 16, 512, sampling="log"),
        "dropout": hp.Float("dropout", 0.0, 0.5),
        "weight_decay": hp.Float("weight_decay", 1e-6, 1e-2, sampling="log"),
    }


def _synthetic_optuna(trial: Any) -> dict[str, Any]:
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
        "units": trial.suggest_int("units", 16, 512, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
    }


SYNTHETIC = Problem("synthetic", _synthetic_tunelab, _synthetic_optuna, curve)
STEADY = Problem(
    "synthetic, steady (no late bloomers)",
    _synthetic_tunelab,
    _synthetic_optuna,
    lambda params, seed: curve(params, seed, steady=True),
)


def tunelab_run(
    sampler: Any, scheduler: Any, seed: int, target: float, problem: Problem = SYNTHETIC
) -> Run:
    study = tunelab.create_study(
        storage=":memory:",
        metric="val_accuracy",
        direction="maximize",
        sampler=sampler,
        seed=seed,
        scheduler=scheduler,
    )
    run = Run()
    while run.hit_at is None and run.epochs < CAP:
        trial = study.ask()
        acc = problem.curve(problem.tunelab_params(trial.hp), seed)
        if replay_epochs(trial, acc, run):
            study.tell(trial, state=TrialState.PRUNED)
            continue
        study.tell(trial, float(acc[-1]))
        run.best = max(run.best, float(acc[-1]))
        if run.best >= target:
            run.hit_at = run.epochs
    study.close()
    return run


def replay_epochs(trial: Any, acc: np.ndarray, run: Run, **fixed: float) -> bool:
    """Report a tunelab trial's curve epoch by epoch (with metrics that stay `fixed`),
    counting the epochs in `run`, until the scheduler prunes it: whether it did."""
    for epoch in range(E):
        run.epochs += 1
        trial.report(epoch, val_accuracy=float(acc[epoch]), **fixed)
        if trial.should_prune():
            return True
    return False


def random_baseline(seed: int, problem: Problem = SYNTHETIC) -> tuple[float, int]:
    """Random search, no pruning, 100 full trials: (best value, epochs until it was found)."""
    study = tunelab.create_study(
        storage=":memory:",
        metric="val_accuracy",
        direction="maximize",
        sampler="random",
        seed=seed,
    )
    values = []
    for _ in range(N_RANDOM):
        trial = study.ask()
        value = float(problem.curve(problem.tunelab_params(trial.hp), seed)[-1])
        study.tell(trial, value)
        values.append(value)
    return max(values), (int(np.argmax(values)) + 1) * E


# -- optuna --------------------------------------------------------------------------------------


def optuna_run(
    pruner_name: str, sampler_name: str, seed: int, target: float, problem: Problem = SYNTHETIC
) -> Run:
    import optuna

    if pruner_name == "sha":
        pruner: Any = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    else:
        pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=E, reduction_factor=3)
    sampler: Any = (
        optuna.samplers.TPESampler(seed=seed)
        if sampler_name == "tpe"
        else optuna.samplers.RandomSampler(seed=seed)
    )
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    run = Run()
    while run.hit_at is None and run.epochs < CAP:
        trial = study.ask()
        acc = problem.curve(problem.optuna_params(trial), seed)
        pruned = False
        for epoch in range(E):
            run.epochs += 1
            trial.report(float(acc[epoch]), epoch + 1)  # step = epochs done = resource
            if trial.should_prune():
                pruned = True
                break
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            continue
        study.tell(trial, float(acc[-1]))
        run.best = max(run.best, float(acc[-1]))
        if run.best >= target:
            run.hit_at = run.epochs
    return run


@contextlib.contextmanager
def top_step_model() -> Iterator[None]:
    """Ablation: the TPE fits on the top step with enough trials only (BOHB's rule), as
    before `fidelity_observations` learnt to take a lower step that ranks alike. Replaced
    where the TPE reads it and where `fidelity.model_history` does."""
    from tunelab.samplers import fidelity
    from tunelab.samplers.tpe import sampler as tpe_module

    original = fidelity.fidelity_observations
    top = functools.partial(original, explained_at_least=None)
    modules = [m for m in (tpe_module, fidelity) if hasattr(m, "fidelity_observations")]
    for module in modules:
        module.fidelity_observations = top  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in modules:
            module.fidelity_observations = original  # type: ignore[attr-defined]


@contextlib.contextmanager
def gp_history(variant: str) -> Iterator[None]:
    """Ablations of what the GP learns from once trials are pruned (samplers/gp/
    observations.py `learning_history`; the default leaves out trials pruned below the
    chosen step, as BOHB does):
    "clipped": the history as it is, as before 2026-11-23 04:30 UTC: pruned trials' last
        values, from whatever step they stopped at, clipped to [median, worst] of the
        complete trials' final values;
    "pruned kept": the TPE's view (`fidelity.model_history`), pruned trials below the
        chosen step kept and clipped to [median, worst] of the values at that step;
    "min 8": at least 8 trials at the chosen step (2d for 4 parameters) instead of
        max(5, d + 1), and pruned trials left out also while no step has that many."""
    from tunelab.samplers import fidelity
    from tunelab.samplers.gp import observations

    def view(history: Any, metric: str | None, direction: Any) -> Any:
        if variant == "clipped" or metric is None:
            return history
        if not any(fidelity.stopped_by_scheduler(t) for t in history):
            return history
        if variant == "pruned kept":
            return fidelity.model_history(history, metric, direction)
        seen = fidelity.model_history(
            history, metric, direction, min_points=8, keep_stopped_below=False
        )
        return [t for t in seen if not fidelity.stopped_by_scheduler(t)]

    original = observations.learning_history
    observations.learning_history = view
    try:
        yield
    finally:
        observations.learning_history = original


def methods(problem: Problem) -> dict[str, Callable[[int, float], Run]]:
    """Every method, by its table name, as (seed, target) -> Run on `problem`."""

    def tl(sampler: str, scheduler: Callable[[], Any]) -> Callable[[int, float], Run]:
        return lambda s, t: tunelab_run(sampler, scheduler(), s, t, problem)

    def within(
        context: Callable[[], Any], method: Callable[[int, float], Run]
    ) -> Callable[[int, float], Run]:
        def run(s: int, t: float) -> Run:
            with context():
                return method(s, t)

        return run

    def op(pruner: str, sampler: str) -> Callable[[int, float], Run]:
        return lambda s, t: optuna_run(pruner, sampler, s, t, problem)

    def hb(adaptive: bool = True) -> Callable[[], Any]:
        return lambda: HyperbandScheduler(1, E, 3, adaptive=adaptive)

    def asha() -> Any:
        return ASHAScheduler(1, E, 3)

    def extrapolate() -> Any:
        return ExtrapolateScheduler(max_resource=E)

    def ft(sampler: str) -> Callable[[int, float], Run]:
        def run(s: int, t: float) -> Run:
            from mf_freeze_thaw import freeze_thaw_run  # next to this file

            return freeze_thaw_run(sampler, s, t, problem.tunelab_params, problem.curve, Run(), CAP)

        return run

    return {
        "tunelab random+ASHA": tl("random", asha),
        "tunelab random+Hyperband": tl("random", hb()),
        "tunelab random+Hyperband(plain)": tl("random", hb(False)),
        "tunelab tpe+ASHA": tl("tpe", asha),
        "tunelab tpe+Hyperband": tl("tpe", hb()),
        "tunelab tpe+Hyperband(plain)": tl("tpe", hb(False)),
        "tunelab tpe[top step]+Hyperband": within(top_step_model, tl("tpe", hb())),
        "tunelab tpe[top step]+ASHA": within(top_step_model, tl("tpe", asha)),
        "tunelab tpe (no pruning)": tl("tpe", lambda: None),
        "tunelab random+extrapolate": tl("random", extrapolate),
        "tunelab tpe+extrapolate": tl("tpe", extrapolate),
        "tunelab gp+extrapolate": tl("gp", extrapolate),
        "tunelab random+freeze-thaw": ft("random"),
        "tunelab tpe+freeze-thaw": ft("tpe"),
        "tunelab gp+freeze-thaw": ft("gp"),
        "tunelab gp+ASHA": tl("gp", asha),
        "tunelab gp+Hyperband": tl("gp", hb()),
        "tunelab gp[clipped]+ASHA": within(lambda: gp_history("clipped"), tl("gp", asha)),
        "tunelab gp[clipped]+Hyperband": within(lambda: gp_history("clipped"), tl("gp", hb())),
        "tunelab gp[pruned kept]+Hyperband": within(
            lambda: gp_history("pruned kept"), tl("gp", hb())
        ),
        "tunelab gp[min 8]+Hyperband": within(lambda: gp_history("min 8"), tl("gp", hb())),
        "tunelab gp (no pruning)": tl("gp", lambda: None),
        "tunelab auto(GP)+ASHA": tl("auto", asha),
        "tunelab auto(GP)+Hyperband": tl("auto", hb()),
        "optuna TPE+SuccessiveHalving": op("sha", "tpe"),
        "optuna TPE+Hyperband": op("hyperband", "tpe"),
        "optuna random+SuccessiveHalving": op("sha", "random"),
        "optuna random+Hyperband": op("hyperband", "random"),
    }


METHODS = methods(SYNTHETIC)


def quartiles(values: list[float]) -> str:
    q1, q2, q3 = np.percentile(values, [25, 50, 75])
    return f"{q2:7.0f} [{q1:.0f}, {q3:.0f}]"


def main(problem: Problem = SYNTHETIC, argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--methods", default="", help="comma-separated substrings to keep")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--merge", nargs="+", help="one table from the logs of earlier runs")
    if problem is SYNTHETIC:
        parser.add_argument(
            "--steady", action="store_true", help="the control family without late bloomers"
        )
    args = parser.parse_args(argv)
    if getattr(args, "steady", False):
        problem = STEADY
    if args.merge:
        merge(args.merge, problem)
        return
    logging.getLogger("optuna").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from _machine import load_average, source_state

    catalogue = methods(problem)
    keep = [
        m for m in catalogue if not args.methods or any(k in m for k in args.methods.split(","))
    ]
    print(
        f"# multifidelity ({problem.name}): {args.seeds} seeds, E={E}, cap {CAP} epochs; "
        f"{source_state()}; {load_average()}; python {platform.python_version()}, optuna {optuna.__version__}"
    )
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    _, found, hits, secs = run_seeds(
        seeds, lambda s: random_baseline(s, problem), {m: catalogue[m] for m in keep}
    )
    table(found, hits, {m: float(np.mean(v)) for m, v in secs.items()})
    print(f"{load_average()}")


def run_seeds(
    seeds: Iterable[int],
    baseline: Callable[[int], tuple[float, int]],
    catalogue: dict[str, Callable[[int, float], Run]],
) -> tuple[list[float], list[int], dict[str, list[int | None]], dict[str, list[float]]]:
    """Per seed, the baseline's (target, epochs it took) and every method's run to that
    target: (targets, baseline epochs, epochs to the target per method or None, seconds)."""
    hits: dict[str, list[int | None]] = {m: [] for m in catalogue}
    secs: dict[str, list[float]] = {m: [] for m in catalogue}
    targets, found = [], []
    for seed in seeds:
        target, when = baseline(seed)
        targets.append(target)
        found.append(when)
        for m, method in catalogue.items():
            started = time.perf_counter()
            hits[m].append(method(seed, target).hit_at)
            secs[m].append(time.perf_counter() - started)
        # one line per seed, read back by --merge
        print(
            f"seed {seed}: target {target:.4f} · random_found={when} · "
            + " · ".join(f"{m}={hits[m][-1]}|{secs[m][-1]:.1f}s" for m in catalogue),
            flush=True,
        )
    return targets, found, hits, secs


def merge(paths: list[str], problem: Problem = SYNTHETIC) -> None:
    """Rebuild the table from the per-seed lines of several logs (runs split by seed)."""
    found: dict[int, int] = {}
    hits: dict[str, dict[int, int | None]] = {}
    secs: dict[str, list[float]] = {}
    for path in paths:
        with open(path) as fh:
            for line in fh:
                if not line.startswith("seed "):
                    continue
                head, *cells = line.strip().split(" · ")
                seed = int(head.split()[1].rstrip(":"))
                for cell in cells:
                    name, value = cell.rsplit("=", 1)
                    if name == "random_found":
                        found[seed] = int(value)
                        continue
                    hit, _, took = value.partition("|")
                    hits.setdefault(name, {})[seed] = None if hit == "None" else int(hit)
                    if took:
                        secs.setdefault(name, []).append(float(took.rstrip("s")))
    for seed in {s for v in hits.values() for s in v} - set(found):
        found[seed] = random_baseline(seed, problem)[1]
    print(f"seeds: {sorted(found)}")
    table(
        list(found.values()),
        {m: list(v.values()) for m, v in hits.items()},
        {m: float(np.mean(secs[m])) if secs.get(m) else math.nan for m in hits},
    )


def table(
    found: list[int],
    hits: dict[str, list[int | None]],
    secs: dict[str, float],
    target: str = "its best was found",
) -> None:
    full = N_RANDOM * E
    print(
        f"\nrandom, no pruning: {full} epochs (100 full trials); {target} after "
        f"median {quartiles(found)} epochs"
    )
    width = max(34, *(len(m) for m in hits))
    print(
        f"{'method':{width}s} {'reached':>7s} {'epochs median [q1, q3]':>26s} "
        f"{'/ 2700':>7s} {'s/seed':>7s}"
    )
    for m, runs in hits.items():
        spent = [r if r is not None else CAP for r in runs]
        hit = sum(r is not None for r in runs)
        med = float(np.median(spent))
        print(
            f"{m:{width}s} {hit:>4d}/{len(runs):<2d} {quartiles(spent):>26s} "
            f"{med / full:7.3f} {secs[m]:7.1f}"
        )
    print(f"(a seed that did not reach the target within {CAP} epochs counts as {CAP})")


if __name__ == "__main__":
    main()
