"""Optimization quality of tunelab's samplers beside Optuna 5's, on functions with known optima
(issue 4).

Run (the default run: 4 functions x 11 samplers x 10 seeds x 100 trials, 2 processes, ~15 min):

    bash benchmarks/setup_env.sh && .venv-bench/bin/python benchmarks/quality.py

Quick check of the harness (a minute or two):

    .venv-bench/bin/python benchmarks/quality.py --seeds 3 --trials 30 \\
        --samplers tunelab-random,tunelab-sobol,optuna-tpe,optuna-random

Other flags: `--functions branin,hartmann6` (names below), `--samplers 'tunelab-*'` (labels or
shell-style patterns), `--jobs 2` (worker processes), `--load results.json` (merge runs from an
earlier JSON; runs redone now replace them; `--load FILE --seeds 0` only re-prints the
tables), `--digits` (adds the seed's digits MLP as an expensive objective, ~1 s a trial; off by
default; e.g. `--digits --functions digits --seeds 3 --trials 30 --samplers
'tunelab-tpe,tunelab-gp,optuna-tpe,optuna-gp'` takes ~10 min).

Functions (all minimised; regret = best value found - known minimum):
- branin: 2-D, x1 in [-5, 10], x2 in [0, 15]; minimum 0.397887 (three global minimisers).
- hartmann6: 6-D, [0, 1]^6; minimum -3.32237.
- levy10: Levy's function in 10-D, [-10, 10]^10; minimum 0 at x = (1, ..., 1).
- mixed: 7 parameters of all kinds with one conditional branch; minimum 0 (see `mixed`).
- digits (only with --digits): 1 - validation accuracy of the seed tutorial's MLP on
  scikit-learn's digits after 10 epochs; the minimum is unknown, so "regret" is the error.

Samplers (labels): tunelab-tpe, tunelab-gp, tunelab-auto, tunelab-random, tunelab-sobol
(`tunelab.create_study(..., sampler=<name>, seed=s)`; a name tunelab does not have yet is
skipped with a message), tunelab-tpe-indep (`TPESampler(seed=s, multivariate=False)`; tunelab's
TPE is multivariate by default), optuna-tpe (`TPESampler(seed=s)`, Optuna's default sampler),
optuna-tpe-mv (`TPESampler(multivariate=True, seed=s)`; in Optuna 5 the default TPE is already
multivariate for single-objective studies, so these two rows are identical), optuna-tpe-indep
(`TPESampler(multivariate=False, seed=s)`, Optuna 4's default), optuna-gp (`GPSampler(seed=s)`,
needs torch) and optuna-random (`RandomSampler(seed=s)`). All with their defaults otherwise.
Seeds are 0..N-1. Both libraries use in-memory storage.

Each (function, sampler, seed) run is one task; tasks go to `--jobs` spawned worker processes,
the slowest kinds first. BLAS/OpenMP/torch use 1 thread per worker, so 2 workers fit 2 cores.
Output: one markdown table per function (rows: samplers; columns: regret after 25, 50 and 100
trials as median [q1, q3] over seeds) and a verdict line: tunelab's best sampler against
Optuna's best at 50 and 100 trials (target: tunelab's best median <= Optuna's best median;
"matches" means within 5 % or within 1e-3 of it, "beats" better by more than that), with a
two-sided Mann-Whitney U p-value over seeds (10 seeds cannot resolve small differences). Raw
per-trial values go to a JSON file in a temp dir, printed at the end.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import datetime as dt
import fnmatch
import json
import math
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _machine import load_average, samplers_digest, source_state

# One thread per worker process: set before numpy/torch load their thread pools in workers.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

CHECKPOINTS = (25, 50, 100)
VERDICT_AT = (50, 100)
# "Matches": tunelab's best median within 5 % of Optuna's best median, or within 1e-3 of it
# (two regrets below 1e-3 both found the minimum to 3 decimals; 1e-5 vs 3e-5 is no difference).
MATCH_SLACK = 0.05
MATCH_ATOL = 1e-3

# -- search spaces ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One hyperparameter, described once and suggested through either library's API."""

    name: str
    kind: str  # "float", "int" or "choice"
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()
    parent: tuple[str, tuple[Any, ...]] | None = None  # active only if parent's value is in these


