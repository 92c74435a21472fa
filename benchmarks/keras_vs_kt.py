"""The seed tutorial's search with Keras Tuner itself and with `tunelab.keras` (issue 8).

Run:  bash benchmarks/setup_env.sh && .venv-bench/bin/python benchmarks/keras_vs_kt.py --seeds 0-4
      [--replay] [--log runs.jsonl];  then  ... keras_vs_kt.py --report runs.jsonl

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
  saving checkpoints, oracle/study bookkeeping, clearing the session). The wall time inside
  Keras's epochs (training + validation) is recorded too; the rest of the search time per
  trial is the "overhead": what each tuner does besides training (its callbacks' work
  after each epoch included, as both put the user's callbacks first). Training time
  depends on the configurations drawn (model size), so per-trial time of two own-draw
  searches compares draws as well as tuners; the overhead does not.
- `--replay`: per seed, Keras Tuner runs first, then tunelab.keras trains Keras Tuner's
  configurations in the same order (queued with `tuner.study.enqueue`): per-trial time
  on identical work, and accuracy of the same configurations trained by each.
- Memory: the process's resident set (VmRSS) at the start of each fit (after the previous
  trial's clean-up) and at the end, and the peak (ru_maxrss).
- After the search: `get_best_models(1)[0]` evaluated on the validation data (both libraries
  return the trained model without retraining; the value should equal the stored score).
- Runs of several invocations merge: `--log FILE` appends each run's raw result as a JSON
  line, `--report FILE...` prints the tables and paired statistics from such files (best
  accuracy per seed: quartiles, wins/ties/losses, sign test, Wilcoxon signed-rank, bootstrap
  CI of the mean difference; every trial's score pooled: Mann-Whitney U).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as metadata
import itertools
import json
import math
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


def _configs(tuner: Any, library: str) -> list[dict[str, Any]]:
    """The hyperparameter values of every trial, in the order they ran."""
    if library == "kt":
        trials = sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id)
        return [dict(t.hyperparameters.values) for t in trials]
    return [dict(t.params) for t in sorted(tuner.study.trials, key=lambda t: t.number)]


def _scores(tuner: Any, library: str) -> list[float | None]:
    """Every trial's score (its best epoch's val_accuracy), in the order they ran."""
    if library == "kt":
        trials = sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id)
        return [None if t.score is None else float(t.score) for t in trials]
    done = sorted(tuner.study.trials, key=lambda t: t.number)
    return [None if t.value is None else float(t.value) for t in done]


def worker(
    library: str,
    trials: int,
    epochs: int,
    seed: int,
    root: Path,
    replay: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One search in this process; returns the measurements. `replay`: configurations
    tunelab trains in this order instead of drawing its own (the timing on equal work)."""
    os.environ["KERAS_BACKEND"] = "torch"
    os.environ["TUNELAB_TORCH_THREADS"] = "1"
    started = time.perf_counter()
    import torch

    torch.set_num_threads(1)
    if library == "kt":
        import keras_tuner as kt  # type: ignore[import-untyped]
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
    epoch_s: list[float] = []  # per fit: seconds inside Keras's epochs (train + validation)
    sizes: list[int] = []  # per fit: the model's parameter count

    class Probe(keras.callbacks.Callback):  # copied per trial by both tuners: state is global
        # Both tuners put the user's callbacks before their own, so the time from this
        # callback's on_epoch_end to the next on_epoch_begin (or on_train_end) is the
        # tuner's own per-epoch work (reporting, checkpointing), not training.
        def on_train_begin(self, logs: Any = None) -> None:
            marks.append((time.perf_counter(), _rss_mb(), "begin"))
            epoch_s.append(0.0)
            sizes.append(int(self.model.count_params()))

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._epoch_start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            epoch_s[-1] += time.perf_counter() - self._epoch_start

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
    for config in replay or []:  # queued before the sampler's own draws
        tuner.study.enqueue(config)
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
        "library": library + ("-replay" if replay else ""),
        "configs": _configs(tuner, library),
        "trial_scores": _scores(tuner, library),
        "epoch_s": epoch_s,
        "params": sizes,
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


