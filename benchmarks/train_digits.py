"""Training one trial: tunelab's kit vs Keras 3 (PyTorch backend) + Keras Tuner 1.4.8 (issue 3).

Run:  bash benchmarks/setup_env.sh && .venv-bench/bin/python benchmarks/train_digits.py

The seed tutorial's MLP on scikit-learn's digits (examples/run_hparam_tuning.py), one trial at
a time, tuned by tunelab (`tunelab.torch.fit`) and by Keras Tuner's RandomSearch driving the same
model in Keras 3 on the PyTorch backend. Target (issue 19): tunelab's wall time per trial is
at most 1/4 of Keras Tuner's, at equal accuracy.

Fairness rules (summarised in benchmarks/RESULTS.md):
- Same data: `tunelab.torch.load_digits()` (64 features scaled to [0, 1], a fixed stratified
  80/20 split: 1,438 train / 359 val). Keras gets exactly those arrays, as numpy, with the
  validation split passed as `validation_data`.
- Same model: Dense(hidden1 in Int(32, 512, step=32), relu) -> Dropout(dropout1 in
  Float(0.1, 0.5, step=0.1)) -> Dense(hidden2 in Int(16, 128, step=16), relu) ->
  Dropout(dropout2) -> Dense(10) (softmax in Keras; logits + cross-entropy in torch, which is
  the same loss), Adam with learning_rate in Choice([1e-4, 1e-3, 1e-2]), sparse categorical
  cross-entropy, batch 64, 10 epochs. No early stopping on either side: tunelab's fit gets
  patience=10, so all 10 epochs run; Keras gets no callbacks of ours. Each library keeps its
  own defaults otherwise (weight initialisation, Adam's epsilon, per-epoch bookkeeping: KT
  saves the weights of the best epoch and its oracle JSON, tunelab writes each epoch's report
  to SQLite and keeps the best epoch's weights in memory).
- Same trials: a random search of N trials each (tunelab `sampler="random", seed=0`; KT
  `RandomSearch(seed=0)`): the configurations differ, since the samplers differ, so medians are
  compared. Then both run the SAME 5 fixed configurations (FIXED_CONFIGS below), each 3 times
  (`--repeats`; every repeat is a new trial with a new seed, so seed noise shows): tunelab
  enqueues them (`study.enqueue`) and runs `optimize(n_trials=15)`; KT runs a `Tuner` whose
  oracle is KT's own `RandomSearchOracle` with `populate_space` returning those configurations
  in order, i.e. `RandomSearch` with the sampler replaced and everything else unchanged.
  Seeds: tunelab's study seed 0 (each trial seeded from the study name and trial number);
  Keras `keras.utils.set_random_seed(0)` once per process; KT's oracle seed 0.
- Threads: one torch thread for both (tunelab: TUNELAB_TORCH_THREADS=1, which its optimize
  loop applies; Keras process: `torch.set_num_threads(1)` before Keras is imported); each
  worker records `torch.get_num_threads()` during training to prove it. `--threads 1,2` also
  runs the fixed configurations with 2 threads (only meaningful on an idle machine).
- Storage: tunelab's default SQLite file in a fresh temp dir; KT's directory in a fresh temp
  dir with `overwrite=True`.
- Each library runs in its own subprocess (imports and thread settings cannot interfere), and
  the order of the two alternates between phases. The timer runs from the start of
  `study.optimize` / `tuner.search` to its end (creating the study / tuner is not timed).
  s/trial = total / trials, and the median of per-trial durations: tunelab's
  `FrozenTrial.duration` (created -> finished in storage); KT's from `on_trial_begin` to the
  end of `on_trial_end` (which includes KT's save of oracle state).
- Accuracy: the validation accuracy after the 10th epoch (the "final" one) from each library's
  own per-epoch record. Each library's search score is shown too; the two differ by design:
  tunelab's fit returns val_accuracy at the epoch with the lowest val_loss, KT scores a trial by
  its best val_accuracy over the epochs.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import importlib.metadata as metadata
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _machine import load_average, source_state

SEED = 0
EPOCHS = 10
BATCH = 64
LEARNING_RATES = [1e-4, 1e-3, 1e-2]
# "Equal accuracy": tunelab's median final val accuracy over the trials of the shared
# configurations is at most this far below Keras Tuner's (1 point = 3.6 of the 359 validation
# samples).
EQUAL_TOL = 0.01
TARGET_RATIO = 0.25  # issue 19: the fast path stays at most 1/4 of Keras Tuner's time
BUSY_CORES = 0.3  # other processes' CPU use above which a multi-thread run is not trustworthy
RESULT_MARK = "@@RESULT "

# Five configurations covering the space: small/large layers, low/high dropout, every rate.
FIXED_CONFIGS: list[dict[str, Any]] = [
    {"hidden1": 128, "dropout1": 0.2, "hidden2": 64, "dropout2": 0.2, "learning_rate": 1e-3},
    {"hidden1": 512, "dropout1": 0.5, "hidden2": 128, "dropout2": 0.5, "learning_rate": 1e-3},
    {"hidden1": 32, "dropout1": 0.1, "hidden2": 16, "dropout2": 0.1, "learning_rate": 1e-2},
    {"hidden1": 256, "dropout1": 0.3, "hidden2": 32, "dropout2": 0.4, "learning_rate": 1e-4},
    {"hidden1": 384, "dropout1": 0.2, "hidden2": 96, "dropout2": 0.3, "learning_rate": 1e-2},
]
PARAM_NAMES = ("hidden1", "dropout1", "hidden2", "dropout2", "learning_rate")


def fixed_plan(n_trials: int) -> list[dict[str, Any]]:
    """FIXED_CONFIGS in turn, repeated: each repeat of a configuration is a new trial with its
    own seed (tunelab: the trial number's seed; Keras: the global RNG moves on)."""
    return [dict(FIXED_CONFIGS[i % len(FIXED_CONFIGS)]) for i in range(n_trials)]


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _busy_cores(seconds: float = 1.0) -> float:
    """Cores kept busy by other processes now (from /proc/stat; the load average would still
    count our own previous worker), or NaN where /proc/stat is missing."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return float("nan")
    busy = 1.0 - (idle1 - idle0) / max(total1 - total0, 1)
    return busy * (os.cpu_count() or 1)


def _loadavg() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


# -- tunelab worker -------------------------------------------------------------------------------


def run_tunelab(
    mode: str, n_trials: int, root: Path, profile: bool = False, init: str = "torch"
) -> dict[str, Any]:
    """One study on a SQLite file; the seed example's model and training settings.
    init="glorot" (a diagnostic) re-initialises the Linear layers as Keras's Dense does."""
    started_import = time.perf_counter()
    import torch
    from torch import nn

    import tunelab
    from tunelab import torch as tl_torch

    import_s = time.perf_counter() - started_import
    data = tl_torch.load_digits()
    fit_settings: dict[str, Any] = {
        "optimizer": "adam",
        "learning_rate": LEARNING_RATES,
        "batch_size": BATCH,
        "epochs": EPOCHS,
        "lr_schedule": "constant",
        "weight_decay": 0.0,
        "patience": EPOCHS,  # no early stopping: all 10 epochs run, as in Keras
    }
    threads_seen: set[int] = set()

    def build_model(hp: Any) -> nn.Module:  # as examples/run_hparam_tuning.py
        hidden1 = hp.Int("hidden1", min_value=32, max_value=512, step=32)
        hidden2 = hp.Int("hidden2", min_value=16, max_value=128, step=16)
        model = nn.Sequential(
            nn.Linear(64, hidden1),
            nn.ReLU(),
            nn.Dropout(hp.Float("dropout1", min_value=0.1, max_value=0.5, step=0.1)),
            nn.Linear(hidden1, hidden2),
            nn.ReLU(),
            nn.Dropout(hp.Float("dropout2", min_value=0.1, max_value=0.5, step=0.1)),
            nn.Linear(hidden2, 10),
        )
        if init == "glorot":  # Keras Dense: glorot_uniform kernel, zero bias
            for layer in model:
                if isinstance(layer, nn.Linear):
                    nn.init.xavier_uniform_(layer.weight)
                    nn.init.zeros_(layer.bias)
        return model

    def objective(trial: Any) -> float:
        threads_seen.add(torch.get_num_threads())
        return tl_torch.fit(build_model(trial.hp), data, trial, **fit_settings)

    study = tunelab.create_study(
        "digits",
        storage=str(root / "study.db"),
        metric="val_accuracy",
        direction="maximize",
        sampler="random",
        seed=SEED,
    )
    if mode == "fixed":
        for config in fixed_plan(n_trials):
            study.enqueue(config)
    prof = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if prof is not None:
        prof.enable()
    study.optimize(objective, n_trials=n_trials)
    if prof is not None:
        prof.disable()
    total = time.perf_counter() - start
    trials = sorted(study.trials, key=lambda t: t.number)
    out = {
        "library": "tunelab",
        "total_s": total,
        "import_s": import_s,
        "threads_seen": sorted(threads_seen),
        "trials": [
            {
                "params": {k: t.params.get(k) for k in PARAM_NAMES},
                "state": t.state.value,
                "seconds": t.duration,
                "final_val_accuracy": t.reports[-1].metrics["val_accuracy"] if t.reports else None,
                "epochs": len(t.reports),
                "score": t.value,
            }
            for t in trials
        ],
    }
    study.close()
    if prof is not None:
        out["profile"] = _profile_text(prof, n_trials)
    return out


def _profile_text(prof: cProfile.Profile, n_trials: int, top: int = 30) -> str:
    buf = io.StringIO()
    print(f"cProfile of tunelab's optimize, {n_trials} trials", file=buf)
    for key in ("tottime", "cumulative"):
        print(f"\n-- by {key} (top {top}) --", file=buf)
        pstats.Stats(prof, stream=buf).sort_stats(key).print_stats(top)
    return buf.getvalue()


# -- Keras Tuner worker ---------------------------------------------------------------------------


def run_keras(mode: str, n_trials: int, root: Path, threads: int) -> dict[str, Any]:
    """KT RandomSearch (or KT's oracle fed fixed configurations) on Keras 3 / torch."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    started_import = time.perf_counter()
    import torch

    torch.set_num_threads(threads)  # before Keras runs anything, as tunelab does per worker
    import keras
    import keras_tuner

    from tunelab import torch as tl_torch

    import_s = time.perf_counter() - started_import
    if keras.backend.backend() != "torch":
        raise SystemExit(f"Keras runs on {keras.backend.backend()!r}, not torch")
    data = tl_torch.load_digits()  # the very same tensors tunelab trains on, as numpy
    x_train, y_train = data.x_train.numpy(), data.y_train.numpy()
    x_val, y_val = data.x_val.numpy(), data.y_val.numpy()
    keras.utils.set_random_seed(SEED)
    threads_seen: set[int] = set()
    final_val: list[float] = []
    epochs_run: list[int] = []

    class DigitsHyperModel(keras_tuner.HyperModel):  # type: ignore[misc]
        def build(self, hp: Any) -> Any:
            model = keras.Sequential(
                [
                    keras.Input(shape=(64,)),
                    keras.layers.Dense(
                        hp.Int("hidden1", min_value=32, max_value=512, step=32), activation="relu"
                    ),
                    keras.layers.Dropout(
                        hp.Float("dropout1", min_value=0.1, max_value=0.5, step=0.1)
                    ),
                    keras.layers.Dense(
                        hp.Int("hidden2", min_value=16, max_value=128, step=16), activation="relu"
                    ),
                    keras.layers.Dropout(
                        hp.Float("dropout2", min_value=0.1, max_value=0.5, step=0.1)
                    ),
                    keras.layers.Dense(10, activation="softmax"),
                ]
            )
            model.compile(
                optimizer=keras.optimizers.Adam(
                    learning_rate=hp.Choice("learning_rate", LEARNING_RATES)
                ),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )
            return model

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            # KT's default HyperModel.fit is exactly `model.fit(*args, **kwargs)`; we only
            # read the last epoch's val_accuracy from the history it returns.
            threads_seen.add(torch.get_num_threads())
            history = model.fit(*args, **kwargs)
            final_val.append(float(history.history["val_accuracy"][-1]))
            epochs_run.append(len(history.history["val_accuracy"]))
            return history

    durations: list[float] = []

    class Timed:
        """Per-trial wall time: from the oracle's new trial to the end of on_trial_end."""

        _t0 = 0.0

        def on_trial_begin(self, trial: Any) -> None:
            self._t0 = time.perf_counter()
            super().on_trial_begin(trial)  # type: ignore[misc]

        def on_trial_end(self, trial: Any) -> None:
            super().on_trial_end(trial)  # type: ignore[misc]
            durations.append(time.perf_counter() - self._t0)

    class TimedRandomSearch(Timed, keras_tuner.RandomSearch):  # type: ignore[misc]
        pass

    class TimedTuner(Timed, keras_tuner.Tuner):  # type: ignore[misc]
        pass

    class FixedConfigsOracle(keras_tuner.oracles.RandomSearchOracle):  # type: ignore[misc]
        """KT's random-search oracle, proposing the given configurations in order."""

        def __init__(self, configs: list[dict[str, Any]], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._configs = [dict(c) for c in configs]

        def populate_space(self, trial_id: str) -> dict[str, Any]:
            if not self._configs:
                return {"status": keras_tuner.engine.trial.TrialStatus.STOPPED, "values": None}
            return {
                "status": keras_tuner.engine.trial.TrialStatus.RUNNING,
                "values": self._configs.pop(0),
            }

    common: dict[str, Any] = {"directory": str(root), "project_name": "digits", "overwrite": True}
    if mode == "fixed":
        configs = fixed_plan(n_trials)
        oracle = FixedConfigsOracle(
            configs, objective="val_accuracy", max_trials=len(configs), seed=SEED
        )
        tuner: Any = TimedTuner(oracle=oracle, hypermodel=DigitsHyperModel(), **common)
    else:
        tuner = TimedRandomSearch(
            hypermodel=DigitsHyperModel(),
            objective="val_accuracy",
            max_trials=n_trials,
            seed=SEED,
            **common,
        )
    start = time.perf_counter()
    tuner.search(
        x_train, y_train, epochs=EPOCHS, batch_size=BATCH, validation_data=(x_val, y_val), verbose=0
    )
    total = time.perf_counter() - start
    trials = [tuner.oracle.trials[tid] for tid in tuner.oracle.start_order]
    return {
        "library": "keras_tuner",
        "total_s": total,
        "import_s": import_s,
        "threads_seen": sorted(threads_seen),
        "trials": [
            {
                "params": {k: t.hyperparameters.values.get(k) for k in PARAM_NAMES},
                "state": str(t.status),
                "seconds": durations[i] if i < len(durations) else None,
                "final_val_accuracy": final_val[i] if i < len(final_val) else None,
                "epochs": epochs_run[i] if i < len(epochs_run) else None,
                "score": t.score,
            }
            for i, t in enumerate(trials)
        ],
    }


def worker_main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix=f"bench-{args.worker}-") as tmp:
        if args.worker == "tunelab":
            result = run_tunelab(
                args.mode, args.n, Path(tmp), profile=args.profile, init=args.tunelab_init
            )
        else:
            result = run_keras(args.mode, args.n, Path(tmp), args.threads[0])
    print(RESULT_MARK + json.dumps(result), flush=True)


# -- parent: plan, subprocesses, tables -----------------------------------------------------------


def spawn(
    library: str, mode: str, n: int, threads: int, profile: bool = False, init: str = "torch"
) -> dict[str, Any]:
    """Run one library's search in a fresh interpreter and return its result."""
    env = dict(os.environ)
    env["TUNELAB_TORCH_THREADS"] = str(threads)  # read by tunelab's optimize loop
    env["KERAS_BACKEND"] = "torch"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        library,
        "--mode",
        mode,
        "--n",
        str(n),
        "--threads",
        str(threads),
        "--tunelab-init",
        init,
    ]
    cmd += ["--profile"] if profile else []
    load_before = _loadavg()
    wall = time.perf_counter()
    proc = subprocess.run(cmd, env=env, text=True, capture_output=True, check=False)
    wall = time.perf_counter() - wall
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        raise SystemExit(
            f"{library} worker failed (rc {proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_MARK) :])
    result.update(
        mode=mode, threads=threads, process_s=wall, load_before=load_before, load_after=_loadavg()
    )
    return result


def summarise(result: dict[str, Any]) -> dict[str, float]:
    trials = result["trials"]
    seconds = [t["seconds"] for t in trials if t["seconds"] is not None]
    accs = [t["final_val_accuracy"] for t in trials if t["final_val_accuracy"] is not None]
    return {
        "n": len(trials),
        "mean_s": result["total_s"] / max(len(trials), 1),
        "median_s": _median(seconds),
        "first_s": seconds[0] if seconds else float("nan"),
        "acc_median": _median(accs),
        "acc_best": max(accs) if accs else float("nan"),
    }


def print_run(result: dict[str, Any]) -> None:
    s = summarise(result)
    print(
        f"  {result['library']:11s} {result['mode']:6s} threads={result['threads']} "
        f"(seen {result['threads_seen']}): total {result['total_s']:.2f} s for {s['n']} "
        f"trials = {s['mean_s']:.3f} s/trial; median {s['median_s']:.3f} s; first "
        f"{s['first_s']:.3f} s; final val acc median {s['acc_median']:.4f} best "
        f"{s['acc_best']:.4f}; imports {result['import_s']:.1f} s; process "
        f"{result['process_s']:.1f} s; load {result['load_before']:.2f}->"
        f"{result['load_after']:.2f}",
        flush=True,
    )
    for t in result["trials"]:
        p = _params(t["params"])
        print(
            f"      {p['hidden1']!s:>4} {p['dropout1']!s:>4} {p['hidden2']!s:>4} "
            f"{p['dropout2']!s:>4} {p['learning_rate']!s:>7}  {t['state']:>9}  "
            f"{_fmt(t['seconds'], 3)} s  final val acc {_fmt(t['final_val_accuracy'], 4)}  "
            f"score {_fmt(t['score'], 4)}  epochs {t['epochs']}",
            flush=True,
        )


def _params(params: dict[str, Any]) -> dict[str, Any]:
    """KT's stepped Floats carry binary noise (0.30000000000000004): round for display."""
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in params.items()}