@dataclass(frozen=True)
class Problem:
    """A function to minimise over a search space, with its known minimum."""

    name: str
    params: tuple[Param, ...]
    fn: Callable[[dict[str, Any]], float]
    optimum: float
    about: str


# -- the functions ------------------------------------------------------------------------------


def branin(p: dict[str, Any]) -> float:
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(p: dict[str, Any]) -> float:
    x = np.array([p[f"x{i}"] for i in range(6)])
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


def levy(p: dict[str, Any]) -> float:
    x = np.array([p[f"x{i}"] for i in range(len(p))])
    w = 1 + (x - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    body = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + body + tail)


_LR_CENTRE = {"adam": -3.0, "sgd": -1.5, "rmsprop": -3.5}  # best log10(lr) per optimizer
_OPT_OFFSET = {"adam": 0.15, "sgd": 0.0, "rmsprop": 0.3}
_ACT_OFFSET = {"relu": 0.05, "gelu": 0.0, "tanh": 0.25}


def mixed(p: dict[str, Any]) -> float:
    """A training-like response surface with a known minimum of exactly 0.

    0 is reached only at optimizer="sgd", lr=10**-1.5 (0.0316), momentum=0.9 (the conditional
    parameter: it exists only for sgd), layers=3, units=128, dropout=0.3, activation="gelu".
    The best lr depends on the optimizer and the best dropout on the number of layers, so the
    surface is not separable. Adam's basin bottoms out at 0.15 and rmsprop's at 0.3: a regret
    below 0.15 means a sampler found the conditional sgd branch and tuned its momentum.
    """
    opt = p["optimizer"]
    value = _OPT_OFFSET[opt] + 0.5 * (math.log10(p["lr"]) - _LR_CENTRE[opt]) ** 2
    if opt == "sgd":
        value += 4.0 * (p["momentum"] - 0.9) ** 2
    value += 0.2 * (p["layers"] - 3) ** 2
    value += 0.25 * math.log2(p["units"] / 128) ** 2
    value += 8.0 * (p["dropout"] - 0.1 * p["layers"]) ** 2
    return value + _ACT_OFFSET[p["activation"]]


# -- the expensive objective (--digits) ---------------------------------------------------------

_DIGITS: Any = None


def digits_error(p: dict[str, Any]) -> float:
    """1 - validation accuracy of the seed tutorial's MLP after 10 epochs of Adam (batch 64),
    trained with torch seed 0 on `tunelab.torch.load_digits()`: deterministic, ~1 s a trial."""
    global _DIGITS
    import torch
    from torch import nn

    if _DIGITS is None:
        from tunelab.torch import load_digits

        _DIGITS = load_digits()
    data = _DIGITS
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(64, p["hidden1"]),
        nn.ReLU(),
        nn.Dropout(p["dropout1"]),
        nn.Linear(p["hidden1"], p["hidden2"]),
        nn.ReLU(),
        nn.Dropout(p["dropout2"]),
        nn.Linear(p["hidden2"], 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=p["lr"])
    loss_fn = nn.CrossEntropyLoss()
    n = data.x_train.shape[0]
    for _epoch in range(10):
        model.train()
        for idx in torch.randperm(n).split(64):
            opt.zero_grad()
            loss_fn(model(data.x_train[idx]), data.y_train[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(data.x_val).argmax(1) == data.y_val).float().mean().item()
    return 1.0 - acc


def _floats(n: int, low: float, high: float) -> tuple[Param, ...]:
    return tuple(Param(f"x{i}", "float", low, high) for i in range(n))


PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in (
        Problem(
            "branin",
            (Param("x1", "float", -5, 10), Param("x2", "float", 0, 15)),
            branin,
            0.397887357729738,
            "Branin, 2-D",
        ),
        Problem("hartmann6", _floats(6, 0, 1), hartmann6, -3.32236801141551, "Hartmann, 6-D"),
        Problem("levy10", _floats(10, -10, 10), levy, 0.0, "Levy, 10-D"),
        Problem(
            "mixed",
            (
                Param("optimizer", "choice", choices=("adam", "sgd", "rmsprop")),
                Param("lr", "float", 1e-5, 1e-1, log=True),
                Param("momentum", "float", 0.0, 0.99, parent=("optimizer", ("sgd",))),
                Param("layers", "int", 1, 6),
                Param("units", "int", 32, 512, step=32),
                Param("dropout", "float", 0.0, 0.5),
                Param("activation", "choice", choices=("relu", "gelu", "tanh")),
            ),
            mixed,
            0.0,
            "mixed: 2 categoricals, 2 ints (one stepped), a log float, 2 floats, one of them "
            "conditional on optimizer=sgd; 6 or 7 active parameters",
        ),
        Problem(
            "digits",
            (
                Param("hidden1", "int", 32, 512, step=32),
                Param("dropout1", "float", 0.1, 0.5, step=0.1),
                Param("hidden2", "int", 16, 128, step=16),
                Param("dropout2", "float", 0.1, 0.5, step=0.1),
                Param("lr", "float", 1e-4, 1e-1, log=True),
            ),
            digits_error,
            0.0,
            "digits MLP (--digits): 1 - val accuracy; the minimum is unknown, 0 is nominal",
        ),
    )
}
DEFAULT_FUNCTIONS = ("branin", "hartmann6", "levy10", "mixed")


