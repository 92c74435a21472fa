"""Per-epoch overhead of tunelab.lightning.TunelabCallback (issue 20): target <= 2 %.

Run:  .venv/bin/python benchmarks/lightning_overhead.py

The seed tutorial's digits MLP, written as a LightningModule (examples/lightning_mlp.py's
LitMLP with one fixed configuration: 256 -> 64 units, dropout 0.2, Adam 1e-3, batch 64),
trained by the same Trainer with and without the callback. Each fit with it is a new
trial of a study, so every epoch pays what a user pays: one report written to the storage
and one should_prune() (no scheduler: nothing is pruned, every fit runs all its epochs).

Each round runs three fits, in an order that rotates from round to round: without the
callback; with it on a study in a SQLite file (the default storage); with it on an
in-memory study, which separates the callback's own work from the storage's write. One
torch thread. An epoch's time runs from one on_train_epoch_start to the next (the last to
on_train_end), so it holds the training batches, the validation loop and every epoch-end
hook, the callback's report included; the first epoch (warm-up) is left out. Each fit
gives the median of its epochs, each round the ratio with / without, the table the median
ratio. On a shared machine those ratios scatter by +-10 %, so the time spent inside the
callback's hooks is measured too: the overhead without the noise around it.
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

    def __init__(self, trial: tunelab.Trial) -> None:
        super().__init__(trial, monitor="val_acc")
        self.inside: list[float] = []

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        start = time.perf_counter()
        super().on_validation_end(trainer, pl_module)
        self.inside.append(time.perf_counter() - start)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        start = time.perf_counter()
        super().on_train_epoch_end(trainer, pl_module)
        self.inside[-1] += time.perf_counter() - start


class SameHooks(L.Callback):
    """The control: a callback with TunelabCallback's hooks that does nothing in them, so
    what a callback costs Lightning by being there is told apart from what tunelab's does."""

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        pass

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        pass

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        pass

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        pass


def fit(
    epochs: int, study: tunelab.Study | None, control: bool = False
) -> tuple[float, float, list[float]]:
    """One fit, as a new trial of `study` (None: without the callback, or with the
    do-nothing control): its median and fastest epoch times (s), the first epoch left out,
    and the time inside the callback."""
    torch.manual_seed(0)
    timer = EpochTimer()  # first, so its epoch-end mark follows every other hook
    callbacks: list[Any] = [timer]
    trial = None if study is None else study.ask()
    if trial is not None:
        callbacks.append(TimedCallback(trial))
    elif control:
        callbacks.append(SameHooks())
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
    if study is None or trial is None:
        return statistics.median(times), min(times), []
    study.tell(trial, 0.0)
    return statistics.median(times), min(times), callbacks[1].inside[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    kinds = ["without", "SQLite", "in memory", "control"]
    with tempfile.TemporaryDirectory() as folder:
        studies: dict[str, tunelab.Study | None] = {
            "without": None,
            "SQLite": tunelab.create_study("o", storage=f"{folder}/tunelab.db", metric="val_acc"),
            "in memory": tunelab.create_study("o", storage=":memory:", metric="val_acc"),
            "control": None,
        }
        fit(2, None)  # warm the imports and the allocator
        runs: dict[str, list[tuple[float, float, list[float]]]] = {k: [] for k in kinds}
        for r in range(args.rounds):
            turn = r % len(kinds)
            for kind in kinds[turn:] + kinds[:turn]:  # the order rotates each round
                runs[kind].append(fit(args.epochs, studies[kind], control=kind == "control"))
            print(
                f"round {r:2d}: " + "  ".join(f"{k} {runs[k][-1][0] * 1e3:7.2f} ms" for k in kinds),
                flush=True,
            )
    base = [run[0] for run in runs["without"]]
    base_fast = [run[1] for run in runs["without"]]
    print()
    print(
        f"command: python benchmarks/lightning_overhead.py --rounds {args.rounds} "
        f"--epochs {args.epochs}"
    )
    print(
        f"{source_state()}; {load_average()}; {platform.python_version()}, "
        f"torch {torch.__version__}, lightning {L.__version__}, 1 torch thread"
    )
    print(
        "| seed MLP on digits, per epoch | median epoch | ratio to without (median of "
        "rounds) | its quartiles | ratio of fastest epochs | time inside the callback "
        "(median) | = share of an epoch without it |"
    )
    print("|---|---|---|---|---|---|---|")
    print(f"| without the callback | {statistics.median(base) * 1e3:.2f} ms | | | | | |")
    for kind in kinds[1:]:
        ratios = [run[0] / b for run, b in zip(runs[kind], base, strict=True)]
        fast = [run[1] / b for run, b in zip(runs[kind], base_fast, strict=True)]
        inside = statistics.median([t for run in runs[kind] for t in run[2]] or [0.0])
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        label = (
            "control: a callback doing nothing in the same hooks"
            if kind == "control"
            else f"TunelabCallback, storage {kind}"
        )
        print(
            f"| {label} | "
            f"{statistics.median(run[0] for run in runs[kind]) * 1e3:.2f} ms | "
            f"{statistics.median(ratios):.4f} | {q1:.3f} to {q3:.3f} | "
            f"{statistics.median(fast):.4f} | {inside * 1e3:.3f} ms | "
            f"{inside / statistics.median(base):.2%} |"
        )
    print(f"target: <= {TARGET - 1:.0%} per epoch")


if __name__ == "__main__":
    main()