def run_worker(
    library: str, args: argparse.Namespace, seed: int, replay: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
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
        if replay is not None:
            replay_file = Path(root) / "replay.json"
            # KT's step grids give values such as 0.30000000000000004: rounded onto the grid
            replay_file.write_text(json.dumps([_rounded(c) for c in replay]))
            cmd += ["--replay-file", str(replay_file)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_MARK)]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{library} worker failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(lines[-1][len(RESULT_MARK) :])


def _rounded(config: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 10) if isinstance(v, float) else v for k, v in config.items()}


def _growth(rss: list[float]) -> float:
    """RSS growth per trial from the second trial's start to the last one's (the first
    trial pays one-off allocations)."""
    if len(rss) < 3:
        return float("nan")
    return (rss[-1] - rss[1]) / (len(rss) - 2)


def _per_trial(r: dict[str, Any]) -> float:
    return float(r["total_s"]) / int(r["trials"])


def _overhead(r: dict[str, Any]) -> float:
    """Seconds per trial outside Keras's epochs: building and compiling the model, fit's
    set-up, the tuner's callbacks, checkpoints, bookkeeping and clean-up between trials."""
    return (float(r["total_s"]) - sum(r["epoch_s"])) / int(r["trials"])


def _quartiles(xs: list[float]) -> tuple[float, float, float]:
    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q1, q2, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    return q1, q2, q3


def _sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test (ties dropped)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def _bootstrap_mean_ci(diffs: list[float], reps: int = 20000) -> tuple[float, float]:
    import numpy as np

    rng = np.random.default_rng(0)
    d = np.asarray(diffs)
    means = d[rng.integers(0, len(d), size=(reps, len(d)))].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def _by_seed(rows: list[dict[str, Any]]) -> dict[int, dict[str, dict[str, Any]]]:
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(int(r["seed"]), {})[r["library"]] = r
    return out


def _per_trial_scores(pairs: list[tuple[int, dict[str, Any], dict[str, Any]]]) -> None:
    """Every trial's score, pooled over seeds: ten times the data of the best-of-N
    comparison, and it asks the underlying question (same draws, same training?)."""
    tl = [v for _, t, _ in pairs for v in t.get("trial_scores", []) if v is not None]
    kt = [v for _, _, k in pairs for v in k.get("trial_scores", []) if v is not None]
    if not tl or not kt:
        return
    for name, xs in (("tunelab.keras", tl), ("Keras Tuner", kt)):
        q1, q2, q3 = _quartiles(xs)
        print(
            f"every trial's val_accuracy, {name} ({len(xs)} trials): median {q2:.4f} "
            f"[quartiles {q1:.4f}, {q3:.4f}], mean {statistics.mean(xs):.4f}"
        )
    try:
        from scipy.stats import mannwhitneyu
    except ImportError:
        return
    u = mannwhitneyu(tl, kt, alternative="two-sided")
    print(f"Mann-Whitney U, tunelab vs KT trial scores: p = {u.pvalue:.3f}")


