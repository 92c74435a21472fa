"""End to end, as a user meets it (issue 21): wall-clock time for two worker processes to
reach a target validation accuracy on the seed example, the digits MLP trained for real.

Methods, interleaved per seed (the order rotates with the seed):
- tunelab: `tunelab run benchmarks/e2e_digits.py --trials 100000 --jobs 2 --scheduler
  hyperband --seed S --storage DIR/study.db`: the default sampler ("auto"), adaptive
  Hyperband sized to the script's 9 epochs (EPOCHS), `tunelab.torch.fit` with its defaults
  (early stopping on val_loss, patience 5), two forked worker processes on one SQLite file.
- optuna: two processes, each `optuna.create_study(load_if_exists=True)` on one
  JournalFileStorage, TPESampler (seeded per process) + HyperbandPruner(1, 9, 3), a plain
  PyTorch loop reporting val accuracy every epoch.
- keras: Keras Tuner 1.4.8 Hyperband(max_epochs=9, factor=3) on Keras 3 / torch backend,
  in KT's distributed mode: a chief process serving the oracle over gRPC and two workers.
- ray: Ray Tune, ASHAScheduler(max_t=9, grace_period=1, reduction_factor=3) with Ray's
  random search, local Ray (num_cpus=2), two concurrent 1-CPU trials, plain PyTorch loop.

Same model (64 -> hidden1 -> dropout1 -> hidden2 -> dropout2 -> 10), same space (the seed
tutorial's: hidden1 Int(32, 512, 32), dropout Float(0.1, 0.5, 0.1) twice, hidden2
Int(16, 128, 16), learning rate Choice(1e-4, 1e-3, 1e-2)), Adam, batch 64, at most 9
epochs, the same data split (`tunelab.torch.load_digits()`), one torch thread per process
(OMP_NUM_THREADS=1 as well).

Time: from the start of the first process to the first trial that finishes at full budget
(not stopped by the scheduler; tunelab's own early stopping counts as finished) with a score
>= TARGET, a trial scored by the model it hands back: tunelab's fit returns the val accuracy
at the epoch of lowest val loss, whose weights it keeps; KT scores a trial by its best
epoch (and keeps those weights); the Optuna objective returns, and the Ray trainable
logs, the best epoch's val accuracy (as a user keeping the best checkpoint reads it). Process start-up and imports count. A run that misses the target within --cap
seconds counts as the cap. Run (timed, on a shared machine):

    flock /tmp/helpers/bench.lock nice -n 10 env PYTHONPATH=src .venv-bench/bin/python \\
        benchmarks/end_to_end.py --seeds 0-9 --cap 100
    for s in 100 101 102; do .venv-bench/bin/python benchmarks/end_to_end.py --find-target $s & done
    .venv-bench/bin/python benchmarks/end_to_end.py --summarise /tmp/e2e-curves-*.json  # TARGET
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _e2e_workers import EPOCHS
from _machine import load_average, source_state

HERE = Path(__file__).resolve().parent
METHODS = ("tunelab", "optuna", "keras", "ray")
# TARGET: a validation accuracy random search reaches about once in 50 trials. From
# `--find-target` / `--summarise`: 180 random configurations of the shared space trained
# EPOCHS epochs by the plain PyTorch loop, seeds 100-102 (not the reported ones). 0.9721
# (349 of 359) was reached by 1 trial in 60 scored by the best epoch (KT, Optuna and Ray
# here) and 1 in 60 scored as tunelab's fit scores (lowest val loss, patience 5); the next
# value down, 0.9694, by 1 in 30 and 1 in 36; the last epoch's score reaches 0.9694 1 in 90.
TARGET = 348.5 / 359  # between 348/359 = 0.9694 and 349/359 = 0.9721: ">= 0.9721"
TARGET_RATIO = 1 / 3  # issue 21: tunelab's median at most 1/3 of the best peer's


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(method: str, seed: int, root: Path, env: dict[str, str]) -> list[subprocess.Popen]:
    """Start a method's processes, each in its own session (so it can be stopped whole)."""
    py, workers = sys.executable, str(HERE / "_e2e_workers.py")

    def start(cmd: list[str], name: str, extra: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(root / f"{name}.log", "w")  # noqa: SIM115 - closed with the run's dir
        return subprocess.Popen(
            cmd, env={**env, **(extra or {})}, stdout=log, stderr=subprocess.STDOUT,
            cwd=root, start_new_session=True,
        )  # fmt: skip

    if method == "tunelab":
        cmd = [
            py, "-m", "tunelab", "run", str(HERE / "e2e_digits.py"), "--trials", "100000",
            "--jobs", "2", "--scheduler", "hyperband", "--seed", str(seed),
            "--storage", str(root / "study.db"), "--no-progress",
        ]  # fmt: skip
        return [start(cmd, "tunelab")]
    if method == "optuna":
        return [
            start([py, workers, "optuna", str(w), str(seed), str(root)], f"optuna{w}")
            for w in (0, 1)
        ]
    if method == "keras":
        kt = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(_free_port())}
        return [
            start([py, workers, "keras", role, str(seed), str(root)], role, kt)
            for role in ("chief", "tuner0", "tuner1")
        ]
    if method == "ray":
        return [start([py, workers, "ray", "driver", str(seed), str(root)], "ray")]
    raise SystemExit(f"unknown method {method!r}")


