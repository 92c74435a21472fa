"""Kit overhead on data pipelines: `tunelab.torch.fit` on `Datasets` against a hand-written
PyTorch loop (issue 19). Target: fit's samples/s >= 0.95 of the hand loop's.

Run:  python benchmarks/pipeline_overhead.py [--repeats 15] [--epochs 2]

Both sides train the same CNN (seeded identically) on the same Dataset with the same batch
size, num_workers, optimizer (Adam, lr 1e-3, no weight decay) and epochs, on the CPU in one
torch thread, in this one process:
- fit: `fit(model, Datasets(train, val, num_workers=w), trial, ...)` with every knob fixed,
  patience = epochs (no early stop), device="cpu", amp="off", inside a study held in memory;
  the timer spans the fit() call alone.
- hand: a DataLoader(shuffle=True, same workers, persistent workers as fit's default) for
  each split, then per epoch a training pass that sums the loss and the correct predictions
  on the device (fit reports both), and a validation pass with the loss and accuracy, as
  fit does. It keeps no best weights and reports nothing: what fit does beyond it is the
  overhead measured.
Two pipelines: the images as tensors in a TensorDataset with no workers (the loader's own
cost per batch is small, so the kit's shows most), and images drawn in `__getitem__` by
examples/synthetic_images.py's `Shapes` with 2 worker processes. The two sides alternate
(which goes first swaps each repeat) after one untimed warm-up run of each; samples/s is
training samples x epochs over the whole run's seconds (validation included), and the
ratio is fit's median over the hand loop's; the median of each repeat's own ratio (the two
runs next to each other) is shown too, as it moves less with the machine's load, and so
is the ratio of samples per second of the main process's CPU time (time.process_time: the
kit's own work, which other processes on a shared machine barely move; the workers' time
is not in it, and is the same for both sides).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from _machine import load_average, source_state
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

import tunelab
from tunelab.torch import Datasets, fit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from synthetic_images import Shapes

BATCH = 64
LR = 1e-3
TARGET = 0.95
N_TRAIN, N_VAL = 4000, 1000


def cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64),
        nn.ReLU(),
        nn.Linear(64, 4),
    )


def run_fit(
    train: Dataset[Any], val: Dataset[Any], workers: int, epochs: int
) -> tuple[float, float]:
    seconds: list[tuple[float, float]] = []
    settings = dict(
        optimizer="adam",
        learning_rate=LR,
        batch_size=BATCH,
        epochs=epochs,
        patience=epochs,
        lr_schedule="constant",
        weight_decay=0.0,
        device="cpu",
        amp="off",
    )

    def objective(trial: tunelab.Trial) -> float:
        model, data = cnn(), Datasets(train, val, num_workers=workers)
        started, cpu = time.perf_counter(), time.process_time()
        result = fit(model, data, trial, **settings)
        seconds.append((time.perf_counter() - started, time.process_time() - cpu))
        return float(result)  # type: ignore[arg-type]

    study = tunelab.create_study("pipes", storage=":memory:", seed=0)
    study.optimize(objective, n_trials=1, catch=())
    return seconds[0]


def run_hand(
    train: Dataset[Any], val: Dataset[Any], workers: int, epochs: int
) -> tuple[float, float]:
    model = cnn()
    started, cpu = time.perf_counter(), time.process_time()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    keep = workers > 0
    generator = torch.Generator().manual_seed(0)
    train_loader = DataLoader(
        train,
        batch_size=BATCH,
        shuffle=True,
        num_workers=workers,
        persistent_workers=keep,
        generator=generator,
    )
    val_loader = DataLoader(val, batch_size=BATCH, num_workers=workers, persistent_workers=keep)
    for _ in range(epochs):
        model.train()
        loss_sum, correct, seen = torch.zeros(()), torch.zeros(()), 0
        for x, y in train_loader:
            out = model(x)
            loss = loss_fn(out, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(y)
            correct += (out.detach().argmax(1) == y).sum()
            seen += len(y)
        train_loss, train_accuracy = float(loss_sum) / seen, float(correct) / seen
        model.eval()
        val_sum, val_correct, val_seen = torch.zeros(()), torch.zeros(()), 0
        with torch.inference_mode():
            for x, y in val_loader:
                out = model(x)
                val_sum += loss_fn(out, y) * len(y)
                val_correct += (out.argmax(1) == y).sum()
                val_seen += len(y)
        val_loss = float(val_sum) / val_seen
        assert train_loss > 0 and val_loss > 0 and 0 <= train_accuracy <= 1
    return time.perf_counter() - started, time.process_time() - cpu


def measure(
    train: Dataset[Any], val: Dataset[Any], workers: int, epochs: int, repeats: int
) -> dict[str, list[float]]:
    sides: dict[str, Callable[..., tuple[float, float]]] = {"fit": run_fit, "hand": run_hand}
    for run in sides.values():  # warm-up: torch's first optimizer, worker start-up code
        run(train, val, workers, 1)
    seconds: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    for r in range(repeats):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        for name in order:
            seconds[name].append(sides[name](train, val, workers, epochs))
    samples = len(train) * epochs  # type: ignore[arg-type]
    rates = {name: [samples / wall for wall, _ in times] for name, times in seconds.items()}
    cpu = {f"{name}_cpu": [samples / c for _, c in times] for name, times in seconds.items()}
    return {**rates, **cpu}


def in_memory(data: Shapes) -> TensorDataset:
    images, labels = zip(*(data[i] for i in range(len(data))), strict=True)
    return TensorDataset(torch.stack(images), torch.tensor(labels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    drawn_train, drawn_val = Shapes(N_TRAIN, seed=0), Shapes(N_VAL, seed=1)
    pipelines = [
        ("TensorDataset, 0 workers", in_memory(drawn_train), in_memory(drawn_val), 0),
        ("Shapes drawn in __getitem__, 2 workers", drawn_train, drawn_val, 2),
    ]
    print(f"# {source_state()}, torch {torch.__version__}, {load_average()}")
    print(
        f"# {N_TRAIN} train / {N_VAL} val 1x16x16 images, batch {BATCH}, Adam, {args.epochs} "
        f"epochs, {args.repeats} repeats, 1 torch thread"
    )
    print(
        "| pipeline | fit samples/s (median) | hand loop samples/s (median) | **fit / hand** "
        "| fit / hand, paired repeats (median) | fit / hand, main-process CPU (median) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, train, val, workers in pipelines:
        rates = measure(train, val, workers, args.epochs, args.repeats)
        fit_rate, hand_rate = (statistics.median(rates[k]) for k in ("fit", "hand"))
        cpu_ratio = statistics.median(rates["fit_cpu"]) / statistics.median(rates["hand_cpu"])
        paired = statistics.median(f / h for f, h in zip(rates["fit"], rates["hand"], strict=True))
        print(
            f"| {name} | {fit_rate:.0f} | {hand_rate:.0f} | **{fit_rate / hand_rate:.3f}** "
            f"| {paired:.3f} | {cpu_ratio:.3f} |"
        )
        print(
            f"<!-- {name}: fit {[round(r) for r in rates['fit']]}, "
            f"hand {[round(r) for r in rates['hand']]} -->",
            flush=True,
        )
    print(f"# target: fit / hand >= {TARGET}; {load_average()}")


if __name__ == "__main__":
    main()
