"""Milliseconds per suggestion of tunelab's model-based samplers beside Optuna 5's, as the
history grows to 100, 300 and 1000 finished trials (issue 4).

Run (about 4 minutes on this 2-core machine, most of it Optuna's GPSampler at 1000 trials):

    bash benchmarks/setup_env.sh && .venv-bench/bin/python benchmarks/suggest_overhead.py

Samplers (default): tunelab tpe (multivariate by default), tpe-indep (multivariate=False), gp,
auto (a name tunelab lacks is skipped with a message) and random (reference); Optuna
TPESampler() (in Optuna 5 the default is multivariate for single-objective studies),
TPESampler(multivariate=True) (so: the same), TPESampler(multivariate=False) (Optuna 4's
default) and GPSampler(); all seed 0. optuna-random is available too.

Flags: `--rounds 3` (alternate the samplers, pool the times), `--warm` (informational: no
`gc.collect()` before each timed suggestion; see below), `--storage DIR` (informational: both
libraries on SQLite files in DIR, so the history reads a real study pays are timed too), `--sizes 100,300,1000`, `--samplers tunelab-tpe,optuna-tpe` (labels or shell-style
patterns), `--k 20` (timed suggestions per size and sampler), `--k-slow 5` (the same for
Optuna's GPSampler at 1000 trials, ~4 s each), `--threads 1` (BLAS/OpenMP/torch threads for
both libraries).

What is timed: a study is pre-filled with N finished trials, the SAME N for both libraries
(random parameters from one seeded generator, a cheap synthetic value). tunelab: `ask` /
suggest / `tell` N times with a replay sampler that returns the history's values, then
`tunelab.load_study(name, <same in-memory storage>, sampler=<the sampler timed>)`; Optuna:
`study.add_trials` of `optuna.trial.create_trial(...)`. (Not `study.enqueue`: an enqueued
trial keeps its values in system_attrs too, which makes every in-memory `get_trials` deep-copy
them, a cost ordinary trials do not have.) Then K+1 more trials, the first
one untimed (warm-up): the clock runs from `study.ask()` until all 7 parameters are suggested
(`trial.hp.Float/Int/Choice` or `trial.suggest_*`), so relative samplers that work at `ask()`
and independent ones that work per parameter are both fully counted; `tell` is not timed.
Both libraries use in-memory storage (tunelab ":memory:", Optuna's default), so the sampler is
what is timed. Each suggestion's CPU time (process time) is recorded beside its wall time: on
a machine that other work keeps busy, wall time mostly measures waiting for a core, and the
CPU ratio is the one to read there. Before each timed suggestion `gc.collect()` runs, which
also leaves the CPU caches cold, as a training step between two suggestions does in a real
study; with `--warm` it does not (a tight ask/tell loop: informational, and several times
kinder to the library with less work per suggestion, whose cost is then mostly cache misses).
We report the median over the K suggestions and ratios tunelab / Optuna, and for tunelab a
breakdown: time in `storage.get_trials` (history reads) and in `sampler.sample`,
measured by wrapping those two methods during the timed window.

Space (7-D, mixed): lr log-float 1e-5..1e-1, batch_size Choice [16, 32, 64, 128, 256],
momentum float 0.5..0.99, weight_decay log-float 1e-6..1e-2, layers int 1..4, units int
32..512 step 32, dropout float 0..0.5 step 0.1.

Targets (Core v2): tunelab TPE <= 1/5 of Optuna TPE's time at 1000 trials (the readable TPE's
bar; it was 1/10 for the cached one); tunelab GP <= 1/5 of Optuna GP's at 300 trials.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import fnmatch
import gc
import math
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from _machine import load_average, samplers_digest, source_state

LABELS = (
    "tunelab-tpe",
    "tunelab-tpe-indep",
    "tunelab-gp",
    "tunelab-auto",
    "tunelab-random",
    "optuna-tpe",
    "optuna-tpe-mv",
    "optuna-tpe-indep",
    "optuna-gp",
    "optuna-random",
)
DEFAULT_SAMPLERS = (
    "tunelab-tpe,tunelab-tpe-indep,tunelab-gp,tunelab-auto,tunelab-random,"
    "optuna-tpe,optuna-tpe-mv,optuna-tpe-indep,optuna-gp"
)
TUNELAB_MODULES = {
    "tpe": ("tunelab.samplers.tpe", "TPESampler"),
    "gp": ("tunelab.samplers.gp", "GPSampler"),
}
# Variants built from a class with options: label suffix -> (sampler name, keyword arguments).
TUNELAB_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "tpe-indep": ("tpe", {"multivariate": False})
}
BATCH_SIZES = (16, 32, 64, 128, 256)
TARGETS = (("tunelab-tpe", "optuna-tpe", 1000, 0.2), ("tunelab-gp", "optuna-gp", 300, 0.2))
COLLECT = True  # gc.collect() before each timed suggestion (--warm: no)
STORAGE_DIR: str | None = None  # --storage DIR: SQLite files there instead of in-memory storage


# -- the space, the history, the value ----------------------------------------------------------


def random_params(rng: Any) -> dict[str, Any]:
    """One configuration drawn uniformly (log-uniformly for the log floats) from the space."""
    return {
        "lr": float(10 ** rng.uniform(-5, -1)),
        "batch_size": int(rng.choice(BATCH_SIZES)),
        "momentum": float(rng.uniform(0.5, 0.99)),
        "weight_decay": float(10 ** rng.uniform(-6, -2)),
        "layers": int(rng.integers(1, 5)),
        "units": int(32 * rng.integers(1, 17)),
        "dropout": round(0.1 * int(rng.integers(0, 6)), 10),
    }


def value(p: dict[str, Any]) -> float:
    """A cheap synthetic loss with an optimum inside the space."""
    return (
        (math.log10(p["lr"]) + 3) ** 2
        + (math.log2(p["batch_size"]) - 6) ** 2 / 4
        + 4 * (p["momentum"] - 0.9) ** 2
        + (math.log10(p["weight_decay"]) + 4) ** 2 / 4
        + (p["layers"] - 2) ** 2 / 2
        + (p["units"] / 256 - 1) ** 2
        + 4 * (p["dropout"] - 0.2) ** 2
    )


def suggest_tunelab(hp: Any) -> dict[str, Any]:
    return {
        "lr": hp.Float("lr", 1e-5, 1e-1, sampling="log"),
        "batch_size": hp.Choice("batch_size", list(BATCH_SIZES)),
        "momentum": hp.Float("momentum", 0.5, 0.99),
        "weight_decay": hp.Float("weight_decay", 1e-6, 1e-2, sampling="log"),
        "layers": hp.Int("layers", 1, 4),
        "units": hp.Int("units", 32, 512, step=32),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1),
    }


def suggest_optuna(trial: Any) -> dict[str, Any]:
    return {
        "lr": trial.suggest_float("lr", 1e-5, 1e-1, log=True),
        "batch_size": trial.suggest_categorical("batch_size", list(BATCH_SIZES)),
        "momentum": trial.suggest_float("momentum", 0.5, 0.99),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "layers": trial.suggest_int("layers", 1, 4),
        "units": trial.suggest_int("units", 32, 512, step=32),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5, step=0.1),
    }


def optuna_distributions() -> dict[str, Any]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    return {
        "lr": FloatDistribution(1e-5, 1e-1, log=True),
        "batch_size": CategoricalDistribution(list(BATCH_SIZES)),
        "momentum": FloatDistribution(0.5, 0.99),
        "weight_decay": FloatDistribution(1e-6, 1e-2, log=True),
        "layers": IntDistribution(1, 4),
        "units": IntDistribution(32, 512, step=32),
        "dropout": FloatDistribution(0.0, 0.5, step=0.1),
    }


# -- samplers -----------------------------------------------------------------------------------


def make_tunelab_sampler(name: str, seed: int) -> Any:
    """By registered name, else from its module (a sampler may exist before it is registered)."""
    import importlib

    from tunelab.samplers import make_sampler

    name, options = TUNELAB_VARIANTS.get(name, (name, {}))
    if not options:
        try:
            return make_sampler(name, seed)
        except ValueError:
            if name not in TUNELAB_MODULES:
                raise
    module, cls = TUNELAB_MODULES[name]
    return getattr(importlib.import_module(module), cls)(seed=seed, **options)


def make_optuna_sampler(name: str, seed: int) -> Any:
    import optuna

    return {
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "tpe-mv": lambda: optuna.samplers.TPESampler(multivariate=True, seed=seed),
        "tpe-indep": lambda: optuna.samplers.TPESampler(multivariate=False, seed=seed),
        "gp": lambda: optuna.samplers.GPSampler(seed=seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }[name]()


# -- timing -------------------------------------------------------------------------------------


def _replay_sampler(history: list[dict[str, Any]]) -> Any:
    """A tunelab Sampler that returns trial n's values from `history[n]`: the pre-fill goes
    through the ordinary ask/suggest/tell path, so the stored trials look exactly like trials a
    sampler chose (enqueued ones would carry their values in system_attrs as well)."""
    from tunelab.samplers import Sampler, SampleRequest

    class ReplaySampler(Sampler):
        name = "replay"

        def sample(self, request: SampleRequest) -> Any:
            return history[request.trial_number][request.param.name]

    return ReplaySampler(seed=0)


def time_tunelab(name: str, history: list[dict[str, Any]], k: int) -> tuple[list[float], float]:
    """Seconds per suggestion for K trials after the history, and the pre-fill time."""
    import tunelab

    study_name = f"suggest-{name}-{len(history)}"
    url = ":memory:" if STORAGE_DIR is None else os.path.join(STORAGE_DIR, f"{study_name}.db")
    filler = tunelab.create_study(
        study_name,
        storage=url,
        metric="loss",
        direction="minimize",
        sampler=_replay_sampler(history),
    )
    start = time.perf_counter()
    for _ in history:
        trial = filler.ask()
        filler.tell(trial, value(suggest_tunelab(trial.hp)))
    fill = time.perf_counter() - start
    study = tunelab.load_study(study_name, filler.storage, sampler=make_tunelab_sampler(name, 0))
    done = study.trials
    assert len(done) == len(history) and all(t.value is not None for t in done), "bad pre-fill"
    assert done[-1].params == history[-1], "pre-fill params differ from the history"
    # Diagnostic wrappers (instance attributes shadow the methods while timing): calls to
    # the storage's get_trials and to the sampler's sample, and the seconds spent in each.
    spent = {"get_trials": [0, 0.0], "sample": [0, 0.0]}

    def counted(key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key][0] += 1
                spent[key][1] += time.perf_counter() - t0

        return wrapper

    store, sampler = study.storage, study.sampler
    store.get_trials = counted("get_trials", store.get_trials)  # type: ignore[method-assign]
    sampler.sample = counted("sample", sampler.sample)  # type: ignore[method-assign]
    times: list[float] = []
    cpu: list[float] = []
    seen: list[tuple[int, float, float]] = []
    try:
        for _ in range(k + 1):
            if COLLECT:
                gc.collect()
            for v in spent.values():
                v[:] = [0, 0.0]
            c0, t0 = time.process_time(), time.perf_counter()
            trial = study.ask()
            params = suggest_tunelab(trial.hp)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            seen.append((int(spent["get_trials"][0]), spent["get_trials"][1], spent["sample"][1]))
            study.tell(trial, value(params))
    finally:
        del store.get_trials, sampler.sample  # back to the classes' methods
    BREAKDOWN[(name, len(history))] = tuple(  # type: ignore[assignment]
        statistics.median(x[i] for x in seen[1:]) for i in range(3)
    )
    CPU[(f"tunelab-{name}", len(history))] += cpu[1:]
    return times[1:], fill


def time_optuna(name: str, history: list[dict[str, Any]], k: int) -> tuple[list[float], float]:
    import optuna

    url = (
        None
        if STORAGE_DIR is None
        else f"sqlite:///{os.path.join(STORAGE_DIR, f'optuna-{name}-{len(history)}.db')}"
    )
    study = optuna.create_study(
        direction="minimize", sampler=make_optuna_sampler(name, 0), storage=url
    )
    dists = optuna_distributions()
    start = time.perf_counter()
    study.add_trials(
        [optuna.trial.create_trial(params=p, distributions=dists, value=value(p)) for p in history]
    )
    fill = time.perf_counter() - start
    times, cpu = [], []
    for _ in range(k + 1):
        if COLLECT:
            gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        trial = study.ask()
        params = suggest_optuna(trial)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        study.tell(trial, value(params))
    CPU[(f"optuna-{name}", len(history))] += cpu[1:]
    return times[1:], fill


# Diagnostic, tunelab only, by (sampler, history size): medians per timed trial suggestion of
# (storage.get_trials calls, seconds in them, seconds in sampler.sample).
BREAKDOWN: dict[tuple[str, int], tuple[float, float, float]] = {}
# CPU seconds (process time) of each timed suggestion, by (label, history size), all rounds:
# on a machine other work keeps busy, wall time counts the time the process waited for a core.
CPU: collections.defaultdict[tuple[str, int], list[float]] = collections.defaultdict(list)

TIMERS: dict[str, Callable[[str, list[dict[str, Any]], int], tuple[list[float], float]]] = {
    "tunelab": time_tunelab,
    "optuna": time_optuna,
}


def available(label: str) -> str | None:
    lib, name = label.split("-", 1)
    try:
        if lib == "tunelab":
            make_tunelab_sampler(name, 0)
        else:
            make_optuna_sampler(name, 0)
            if name == "gp":
                import torch  # noqa: F401  Optuna's GPSampler needs it
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return None


# -- driver -------------------------------------------------------------------------------------


def environment(threads: int) -> str:
    import optuna

    import tunelab

    return (
        f"date {dt.datetime.now().astimezone().isoformat(timespec='seconds')}; "
        f"{platform.platform()}; {os.cpu_count()} CPUs; Python {platform.python_version()}; "
        f"tunelab {tunelab.__version__} ({source_state()}; samplers/ sha1 {samplers_digest()}); "
        f"optuna {optuna.__version__}; "
        f"{threads} thread(s); {load_average()}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,300,1000", help="finished trials before timing")
    parser.add_argument(
        "--samplers",
        default=DEFAULT_SAMPLERS,
        help="comma list of labels or patterns: " + ", ".join(LABELS),
    )
    parser.add_argument("--k", type=int, default=20, help="timed suggestions per cell")
    parser.add_argument(
        "--k-slow", type=int, default=5, help="timed suggestions for optuna-gp at >= 1000 trials"
    )
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="time every sampler this many times in turn (alternating, so slow "
        "spells of a busy machine fall on all of them); times are pooled",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="informational: no gc.collect() before each timed suggestion, so "
        "caches stay warm as in a tight ask/tell loop with no training "
        "between suggestions; the targets are judged without it",
    )
    parser.add_argument(
        "--storage",
        metavar="DIR",
        help="informational: both libraries store the studies in SQLite files "
        "in DIR (fresh ones; tunelab's file storage, Optuna's RDBStorage) "
        "instead of in memory, so history reads are timed too",
    )
    args = parser.parse_args(argv)
    global COLLECT, STORAGE_DIR
    COLLECT = not args.warm
    STORAGE_DIR = args.storage
    if STORAGE_DIR is not None:
        os.makedirs(STORAGE_DIR, exist_ok=True)
        for old in os.listdir(STORAGE_DIR):
            if old.endswith((".db", ".db-wal", ".db-shm")):
                os.remove(os.path.join(STORAGE_DIR, old))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if var in os.environ and os.environ[var] != str(args.threads):
            print(f"note: {var}={os.environ[var]} was set; the thread count may differ")
        os.environ.setdefault(var, str(args.threads))  # before numpy/torch load (imports below)

    import numpy as np
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass

    sizes = [int(s) for s in args.sizes.split(",")]
    labels: list[str] = []
    for pat in (p.strip() for p in args.samplers.split(",") if p.strip()):
        for label in (x for x in LABELS if fnmatch.fnmatchcase(x, pat) and x not in labels):
            why = available(label)
            if why:
                print(f"skipping {label}: not available ({why.splitlines()[0][:160]})")
            else:
                labels.append(label)
    print(environment(args.threads), flush=True)
    print(
        "caches: "
        + (
            "WARM (--warm: no gc.collect() between suggestions; informational)"
            if args.warm
            else "cold (gc.collect() before each timed suggestion)"
        ),
        flush=True,
    )
    print(
        "storage: "
        + (
            f"SQLite files in {STORAGE_DIR} (--storage; informational)"
            if STORAGE_DIR
            else "in memory (both libraries)"
        ),
        flush=True,
    )

    rng = np.random.default_rng(0)
    pool = [random_params(rng) for _ in range(max(sizes))]
    median_ms: dict[tuple[str, int], float] = {}
    spread: dict[tuple[str, int], str] = {}
    started = time.perf_counter()
    pooled: collections.defaultdict[tuple[str, int], list[float]] = collections.defaultdict(list)
    for n, label, round_ in (
        (n, label, r) for n in sizes for r in range(args.rounds) for label in labels
    ):
        history = pool[:n]
        lib, name = label.split("-", 1)
        k = args.k_slow if label == "optuna-gp" and n >= 1000 else args.k
        try:
            times, fill = TIMERS[lib](name, history, k)
        except Exception as e:  # report it, go on with the others
            print(f"  {label:14s} N={n:5d}: ERROR {type(e).__name__}: {e}", flush=True)
            continue
        pooled[(label, n)] += times
        ms = [1000 * t for t in pooled[(label, n)]]
        median_ms[(label, n)] = statistics.median(ms)
        q = np.percentile(ms, [25, 75])
        spread[(label, n)] = f"[{q[0]:.3g}, {q[1]:.3g}]"
        print(
            f"  {label:14s} N={n:5d} round {round_ + 1}: median {median_ms[(label, n)]:9.2f} "
            f"ms/suggestion, CPU {1000 * statistics.median(CPU[(label, n)]):.2f} ms "
            f"(q1-q3 {spread[(label, n)]}, k={k}; pre-fill {fill:.1f} s; "
            f"{time.perf_counter() - started:.0f} s elapsed)",
            flush=True,
        )

    print("\n## ms per trial suggestion (all 7 parameters), median [q1, q3]\n")
    print("| sampler | " + " | ".join(f"{n} trials" for n in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for label in labels:
        cells = [
            f"{median_ms[(label, n)]:.3g} {spread[(label, n)]}"
            if (label, n) in median_ms
            else "n/a"
            for n in sizes
        ]
        print(f"| {label} | " + " | ".join(cells) + " |")
    pairs = [
        ("tunelab-tpe", "optuna-tpe"),
        ("tunelab-tpe", "optuna-tpe-mv"),
        ("tunelab-tpe-indep", "optuna-tpe-indep"),
        ("tunelab-gp", "optuna-gp"),
        ("tunelab-auto", "optuna-tpe"),
        ("tunelab-auto", "optuna-gp"),
    ]
    print("\n## Ratios tunelab / Optuna (median ms)\n")
    print("| pair | " + " | ".join(f"{n} trials" for n in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for a, b in pairs:
        if a in labels and b in labels:
            cells = [
                f"{median_ms[(a, n)] / median_ms[(b, n)]:.3f}"
                if (a, n) in median_ms and (b, n) in median_ms
                else "n/a"
                for n in sizes
            ]
            print(f"| {a} / {b} | " + " | ".join(cells) + " |")
    if BREAKDOWN:
        print("\n## Diagnostic: where tunelab's time per suggestion goes (medians, ms)\n")
        print(
            "reads = `storage.get_trials` calls (history reads; the in-memory storage copies "
            "every trial record on each), in `sample` = the sampler's own work; the rest of "
            "the total is the study's bookkeeping.\n"
        )
        print(
            "| sampler | "
            + " | ".join(f"{n} trials: total / reads / in sample" for n in sizes)
            + " |"
        )
        print("|---|" + "---:|" * len(sizes))
        for label in labels:
            lib, name = label.split("-", 1)
            if lib != "tunelab":
                continue
            cells = []
            for n in sizes:
                if (name, n) not in BREAKDOWN or (label, n) not in median_ms:
                    cells.append("n/a")
                    continue
                calls, read_s, sample_s = BREAKDOWN[(name, n)]
                cells.append(
                    f"{median_ms[(label, n)]:.3g} / {calls:g}x {1000 * read_s:.3g} / "
                    f"{1000 * sample_s:.3g}"
                )
            print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    for a, b, n, limit in TARGETS:
        if (a, n) in median_ms and (b, n) in median_ms:
            ratio = median_ms[(a, n)] / median_ms[(b, n)]
            print(
                f"Target {a} <= {limit:g} x {b} at {n} trials: "
                + ("(warm caches, informational only) " if not COLLECT else "")
                + ("(SQLite storage, informational only) " if STORAGE_DIR else "")
                + f"{'MET' if ratio <= limit else 'NOT MET'} (ratio {ratio:.3f}, "
                f"{median_ms[(a, n)]:.2f} vs {median_ms[(b, n)]:.2f} ms)"
            )
            cpu = statistics.median(CPU[(a, n)]) / statistics.median(CPU[(b, n)])
            print(
                f"  in CPU time (process time, medians): ratio {cpu:.3f}, "
                f"{1000 * statistics.median(CPU[(a, n)]):.2f} vs "
                f"{1000 * statistics.median(CPU[(b, n)]):.2f} ms"
            )
        else:
            print(f"Target {a} <= {limit:g} x {b} at {n} trials: not measured")
    print(
        f"\n(total {time.perf_counter() - started:.0f} s; load average at the end "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + ")"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
