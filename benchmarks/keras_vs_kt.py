"""The seed tutorial's search with Keras Tuner itself and with `tunelab.keras` (issue 8).

Run:  bash benchmarks/setup_env.sh && .venv-bench/bin/python benchmarks/keras_vs_kt.py

The same script, the same model, the same data; only `import keras_tuner as kt` versus
`import tunelab.keras as kt` differs. Both run Keras 3 on the PyTorch backend.

- Data: scikit-learn's digits, 64 features scaled to [0, 1], one-hot labels, a stratified
  80/20 split (random_state=0): 1,437 train / 360 validation, given as validation_data.
- Model: the tutorial's build_model(hp): Dense(hidden1 in 32..512 step 32, relu) ->
  Dropout(0.1..0.5 step 0.1) -> Dense(hidden2 in 16..128 step 16, relu) -> Dropout ->
  Dense(10, softmax); Adam(learning_rate in Choice([1e-4, 1e-3, 1e-2])), categorical
  cross-entropy, accuracy. fit: Keras's default batch size (32), `--epochs` epochs.
- Search: RandomSearch(objective="val_accuracy", max_trials=--trials, seed=S) for each seed
  in --seeds: each library's own random sampler, so the configurations differ and best
  accuracy is compared over seeds. Both score a trial by its best epoch's val_accuracy.
- Each library runs in its own fresh subprocess (RAM and imports measured apart), one torch
  thread each (`torch.set_num_threads(1)` before keras is imported; tunelab.keras applies
  TUNELAB_TORCH_THREADS=1 too), and the order of the two alternates between seeds.
- Timing: `tuner.search(...)` wall time / trials, and per trial the time between the starts
  of consecutive fits (so each library's work between trials counts: building the model,
  saving checkpoints, oracle/study bookkeeping, clearing the session).
- Memory: the process's resident set (VmRSS) at the start of each fit (after the previous
  trial's clean-up) and at the end, and the peak (ru_maxrss).
- After the search: `get_best_models(1)[0]` evaluated on the validation data (both libraries
  return the trained model without retraining; the value should equal the stored score).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as metadata
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _machine import load_average, source_state

RESULT_MARK = "@@RESULT "


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(library: str, trials: int, epochs: int, seed: int, root: Path) -> dict[str, Any]:
    """One search in this process; returns the measurements."""
    os.environ["KERAS_BACKEND"] = "torch"
    os.environ["TUNELAB_TORCH_THREADS"] = "1"
    started = time.perf_counter()
    import torch

    torch.set_num_threads(1)
    if library == "kt":
        import keras_tuner as kt
    else:
        import tunelab.keras as kt  # type: ignore[no-redef]
    import keras
    import numpy as np
    from keras.layers import Dense, Dropout
    from keras.optimizers import Adam
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    import_s = time.perf_counter() - started
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    onehot = np.eye(10, dtype="float32")[y]
    x_tr, x_val, y_tr, y_val = train_test_split(
        x, onehot, test_size=0.2, random_state=0, stratify=y
    )

    def build_model(hp: Any) -> Any:  # the tutorial's, input adapted to 64 features
        model = keras.Sequential()
        model.add(keras.Input(shape=(64,)))
        model.add(Dense(hp.Int("hidden1", min_value=32, max_value=512, step=32), activation="relu"))
        model.add(Dropout(hp.Float("dropout1", min_value=0.1, max_value=0.5, step=0.1)))
        model.add(Dense(hp.Int("hidden2", min_value=16, max_value=128, step=16), activation="relu"))
        model.add(Dropout(hp.Float("dropout2", min_value=0.1, max_value=0.5, step=0.1)))
        model.add(Dense(10, activation="softmax"))
        hp_learning_rate = hp.Choice("learning_rate", values=[0.0001, 0.001, 0.01])
        model.compile(
            optimizer=Adam(learning_rate=hp_learning_rate),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    marks: list[tuple[float, float, str]] = []  # (time, rss, "begin"/"end")

    class Probe(keras.callbacks.Callback):  # copied per trial by both tuners: state is global
        def on_train_begin(self, logs: Any = None) -> None:
            marks.append((time.perf_counter(), _rss_mb(), "begin"))

        def on_train_end(self, logs: Any = None) -> None:
            marks.append((time.perf_counter(), _rss_mb(), "end"))

    tuner = kt.RandomSearch(
        build_model,
        objective="val_accuracy",
        max_trials=trials,
        seed=seed,
        directory=str(root),
        project_name=library,
        overwrite=True,
    )
    rss_before = _rss_mb()
    start = time.perf_counter()
    tuner.search(
        x_tr, y_tr, epochs=epochs, validation_data=(x_val, y_val), callbacks=[Probe()], verbose=0
    )
    total = time.perf_counter() - start
    rss_after = _rss_mb()
    best = tuner.oracle.get_best_trials(1)[0]
    load_start = time.perf_counter()
    best_model = tuner.get_best_models(1)[0]
    load_s = time.perf_counter() - load_start
    _, best_model_accuracy = best_model.evaluate(x_val, y_val, verbose=0)
    begins = [m for m in marks if m[2] == "begin"]
    starts = [m[0] for m in begins] + [start + total]
    on_disk = sum(p.stat().st_size for p in (root / library).rglob("*") if p.is_file())
    return {
        "library": library,
        "version": metadata.version("keras-tuner" if library == "kt" else "tunelab"),
        "seed": seed,
        "import_s": import_s,
        "total_s": total,
        "trials": len(begins),
        "trial_s": [b - a for a, b in itertools.pairwise(starts)],
        "first_fit_delay_s": begins[0][0] - start if begins else None,
        "rss_at_fit_start_mb": [m[1] for m in begins],
        "rss_before_search_mb": rss_before,
        "rss_after_search_mb": rss_after,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "best_score": float(best.score),
        "best_model_val_accuracy": float(best_model_accuracy),
        "best_model_load_s": load_s,
        "disk_mb": on_disk / 2**20,
        "torch_threads": torch.get_num_threads(),
    }


def run_worker(library: str, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"kt-bench-{library}-") as root:
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            library,
            "--trials",
            str(args.trials),
            "--epochs",
            str(args.epochs),
            "--seeds",
            str(seed),
            "--root",
            root,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_MARK)]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{library} worker failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(lines[-1][len(RESULT_MARK) :])


def _growth(rss: list[float]) -> float:
    """RSS growth per trial from the second trial's start to the last one's (the first
    trial pays one-off allocations)."""
    if len(rss) < 3:
        return float("nan")
    return (rss[-1] - rss[1]) / (len(rss) - 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", default="0", help="comma-separated search seeds")
    parser.add_argument("--worker", choices=["kt", "tunelab"], help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.worker:
        result = worker(args.worker, args.trials, args.epochs, seeds[0], Path(args.root))
        print(RESULT_MARK + json.dumps(result), flush=True)
        return

    print(
        f"# keras_vs_kt: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{source_state()}, {load_average()} at start"
    )
    print(
        f"# python {platform.python_version()}, keras {metadata.version('keras')}, "
        f"keras-tuner {metadata.version('keras-tuner')}, torch {metadata.version('torch')}"
    )
    rows: list[dict[str, Any]] = []
    for i, seed in enumerate(seeds):
        order = ["kt", "tunelab"] if i % 2 == 0 else ["tunelab", "kt"]
        for library in order:
            result = run_worker(library, args, seed)
            result["loadavg_after"] = os.getloadavg()[0]
            rows.append(result)
            print(f"# seed {seed} {library}: done, {load_average()}", flush=True)

    print()
    print(
        "| seed | library | s/trial (total/trials) | median trial s | best val_accuracy "
        "| best model re-evaluated | RSS trial 2 -> last (MB) | growth MB/trial | peak RSS MB "
        "| disk MB | load avg after |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        rss = r["rss_at_fit_start_mb"]
        print(
            f"| {r['seed']} | {r['library']} | {r['total_s'] / r['trials']:.2f} "
            f"| {statistics.median(r['trial_s']):.2f} | {r['best_score']:.4f} "
            f"| {r['best_model_val_accuracy']:.4f} | {rss[1]:.0f} -> {rss[-1]:.0f} "
            f"| {_growth(rss):+.1f} | {r['peak_rss_mb']:.0f} | {r['disk_mb']:.1f} "
            f"| {r['loadavg_after']:.1f} |"
        )
    print()
    for seed in seeds:
        pair = {r["library"]: r for r in rows if r["seed"] == seed}
        kt_r, tl_r = pair["kt"], pair["tunelab"]
        ratio = (tl_r["total_s"] / tl_r["trials"]) / (kt_r["total_s"] / kt_r["trials"])
        print(
            f"seed {seed}: tunelab/KT s per trial = {ratio:.2f}; best val_accuracy "
            f"tunelab {tl_r['best_score']:.4f} vs KT {kt_r['best_score']:.4f}; peak RSS "
            f"tunelab/KT = {tl_r['peak_rss_mb'] / kt_r['peak_rss_mb']:.2f}"
        )
    print()
    print("RSS at the start of each fit (MB):")
    for r in rows:
        print(
            f"  seed {r['seed']} {r['library']}: "
            + " ".join(f"{v:.0f}" for v in r["rss_at_fit_start_mb"])
        )
    print("raw: " + json.dumps(rows))


if __name__ == "__main__":
    main()
