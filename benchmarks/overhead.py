"""Framework overhead of tunelab beside Optuna 5, on a SQLite file (issue 2).

Run:  bash benchmarks/setup_env.sh && .venv-bench/bin/python benchmarks/overhead.py

Why this shape:
- The objective is trivial (3 floats, 1 int, 1 categorical, a few additions), so the time per
  trial is almost all framework: sampling, bookkeeping and SQL round trips.
- Both libraries write to a fresh SQLite *file* in a temp dir, as users do; in-memory storage
  would hide the database cost the issue is about.
- tunelab and Optuna runs are interleaved, alternating which goes first, so drift on a noisy
  2-core machine hits both alike; we quote medians.
- Part 2 runs 1 and 2 worker processes on one file and counts "database is locked" errors that
  reach the caller, plus trials left FAIL or RUNNING, for each library.
- `--profile` runs the tunelab loop under cProfile and counts SQL statements per trial, to find
  where tunelab's time goes (tunelab side only).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import gc
import io
import multiprocessing as mp
import os
import platform
import pstats
import queue as queue_mod
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from _machine import load_average, source_state
from sqlalchemy import event

import tunelab
from tunelab.types import TrialState

LOCK_TEXT = "database is locked"
MAX_ERRORS_PER_RUN = 20  # give up on a run after this many errors reach the caller
CATEGORIES = ("relu", "gelu", "tanh")


# -- objectives: the same trivial function in both APIs -----------------------------------------


def tunelab_objective(trial: Any) -> float:
    """Five parameters and cheap arithmetic: the run time is framework overhead."""
    hp = trial.hp
    x = hp.Float("x", -10.0, 10.0)
    lr = hp.Float("lr", 1e-5, 1e-1, sampling="log")
    dropout = hp.Float("dropout", 0.0, 0.5)
    units = hp.Int("units", 16, 256)
    act = hp.Choice("act", list(CATEGORIES))
    return x * x + lr + dropout + units * 1e-3 + CATEGORIES.index(act)


def optuna_objective(trial: optuna.Trial) -> float:
    """The same function through Optuna's suggest API."""
    x = trial.suggest_float("x", -10.0, 10.0)
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    units = trial.suggest_int("units", 16, 256)
    act = trial.suggest_categorical("act", list(CATEGORIES))
    return x * x + lr + dropout + units * 1e-3 + CATEGORIES.index(act)


# -- results ------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """One timed run: wall time of the optimize phase and what ended up in the database."""

    seconds: float
    complete: int
    failed: int = 0
    running_left: int = 0
    lock_errors: int = 0
    other_errors: int = 0
    samples: list[str] = field(default_factory=list)

    @property
    def ms_per_trial(self) -> float:
        return 1000.0 * self.seconds / max(self.complete, 1)

    @property
    def trials_per_s(self) -> float:
        return self.complete / self.seconds if self.seconds > 0 else float("nan")


def _classify(error: BaseException, result: RunResult) -> None:
    """Count an exception that reached the caller, as a lock error or another error."""
    text = f"{type(error).__name__}: {error}"
    if LOCK_TEXT in text.lower():
        result.lock_errors += 1
    else:
        result.other_errors += 1
    if len(result.samples) < 3:
        result.samples.append(text.splitlines()[0][:200])


