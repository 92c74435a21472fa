"""tunelab's samplers inside Optuna (`tunelab.optuna.TunelabSampler`) beside Optuna 5's own
TPESampler and GPSampler, on the quality benchmark's functions (quality.py): search quality
and time per trial (issue 20).

Run (the default: 4 functions x 5 samplers x 5 seeds x 50 trials, 2 processes; ~10 min on
this busy 2-core machine, most of it Optuna's GPSampler), under the benchmark lock:

    .venv/bin/python benchmarks/optuna_sampler.py

Flags: `--seeds 5` (seeds 0..N-1, fixed before the run), `--trials 50`, `--functions
branin,hartmann6` (quality.py's names), `--samplers 'in-optuna-*,optuna-tpe'` (labels or
shell-style patterns), `--jobs 2`.

Samplers (labels), every one driven by the same Optuna objective (`trial.suggest_*`,
conditionals by a plain `if`: quality.optuna_objective) in an in-memory Optuna study:
in-optuna-auto (`TunelabSampler("auto", seed=s)`), in-optuna-tpe (`TunelabSampler("tpe",
seed=s)`), optuna-tpe (`TPESampler(seed=s)`, Optuna 5's default, multivariate) and
optuna-gp (`GPSampler(seed=s)`, needs torch); and, for reference, tunelab-auto and
tunelab-tpe: the same samplers in a native tunelab study (quality.py's run, where the
conditional parameter is declared with `hp.conditional_scope`).

Quality: regret (best value - known minimum) after 25 and 50 trials, median [q1, q3] over
seeds. Time: CPU seconds of the whole `optimize()` per trial (the functions cost
microseconds, so this is the samplers' time plus Optuna's own per-trial work, which both
sides pay), median over seeds; ratios tunelab / Optuna of the same kind (TPE with TPE; auto,
which is a GP on these spaces except where a parameter is absent without a declared
condition, with the GP). CPU time, not wall time: the machine is shared.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import time
import traceback
from collections.abc import Sequence
from typing import Any

import numpy as np

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import quality  # noqa: E402  (this folder is on sys.path: run as benchmarks/optuna_sampler.py)

SAMPLERS = (
    "in-optuna-auto",
    "in-optuna-tpe",
    "optuna-tpe",
    "optuna-gp",
    "tunelab-auto",
    "tunelab-tpe",
)
PEERS = {"in-optuna-tpe": "optuna-tpe", "in-optuna-auto": "optuna-gp"}
CHECKPOINTS = (25, 50)


def make_sampler(label: str, seed: int) -> Any:
    if label.startswith("in-optuna-"):
        from tunelab.optuna import TunelabSampler

        return TunelabSampler(label.removeprefix("in-optuna-"), seed=seed)
    return quality.make_optuna_sampler(label.removeprefix("optuna-"), seed)


def run_one(problem_name: str, label: str, seed: int, trials: int) -> dict[str, Any]:
    """One function, one sampler, one seed: every trial's value and the CPU time."""
    if label.startswith("tunelab-"):
        cpu = time.process_time()
        out = quality.run_one(problem_name, label, seed, trials)
        out["cpu"] = time.process_time() - cpu
        return out
    quality._quiet()
    import optuna

    out: dict[str, Any] = {
        "function": problem_name,
        "sampler": label,
        "seed": seed,
        "trials": trials,
    }
    try:
        study = optuna.create_study(direction="minimize", sampler=make_sampler(label, seed))
        cpu = time.process_time()
        study.optimize(quality.optuna_objective(quality.PROBLEMS[problem_name]), n_trials=trials)
        out["cpu"] = time.process_time() - cpu
        out["values"] = [t.value for t in study.trials]
        out["error"] = None
    except Exception as e:  # reported in the table; the other runs go on
        out.update(cpu=float("nan"), values=[], error=f"{type(e).__name__}: {e}")
        out["error"] += "\n" + traceback.format_exc(limit=3)[-400:]
    return out


def table(runs: Sequence[dict[str, Any]], function: str, labels: Sequence[str]) -> list[str]:
    problem = quality.PROBLEMS[function]
    mine = {
        label: [r for r in runs if r["function"] == function and r["sampler"] == label]
        for label in labels
    }
    seeds = max((len(v) for v in mine.values()), default=0)
    lines = [
        f"\n### {function}: {problem.about}; minimum {problem.optimum:g}",
        f"\nRegret median [q1, q3] over {seeds} seeds; ms of CPU per trial (median).\n",
        "| sampler | "
        + " | ".join(f"{c} trials" for c in CHECKPOINTS)
        + " | ms/trial | time ratio vs peer | notes |",
        "|---|" + "---:|" * len(CHECKPOINTS) + "---:|---:|---|",
    ]
    ms = {
        label: float(np.median([1000 * r["cpu"] / r["trials"] for r in rs]))
        for label, rs in mine.items()
        if rs
    }
    for label, rs in mine.items():
        if not rs:
            continue
        cells = [quality.summary(quality.regrets(rs, problem.optimum, c)) for c in CHECKPOINTS]
        peer = PEERS.get(label)
        ratio = f"{ms[label] / ms[peer]:.2f} x {peer}" if peer in ms else ""
        errors = [r["error"] for r in rs if r.get("error")]
        note = f"{len(errors)} runs failed: {errors[0].splitlines()[0][:100]}" if errors else ""
        lines.append(
            f"| {label} | " + " | ".join(cells) + f" | {ms[label]:.1f} | {ratio} | {note} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=max(CHECKPOINTS))
    parser.add_argument("--functions", default=",".join(quality.DEFAULT_FUNCTIONS))
    parser.add_argument("--samplers", default=",".join(SAMPLERS))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    if args.trials < max(CHECKPOINTS):
        raise SystemExit(f"--trials must be at least {max(CHECKPOINTS)}")
    labels = quality.select(args.samplers, SAMPLERS)
    functions = [f.strip() for f in args.functions.split(",") if f.strip()]
    slow_first = sorted(labels, key=lambda s: ("gp" not in s and "auto" not in s, s))
    tasks = [(f, s, seed) for s in slow_first for f in functions for seed in range(args.seeds)]
    print(quality.environment(), flush=True)
    start = time.time()
    runs = []
    ctx = mp.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
        futures = [pool.submit(run_one, f, s, seed, args.trials) for f, s, seed in tasks]
        for future in cf.as_completed(futures):
            runs.append(future.result())
    lines = [line for f in functions for line in table(runs, f, labels)]
    print("\n".join(lines))
    print(f"\n{len(runs)} runs in {time.time() - start:.0f} s wall, {args.jobs} processes")


if __name__ == "__main__":
    main()