def report(rows: list[dict[str, Any]], val_samples: int = 360) -> None:
    """Print the per-run table and the paired summaries."""
    print(
        "| seed | library | s/trial | overhead s/trial | epochs s/trial | mean params (k) "
        "| best val_accuracy | best model re-evaluated | RSS fit 2 -> last (MB) "
        "| growth MB/trial | peak RSS MB | disk MB | load avg after |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        rss = r["rss_at_fit_start_mb"]
        print(
            f"| {r['seed']} | {r['library']} | {_per_trial(r):.2f} | {_overhead(r):.3f} "
            f"| {sum(r['epoch_s']) / r['trials']:.2f} | {statistics.mean(r['params']) / 1e3:.0f} "
            f"| {r['best_score']:.4f} | {r['best_model_val_accuracy']:.4f} "
            f"| {rss[1]:.0f} -> {rss[-1]:.0f} | {_growth(rss):+.2f} | {r['peak_rss_mb']:.0f} "
            f"| {r['disk_mb']:.1f} | {r.get('loadavg_after', float('nan')):.1f} |"
        )
    seeds = _by_seed(rows)
    pairs = [
        (s, p["tunelab"], p["kt"]) for s, p in sorted(seeds.items()) if {"kt", "tunelab"} <= set(p)
    ]
    if pairs:
        print()
        print(
            f"## Own draws: {len(pairs)} seeds (tunelab.keras vs Keras Tuner, each its own sampler)"
        )
        tl_best = [t["best_score"] for _, t, _ in pairs]
        kt_best = [k["best_score"] for _, _, k in pairs]
        diffs = [a - b for a, b in zip(tl_best, kt_best, strict=True)]
        samples = [round(d * val_samples) for d in diffs]
        wins = sum(d > 0 for d in samples)
        ties = sum(d == 0 for d in samples)
        losses = sum(d < 0 for d in samples)
        for name, xs in (("tunelab.keras", tl_best), ("Keras Tuner", kt_best)):
            q1, q2, q3 = _quartiles(xs)
            print(
                f"best val_accuracy {name}: median {q2:.4f} [quartiles {q1:.4f}, {q3:.4f}], "
                f"mean {statistics.mean(xs):.4f}"
            )
        lo, hi = _bootstrap_mean_ci(diffs)
        print(
            f"difference tunelab - KT in validation samples (of {val_samples}): "
            + " ".join(f"{d:+d}" for d in samples)
        )
        print(
            f"wins/ties/losses for tunelab: {wins}/{ties}/{losses}; sign test p = "
            f"{_sign_test(wins, losses):.3f}; mean difference {statistics.mean(diffs):+.4f} "
            f"(95% bootstrap CI {lo:+.4f} .. {hi:+.4f}, i.e. {lo * val_samples:+.2f} .. "
            f"{hi * val_samples:+.2f} samples)"
        )
        try:
            from scipy.stats import wilcoxon

            if any(samples):
                w = wilcoxon(samples, zero_method="wilcox")
                print(
                    f"Wilcoxon signed-rank (ties dropped): statistic {w.statistic:.1f}, p = {w.pvalue:.3f}"
                )
        except ImportError:
            pass
        ratio = [_per_trial(t) / _per_trial(k) for _, t, k in pairs]
        epochs_ratio = [sum(t["epoch_s"]) / sum(k["epoch_s"]) for _, t, k in pairs]
        size_ratio = [
            statistics.mean(t["params"]) / statistics.mean(k["params"]) for _, t, k in pairs
        ]
        for label, xs in (
            ("s/trial tunelab/KT", ratio),
            ("time in Keras's epochs tunelab/KT", epochs_ratio),
            ("mean model size tunelab/KT", size_ratio),
        ):
            q1, q2, q3 = _quartiles(xs)
            print(f"{label}: median {q2:.3f} [quartiles {q1:.3f}, {q3:.3f}]")
        for name, key in (("tunelab.keras", 1), ("Keras Tuner", 2)):
            q1, q2, q3 = _quartiles([_overhead(p[key]) for p in pairs])
            print(f"overhead s/trial {name}: median {q2:.3f} [quartiles {q1:.3f}, {q3:.3f}]")
        growth_tl = [_growth(t["rss_at_fit_start_mb"]) for _, t, _ in pairs]
        growth_kt = [_growth(k["rss_at_fit_start_mb"]) for _, _, k in pairs]
        peak = [t["peak_rss_mb"] / k["peak_rss_mb"] for _, t, k in pairs]
        print(
            f"RSS growth MB/trial: tunelab max {max(growth_tl):+.2f} (median "
            f"{statistics.median(growth_tl):+.2f}), KT max {max(growth_kt):+.2f} (median "
            f"{statistics.median(growth_kt):+.2f}); peak RSS tunelab/KT {min(peak):.2f}-{max(peak):.2f}"
        )
        _per_trial_scores(pairs)
        exact = sum(
            abs(r["best_model_val_accuracy"] - r["best_score"]) < 1e-6
            for _, t, k in pairs
            for r in (t, k)
        )
        print(f"get_best_models re-evaluated == stored best: {exact} of {2 * len(pairs)} runs")
    replays = [
        (s, p["tunelab-replay"], p["kt"])
        for s, p in sorted(seeds.items())
        if {"kt", "tunelab-replay"} <= set(p)
    ]
    if replays:
        print()
        print(
            f"## Same configurations: {len(replays)} seeds (tunelab.keras trains Keras Tuner's draws)"
        )
        same = all(
            _rounded(a) == _rounded(b)
            for _, t, k in replays
            for a, b in zip(t["configs"], k["configs"], strict=True)
        )
        print(f"configurations identical in every trial: {same}")
        for label, f in (
            ("s/trial tunelab/KT", lambda t, k: _per_trial(t) / _per_trial(k)),
            (
                "time in Keras's epochs tunelab/KT",
                lambda t, k: sum(t["epoch_s"]) / sum(k["epoch_s"]),
            ),
            ("overhead s/trial tunelab - KT", lambda t, k: _overhead(t) - _overhead(k)),
        ):
            xs = [f(t, k) for _, t, k in replays]
            q1, q2, q3 = _quartiles(xs)
            print(
                f"{label}: "
                + " ".join(f"{x:.3f}" for x in xs)
                + f"; median {q2:.3f} [{q1:.3f}, {q3:.3f}]"
            )
        for name, key in (("tunelab.keras", 1), ("Keras Tuner", 2)):
            q1, q2, q3 = _quartiles([_overhead(p[key]) for p in replays])
            print(f"overhead s/trial {name}: median {q2:.3f} [quartiles {q1:.3f}, {q3:.3f}]")
        diffs = [
            round((a - b) * val_samples)
            for _, t, k in replays
            for a, b in zip(t.get("trial_scores", []), k.get("trial_scores", []), strict=False)
            if a is not None and b is not None
        ]
        if diffs:
            w_, t_, l_ = (
                sum(d > 0 for d in diffs),
                sum(d == 0 for d in diffs),
                sum(d < 0 for d in diffs),
            )
            print(
                f"same configuration, tunelab - KT val_accuracy per trial ({len(diffs)} trials), "
                f"in samples: median {statistics.median(diffs):+.1f}, mean "
                f"{statistics.mean(diffs):+.2f}; higher/equal/lower {w_}/{t_}/{l_}, sign test "
                f"p = {_sign_test(w_, l_):.3f}"
            )
        best = [(t["best_score"] - k["best_score"]) * val_samples for _, t, k in replays]
        print(
            "best val_accuracy, tunelab - KT, same configurations (samples): "
            + " ".join(f"{b:+.0f}" for b in best)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", default="0", help="comma-separated search seeds, or A-B")
    parser.add_argument(
        "--replay",
        action="store_true",
        help="timing on equal work: per seed, Keras Tuner, then tunelab.keras training "
        "Keras Tuner's configurations in the same order (instead of its own draws)",
    )
    parser.add_argument("--log", help="append each run's raw result as a JSON line to this file")
    parser.add_argument("--report", nargs="+", metavar="LOG", help="only summarize these logs")
    parser.add_argument("--worker", choices=["kt", "tunelab"], help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--replay-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.report:
        rows = [
            json.loads(ln)
            for f in args.report
            for ln in Path(f).read_text().splitlines()
            if ln.strip()
        ]
        report(rows)
        return
    if "-" in args.seeds:
        a, b = args.seeds.split("-")
        seeds = list(range(int(a), int(b) + 1))
    else:
        seeds = [int(s) for s in args.seeds.split(",")]
    if args.worker:
        replay = json.loads(Path(args.replay_file).read_text()) if args.replay_file else None
        result = worker(args.worker, args.trials, args.epochs, seeds[0], Path(args.root), replay)
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
        if args.replay:  # Keras Tuner first: tunelab needs its configurations
            runs = ["kt", "tunelab"]
        else:
            runs = ["kt", "tunelab"] if i % 2 == 0 else ["tunelab", "kt"]
        for library in runs:
            replay = rows[-1]["configs"] if args.replay and library == "tunelab" else None
            result = run_worker(library, args, seed, replay)
            result["loadavg_after"] = os.getloadavg()[0]
            result["utc"] = f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M:%S}"
            rows.append(result)
            if args.log:
                with open(args.log, "a") as f:
                    f.write(json.dumps(result) + "\n")
            print(f"# seed {seed} {result['library']}: done, {load_average()}", flush=True)
    print()
    report(rows)
    print("raw: " + json.dumps(rows))


if __name__ == "__main__":
    main()