def _active(param: Param, values: dict[str, Any]) -> bool:
    return param.parent is None or values.get(param.parent[0]) in param.parent[1]


def tunelab_objective(problem: Problem) -> Callable[[Any], float]:
    """Define-by-run objective for tunelab: `trial.hp.Float/Int/Choice`, and a conditional
    parameter asked for only when its parent has the right value, inside
    `hp.conditional_scope` so the sampler sees the structure."""

    def objective(trial: Any) -> float:
        hp = trial.hp
        values: dict[str, Any] = {}
        for q in problem.params:
            if not _active(q, values):
                continue
            scope = (
                hp.conditional_scope(q.parent[0], list(q.parent[1]))
                if q.parent
                else contextlib.nullcontext()
            )
            with scope:
                if q.kind == "float":
                    step = {"step": q.step} if q.step is not None else {}
                    values[q.name] = hp.Float(
                        q.name, q.low, q.high, sampling="log" if q.log else "linear", **step
                    )
                elif q.kind == "int":
                    values[q.name] = hp.Int(
                        q.name, int(q.low), int(q.high), step=int(q.step) if q.step else None
                    )
                else:
                    values[q.name] = hp.Choice(q.name, list(q.choices))
        return problem.fn(values)

    return objective


def optuna_objective(problem: Problem) -> Callable[[Any], float]:
    """The same objective through Optuna's `trial.suggest_*` (conditionals by plain `if`)."""

    def objective(trial: Any) -> float:
        values: dict[str, Any] = {}
        for q in problem.params:
            if not _active(q, values):
                continue
            if q.kind == "float":
                values[q.name] = trial.suggest_float(q.name, q.low, q.high, log=q.log, step=q.step)
            elif q.kind == "int":
                values[q.name] = trial.suggest_int(
                    q.name, int(q.low), int(q.high), step=int(q.step or 1)
                )
            else:
                values[q.name] = trial.suggest_categorical(q.name, list(q.choices))
        return problem.fn(values)

    return objective


# -- samplers -----------------------------------------------------------------------------------

TUNELAB_SAMPLERS = ("tpe", "tpe-indep", "gp", "auto", "random", "sobol")
# Modules to try when a name is not (yet) registered with make_sampler.
TUNELAB_MODULES = {
    "tpe": ("tunelab.samplers.tpe", "TPESampler"),
    "gp": ("tunelab.samplers.gp", "GPSampler"),
}
# Variants built from a class with options: label suffix -> (sampler name, keyword arguments).
TUNELAB_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "tpe-indep": ("tpe", {"multivariate": False})
}
OPTUNA_SAMPLERS = ("tpe", "tpe-mv", "tpe-indep", "gp", "random")
ALL_SAMPLERS = tuple(f"tunelab-{n}" for n in TUNELAB_SAMPLERS) + tuple(
    f"optuna-{n}" for n in OPTUNA_SAMPLERS
)
SLOW_FIRST = (
    "optuna-gp",
    "tunelab-gp",
    "tunelab-auto",
    "optuna-tpe-mv",
    "tunelab-tpe",
    "optuna-tpe",
    "optuna-tpe-indep",
)