def _fresh_db(root: Path, tag: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{tag}-", dir=root)) / "study.db"


def _fork_context() -> Any:
    """fork where available, as tunelab's own n_jobs uses, so both start workers alike."""
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


# -- tunelab ------------------------------------------------------------------------------------


def run_tunelab(root: Path, n_trials: int, n_jobs: int = 1) -> RunResult:
    """Create a study on a fresh file, then time `optimize` (n_trials is study-wide, so a
    rerun after an error resumes rather than adding trials)."""
    db = _fresh_db(root, "tunelab")
    study = tunelab.create_study(
        "bench", storage=str(db), metric="loss", direction="minimize", sampler="random", seed=0
    )
    result = RunResult(0.0, 0)
    gc.collect()
    start = time.perf_counter()
    while result.lock_errors + result.other_errors < MAX_ERRORS_PER_RUN:
        try:
            study.optimize(tunelab_objective, n_trials=n_trials, n_jobs=n_jobs)
            break
        except Exception as e:  # counted: what the user would see
            _classify(e, result)
    result.seconds = time.perf_counter() - start
    check = tunelab.load_study("bench", str(db))
    counts = Counter(t.state for t in check.trials)
    result.complete = counts[TrialState.COMPLETE]
    result.failed = counts[TrialState.FAIL]
    result.running_left = counts[TrialState.RUNNING]
    check.close()
    check.storage.close()
    study.close()
    study.storage.close()
    return result


# -- Optuna -------------------------------------------------------------------------------------


def _optuna_loop(study: optuna.Study, n_trials: int, result: RunResult) -> None:
    """Run `n_trials` in this process, retrying after errors that reach the caller; Optuna's
    n_trials is per call, so the retry asks only for what is still missing."""
    done = 0

    def count(_study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
        nonlocal done
        done += 1

    while done < n_trials and result.lock_errors + result.other_errors < MAX_ERRORS_PER_RUN:
        try:
            study.optimize(optuna_objective, n_trials=n_trials - done, callbacks=[count])
        except Exception as e:  # counted: what the user would see
            _classify(e, result)


def _optuna_worker(url: str, n_trials: int, queue: Any) -> None:
    """Optuna's documented multi-process recipe: load_study, then optimize in each process."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    result = RunResult(0.0, 0)
    try:
        study = optuna.load_study(study_name="bench", storage=url)
        _optuna_loop(study, n_trials, result)
    except Exception as e:  # e.g. load_study itself hit a lock
        _classify(e, result)
    queue.put((result.lock_errors, result.other_errors, result.samples))


def run_optuna(root: Path, n_trials: int, n_jobs: int = 1) -> RunResult:
    """Create a study on a fresh file; time optimize in-process (1 worker) or in `n_jobs`
    processes that each load the study and run their share."""
    db = _fresh_db(root, "optuna")
    url = f"sqlite:///{db}"
    study = optuna.create_study(
        study_name="bench",
        storage=url,
        direction="minimize",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    result = RunResult(0.0, 0)
    gc.collect()
    start = time.perf_counter()
    if n_jobs == 1:
        _optuna_loop(study, n_trials, result)
    else:
        ctx = _fork_context()
        queue = ctx.Queue()
        shares = [n_trials // n_jobs + (i < n_trials % n_jobs) for i in range(n_jobs)]
        procs = [ctx.Process(target=_optuna_worker, args=(url, share, queue)) for share in shares]
        for p in procs:
            p.start()
        reports: list[Any] = []  # drain before join: a full pipe blocks a child's exit
        while len(reports) < len(procs) and (any(p.is_alive() for p in procs) or not queue.empty()):
            with contextlib.suppress(queue_mod.Empty):
                reports.append(queue.get(timeout=0.5))
        for p in procs:
            p.join()
        for locks, others, samples in reports:
            result.lock_errors += locks
            result.other_errors += others
            result.samples.extend(samples[: 3 - len(result.samples)])
        result.other_errors += sum(1 for p in procs if p.exitcode != 0)
    result.seconds = time.perf_counter() - start
    trials = optuna.load_study(study_name="bench", storage=url).trials
    counts = Counter(t.state for t in trials)
    result.complete = counts[optuna.trial.TrialState.COMPLETE]
    result.failed = counts[optuna.trial.TrialState.FAIL]
    result.running_left = counts[optuna.trial.TrialState.RUNNING]
    return result


# -- measurement plans --------------------------------------------------------------------------

Runner = Callable[[Path, int, int], RunResult]
RUNNERS: dict[str, Runner] = {"tunelab": run_tunelab, "optuna": run_optuna}


def interleaved(root: Path, n_trials: int, n_jobs: int, repeats: int) -> dict[str, list[RunResult]]:
    """Run both libraries `repeats` times, alternating which goes first."""
    out: dict[str, list[RunResult]] = {name: [] for name in RUNNERS}
    for rep in range(repeats):
        order = list(RUNNERS) if rep % 2 == 0 else list(reversed(RUNNERS))
        for name in order:
            res = RUNNERS[name](root, n_trials, n_jobs)
            out[name].append(res)
            print(
                f"  {name:8s} jobs={n_jobs} rep={rep}: {res.seconds:6.2f} s, "
                f"{res.ms_per_trial:6.2f} ms/trial, {res.trials_per_s:6.1f} trials/s, "
                f"complete={res.complete} fail={res.failed} running={res.running_left} "
                f"lock_errors={res.lock_errors} other_errors={res.other_errors}",
                flush=True,
            )
            for sample in res.samples:
                print(f"      error: {sample}", flush=True)
    return out


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _sum(results: Sequence[RunResult], attr: str) -> int:
    return sum(int(getattr(r, attr)) for r in results)


def environment() -> str:
    return (
        f"date {dt.datetime.now().astimezone().isoformat(timespec='seconds')}; "
        f"{platform.platform()}; {os.cpu_count()} CPUs; Python {platform.python_version()}; "
        f"tunelab {tunelab.__version__}; "
        f"optuna {optuna.__version__}; SQLAlchemy {sqlalchemy.__version__}; "
        f"sqlite {sqlite3.sqlite_version}; {source_state()}; {load_average()}"
    )


def benchmark(args: argparse.Namespace, root: Path) -> None:
    print(environment(), flush=True)
    print(f"\n[warm-up] one small untimed run each ({args.warmup} trials)", flush=True)
    for runner in RUNNERS.values():
        runner(root, args.warmup, 1)

    print(f"\n[1] per-trial overhead: {args.repeats} x {args.trials} trials, 1 process", flush=True)
    per_trial = interleaved(root, args.trials, 1, args.repeats)

    scaling: dict[int, dict[str, list[RunResult]]] = {}
    for jobs in (1, 2):
        print(
            f"\n[2] throughput: {args.tp_repeats} x {args.tp_trials} trials, "
            f"{jobs} worker process(es) on one SQLite file",
            flush=True,
        )
        scaling[jobs] = interleaved(root, args.tp_trials, jobs, args.tp_repeats)

    ms = {n: _median([r.ms_per_trial for r in rs]) for n, rs in per_trial.items()}
    tps = {
        (n, j): _median([r.trials_per_s for r in scaling[j][n]]) for j in scaling for n in RUNNERS
    }
    locks = {
        n: sum(_sum(scaling[j][n], "lock_errors") for j in scaling)
        + _sum(per_trial[n], "lock_errors")
        for n in RUNNERS
    }
    fails = {
        n: sum(_sum(scaling[j][n], "failed") + _sum(scaling[j][n], "running_left") for j in scaling)
        + _sum(per_trial[n], "failed")
        for n in RUNNERS
    }
    others = {
        n: sum(_sum(scaling[j][n], "other_errors") for j in scaling)
        + _sum(per_trial[n], "other_errors")
        for n in RUNNERS
    }
    ratio = ms["tunelab"] / ms["optuna"]

    print("\n## Summary (medians)\n")
    print("| measure | tunelab | Optuna 5 | tunelab / Optuna |")
    print("|---|---:|---:|---:|")
    print(
        f"| ms per trial, 1 process ({args.repeats} x {args.trials} trials) | "
        f"{ms['tunelab']:.2f} | {ms['optuna']:.2f} | {ratio:.2f} |"
    )
    for j in scaling:
        t, o = tps[("tunelab", j)], tps[("optuna", j)]
        print(
            f"| trials/s, {j} worker(s) ({args.tp_repeats} x {args.tp_trials} trials) | "
            f"{t:.1f} | {o:.1f} | {t / o:.2f} |"
        )
    up = {n: tps[(n, 2)] / tps[(n, 1)] for n in RUNNERS}
    print(f"| speed-up 2 workers / 1 worker | {up['tunelab']:.2f} | {up['optuna']:.2f} | |")
    print(
        f"| '{LOCK_TEXT}' errors reaching the caller (all runs) | "
        f"{locks['tunelab']} | {locks['optuna']} | |"
    )
    print(
        f"| other errors reaching the caller (all runs) | "
        f"{others['tunelab']} | {others['optuna']} | |"
    )
    print(f"| trials left FAIL or RUNNING (all runs) | {fails['tunelab']} | {fails['optuna']} | |")
    met_speed = ratio <= 0.2
    met_locks = locks["tunelab"] == 0 and fails["tunelab"] == 0
    print(
        f"\nTarget per-trial overhead <= 1/5 of Optuna's: {'MET' if met_speed else 'NOT MET'} "
        f"(ratio {ratio:.2f}, i.e. 1/{1 / ratio:.1f})"
    )
    print(
        f"Target zero lock errors / failed trials for tunelab: {'MET' if met_locks else 'NOT MET'}"
    )


# -- profiling (tunelab side only) --------------------------------------------------------------


def _layer(filename: str, funcname: str) -> str:
    """Which layer a profiled function belongs to, for a per-layer time split."""
    if filename == "~":
        return "sqlite3 (C)" if "sqlite3" in funcname else "builtins (C)"
    for key in ("tunelab", "sqlalchemy", "numpy", "json", "threading"):
        if f"/{key}/" in filename or filename.endswith(f"/{key}.py"):
            return key
    return "other stdlib"


def profile(args: argparse.Namespace, root: Path) -> None:
    """Profile one tunelab run, and count SQL statements and transactions per trial."""
    run_tunelab(root, args.warmup, 1)  # warm imports as the benchmark does
    db = _fresh_db(root, "profile")
    study = tunelab.create_study(
        "bench", storage=str(db), metric="loss", direction="minimize", sampler="random", seed=0
    )
    statements: Counter[str] = Counter()

    @event.listens_for(study.storage._engine, "before_cursor_execute")  # type: ignore[attr-defined]
    def _count(_conn: Any, _cur: Any, sql: str, *_rest: Any) -> None:
        kind = sql.split(None, 1)[0].upper()
        statements[kind + (" IMMEDIATE" if "IMMEDIATE" in sql.upper() else "")] += 1

    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    study.optimize(tunelab_objective, n_trials=args.trials)
    prof.disable()
    seconds = time.perf_counter() - start
    study.close()
    n = args.trials
    print(f"profiled {n} trials: {1000 * seconds / n:.2f} ms/trial under cProfile")
    print("\nSQL per trial (statements sent to sqlite3, incl. BEGIN/COMMIT):")
    for kind, count in statements.most_common():
        print(f"  {kind:18s} {count / n:6.2f}")
    print(f"  {'total':18s} {sum(statements.values()) / n:6.2f}")

    stats = pstats.Stats(prof)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    layers: Counter[str] = Counter()
    for (filename, _line, funcname), (_cc, _nc, tt, _ct, _callers) in raw.items():
        layers[_layer(filename, funcname)] += tt
    print("\nself time by layer:")
    for name, tt in layers.most_common():
        print(f"  {name:16s} {100 * tt / total:5.1f}%  {1000 * tt / n:6.3f} ms/trial")

    tables = (
        ("cumulative", (args.top,), "all functions by cumulative time"),
        ("tottime", (args.top,), "all functions by self time"),
        ("cumulative", ("tunelab", args.top), "tunelab functions by cumulative time"),
    )
    for key, restrictions, title in tables:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats(key).print_stats(*restrictions)
        lines = buf.getvalue().splitlines()
        head = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
        print(f"\n{title} (top {args.top}):")
        print("\n".join(line for line in lines[head:] if line.strip()))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300, help="trials per per-trial run")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the per-trial run")
    parser.add_argument("--tp-trials", type=int, default=200, help="trials per throughput run")
    parser.add_argument("--tp-repeats", type=int, default=3, help="repeats per worker count")
    parser.add_argument("--warmup", type=int, default=30, help="trials in the untimed warm-up")
    parser.add_argument("--profile", action="store_true", help="profile tunelab instead")
    parser.add_argument("--top", type=int, default=25, help="rows per profile table")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="tunelab-bench-") as tmp:
        started = time.perf_counter()
        (profile if args.profile else benchmark)(args, Path(tmp))
        print(
            f"\n(total benchmark time {time.perf_counter() - started:.0f} s; "
            f"at the end: {load_average()})"
        )


if __name__ == "__main__":
    main()
