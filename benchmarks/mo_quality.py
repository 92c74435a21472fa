"""Multi-objective search quality of tunelab's samplers beside Optuna 5's: hypervolume after
50 and 100 trials on problems with known fronts (issue 18).

Problems (benchmarks/mo_problems.py): zdt1, zdt2, zdt3 (6 variables), dtlz2 (3 objectives,
6 variables), digits (the tabular digits MLP: val_accuracy at the final epoch vs
n_parameters; needs `multifidelity_digits.py --build` first). Each (problem, sampler, seed)
run is cached as one line of benchmarks/.cache/mo_runs.jsonl (see benchmarks/mo_runs.py), so
the grid can be run in pieces and the tables printed from the cache:

    PY="nice -n 19 env PYTHONPATH=$PWD/src .venv-bench/bin/python"
    $PY benchmarks/mo_quality.py --only optuna:tpe,optuna:nsga2 --seeds 10
    $PY benchmarks/mo_quality.py --only optuna:gp --problems zdt1,dtlz2 --seeds 0-4
    $PY benchmarks/mo_quality.py --only tunelab:tpe,tunelab:gp,tunelab:auto --seeds 10
    $PY benchmarks/mo_quality.py --table
    $PY benchmarks/mo_quality.py --timing   # paired, ~5 min

Tables: per problem, median [q1, q3] over seeds of the hypervolume of the first 50 and 100
trials (against the problem's fixed reference point; the true front's hypervolume is given
for scale), the seconds per trial spent outside the objective over trials 91-100 (ask,
suggest, tell; unpaired runs on a shared machine, so only indicative), and the ratio of
tunelab's best sampler's median to Optuna's best sampler's median (target >= 1, "matches"
within 1 %), with a two-sided Mann-Whitney p over seeds.

--timing: the paired suggestion-time comparison: tunelab gp/tpe and Optuna GPSampler/
TPESampler in the same process, one after another per seed, on one problem (default zdt1,
seeds 0-2, 100 trials, in-memory storage on both sides); prints the mean seconds per trial
over all 100 trials and over trials 91-100, and the ratios (target: tunelab's best sampler
<= 1/5 of Optuna's GPSampler at 100 trials).
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mo_runs
from _machine import load_average
from mo_problems import PROBLEMS, UNCONSTRAINED, MOProblem
from quality import fmt, mann_whitney_p

CHECKPOINTS = (50, 100)
MATCH = 0.01  # "matches": tunelab's best median within 1 % of Optuna's best median
LATE = slice(90, 100)  # trials 91-100: the suggestion cost "at 100 trials"
AWAITED = ("tunelab:tpe", "tunelab:gp")  # rows the MO TPE/GP branches will fill


def hv_after(run: dict[str, Any], problem: MOProblem, n: int) -> float:
    """Hypervolume of the feasible trials among the first n."""
    rows = [v for v, ok in zip(run["values"][:n], run["feasible"][:n], strict=True) if v and ok]
    return problem.hv(rows)


def quartiles(values: Sequence[float], digits: int = 4) -> str:
    if not len(values):
        return "n/a"
    q1, q2, q3 = np.percentile(values, [25, 50, 75])
    return f"{q2:.{digits}g} [{q1:.{digits}g}, {q3:.{digits}g}]"


def _labels_in(runs: dict, problem: str) -> list[str]:
    seen = {label for (p, label, _s) in runs if p == problem}
    return [label for label in mo_runs.LABELS if label in seen]


def _hvs(runs: dict, problem: MOProblem, label: str, n: int) -> np.ndarray:
    return np.array(
        [
            hv_after(r, problem, n)
            for (p, lab, _s), r in sorted(runs.items())
            if p == problem.name and lab == label and r["error"] is None and r["trials"] >= n
        ]
    )


def _best(runs: dict, problem: MOProblem, lib: str, n: int) -> tuple[str, np.ndarray] | None:
    found = [
        (float(np.median(h)), label, h)
        for label in _labels_in(runs, problem.name)
        if label.startswith(lib) and (h := _hvs(runs, problem, label, n)).size
    ]
    if not found:
        return None
    _, label, h = max(found, key=lambda c: c[0])
    return label, h


def verdict(runs: dict, problem: MOProblem, n: int) -> str:
    t, o = _best(runs, problem, "tunelab:", n), _best(runs, problem, "optuna:", n)
    if t is None or o is None:
        return f"- {problem.name} @ {n}: not comparable yet (a library has no runs)"
    (tl, th), (ol, oh) = t, o
    ratio = float(np.median(th)) / float(np.median(oh))
    word = "BEATS" if ratio > 1 + MATCH else "MATCHES" if ratio >= 1 - MATCH else "LOSES TO"
    return (
        f"- {problem.name} @ {n}: tunelab's best ({tl}) {word} Optuna's best ({ol}): median "
        f"HV ratio {ratio:.3f}, Mann-Whitney p = {mann_whitney_p(th, oh):.2g}"
    )


def table(runs: dict, names: Sequence[str]) -> None:
    """Markdown tables from the cache, one per problem."""
    for name in names:
        problem = PROBLEMS[name]
        labels = _labels_in(runs, name)
        ref = ", ".join(
            f"{m} {r:g}" for m, r in zip(problem.metrics, problem.reference, strict=True)
        )
        print(
            f"\n### {name}: {', '.join(f'{d[:3]} {m}' for m, d in zip(problem.metrics, problem.directions, strict=True))}"
            f"\nreference point ({ref}); true front's HV {problem.front_hv():.4g}\n"
        )
        feasible = problem.constraint is not None
        head = "| sampler | seeds | HV@50 median [q1, q3] | HV@100 median [q1, q3] |"
        head += " feasible share (100 trials) |" if feasible else ""
        print(head + " s/trial @91-100 |\n" + "|---" * (head.count("|") - 0) + "|")
        for label in labels + [a for a in AWAITED if a not in labels]:
            if label not in labels:
                cells = " awaits MO TPE/GP | | |" + (" |" if feasible else "") + " |"
                print(f"| {label} |{cells}")
                continue
            done = [r for (p, lab, _s), r in sorted(runs.items()) if p == name and lab == label]
            good = [r for r in done if r["error"] is None]
            cells = [f"{len(good)}"]
            cells += [quartiles(_hvs(runs, problem, label, n)) for n in CHECKPOINTS]
            if feasible:
                share = [float(np.mean(r["feasible"][:100])) for r in good]
                cells.append(quartiles(share, 2))
            late = [float(np.mean(r["overhead_s"][LATE])) for r in good if r["overhead_s"]]
            cells.append(fmt(float(np.median(late))) if late else "n/a")
            errors = [r["error"].splitlines()[0][:80] for r in done if r["error"]]
            note = f" ({len(errors)} failed: {errors[0]})" if errors else ""
            print(f"| {label}{note} | " + " | ".join(cells) + " |")
        print()
        for n in CHECKPOINTS:
            print(verdict(runs, problem, n))
    versions = sorted({r["version"] for r in runs.values() if r["problem"] in names})
    print("\ncode measured: " + "; ".join(versions))


# -- the paired suggestion-time comparison ------------------------------------------------------

PAIRED = ("tunelab:gp", "tunelab:tpe", "optuna:gp", "optuna:tpe")


def timing(problem: str, seeds: Sequence[int], trials: int) -> None:
    labels = [label for label in PAIRED if not mo_runs.unavailable(label, PROBLEMS[problem])]
    print(
        f"# paired suggestion time, {problem}, seeds {list(seeds)}, {trials} trials; "
        f"{', '.join(labels)}; {load_average()}"
    )
    every: dict[str, list[float]] = {label: [] for label in labels}
    late: dict[str, list[float]] = {label: [] for label in labels}
    for seed in seeds:
        for label in labels:
            run = mo_runs.run_one(problem, label, seed, trials)
            if run["error"]:
                print(f"{label} seed {seed}: {run['error'].splitlines()[0]}")
                continue
            every[label].append(float(np.mean(run["overhead_s"])))
            late[label].append(float(np.mean(run["overhead_s"][LATE])))
            print(
                f"{label} seed {seed}: {every[label][-1]:.4f} s/trial, "
                f"{late[label][-1]:.4f} @91-100",
                flush=True,
            )
    print("\n| sampler | s/trial, trials 1-100 | s/trial, trials 91-100 | / optuna:gp @91-100 |")
    print("|---|---|---|---|")
    gp = float(np.mean(late["optuna:gp"])) if late.get("optuna:gp") else float("nan")
    for label in labels:
        if every[label]:
            m_all, m_late = float(np.mean(every[label])), float(np.mean(late[label]))
            print(f"| {label} | {m_all:.4f} | {m_late:.4f} | {m_late / gp:.3f} |")
    print(f"\n{load_average()}; code: {mo_runs.version('tunelab')}; {mo_runs.version('optuna')}")


# -- driver -------------------------------------------------------------------------------------


def seeds_of(text: str) -> list[int]:
    """'10' -> 0..9; '3-7' -> 3..7; '0,4' -> 0, 4."""
    if "-" in text:
        low, high = (int(v) for v in text.split("-"))
        return list(range(low, high + 1))
    if "," in text:
        return [int(v) for v in text.split(",")]
    return list(range(int(text)))


def select(text: str, universe: Sequence[str]) -> list[str]:
    chosen = [u for pat in text.split(",") for u in universe if fnmatch.fnmatchcase(u, pat.strip())]
    if not chosen:
        raise SystemExit(f"nothing matches {text!r}; choose from {', '.join(universe)}")
    return list(dict.fromkeys(chosen))


def main(argv: Sequence[str] | None = None, problems: Sequence[str] = UNCONSTRAINED) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default="*", help="lib:sampler list or patterns: " + ", ".join(mo_runs.LABELS)
    )
    parser.add_argument(
        "--problems", default=",".join(problems), help=f"comma list of {', '.join(PROBLEMS)}"
    )
    parser.add_argument(
        "--seeds", default=None, help="N (0..N-1), A-B or a comma list (10; --timing: 3)"
    )
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--table", action="store_true", help="print the tables from the cache")
    parser.add_argument("--timing", action="store_true", help="paired suggestion-time mode")
    parser.add_argument("--force", action="store_true", help="rerun runs already cached")
    args = parser.parse_args(argv)
    names = select(args.problems, list(PROBLEMS))
    if args.table:
        table(mo_runs.load(), names)
        return
    if args.timing:
        timing(names[0], seeds_of(args.seeds or "3"), args.trials)
        return
    labels = select(args.only, mo_runs.LABELS)
    runs = mo_runs.load()
    todo = []
    for name in names:
        for label in labels:
            why = mo_runs.unavailable(label, PROBLEMS[name])
            if why:
                print(f"skipping {label} on {name}: {why}", flush=True)
                continue
            todo += [
                (name, label, s)
                for s in seeds_of(args.seeds or "10")
                if args.force or not mo_runs.cached(runs, name, label, s, args.trials)
            ]
    print(f"{len(todo)} runs to do; {load_average()}", flush=True)
    started = time.perf_counter()
    for i, (name, label, seed) in enumerate(todo, 1):
        run = mo_runs.run_one(name, label, seed, args.trials)
        mo_runs.append(run)
        err = f"  ERROR {run['error'].splitlines()[0][:160]}" if run["error"] else ""
        hv = hv_after(run, PROBLEMS[name], args.trials) if not run["error"] else float("nan")
        print(
            f"[{i}/{len(todo)} {time.perf_counter() - started:6.0f} s] {name:8s} {label:14s} "
            f"seed {seed}: HV {hv:.4g} in {run['seconds']:.1f} s{err}",
            flush=True,
        )
    table(mo_runs.load(), names)


if __name__ == "__main__":
    main()
