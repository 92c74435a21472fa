"""One multi-objective search run and the cache of runs behind benchmarks/mo_quality.py and
benchmarks/mo_constrained.py (issue 18).

A run is one (problem, library, sampler, seed): `trials` ask/tell rounds in memory, each
trial's metrics (natural units), its feasibility as the library stored or defined it, and the
seconds spent outside the objective (ask, suggesting the parameters, tell). Each finished run
is one JSON line appended to benchmarks/.cache/mo_runs.jsonl (git-ignored) with the code it
measured: tunelab's commit and a digest of its samplers, or Optuna's version. The full grid
takes hours here (Optuna's GPSampler is slow), so runs are made in pieces and tables read the
cache; a run already cached for the same code is not run again.

Samplers (`lib:name`): tunelab:random, tunelab:sobol, tunelab:auto, tunelab:tpe, tunelab:gp
(`make_sampler(name, seed)`; a sampler that cannot serve several objectives is skipped with a
message), optuna:tpe (`TPESampler(seed=s)`), optuna:gp (`GPSampler(seed=s)`), optuna:nsga2
(`NSGAIISampler(seed=s)`, its default population of 50) and optuna:random; with a constraint,
Optuna's get `constraints_func` and tunelab's study gets `constraints=`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import math
import subprocess
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from _machine import git, samplers_digest, source_state
from mo_problems import PROBLEMS, MOProblem

CACHE = Path(__file__).resolve().parent / ".cache" / "mo_runs.jsonl"
TUNELAB = ("random", "sobol", "auto", "tpe", "gp")
OPTUNA = ("tpe", "gp", "nsga2", "random")
LABELS = tuple(f"tunelab:{n}" for n in TUNELAB) + tuple(f"optuna:{n}" for n in OPTUNA)


def version(lib: str) -> str:
    """The code a run measured, as stored with it."""
    if lib == "tunelab":
        return f"tunelab {_src_commit()} samplers {samplers_digest()}"
    import optuna

    return f"optuna {optuna.__version__}"


def _src_commit() -> str:
    """The last commit that changed src/ (benchmark-only commits do not make cached runs
    stale), and whether src/ has uncommitted edits."""
    try:
        head = git("log", "-1", "--format=%h", "--", "src")
    except (OSError, subprocess.CalledProcessError):
        return "commit unknown"
    dirty = "uncommitted edits in src/" in source_state()
    return f"src commit {head}{' + uncommitted edits' if dirty else ''}"


def quiet() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    with contextlib.suppress(ImportError, RuntimeError):
        import torch

        torch.set_num_threads(1)


def unavailable(label: str, problem: MOProblem) -> str | None:
    """Why `label` cannot run `problem` here, or None."""
    lib, name = label.split(":", 1)
    if lib == "optuna":
        return None if name in OPTUNA else f"unknown Optuna sampler {name!r}"
    from tunelab.samplers import make_sampler

    try:
        sampler = make_sampler(name, 0)
    except Exception as e:  # unregistered name
        return f"{type(e).__name__}: {e}"
    if not getattr(sampler, "multi_objective", False):
        return f"tunelab's {name!r} sampler does not serve several objectives yet"
    return None


def _optuna_sampler(name: str, seed: int, problem: MOProblem) -> Any:
    import optuna

    extra: dict[str, Any] = {}
    if problem.constraint is not None:
        extra["constraints_func"] = lambda t: (t.user_attrs["violation"],)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, **extra)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, **extra)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, **extra)
    return optuna.samplers.RandomSampler(seed=seed)


def _run_tunelab(name: str, seed: int, problem: MOProblem, trials: int, out: dict) -> None:
    import tunelab
    from tunelab.samplers import make_sampler

    study = tunelab.create_study(
        f"{problem.name}-{name}-{seed}",
        storage=":memory:",
        metrics=list(problem.metrics),
        directions=list(problem.directions),
        constraints=problem.constraint.as_tunelab() if problem.constraint else None,
        sampler=make_sampler(name, seed),
        seed=seed,
    )
    for _ in range(trials):
        started = time.perf_counter()
        trial = study.ask()
        params = problem.tunelab_params(trial.hp)
        asked = time.perf_counter()
        metrics = problem.evaluate(params)
        told = time.perf_counter()
        frozen = study.tell(trial, metrics)
        out["overhead_s"].append(asked - started + time.perf_counter() - told)
        _record(out, problem, frozen.values, frozen.feasible)
    study.close()


def _run_optuna(name: str, seed: int, problem: MOProblem, trials: int, out: dict) -> None:
    import optuna

    study = optuna.create_study(
        directions=list(problem.directions), sampler=_optuna_sampler(name, seed, problem)
    )
    for _ in range(trials):
        started = time.perf_counter()
        trial = study.ask()
        params = problem.optuna_params(trial)
        asked = time.perf_counter()
        metrics = problem.evaluate(params)
        violation = problem.constraint.violation(metrics) if problem.constraint else 0.0
        told = time.perf_counter()
        trial.set_user_attr("violation", violation)
        study.tell(trial, [metrics[m] for m in problem.metrics])
        out["overhead_s"].append(asked - started + time.perf_counter() - told)
        _record(out, problem, tuple(metrics[m] for m in problem.metrics), violation <= 0)


def _record(out: dict, problem: MOProblem, values: Any, feasible: bool) -> None:
    ok = values is not None and all(math.isfinite(v) for v in values)
    out["values"].append([float(v) for v in values] if ok else None)
    out["feasible"].append(bool(feasible) if ok else False)


def run_one(problem_name: str, label: str, seed: int, trials: int) -> dict[str, Any]:
    """One search; errors are recorded in the run, not raised (the other runs go on)."""
    quiet()
    problem = PROBLEMS[problem_name]
    lib, name = label.split(":", 1)
    out: dict[str, Any] = {
        "problem": problem_name,
        "label": label,
        "seed": seed,
        "trials": trials,
        "version": version(lib),
        "values": [],
        "feasible": [],
        "overhead_s": [],
        "error": None,
    }
    start = time.perf_counter()
    try:
        runner = _run_tunelab if lib == "tunelab" else _run_optuna
        runner(name, seed, problem, trials, out)
    except Exception as e:  # kept in the run and shown by the tables
        out["error"] = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)[-600:]}"
    out["seconds"] = time.perf_counter() - start
    out["finished_at"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    return out


# -- the cache ----------------------------------------------------------------------------------


def append(run: dict[str, Any]) -> None:
    """Add one run to the cache; a lock keeps lines whole when several processes write."""
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with CACHE.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(json.dumps(run) + "\n")
        fh.flush()


def load() -> dict[tuple[str, str, int], dict[str, Any]]:
    """The latest run without error of each (problem, label, seed) in the cache."""
    runs: dict[tuple[str, str, int], dict[str, Any]] = {}
    if not CACHE.exists():
        return runs
    for line in CACHE.read_text().splitlines():
        if not line.strip():
            continue
        run = json.loads(line)
        key = (run["problem"], run["label"], run["seed"])
        if run["error"] is None or key not in runs:
            runs[key] = run
    return runs


def cached(runs: dict, problem: str, label: str, seed: int, trials: int) -> bool:
    """Whether this run is in the cache for the code that would run it now."""
    run = runs.get((problem, label, seed))
    return (
        run is not None
        and run["error"] is None
        and run["trials"] >= trials
        and run["version"] == version(label.split(":", 1)[0])
    )
