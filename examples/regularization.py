"""L1, L2, dropout and early stopping side by side on a setup built to overfit.

A wide MLP learns from only 150 digits, so without help it memorises the training set:
training accuracy reaches 100% while validation accuracy lags. A grid runs each remedy
once (same seed, same model, same data) and the table shows what each does to the gap.

    python examples/regularization.py
"""

from __future__ import annotations

from torch import nn

import tunelab
from tunelab import torch as tl_torch

FULL = tl_torch.load_digits()
DATA = tl_torch.Data(FULL.x_train[:150], FULL.y_train[:150], FULL.x_val, FULL.y_val, 10)

REMEDIES = {
    "none": dict(epochs=60, patience=60),
    "l1": dict(epochs=60, patience=60, l1=1e-5),
    "l2": dict(epochs=60, patience=60, l2=1e-3),
    "dropout": dict(epochs=60, patience=60),
    "early_stopping": dict(epochs=60, patience=5),
}


def objective(trial: tunelab.Trial) -> float:
    remedy = trial.hp.Choice("remedy", list(REMEDIES))
    rate = 0.5 if remedy == "dropout" else 0.0
    model = nn.Sequential(
        nn.Linear(64, 1024),
        nn.ReLU(),
        nn.Dropout(rate),
        nn.Linear(1024, 1024),
        nn.ReLU(),
        nn.Dropout(rate),
        nn.Linear(1024, 10),
    )
    return tl_torch.fit(
        model,
        DATA,
        trial,
        optimizer="adam",
        learning_rate=1e-3,
        batch_size=32,
        lr_schedule="constant",
        weight_decay=0.0,
        **REMEDIES[remedy],
    )


def main() -> None:
    study = tunelab.create_study("regularization", storage=":memory:", sampler="grid")
    study.optimize(objective)
    print(
        f"{'remedy':>15} {'train acc':>9} {'val acc':>8} {'val loss':>9} {'best val loss':>13} "
        f"{'epochs':>6}"
    )
    for t in study.trials:
        last = t.reports[-1].metrics
        best = min(r.metrics["val_loss"] for r in t.reports)
        print(
            f"{t.params['remedy']:>15} {last['train_accuracy']:9.3f} {last['val_accuracy']:8.3f} "
            f"{last['val_loss']:9.3f} {best:13.3f} {len(t.reports):6d}"
        )
    print("Final epoch shown; early stopping restores the weights of its best epoch.")


if __name__ == "__main__":
    main()
