"""Speed of tunelab's Pareto arithmetic (tunelab._pareto), and where Optuna can be imported,
Optuna's own hypervolume and non-dominated sort on the same points: equal answers and the
ratio of times.

Run:  .venv-bench/bin/python benchmarks/pareto_speed.py      (with Optuna, after setup_env.sh)
  or  PYTHONPATH=src .venv/bin/python benchmarks/pareto_speed.py      (tunelab alone)

Why this shape:
- Hypervolume runs on points spread over a sphere's positive orthant: every point is on
  the front, the hard case (dominated points are dropped early by both libraries). m=2 with
  n=1000 and m=3 with n=200 are fronts a long multi-objective study reaches.
- The non-dominated sort runs on n=2000 uniform points in 3 objectives: many fronts, as a
  sampler or MO-ASHA ranks a whole history.
- Optuna's functions are private (optuna._hypervolume, optuna.study._multi_objective), so
  they are looked up by name and the comparison is skipped with a message when they moved.
- Each case alternates the libraries over the rounds and quotes the median, so drift on a
  shared machine hits both alike.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _machine import load_average, source_state

from tunelab._pareto import hypervolume, non_dominated_ranks


def sphere_front(n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    p = np.abs(rng.normal(size=(n, m)))
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def optuna_functions() -> tuple[Callable[..., float] | None, Callable[..., Any] | None, str]:
    """Optuna's hypervolume and non-dominated rank, or None where this Optuna lacks them."""
    try:
        import optuna
    except ImportError:
        return None, None, "optuna is not importable here: tunelab's times only"
    hv: Callable[..., float] | None = None
    rank: Callable[..., Any] | None = None
    try:
        from optuna._hypervolume import compute_hypervolume

        def hv(p: np.ndarray, ref: np.ndarray) -> float:
            return float(compute_hypervolume(p, ref))
    except ImportError:
        try:
            from optuna._hypervolume import WFG

            def hv(p: np.ndarray, ref: np.ndarray) -> float:
                return float(WFG().compute(p, ref))
        except ImportError:
            pass
    with contextlib.suppress(ImportError):
        from optuna.study._multi_objective import _fast_non_domination_rank as rank
    return hv, rank, f"optuna {optuna.__version__}"


def median_ms(fn: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="timed calls per library and case")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    opt_hv, opt_rank, optuna_note = optuna_functions()
    print(f"{source_state()}; {load_average()}; {optuna_note}")

    cases: list[tuple[str, Callable[[], Any], Callable[[], Any] | None, Callable[..., bool]]] = []
    for n, m in ((1000, 2), (200, 3)):
        p, ref = sphere_front(n, m, rng), np.full(m, 1.1)
        mine = lambda p=p, ref=ref: hypervolume(p, ref)  # noqa: E731
        theirs = None if opt_hv is None else (lambda p=p, ref=ref: opt_hv(p, ref))
        same = lambda a, b: bool(np.isclose(a, b, rtol=1e-12, atol=0.0))  # noqa: E731
        cases.append((f"hypervolume m={m} n={n}", mine, theirs, same))
    p = rng.random((2000, 3))
    cases.append(
        (
            "non-dominated ranks m=3 n=2000",
            lambda: non_dominated_ranks(p),
            None if opt_rank is None else (lambda: opt_rank(p)),
            lambda a, b: bool(np.array_equal(a, b)),
        )
    )

    print(f"{'case':34} {'tunelab ms':>11} {'optuna ms':>10} {'ratio':>7}  same answer")
    for name, mine, theirs, same in cases:
        mine()  # warm-up (imports, caches)
        if theirs is None:
            print(f"{name:34} {median_ms(mine, args.rounds):11.2f} {'-':>10} {'-':>7}  -")
            continue
        agree = same(mine(), theirs())
        mine_ms: list[float] = []
        theirs_ms: list[float] = []
        for i in range(args.rounds):  # alternate which library goes first
            pair = [(mine, mine_ms), (theirs, theirs_ms)]
            for fn, into in pair if i % 2 == 0 else pair[::-1]:
                into.append(median_ms(fn, 1))
        a, b = statistics.median(mine_ms), statistics.median(theirs_ms)
        print(f"{name:34} {a:11.2f} {b:10.2f} {a / b:7.2f}  {'yes' if agree else 'NO'}")
    print("ratio = tunelab / optuna (below 1: tunelab is faster)")


if __name__ == "__main__":
    main()
