"""Throughput of many workers on one study (issue 7): tunelab beside Optuna 5's RDBStorage on
the same databases in the same run, and per-trial overhead beside Ray Tune.

Run:  bash benchmarks/setup_env.sh && .venv-bench/bin/pip install 'ray[tune]' 'psycopg[binary]'
      .venv-bench/bin/python benchmarks/throughput.py [--trials 400] [--workers 1 2 4 8]
          [--databases sqlite postgresql] [--repeat 3] [--no-ray]

Why this shape:
- The objective is trivial (one float), so trials per second measure the framework and the
  database: claiming a trial, storing its parameters and result, heartbeats.
- k worker processes share one study; tunelab's budget is study-wide (n_trials=N, n_jobs=k),
  Optuna's is per process, so each of its k processes runs N/k trials: the same total.
- Both write to a fresh SQLite file and a fresh PostgreSQL database (127.0.0.1, psycopg 3)
  for every run; the two libraries alternate which goes first, and we quote medians of
  `--repeat` runs. The machine has 2 cores shared with other work: read ratios, not rates.
- Ray Tune: 100 trials of the same objective on a local Ray (num_cpus=2) already started;
  per-trial overhead = wall time / trials, beside tunelab's with 2 workers on SQLite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import psycopg
from _machine import load_average, source_state

import tunelab

ADMIN_DSN = os.environ.get("TUNELAB_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")


def tunelab_objective(trial: Any) -> float:
    return trial.hp.Float("x", 0.0, 1.0)


def optuna_objective(trial: optuna.Trial) -> float:
    return trial.suggest_float("x", 0.0, 1.0)


# -- databases ------------------------------------------------------------------------------
def new_sqlite(root: Path) -> str:
    return f"sqlite:///{root / f'{uuid.uuid4().hex[:8]}.db'}"


def new_postgres() -> str:
    name = f"tunelab_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- one run each ---------------------------------------------------------------------------
def run_tunelab(url: str, trials: int, workers: int) -> float:
    """Trials per second: `workers` processes on one study until it holds `trials`."""
    study = tunelab.create_study(
        "bench", storage=url, metric="v", direction="minimize", sampler="random"
    )
    start = time.perf_counter()
    study.optimize(tunelab_objective, n_trials=trials, n_jobs=workers)
    wall = time.perf_counter() - start
    done = len(tunelab.load_study("bench", url).get_trials([tunelab.TrialState.COMPLETE]))
    if done != trials:
        raise RuntimeError(f"tunelab stored {done} complete trials, expected {trials}")
    return trials / wall


def _optuna_worker(url: str, n: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name="bench", storage=url, sampler=optuna.samplers.RandomSampler()
    )
    study.optimize(optuna_objective, n_trials=n)


def run_optuna(url: str, trials: int, workers: int) -> float:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(study_name="bench", storage=url, direction="minimize")
    ctx = mp.get_context("fork")
    shares = [trials // workers + (i < trials % workers) for i in range(workers)]
    start = time.perf_counter()
    procs = [ctx.Process(target=_optuna_worker, args=(url, n)) for n in shares]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.perf_counter() - start
    if any(p.exitcode for p in procs):
        raise RuntimeError("an Optuna worker failed")
    study = optuna.load_study(study_name="bench", storage=url)
    done = len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
    if done != trials:
        raise RuntimeError(f"Optuna stored {done} complete trials, expected {trials}")
    return trials / wall


def measure(
    run: Callable[[str, int, int], float], fresh: Callable[[], str], trials: int, workers: int
) -> float:
    url = fresh()
    try:
        return run(url, trials, workers)
    finally:
        if url.startswith("postgresql"):
            drop_postgres(url)


# -- Ray Tune -------------------------------------------------------------------------------
def ray_tune_overhead(trials: int) -> float:
    """Seconds per trial for Ray Tune running `trials` trivial trials on a started local Ray."""
    import ray
    from ray import tune

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:

        def trainable(config: dict[str, float]) -> dict[str, float]:
            return {"loss": config["x"]}

        tuner = tune.Tuner(
            trainable,
            param_space={"x": tune.uniform(0.0, 1.0)},
            tune_config=tune.TuneConfig(num_samples=trials, metric="loss", mode="min"),
            run_config=tune.RunConfig(storage_path=tempfile.mkdtemp(), verbose=0),
        )
        start = time.perf_counter()
        results = tuner.fit()
        wall = time.perf_counter() - start
        if len(results) != trials or results.errors:
            raise RuntimeError(f"Ray Tune ran {len(results)} trials with errors")
        return wall / trials
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    import ray

    print(
        f"# throughput  {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC  "
        f"python {platform.python_version()}  tunelab {tunelab.__version__} ({source_state()})  "
        f"optuna {optuna.__version__}  ray {ray.__version__}  {os.cpu_count()} cores"
    )
    print(f"# {load_average()} at start; {args.trials} trials per run, median of {args.repeat}")
    root = Path(tempfile.mkdtemp(prefix="tunelab-throughput-"))
    rows = []
    databases = {
        "sqlite": ("SQLite", lambda: new_sqlite(root)),
        "postgresql": ("PostgreSQL", new_postgres),
    }
    for db, fresh in (databases[name] for name in args.databases):
        for k in args.workers:
            ours: list[float] = []
            theirs: list[float] = []
            for r in range(args.repeat):
                order = [("t", run_tunelab), ("o", run_optuna)]
                for tag, run in order if r % 2 == 0 else order[::-1]:
                    rate = measure(run, fresh, args.trials, k)
                    (ours if tag == "t" else theirs).append(rate)
            t, o = statistics.median(ours), statistics.median(theirs)
            rows.append((db, k, t, o))
            print(
                f"{db:<10} {k} workers: tunelab {t:7.1f} trials/s   optuna {o:7.1f} trials/s"
                f"   ratio {t / o:5.1f}x   [{load_average()}]",
                flush=True,
            )
    if not args.no_ray:
        ray_s = ray_tune_overhead(100)
        ours = [measure(run_tunelab, lambda: new_sqlite(root), 100, 2) for _ in range(3)]
        ours_s = 1 / statistics.median(ours)
        print(
            f"per-trial overhead, 100 trivial trials, 2 workers: tunelab (SQLite file) "
            f"{ours_s * 1000:.2f} ms   Ray Tune {ray_s * 1000:.1f} ms   "
            f"ratio {ray_s / ours_s:.0f}x   [{load_average()}]"
        )
    print(f"# {load_average()} at end")


if __name__ == "__main__":
    main()