def _med(trials: list[dict[str, Any]], key: str) -> float:
    return _median([t[key] for t in trials if t[key] is not None])


def _accs(trials: list[dict[str, Any]]) -> str:
    return "[" + " ".join(_fmt(t["final_val_accuracy"], 3) for t in trials) + "]"


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _versions() -> str:
    names = ("torch", "keras", "keras-tuner", "scikit-learn", "numpy", "tunelab")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} missing")
    return ", ".join(found)


def environment() -> str:
    return (
        f"date {dt.datetime.now().astimezone().isoformat(timespec='seconds')}; "
        f"{platform.platform()}; {os.cpu_count()} CPUs; Python {platform.python_version()}; "
        f"{_versions()}; {source_state()}; {load_average()}"
    )


def row(label: str, t: dict[str, Any], k: dict[str, Any]) -> tuple[str, float, float]:
    st, sk = summarise(t), summarise(k)
    ratio_med = st["median_s"] / sk["median_s"]
    ratio_mean = st["mean_s"] / sk["mean_s"]
    line = (
        f"| {label} | {st['median_s']:.3f} | {sk['median_s']:.3f} | **{ratio_med:.2f}** | "
        f"{st['mean_s']:.3f} | {sk['mean_s']:.3f} | {ratio_mean:.2f} | "
        f"{st['acc_median']:.4f} / {st['acc_best']:.4f} | "
        f"{sk['acc_median']:.4f} / {sk['acc_best']:.4f} |"
    )
    return line, ratio_med, st["acc_median"] - sk["acc_median"]


