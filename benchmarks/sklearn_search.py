"""TunelabSearchCV against scikit-learn's RandomizedSearchCV on the same budget of
configurations: fold fits spent, best cross-validated accuracy, held-out accuracy, and the
wall time of both in the same run (ratio tunelab / sklearn; below 1, tunelab is faster).

MLPClassifier (one hidden layer of 32, max_iter=30) on the bundled digits (75 % / 25 %
split), alpha and learning_rate_init on log scales, 5-fold CV, `--trials` configurations a
search. Methods: RandomizedSearchCV (loguniform), TunelabSearchCV with TPE and no pruning,
TunelabSearchCV with TPE and ASHA on the folds (resource="folds"). Fits and accuracies are
seeded; only the times move with the load.

    .venv/bin/python benchmarks/sklearn_search.py --seeds 2 --trials 12
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import RandomizedSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import load_average, source_state

from tunelab import ASHAScheduler
from tunelab.sklearn import TunelabSearchCV
from tunelab.space import Float

BOUNDS = {"alpha": (1e-5, 1.0), "learning_rate_init": (1e-4, 0.3)}


def run(method: str, seed: int, trials: int, data: tuple[Any, ...]) -> dict[str, float]:
    X_train, X_test, y_train, y_test = data
    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=30, random_state=seed)
    if method == "sklearn-random":
        dists = {k: loguniform(lo, hi) for k, (lo, hi) in BOUNDS.items()}
        search: Any = RandomizedSearchCV(model, dists, n_iter=trials, cv=5, random_state=seed)
    else:
        space = {k: Float(k, lo, hi, sampling="log") for k, (lo, hi) in BOUNDS.items()}
        scheduler = ASHAScheduler(reduction_factor=3) if method == "tunelab-tpe-asha" else None
        search = TunelabSearchCV(
            model, space, n_trials=trials, cv=5, sampler="tpe", scheduler=scheduler,
            random_state=seed,
        )  # fmt: skip
    start = time.perf_counter()
    search.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    splits = [search.cv_results_[f"split{k}_test_score"] for k in range(5)]
    fits = int(sum(np.isfinite(s).sum() for s in splits))
    return {
        "fits": fits,
        "cv": float(search.best_score_),
        "test": float(search.score(X_test, y_test)),
        "s": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--trials", type=int, default=12)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    data = tuple(train_test_split(X / 16.0, y, test_size=0.25, random_state=0))
    methods = ["sklearn-random", "tunelab-tpe", "tunelab-tpe-asha"]
    rows: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    for seed in range(args.seeds):
        for method in methods:  # alternating within a seed: the same load for each
            rows[method].append(run(method, seed, args.trials, data))
    print(f"{source_state()}; {load_average()}; {args.seeds} seeds, "
          f"{args.trials} configurations x 5 folds a search")  # fmt: skip
    base = statistics.median(r["s"] for r in rows["sklearn-random"])
    print("| method | fold fits (mean) | best CV acc (median) | held-out acc (median) | "
          "wall s (median) | time ratio vs sklearn |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for method in methods:
        r = rows[method]
        wall = statistics.median(x["s"] for x in r)
        print(
            f"| {method} | {statistics.mean(x['fits'] for x in r):.1f} | "
            f"{statistics.median(x['cv'] for x in r):.3f} | "
            f"{statistics.median(x['test'] for x in r):.3f} | {wall:.1f} | {wall / base:.2f} |"
        )


if __name__ == "__main__":
    main()
