"""How benchmarks/end_to_end.py's TARGET was chosen: random configurations of the shared
space, each trained EPOCHS epochs by the plain PyTorch loop the peers use, on seeds that are not
reported (100-102); their curves are kept as JSON (one file per seed, so seeds can run in
parallel). With a constant learning rate the first E epochs of a curve are an E-epoch run, so
the same curves give the target for any shorter cap. Each trial is scored three ways
(the last epoch, as Optuna and Ray; the best epoch, as Keras Tuner; the epoch of lowest val
loss with patience-5 early stopping, as tunelab's fit), and the value random search reaches
about once in 50 trials (the 98th percentile of trial scores) is printed for each.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from _e2e_workers import EPOCHS, LEARNING_RATES, TorchRun

TARGET_SEEDS = (100, 101, 102)
TRIALS_PER_SEED = 60
CURVE_EPOCHS = EPOCHS  # curves as long as the benchmark's cap
PATIENCE = 5


def random_config(rng: random.Random) -> dict[str, Any]:
    return {
        "hidden1": rng.randrange(32, 513, 32),
        "dropout1": rng.choice([0.1, 0.2, 0.3, 0.4, 0.5]),
        "hidden2": rng.randrange(16, 129, 16),
        "dropout2": rng.choice([0.1, 0.2, 0.3, 0.4, 0.5]),
        "learning_rate": rng.choice(LEARNING_RATES),
    }


def early_stopped(accs: list[float], losses: list[float]) -> float:
    """Val accuracy at the lowest val loss, stopping after PATIENCE epochs without a new low."""
    best, best_i = float("inf"), 0
    for i, loss in enumerate(losses):
        if loss < best:
            best, best_i = loss, i
        elif i - best_i >= PATIENCE:
            break
    return accs[best_i]


def train_curves(data: Path, seed: int, out: Path) -> None:
    """TRIALS_PER_SEED random configurations of `seed`, their curves written to `out`."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    with np.load(data) as z:
        arrays = {k: z[k] for k in z.files}
    rng = random.Random(seed)
    rows = []
    for i in range(TRIALS_PER_SEED):
        params = random_config(rng)
        run = TorchRun(params, arrays, seed=1000 * seed + i)
        curve = [run.epoch() for _ in range(CURVE_EPOCHS)]
        rows.append({"params": params, "acc": [a for a, _ in curve], "loss": [v for _, v in curve]})
    out.write_text(json.dumps(rows))


def summarise(files: list[Path], epochs: int) -> None:
    import numpy as np

    rows = [r for f in files for r in json.loads(f.read_text())]
    scores: dict[str, list[float]] = {"last": [], "best": [], "early-stopped": []}
    for r in rows:
        accs, losses = r["acc"][:epochs], r["loss"][:epochs]
        scores["last"].append(accs[-1])
        scores["best"].append(max(accs))
        scores["early-stopped"].append(early_stopped(accs, losses))
    n = len(rows)
    print(f"{n} random trials ({len(files)} seeds), first {epochs} epochs of each curve")
    for rule, xs in scores.items():
        xs = sorted(xs)
        q98 = float(np.quantile(xs, 0.98))
        at_or_above = {v: sum(x >= v - 1e-9 for x in xs) for v in sorted(set(xs))[-6:]}
        shown = ", ".join(f"{v:.4f}: 1 in {n / k:.0f}" for v, k in at_or_above.items())
        print(f"{rule:>14}: median {np.median(xs):.4f}, 98th percentile {q98:.4f}; {shown}")