def benchmark(args: argparse.Namespace) -> None:
    print(environment(), flush=True)
    if args.tunelab_init != "torch":
        print(
            f"DIAGNOSTIC RUN: tunelab's model uses {args.tunelab_init} initialisation", flush=True
        )
    started = time.perf_counter()
    runs: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    n_fixed = len(FIXED_CONFIGS) * args.repeats
    phases = [("random", args.trials, 1), ("fixed", n_fixed, 1)]
    phases += [("fixed", n_fixed, n) for n in args.threads if n != 1]
    for i, (mode, n, threads) in enumerate(phases):
        print(
            f"\n[{i + 1}] {mode} configurations, {n} trials each, {threads} torch thread(s)",
            flush=True,
        )
        order = ["tunelab", "keras_tuner"] if i % 2 == 0 else ["keras_tuner", "tunelab"]
        busy = _busy_cores() if threads > 1 else 0.0
        if busy > BUSY_CORES:
            print(
                f"  WARNING: other processes keep {busy:.1f} cores busy before a {threads}-"
                "thread run: torch's threads then wait for each other and a trial can take "
                "10-100x longer (seen on this 2-core machine); rerun on an idle machine",
                flush=True,
            )
        elif threads > 1:
            print(f"  (other processes keep {busy:.2f} cores busy)", flush=True)
        runs[(mode, threads)] = {}
        for library in order:
            result = spawn(library, mode, n, threads, init=args.tunelab_init)
            runs[(mode, threads)][library] = result
            print_run(result)

    print("\n## Summary\n")
    print(
        "| run | tunelab s/trial (median) | KT s/trial (median) | tunelab / KT (median) | "
        "tunelab s/trial (total/trials) | KT s/trial (total/trials) | tunelab / KT "
        "(total) | tunelab final val acc median / best | KT final val acc median / best |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    verdict: dict[tuple[str, int], tuple[float, float]] = {}
    for (mode, threads), pair in runs.items():
        label = (
            f"random search, {args.trials} trials"
            if mode == "random"
            else f"same {len(FIXED_CONFIGS)} configs x {args.repeats} seeds"
        )
        line, ratio, acc_gap = row(
            f"{label}, {threads} thread(s)", pair["tunelab"], pair["keras_tuner"]
        )
        verdict[(mode, threads)] = (ratio, acc_gap)
        print(line)

    print(
        f"\nPaired, same configurations, 1 thread, median over {args.repeats} seed(s) "
        "(final val acc after epoch 10; s/trial):"
    )
    fixed = runs[("fixed", 1)]
    for i, config in enumerate(FIXED_CONFIGS):
        t_runs = fixed["tunelab"]["trials"][i :: len(FIXED_CONFIGS)]
        k_runs = fixed["keras_tuner"]["trials"][i :: len(FIXED_CONFIGS)]
        print(
            f"  {config}: tunelab {_med(t_runs, 'seconds'):.3f} s acc "
            f"{_med(t_runs, 'final_val_accuracy'):.4f} {_accs(t_runs)} | KT "
            f"{_med(k_runs, 'seconds'):.3f} s acc {_med(k_runs, 'final_val_accuracy'):.4f} "
            f"{_accs(k_runs)}"
        )

    ratio_r, gap_r = verdict[("random", 1)]
    ratio_f, gap_f = verdict[("fixed", 1)]
    fast = ratio_r <= TARGET_RATIO and ratio_f <= TARGET_RATIO
    equal = gap_f >= -EQUAL_TOL
    print(
        f"\nTime: tunelab / KT per trial (median, 1 thread) = {ratio_r:.2f} (random search), "
        f"{ratio_f:.2f} (same configs); target <= {TARGET_RATIO}: "
        f"{'MET' if fast else 'NOT MET'}"
    )
    print(
        f"Accuracy: tunelab - KT median final val acc on the same configs = {gap_f:+.4f} "
        f"(random search: {gap_r:+.4f}); equal means >= -{EQUAL_TOL}: "
        f"{'MET' if equal else 'NOT MET'}"
    )
    print(
        f"Target (<= 1/4 of KT's time per trial at equal accuracy): "
        f"{'MET' if fast and equal else 'NOT MET'}"
    )
    print(
        f"\n(total benchmark time {time.perf_counter() - started:.0f} s; "
        f"at the end: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})"
    )


def profile_main(args: argparse.Namespace) -> None:
    """cProfile tunelab's fit on the fixed configurations (1 thread), in a subprocess."""
    result = spawn("tunelab", "fixed", len(FIXED_CONFIGS) * args.repeats, 1, profile=True)
    print_run(result)
    print(result.get("profile", "no profile"))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="random-search trials per library")
    parser.add_argument(
        "--threads",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1],
        help="torch thread counts for the fixed configs, e.g. 1,2 "
        "(2 threads only on an idle machine: see the load warning)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="seeds per fixed configuration (each a separate trial)",
    )
    parser.add_argument(
        "--tunelab-init",
        choices=("torch", "glorot"),
        default="torch",
        help="diagnostic: 'glorot' initialises tunelab's model as Keras does "
        "(the benchmark proper keeps PyTorch's default init, as the seed example)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile tunelab's fit instead of benchmarking"
    )
    parser.add_argument("--worker", choices=("tunelab", "keras_tuner"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--mode", choices=("random", "fixed"), default="random", help=argparse.SUPPRESS
    )
    parser.add_argument("--n", type=int, default=10, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args)
    elif args.profile:
        profile_main(args)
    else:
        benchmark(args)


if __name__ == "__main__":
    main()