def make_tunelab_sampler(name: str, seed: int) -> Any:
    """tunelab's sampler `name`: by registered name, else from its module (for samplers that
    exist before they are registered). Raises ImportError/ValueError when it does not exist."""
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

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "tpe-mv":
        return optuna.samplers.TPESampler(multivariate=True, seed=seed)
    if name == "tpe-indep":
        return optuna.samplers.TPESampler(multivariate=False, seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"unknown Optuna sampler {name!r}")


def available(label: str) -> str | None:
    """None if sampler `label` can be built here, else why not."""
    lib, name = label.split("-", 1)
    try:
        if lib == "tunelab":
            make_tunelab_sampler(name, 0)
        else:
            make_optuna_sampler(name, 0)
            if name == "gp":
                import torch  # noqa: F401  Optuna's GPSampler needs it
    except Exception as e:  # missing module, unregistered name, missing torch
        return f"{type(e).__name__}: {e}"
    return None


# -- one run (in a worker process) --------------------------------------------------------------


def _quiet() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    with contextlib.suppress(ImportError, RuntimeError):
        import torch

        torch.set_num_threads(1)


def run_one(problem_name: str, label: str, seed: int, trials: int) -> dict[str, Any]:
    """Minimise one function with one sampler and seed; return every trial's value."""
    _quiet()
    problem = PROBLEMS[problem_name]
    lib, name = label.split("-", 1)
    out: dict[str, Any] = {
        "function": problem_name,
        "sampler": label,
        "seed": seed,
        "trials": trials,
        "values": [],
        "error": None,
        "failed": 0,
    }
    start = time.perf_counter()
    try:
        if lib == "tunelab":
            import tunelab

            study = tunelab.create_study(
                f"{problem_name}-{label}-{seed}",
                storage=":memory:",
                metric="loss",
                direction="minimize",
                sampler=make_tunelab_sampler(name, seed),
                seed=seed,
            )
            study.optimize(tunelab_objective(problem), n_trials=trials)
            done = sorted(study.trials, key=lambda t: t.number)
            out["values"] = [t.value for t in done]
            out["failed"] = sum(t.value is None for t in done)
            reasons = [t.reason for t in done if t.value is None and t.reason]
        else:
            import optuna

            ostudy = optuna.create_study(
                direction="minimize", sampler=make_optuna_sampler(name, seed)
            )
            ostudy.optimize(optuna_objective(problem), n_trials=trials)
            out["values"] = [t.value for t in ostudy.trials]
            out["failed"] = sum(t.value is None for t in ostudy.trials)
            reasons = []
        if reasons:
            out["error"] = f"{len(reasons)} failed trials, e.g. {reasons[0][:300]}"
    except Exception as e:  # reported in the table, the other runs go on
        out["error"] = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)[-600:]}"
    out["seconds"] = time.perf_counter() - start
    out["finished_at"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    return out


# -- statistics and tables ----------------------------------------------------------------------


def best_after(values: Sequence[float | None], n: int) -> float:
    """The best (lowest) value among the first n trials; nan if none finished."""
    done = [v for v in values[:n] if v is not None and math.isfinite(v)]
    return min(done) if done else float("nan")


def regrets(runs: Sequence[dict[str, Any]], optimum: float, n: int) -> np.ndarray:
    return np.array([best_after(r["values"], n) - optimum for r in runs if len(r["values"]) >= n])


def fmt(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.3g}"
    return f"{x:.2e}"


def summary(r: np.ndarray) -> str:
    if r.size == 0:
        return "n/a"
    q1, med, q3 = np.percentile(r, [25, 50, 75])
    return f"{fmt(med)} [{fmt(q1)}, {fmt(q3)}]"


def mann_whitney_p(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import mannwhitneyu

    if a.size < 2 or b.size < 2:
        return float("nan")
    if np.all(a == a[0]) and np.array_equal(np.sort(a), np.sort(b)):
        return 1.0
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def report(runs: Sequence[dict[str, Any]], functions: Sequence[str], trials: int) -> list[str]:
    """Print and return the markdown tables and verdict lines."""
    lines: list[str] = []
    checkpoints = [c for c in CHECKPOINTS if c < trials] + [trials]
    checkpoints = [c for c in CHECKPOINTS if c <= trials] if trials in CHECKPOINTS else checkpoints
    verdict_at = [c for c in VERDICT_AT if c in checkpoints] or [checkpoints[-1]]
    for fname in functions:
        problem = PROBLEMS[fname]
        by_sampler: dict[str, list[dict[str, Any]]] = {}
        for r in runs:
            if r["function"] == fname:
                by_sampler.setdefault(r["sampler"], []).append(r)
        if not by_sampler:
            continue
        labels = [s for s in ALL_SAMPLERS if s in by_sampler]
        seeds = max(len(v) for v in by_sampler.values())
        lines += [
            f"\n### {fname}: {problem.about}; minimum {problem.optimum:g}",
            f"\nRegret (best value - minimum), median [q1, q3] over {seeds} seeds.\n",
            "| sampler | " + " | ".join(f"{c} trials" for c in checkpoints) + " | s/run | notes |",
            "|---|" + "---:|" * len(checkpoints) + "---:|---|",
        ]
        for label in labels:
            rs = by_sampler[label]
            cells = [summary(regrets(rs, problem.optimum, c)) for c in checkpoints]
            secs = float(np.median([r["seconds"] for r in rs]))
            notes = []
            if len(rs) != seeds:
                notes.append(f"{len(rs)} seeds")
            failed = sum(r.get("failed", 0) for r in rs)
            if failed:
                notes.append(f"{failed} failed trials")
            errors = [r["error"] for r in rs if r["error"]]
            if errors:
                notes.append(
                    f"{len(errors)} runs with errors: "
                    + errors[0].splitlines()[0][:120].replace("|", "/")
                )
            lines.append(
                f"| {label} | " + " | ".join(cells) + f" | {secs:.1f} | " + "; ".join(notes) + " |"
            )
        for c in verdict_at:
            lines.append(verdict(by_sampler, problem, c))
    print("\n".join(lines), flush=True)
    return lines


def _best_of(
    by_sampler: dict[str, list[dict[str, Any]]], lib: str, optimum: float, n: int
) -> tuple[str, np.ndarray] | None:
    cands = [
        (float(np.median(r)), label, r)
        for label, rs in by_sampler.items()
        if label.startswith(lib) and (r := regrets(rs, optimum, n)).size
    ]
    if not cands:
        return None
    _, label, r = min(cands, key=lambda c: c[0])
    return label, r


def verdict(by_sampler: dict[str, list[dict[str, Any]]], problem: Problem, n: int) -> str:
    """tunelab's best sampler (lowest median regret) against Optuna's best, after n trials."""
    t = _best_of(by_sampler, "tunelab-", problem.optimum, n)
    o = _best_of(by_sampler, "optuna-", problem.optimum, n)
    if t is None or o is None:
        return f"\n**Verdict {problem.name} @ {n} trials:** not comparable (a library has no runs)."
    (tl, tr), (ol, orr) = t, o
    tm, om = float(np.median(tr)), float(np.median(orr))
    tol = max(MATCH_SLACK * abs(om), MATCH_ATOL)
    if tm < om - tol:
        word = "BEATS"
    elif tm <= om + tol:
        word = "MATCHES"
    else:
        word = "LOSES TO"
    met = "target met" if word != "LOSES TO" else "target NOT met"
    text = (
        f"\n**Verdict {problem.name} @ {n} trials:** tunelab's best ({tl}, median "
        f"{fmt(tm)}) {word} Optuna's best ({ol}, median {fmt(om)}): {met}; "
        f"Mann-Whitney p = {mann_whitney_p(tr, orr):.2g}."
    )
    auto = by_sampler.get("tunelab-auto")
    if auto and tl != "tunelab-auto":
        am = float(np.median(regrets(auto, problem.optimum, n)))
        text += f" (tunelab-auto: median {fmt(am)}.)"
    return text


# -- driver -------------------------------------------------------------------------------------


def environment() -> str:
    import optuna

    import tunelab

    return (
        f"date {dt.datetime.now().astimezone().isoformat(timespec='seconds')}; "
        f"{platform.platform()}; {os.cpu_count()} CPUs; Python {platform.python_version()}; "
        f"tunelab {tunelab.__version__} ({source_state()}; samplers/ sha1 "
        f"{samplers_digest()}); optuna {optuna.__version__}; "
        f"{load_average()}"
    )


def select(pattern_list: str, universe: Sequence[str]) -> list[str]:
    chosen: list[str] = []
    for pat in (p.strip() for p in pattern_list.split(",") if p.strip()):
        hits = [u for u in universe if fnmatch.fnmatchcase(u, pat)]
        if not hits:
            raise SystemExit(f"no match for {pat!r}; choose from {', '.join(universe)}")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def run_tasks(tasks: list[tuple[str, str, int]], trials: int, jobs: int) -> Iterator[dict]:
    ctx = mp.get_context("spawn")  # fresh interpreters: no thread pools inherited by fork
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = [pool.submit(run_one, f, s, seed, trials) for f, s, seed in tasks]
        for fut in cf.as_completed(futures):
            yield fut.result()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    parser.add_argument("--trials", type=int, default=100, help="trials per run (default 100)")
    parser.add_argument(
        "--functions",
        default=",".join(DEFAULT_FUNCTIONS),
        help=f"comma list of {', '.join(PROBLEMS)}",
    )
    parser.add_argument(
        "--samplers",
        default="*",
        help="comma list of labels or patterns: " + ", ".join(ALL_SAMPLERS),
    )
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--digits", action="store_true", help="add the digits MLP objective")
    parser.add_argument(
        "--load",
        type=Path,
        action="append",
        default=[],
        help="merge the runs of an earlier results JSON (repeatable)",
    )
    args = parser.parse_args(argv)

    functions = select(args.functions, list(PROBLEMS))
    if args.digits and "digits" not in functions:
        functions.append("digits")
    labels = []
    for label in select(args.samplers, ALL_SAMPLERS):
        why = available(label)
        if why:
            print(f"skipping {label}: not available ({why.splitlines()[0][:160]})", flush=True)
        else:
            labels.append(label)
    env = environment()
    print(env, flush=True)

    previous: dict[tuple[str, str, int], dict[str, Any]] = {}
    for path in args.load:
        for r in json.loads(path.read_text())["runs"]:
            previous[(r["function"], r["sampler"], r["seed"])] = r
    order = {s: i for i, s in enumerate(SLOW_FIRST)}
    tasks = sorted(
        ((f, s, seed) for f in functions for s in labels for seed in range(args.seeds)),
        key=lambda t: (order.get(t[1], len(order)), t[0] != "levy10", t[2]),
    )
    seeds = f"seeds 0..{args.seeds - 1}" if args.seeds > 0 else "no new runs"
    print(
        f"{len(tasks)} runs of {args.trials} trials: functions {', '.join(functions)}; "
        f"samplers {', '.join(labels)}; {seeds}; {args.jobs} processes",
        flush=True,
    )

    out_dir = Path(tempfile.mkdtemp(prefix="tunelab-quality-"))
    out_file = out_dir / "results.json"
    runs: dict[tuple[str, str, int], dict[str, Any]] = dict(previous)
    started = time.perf_counter()

    def save() -> None:
        out_file.write_text(
            json.dumps(
                {"environment": env, "argv": sys.argv[1:], "runs": list(runs.values())}, indent=1
            )
        )

    for i, r in enumerate(run_tasks(tasks, args.trials, args.jobs), 1):
        runs[(r["function"], r["sampler"], r["seed"])] = r
        best = best_after(r["values"], args.trials) - PROBLEMS[r["function"]].optimum
        err = f"  ERROR {r['error'].splitlines()[0][:150]}" if r["error"] else ""
        print(
            f"[{i}/{len(tasks)} {time.perf_counter() - started:6.0f} s] {r['function']:9s} "
            f"{r['sampler']:14s} seed {r['seed']}: regret {fmt(best)} in {r['seconds']:.1f} s"
            f"{err}",
            flush=True,
        )
        if i % 20 == 0:
            save()
    save()
    print(f"\n## Results ({env})\n", flush=True)
    report(list(runs.values()), functions, args.trials)
    print(
        f"\n(total {time.perf_counter() - started:.0f} s; at the end: {load_average()}; "
        f"samplers/ sha1 {samplers_digest()})"
    )
    print(f"raw results: {out_file}")


if __name__ == "__main__":
    main()
