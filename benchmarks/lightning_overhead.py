"""Per-epoch overhead of tunelab.lightning.TunelabCallback (issue 20): target <= 2 %.

Run:  flock /tmp/helpers/bench.lock python benchmarks/lightning_overhead.py

The seed tutorial's digits MLP, written as a LightningModule (examples/lightning_mlp.py's
LitMLP with one fixed configuration: 256 -> 64 units, dropout 0.2, Adam 1e-3, batch 64),
trained by the same Trainer with and without the callback. Each "with" fit is a new trial
of a study in a fresh SQLite file (the default storage), so every epoch pays what a user
pays: one report written to SQLite and one should_prune() (no scheduler: nothing is
pruned, every fit runs all its epochs).

Pairs are interleaved, the order alternating within each pair; one torch thread. An
epoch's time runs from one on_train_epoch_start to the next (the last to on_train_end),
so it holds the training batches, the validation loop and every epoch-end hook, the
callback's report included; the first epoch (warm-up) is left out. Each fit gives the
median of its epochs; each pair the ratio with / without; the result is the median ratio.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _machine import load_average, source_state

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

import lightning as L
import torch
from lightning_mlp import LitMLP, loaders

import tunelab
from tunelab.lightning import TunelabCallback

TARGET = 1.02


class EpochTimer(L.Callback):
    """Wall-clock time of each training epoch, validation and epoch-end hooks included."""

    def __init__(self) -> None:
        self.marks: list[float] = []

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self.marks.append(time.perf_counter())

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self.marks.append(time.perf_counter())

    def epochs(self) -> list[float]:
        return [b - a for a, b in zip(self.marks, self.marks[1:], strict=False)]


class TimedCallback(TunelabCallback):
    """TunelabCallback with a stopwatch around its epoch hooks: the time spent inside it,
    a figure the machine's load hardly disturbs."""

    inside: list[float] = []

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        start = time.perf_counter()
        super().on_validation_end(trainer, pl_module)
        self.inside.append(time.perf_counter() - start)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        start = time.perf_counter()
        super().on_train_epoch_end(trainer, pl_module)
        self.inside[-1] += time.perf_counter() - start


def fit(epochs: int, trial: tunelab.Trial | None) -> tuple[float, float]:
    """The median and the fastest epoch time (s) of one fit, the first epoch left out."""
    torch.manual_seed(0)
    timer = EpochTimer()  # first, so its epoch-end mark follows every other hook
    callbacks: list[Any] = [timer]
    if trial is not None:
        callbacks.append(TimedCallback(trial, monitor="val_acc"))
    trainer = L.Trainer(
        max_epochs=epochs,
        callbacks=callbacks,
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        logger=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(LitMLP(hidden1=256, hidden2=64, dropout=0.2, lr=1e-3), *loaders(64))
    times = timer.epochs()[1:]
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        study = tunelab.create_study(
            "lightning-overhead", storage=f"{folder}/tunelab.db", metric="val_acc"
        )
        fit(2, None)  # warm the imports and the allocator
        rows = []
        for pair in range(args.pairs):
            times: dict[str, tuple[float, float]] = {}
            for kind in ("with", "without") if pair % 2 == 0 else ("without", "with"):
                if kind == "with":
                    trial = study.ask()
                    times[kind] = fit(args.epochs, trial)
                    study.tell(trial, 0.0)
                else:
                    times[kind] = fit(args.epochs, None)
            (med_w, min_w), (med_wo, min_wo) = times["with"], times["without"]
            rows.append((med_w, med_wo, med_w / med_wo, min_w / min_wo))
            print(
                f"pair {pair:2d}: with {med_w * 1e3:7.2f} ms  without {med_wo * 1e3:7.2f} ms  "
                f"ratio {rows[-1][2]:.4f}  (fastest epochs: {rows[-1][3]:.4f})",
                flush=True,
            )
    med_with = statistics.median(r[0] for r in rows)
    med_without = statistics.median(r[1] for r in rows)
    ratio = statistics.median(r[2] for r in rows)
    q1, _, q3 = statistics.quantiles([r[2] for r in rows], n=4)
    fastest = statistics.median(r[3] for r in rows)
    inside = statistics.median(TimedCallback.inside)
    print()
    print(
        f"command: python benchmarks/lightning_overhead.py --pairs {args.pairs} "
        f"--epochs {args.epochs}"
    )
    print(
        f"{source_state()}; {load_average()}; {platform.python_version()}, "
        f"torch {torch.__version__}, lightning {L.__version__}, 1 torch thread"
    )
    print(
        "| per epoch (median) | without callback | with TunelabCallback | ratio (median of "
        "pairs) | its quartiles | ratio of fastest epochs | target |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| seed MLP on digits, SQLite | {med_without * 1e3:.2f} ms | {med_with * 1e3:.2f} ms "
        f"| {ratio:.4f} | {q1:.3f} to {q3:.3f} | {fastest:.4f} | <= {TARGET} |"
    )
    print(
        f"time inside the callback per epoch (median of {len(TimedCallback.inside)} epochs): "
        f"{inside * 1e3:.2f} ms = {inside / med_without:.2%} of an epoch without it"
    )


if __name__ == "__main__":
    main()
