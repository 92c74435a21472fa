"""L1, L2, dropout and early stopping side by side on a set-up built to overfit.

A wide MLP (64 -> 512 -> 512 -> 10) learns from only 300 digits, a quarter of whose labels
were replaced by random ones (noisy labels, as in much real data). With nothing to stop
it, the network memorises the training set, noise included: training accuracy climbs
while validation accuracy falls back. A grid runs each remedy once (same seed, model and
data) and the table shows what each does at the last epoch, against the same training
without it.

    python examples/regularization.py            # about a minute on one CPU thread
    tunelab run examples/regularization.py --study regularization --sampler grid

The table shows the last epoch, what a training without early stopping ends with. fit()
itself restores the epoch of lowest validation loss, so the study's score (`best
val_acc`) is early stopping's result for every remedy: the remedies change how far the
network has to be pulled back, and how much the last epoch costs if you don't.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

import tunelab
from tunelab import torch as tl_torch
from tunelab.insight import diagnose

N_TRAIN = 300
NOISE = 0.25  # share of training labels replaced by random ones
WIDTH = 512
EPOCHS = 40
LEARNING_RATE = 1e-3


def noisy_digits(n: int = N_TRAIN, noise: float = NOISE, seed: int = 0) -> tl_torch.Data:
    """The first `n` training digits with a share `noise` of labels randomised; the
    validation set is untouched, so it measures what generalises."""
    full = tl_torch.load_digits()
    rng = np.random.default_rng(seed)
    y = full.y_train[:n].clone()
    flip = torch.from_numpy(rng.random(n) < noise)
    y[flip] = torch.from_numpy(rng.integers(0, 10, n))[flip]
    return tl_torch.Data(full.x_train[:n], y, full.x_val, full.y_val, 10)


DATA = noisy_digits()
REMEDIES = {
    "none": {},
    "dropout": {},  # 0.5 after each hidden layer, below
    "l2": dict(l2=1e-2),
    "l1": dict(l1=1e-3),
    "early_stopping": dict(patience=3),
}


def build_model(rate: float, width: int | None = None) -> nn.Module:
    """64 -> width -> width -> 10 (WIDTH unless given), dropout `rate` after each hidden layer."""
    width = width or WIDTH
    return nn.Sequential(
        nn.Linear(64, width),
        nn.ReLU(),
        nn.Dropout(rate),
        nn.Linear(width, width),
        nn.ReLU(),
        nn.Dropout(rate),
        nn.Linear(width, 10),
    )


def make_objective(remedies: list[str], epochs: int = EPOCHS) -> Callable[[tunelab.Trial], float]:
    """The objective over `remedies` (a grid runs each once), each trained `epochs`."""

    def objective(trial: tunelab.Trial) -> float:
        remedy = trial.hp.Choice("remedy", remedies)
        rate = 0.5 if remedy == "dropout" else 0.0
        torch.manual_seed(0)
        model = build_model(rate)
        settings: dict[str, float] = {"epochs": epochs, "patience": epochs}
        settings.update(REMEDIES[remedy])
        score = tl_torch.fit(
            model,
            DATA,
            trial,
            seed=0,
            optimizer="adam",
            learning_rate=LEARNING_RATE,
            batch_size=32,
            lr_schedule="constant",
            weight_decay=0.0,
            **settings,
        )
        return float(score)  # type: ignore[arg-type]

    return objective


objective = make_objective(list(REMEDIES))


def run(remedies: list[str] | None = None, epochs: int = EPOCHS) -> tunelab.Study:
    """A grid over `remedies` (default: all), in memory."""
    study = tunelab.create_study("regularization", storage=":memory:", sampler="grid")
    study.optimize(make_objective(remedies or list(REMEDIES), epochs))
    return study


def rows(study: tunelab.Study) -> list[dict[str, float | str | int]]:
    """Per remedy: the last epoch's accuracies and their gap, the study's score, epochs run."""
    out: list[dict[str, float | str | int]] = []
    for t in study.trials:
        last = t.reports[-1].metrics
        out.append(
            {
                "remedy": t.params["remedy"],
                "train_acc": last["train_accuracy"],
                "val_acc": last["val_accuracy"],
                "gap": last["train_accuracy"] - last["val_accuracy"],
                "best_val_acc": float(t.value or 0.0),
                "epochs": len(t.reports),
            }
        )
    return out


def main() -> None:
    study = run()
    print(
        f"{'remedy':>15} {'train acc':>9} {'val acc':>8} {'gap':>6} {'best val acc':>12} "
        f"{'epochs':>6}"
    )
    for r in rows(study):
        print(
            f"{r['remedy']:>15} {r['train_acc']:9.3f} {r['val_acc']:8.3f} {r['gap']:6.3f} "
            f"{r['best_val_acc']:12.3f} {r['epochs']:6d}"
        )
    print("Last epoch shown; 'best val acc' is the epoch of lowest validation loss, which")
    print("fit() restores. Diagnosis of the run without a remedy:")
    plain = study.trials[0]
    found = diagnose(plain, study)
    print(f"  {found.kind.value}: {found.evidence}")
    for line in found.advice:
        print(f"  - {line}")


if __name__ == "__main__":
    main()