def _strays(events: Path) -> list[int]:
    """Processes of this run that left its sessions (Ray's workers start their own): they
    carry the run's E2E_EVENTS in their environment."""
    mark = f"E2E_EVENTS={events}".encode()
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                if mark in (d / "environ").read_bytes().split(b"\0"):
                    found.append(int(d.name))
            except OSError:
                pass
    return found


def stop(procs: list[subprocess.Popen], events: Path) -> None:
    """Stop each started process's session, then any stray of this run: SIGTERM, then
    SIGKILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, sig)
        deadline = time.time() + 5
        while time.time() < deadline and any(p.poll() is None for p in procs):
            time.sleep(0.1)
        for pid in _strays(events):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.endswith("}")]


def run_one(method: str, seed: int, cap: float, target: float, data: Path) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix=f"e2e-{method}-{seed}-"))
    events = root / "events.jsonl"
    env = dict(os.environ)
    env.update(
        E2E_EVENTS=str(events), E2E_DATA=str(data), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
        TUNELAB_TORCH_THREADS="1", KERAS_BACKEND="torch", RAY_USAGE_STATS_ENABLED="0",
        PYTHONPATH=str(HERE.parent / "src"), TF_CPP_MIN_LOG_LEVEL="3",
    )  # fmt: skip
    t0 = time.time()
    procs = launch(method, seed, root, env)
    hit: float | None = None
    while hit is None and time.time() - t0 < cap:
        time.sleep(0.25)
        for e in read_events(events):
            if e["kind"] == "trial" and e["full"] and e["value"] >= target:
                hit = e["t"] - t0 if hit is None else min(hit, e["t"] - t0)
        if all(p.poll() is not None for p in procs):
            break  # every process ended (a crash): the run counts as the cap
    crashed = [Path(str(p.args[2])).stem for p in procs if p.poll() not in (None, 0)]
    stop(procs, events)
    evs = read_events(events)
    trials = [e for e in evs if e["kind"] == "trial" and (hit is None or e["t"] - t0 <= hit)]
    ready = [e["t"] - t0 for e in evs if e["kind"] == "ready"]
    gaps = between_trials([e for e in evs if hit is None or e["t"] - t0 <= hit])
    out = {
        "method": method,
        "seed": seed,
        "reached": hit is not None,
        "seconds": hit if hit is not None else cap,
        "ready_s": max(ready) if ready else None,  # the last process ready to search
        "first_trial_s": min((e["t"] - t0 for e in trials), default=None),
        "trials_full": sum(e["full"] for e in trials),
        "trials_stopped": sum(not e["full"] for e in trials),
        "epochs": sum(e["epochs"] or 0 for e in trials),
        # CPU seconds per epoch inside the objective (training plus per-epoch bookkeeping)
        "cpu_per_epoch": sum(e.get("cpu", 0) for e in trials)
        / max(1, sum(e["epochs"] or 0 for e in trials)),
        "between_trials_s": gaps,
        "best": max((e["value"] for e in trials if e["full"]), default=None),
        "crashed": crashed,  # processes that ended on their own with an error
    }
    if crashed:
        out["log_tail"] = {f.name: f.read_text()[-1500:] for f in root.glob("*.log")}
    shutil.rmtree(root, ignore_errors=True)
    return out


def between_trials(evs: list[dict[str, Any]]) -> float | None:
    """Seconds, summed over processes, from a trial's end to the next trial's start in the
    same process (the library's bookkeeping and sampling); None where no start is logged."""
    total, seen = 0.0, False
    for pid in {e["pid"] for e in evs}:
        mine = sorted((e for e in evs if e["pid"] == pid), key=lambda e: e["t"])
        for a, b in itertools.pairwise(mine):
            if a["kind"] == "trial" and b["kind"] == "start":
                total, seen = total + b["t"] - a["t"], True
    return total if seen else None


def _quartiles(xs: list[float]) -> tuple[float, float, float]:
    if len(xs) < 2:
        return (xs[0], xs[0], xs[0]) if xs else (float("nan"),) * 3
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], statistics.median(xs), q[2]


