"""Hyperparameter importance against known answers: `tunelab.insight.importance` beside
Optuna 5's FanovaImportanceEvaluator on the very same trials, in the same run (issue 6).

Run: `bash benchmarks/setup_env.sh && .venv-bench/bin/python benchmarks/importance.py [N]`
(N random trials per case, default 200; 5 seeds per case).

Each case is a function of a, b in [0, 1] and a categorical c whose main-effect variance
shares are known analytically (c never matters). We report, per case, the mean over seeds of
max |score - true share| over a, b, c for both libraries, and the seconds per call.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable

import numpy as np

Objective = Callable[[float, float, str], float]

CASES: dict[str, tuple[Objective, dict[str, float]]] = {
    "2a+b": (lambda a, b, c: 2 * a + b, {"a": 0.8, "b": 0.2, "c": 0.0}),
    "sin(2 pi a)+b/2": (
        lambda a, b, c: math.sin(2 * math.pi * a) + 0.5 * b,
        {"a": 0.5 / (0.5 + 0.25 / 12), "b": (0.25 / 12) / (0.5 + 0.25 / 12), "c": 0.0},
    ),
    "bowl(a)": (lambda a, b, c: -((a - 0.5) ** 2), {"a": 1.0, "b": 0.0, "c": 0.0}),
}
CHOICES = ["x", "y", "z"]


def run(name: str, f: Objective, truth: dict[str, float], seed: int, n: int) -> list[float]:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna.importance import FanovaImportanceEvaluator

    import tunelab
    from tunelab.insight import importance

    rng = random.Random(seed)
    rows = [(rng.random(), rng.random(), rng.choice(CHOICES)) for _ in range(n)]
    ours_study = tunelab.create_study(f"{name}-{seed}", storage=":memory:", metric="v")
    for a, b, c in rows:  # enqueued, so both libraries see identical points
        ours_study.enqueue({"a": a, "b": b, "c": c})
        trial = ours_study.ask()
        trial.hp.Float("a", 0, 1)
        trial.hp.Float("b", 0, 1)
        trial.hp.Choice("c", CHOICES)
        ours_study.tell(trial, f(a, b, c))
    start = time.perf_counter()
    ours = importance(ours_study, seed=seed).scores
    t_ours = time.perf_counter() - start

    theirs_study = optuna.create_study(direction="maximize")
    dists = {
        "a": FloatDistribution(0, 1),
        "b": FloatDistribution(0, 1),
        "c": CategoricalDistribution(CHOICES),
    }
    for a, b, c in rows:
        theirs_study.add_trial(
            optuna.trial.create_trial(
                params={"a": a, "b": b, "c": c}, distributions=dists, value=f(a, b, c)
            )
        )
    start = time.perf_counter()
    theirs = optuna.importance.get_param_importances(
        theirs_study, evaluator=FanovaImportanceEvaluator(seed=seed)
    )
    t_theirs = time.perf_counter() - start

    def error(scores: dict[str, float]) -> float:
        return max(abs(scores.get(k, 0.0) - v) for k, v in truth.items())

    return [error(dict(ours)), error(dict(theirs)), t_ours, t_theirs]


def main() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    print(f"{n} random trials per case, 5 seeds; mean over seeds; optuna {optuna.__version__}")
    print("| case | tunelab max error | Optuna max error | tunelab s/call | Optuna s/call |")
    print("|---|---:|---:|---:|---:|")
    for name, (f, truth) in CASES.items():
        m = np.array([run(name, f, truth, seed, n) for seed in range(5)]).mean(axis=0)
        print(f"| {name} | {m[0]:.3f} | {m[1]:.3f} | {m[2]:.2f} | {m[3]:.2f} |")


if __name__ == "__main__":
    main()
