"""Multi-fidelity on real training: the digits MLP with epochs as the resource (issue 5).

The seed tutorial's MLP (64 -> hidden1 -> dropout -> hidden2 -> dropout -> 10, as in
examples/run_hparam_tuning.py) on scikit-learn's digits (`tunelab.torch.load_digits()`, the
fixed stratified 80/20 split), trained by `tunelab.torch.fit` with one torch thread. Training
every method's trials for many seeds is too slow here, so the benchmark is tabular, as LCBench
and HPOBench are: every configuration of a finite space (SPACE below) is trained once for
E = 27 epochs (no early stopping, constant learning rate) and its per-epoch validation
accuracy is cached as JSON under benchmarks/.cache/ (git-ignored). The methods then replay
those curves: a trial "trains" epoch t by reading the cached value, so a pruned trial costs
the epochs it ran. Training noise is therefore frozen (one training seed per
configuration); the search methods' own randomness still differs by seed.

Everything else is benchmarks/multifidelity.py's protocol and code (imported, not copied):
per seed, random search without pruning runs 100 full trials (2700 epochs) and its best final
value is the target; every method runs until a COMPLETE trial reaches it or it has spent 2700
epochs. Run:
    nice -n 19 .venv-bench/bin/python benchmarks/multifidelity_digits.py --build   # ~15 CPU-min
    nice -n 19 .venv-bench/bin/python benchmarks/multifidelity_digits.py --seeds 10
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import multifidelity as mf

E = 27
CACHE = Path(__file__).resolve().parent / ".cache" / "digits_mlp_curves_v1.json"
SPACE: dict[str, list[Any]] = {
    "optimizer": ["adam", "sgd"],  # sgd with momentum 0.9 (the kit's default)
    "learning_rate": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2],
    "batch_size": [16, 64, 256],
    "hidden1": [64, 256],
    "hidden2": [32, 128],
    "dropout": [0.0, 0.25, 0.5],  # both dropout layers
}
NAMES = list(SPACE)


def key_of(params: dict[str, Any]) -> str:
    return json.dumps([params[n] for n in NAMES])


# -- the table ----------------------------------------------------------------------------------


class _FixedTrial:
    """Just enough of a Trial for `tunelab.torch.fit`: fixed values, reports recorded."""

    metric = "val_accuracy"

    def __init__(self, params: dict[str, Any], seed: int) -> None:
        import tunelab

        self.seed = seed
        self.hp = tunelab.HyperParameters(
            resolver=lambda p, _c: params.get(p.name, p.default_value)
        )
        self.curve: list[float] = []

    def report(self, step: int, /, **metrics: float) -> None:
        self.curve.append(float(metrics["val_accuracy"]))

    def should_prune(self) -> bool:
        return False

    def set_user_attr(self, key: str, value: Any) -> None:
        pass


def train_curve(params: dict[str, Any], data: Any, seed: int) -> list[float]:
    import torch
    from torch import nn

    from tunelab import torch as tl_torch
    from tunelab.errors import TrialDiverged

    torch.manual_seed(seed)
    h1, h2, drop = params["hidden1"], params["hidden2"], params["dropout"]
    model = nn.Sequential(
        nn.Linear(64, h1),
        nn.ReLU(),
        nn.Dropout(drop),
        nn.Linear(h1, h2),
        nn.ReLU(),
        nn.Dropout(drop),
        nn.Linear(h2, 10),
    )
    trial = _FixedTrial(params, seed)
    try:
        tl_torch.fit(
            model,
            data,
            trial,
            optimizer=params["optimizer"],
            learning_rate=params["learning_rate"],
            batch_size=params["batch_size"],
            epochs=E,
            patience=E,
            lr_schedule="constant",
            weight_decay=0.0,
            seed=seed,
            keep_models=0,  # a table keeps no weights (and _FixedTrial has no artifact folder)
        )
    except TrialDiverged as e:  # the kit stops a diverged run: chance level from then on
        print(f"{params}: {type(e).__name__}: {e}", flush=True)
    curve = trial.curve + [0.1] * (E - len(trial.curve))
    return [round(v, 6) for v in curve]


def _shard_file(k: int, n: int) -> Path:
    return CACHE.with_name(f"{CACHE.stem}.shard{k}of{n}.json")


def read_cache() -> dict[str, Any]:
    """The table so far: the main file plus any shard files (--shard) merged into it."""
    table: dict[str, Any] = {"epochs": E, "space": SPACE, "curves": {}, "seconds": 0.0}
    if CACHE.exists():
        table = json.loads(CACHE.read_text())
    for part in sorted(CACHE.parent.glob(f"{CACHE.stem}.shard*.json")):
        extra = json.loads(part.read_text())
        table["curves"].update(extra["curves"])
        table["seconds"] += extra["seconds"]
    return table


def build(limit: int | None, shard: str | None) -> None:
    """Train every configuration not cached yet and write the curves. Resumable; with
    --shard K/N this process trains only configurations i with i % N == K, into its own
    file (run N processes side by side; reading the table merges them)."""
    os.environ.setdefault("TUNELAB_TORCH_THREADS", "1")
    import torch

    from tunelab import torch as tl_torch

    torch.set_num_threads(1)
    data = tl_torch.load_digits()
    k, n = (int(v) for v in shard.split("/")) if shard else (0, 1)
    if not 0 <= k < n:
        raise SystemExit(f"--shard must be K/N with 0 <= K < N, but got {shard!r}")
    done = read_cache()
    out = _shard_file(k, n) if shard else CACHE
    table = done
    if shard:  # a restarted shard keeps what its file already holds
        table = {"epochs": E, "space": SPACE, "curves": {}, "seconds": 0.0}
        if out.exists():
            table = json.loads(out.read_text())
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    configs = [
        dict(zip(NAMES, values, strict=True)) for values in itertools.product(*SPACE.values())
    ]
    todo = [c for i, c in enumerate(configs) if i % n == k and key_of(c) not in done["curves"]][
        :limit
    ]
    print(f"{len(configs)} configurations, {len(todo)} to train here", flush=True)
    for i, params in enumerate(todo):
        started = time.process_time()
        curve = train_curve(params, data, seed=0)
        table["seconds"] += time.process_time() - started
        table["curves"][key_of(params)] = curve
        if i % 20 == 19 or i == len(todo) - 1:
            out.write_text(json.dumps(table))
            print(f"{i + 1}/{len(todo)} trained, {table['seconds']:.0f} CPU-s", flush=True)


# -- replaying the table ------------------------------------------------------------------------


_TABLE: dict[str, np.ndarray] = {}


def table_curves() -> dict[str, np.ndarray]:
    """The cached curves (read once); a clear error when the table is missing or partial."""
    if not _TABLE:
        table = read_cache()  # the main file and/or the shard files of a --shard build
        if not table["curves"]:
            sys.exit(f"no table at {CACHE}: run this script with --build first")
        n = 1
        for values in SPACE.values():
            n *= len(values)
        if table.get("space") != SPACE or len(table["curves"]) != n or table["epochs"] != E:
            sys.exit(f"{CACHE} is partial or for another space: run --build to finish it")
        _TABLE.update({k: np.asarray(v, dtype=float) for k, v in table["curves"].items()})
    return _TABLE


def replay(params: dict[str, Any], seed: int) -> np.ndarray:
    """The configuration's cached validation-accuracy curve (the same for every seed)."""
    return table_curves()[key_of(params)]


def _tunelab_params(hp: Any) -> dict[str, Any]:
    return {n: hp.Choice(n, v) for n, v in SPACE.items()}


def _optuna_params(trial: Any) -> dict[str, Any]:
    return {n: trial.suggest_categorical(n, v) for n, v in SPACE.items()}


DIGITS = mf.Problem("digits MLP, tabular", _tunelab_params, _optuna_params, replay)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], add_help=False)
    parser.add_argument("--build", action="store_true", help="train the table (resumable)")
    parser.add_argument("--limit", type=int, default=None, help="train at most this many")
    parser.add_argument("--shard", default=None, help="K/N: train every N-th configuration")
    args, rest = parser.parse_known_args()
    if args.build:
        build(args.limit, args.shard)
        return
    if E != mf.E:
        raise SystemExit(f"E={E} here but {mf.E} in multifidelity.py")
    table_curves()
    mf.main(DIGITS, rest)


if __name__ == "__main__":
    main()