def table(results: list[dict[str, Any]], methods: list[str], cap: float) -> str:
    """Medians [q1, q3] of the time to target, how many runs reached it, and where the
    time went (medians over the runs): start-up to the last process ready to search, the
    first trial's end, trials and epochs run, CPU seconds per epoch inside the objective."""
    lines = [
        "| method | s to target, median [q1, q3] | reached | ready s | first trial s "
        "| full / stopped trials | epochs | CPU s / epoch |",
        "|:--|--:|--:|--:|--:|--:|--:|--:|",
    ]

    def med(rs: list[dict[str, Any]], key: str, fmt: str = ".1f") -> str:
        xs = [r[key] for r in rs if r.get(key) is not None]
        return format(statistics.median(xs), fmt) if xs else "-"

    median: dict[str, float] = {}
    for m in methods:
        rs = [r for r in results if r["method"] == m]
        q1, q2, q3 = _quartiles([r["seconds"] for r in rs])
        median[m] = q2
        lines.append(
            f"| {m} | {q2:.1f} [{q1:.1f}, {q3:.1f}] | {sum(r['reached'] for r in rs)}/{len(rs)} "
            f"| {med(rs, 'ready_s')} | {med(rs, 'first_trial_s')} "
            f"| {med(rs, 'trials_full', 'g')} / {med(rs, 'trials_stopped', 'g')} "
            f"| {med(rs, 'epochs', 'g')} | {med(rs, 'cpu_per_epoch', '.3f')} |"
        )
    peers = {m: v for m, v in median.items() if m != "tunelab"}
    if "tunelab" in median and peers:
        best = min(peers, key=lambda m: peers[m])
        ratio = median["tunelab"] / peers[best]
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        lines.append(
            f"\ntunelab / best peer ({best}) median: {ratio:.2f} (issue target <= "
            f"{TARGET_RATIO:.2f}: {verdict}); runs missing the target count as the cap, {cap:g} s"
        )
    return "\n".join(lines)


def digits_npz() -> Path:
    """tunelab's digits split as arrays for the peers (made once, kept in the temp dir)."""
    path = Path(tempfile.gettempdir()) / "e2e-digits-v1.npz"
    if not path.exists():
        import numpy as np

        from tunelab import torch as tl_torch

        d = tl_torch.load_digits()
        tmp = path.with_suffix(f".{os.getpid()}.npz")
        np.savez(
            tmp, x_train=d.x_train.numpy(), y_train=d.y_train.numpy(),
            x_val=d.x_val.numpy(), y_val=d.y_val.numpy(),
        )  # fmt: skip
        tmp.replace(path)
    return path


def parse_seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-9", help="pre-committed: 0-9")
    parser.add_argument("--cap", type=float, default=300.0, help="seconds per run")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--target", type=float, default=TARGET)
    parser.add_argument("--json", help="write every run's record here")
    parser.add_argument("--table", type=Path, help="print the table of a --json file")
    parser.add_argument("--find-target", type=int, help="train the curves of one seed")
    parser.add_argument("--summarise", nargs="+", type=Path, help="curve files: the target")
    args = parser.parse_args()
    if args.find_target is not None:
        from _e2e_target import train_curves

        out = Path(tempfile.gettempdir()) / f"e2e-curves-{args.find_target}.json"
        train_curves(digits_npz(), args.find_target, out)
        print(f"curves in {out}")
        return
    if args.summarise:
        from _e2e_target import summarise

        summarise(args.summarise, EPOCHS)
        return
    methods = args.methods.split(",")
    if args.table:
        print(table(json.loads(args.table.read_text()), methods, args.cap))
        return
    seeds = parse_seeds(args.seeds)
    data = digits_npz()
    print(
        f"end to end: {source_state()}; target val_accuracy >= {args.target:.4f}; cap {args.cap:g} s"
    )
    print(f"start: {time.strftime('%H:%M:%S')} {load_average()}", flush=True)
    results = []
    for seed in seeds:
        order = methods[seed % len(methods) :] + methods[: seed % len(methods)]
        for m in order:
            r = run_one(m, seed, args.cap, args.target, data)
            results.append(r)
            print(json.dumps(r), flush=True)
    print(f"end: {time.strftime('%H:%M:%S')} {load_average()}")
    print(table(results, methods, args.cap))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
