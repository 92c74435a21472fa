"""PBT on a problem whose best learning rate decays: noisy SGD on a 1-D quadratic.

A "model" is one weight w (start 10). Each epoch runs 10 steps w <- w - lr (w + xi),
xi ~ N(0, 1) fixed by (seed, trial, epoch); the loss is w^2 after the epoch (minimise).
A high rate closes the distance fast but leaves a noise floor ~ lr / 2; a low one has a
low floor but closes slowly: the best schedule starts high and decays, so no fixed lr
reaches what a decaying schedule does. 24 epochs; lr in [1e-3, 1] (log).

Per seed, with the same epochs (8 trials x 24):
  random  8 full trials at random fixed rates (seeded random sampler), no scheduler
  pbt     PBTScheduler(population_size=8, interval=4, seed=seed)
  pb2     PB2Scheduler(population_size=8, interval=4, seed=seed): the same, with the
          explored rate chosen by PB2's time-varying GP bandit
and as references: "best fixed", the best of 16 fixed rates on a log grid (twice the
epochs), and "replay", the schedule PBT found for its best trial replayed on a fresh trial.
Reported: quartiles over seeds of log10(best final loss).
Run: PYTHONPATH=src .venv/bin/python benchmarks/pbt_schedule.py --seeds 30
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

import tunelab
from tunelab.schedulers import PB2Scheduler, PBTScheduler
from tunelab.study import replay

EPOCHS, STEPS, POPULATION = 24, 10, 8
SEEDS = list(range(1000, 1100))  # committed before any run; --seeds N takes the first N
TUNING_SEEDS = list(range(5000, 5100))  # --tuning: for trying changes, never reported


def objective(folder: Path, seed: int, trial: tunelab.Trial) -> float:
    lr = trial.hp.Float("lr", 1e-3, 1.0, sampling="log")
    w, start = 10.0, 0
    if trial.resume_from is not None:
        state = json.loads(Path(trial.resume_from).read_text())
        w, start = state["w"], state["next"]
    trial.set_resumable(folder / f"{trial.study_name.replace('/', '_')}-{trial.number}.json")
    loss = w * w
    for epoch in range(start, EPOCHS):
        xi = np.random.default_rng([seed, trial.number, epoch]).normal(size=STEPS)
        for k in range(STEPS):
            w -= lr * (w + xi[k])
        loss = w * w
        trial.report(epoch, loss=loss)
        Path(trial.checkpoint or "").write_text(json.dumps({"w": w, "next": epoch + 1}))
        if epoch < EPOCHS - 1 and trial.should_pause():
            raise tunelab.TrialPaused
    return loss


def best(study: tunelab.Study) -> float:
    return min(t.value for t in study.trials if t.value is not None)


def one_seed(seed: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="pbt-bench-"))
    run: Any = lambda s: lambda t: objective(folder, seed, t)  # noqa: E731
    out: dict[str, float] = {}
    rand = tunelab.create_study(
        "random",
        storage=":memory:",
        metric="loss",
        direction="minimize",
        sampler="random",
        seed=seed,
    )
    rand.optimize(run(seed), n_trials=POPULATION)
    out["random"] = best(rand)
    studies: dict[str, tunelab.Study] = {}
    for name, cls in (("pbt", PBTScheduler), ("pb2", PB2Scheduler)):
        study = studies[name] = tunelab.create_study(
            name,
            storage=":memory:",
            metric="loss",
            direction="minimize",
            sampler="random",
            seed=seed,
            scheduler=cls(population_size=POPULATION, interval=4, hyperparams=["lr"], seed=seed),
        )
        study.optimize(run(seed), n_trials=POPULATION)
        out[name] = best(study)
    pbt = studies["pbt"]
    top = min((t for t in pbt.trials if t.value is not None), key=lambda t: t.value)
    out["replay"] = float(replay(pbt, top.number, run(seed)).value)
    grid = tunelab.create_study("grid", storage=":memory:", metric="loss", direction="minimize")
    for lr in np.logspace(-3, 0, 16):
        grid.enqueue({"lr": float(lr)})
    grid.optimize(run(seed), n_trials=16)
    out["best fixed"] = best(grid)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--tuning", action="store_true", help="the seeds for trying changes")
    args = parser.parse_args()
    logging.getLogger("tunelab").setLevel(logging.WARNING)
    rows = [one_seed(s) for s in (TUNING_SEEDS if args.tuning else SEEDS)[: args.seeds]]
    print(f"log10(best final loss) over {len(rows)} seeds: 25% / median / 75%")
    for method in ("random", "pbt", "pb2", "replay", "best fixed"):
        v = np.log10([r[method] for r in rows])
        q = np.percentile(v, [25, 50, 75])
        print(f"  {method:<11} {q[0]:7.2f} {q[1]:7.2f} {q[2]:7.2f}")
    for method in ("pbt", "pb2"):
        wins = sum(r[method] < r["best fixed"] for r in rows)
        print(f"{method} below the best fixed rate on {wins} of {len(rows)} seeds")
    d = np.log10([r["pb2"] for r in rows]) - np.log10([r["pbt"] for r in rows])
    wins = int(np.sum(d < 0))
    print(f"pb2 - pbt, log10 loss: median {np.median(d):+.2f}; pb2 lower on {wins} of {len(rows)}")


if __name__ == "__main__":
    main()
