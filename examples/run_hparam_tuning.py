"""The seed tutorial's tuning run, on PyTorch and scikit-learn's bundled digits.

An MLP  64 -> hidden1 -> dropout1 -> hidden2 -> dropout2 -> 10  with Adam, tuning
the units, the dropout rates and the learning rate exactly as the Keras Tuner
tutorial does. Run it either way:

    python examples/run_hparam_tuning.py            # 20 trials into ./tunelab.db
    tunelab run examples/run_hparam_tuning.py --trials 50 --jobs 2

Rerunning resumes the stored study instead of starting over.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

import tunelab

METRIC = "val_accuracy"
DIRECTION = "maximize"
EPOCHS = 10
BATCH_SIZE = 64


def load_data(seed: int = 0) -> tuple[torch.Tensor, ...]:
    """8x8 digits scaled to [0, 1], split 80/20 with a fixed seed."""
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.long)
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(x)))
    cut = int(0.8 * len(x))
    train, val = order[:cut], order[cut:]
    return x[train], y[train], x[val], y[val]


X_TRAIN, Y_TRAIN, X_VAL, Y_VAL = load_data()


def build_model(hp: tunelab.HyperParameters) -> nn.Module:
    """The tutorial's tunable model, written the Keras Tuner way."""
    return nn.Sequential(
        nn.Linear(64, hidden1 := hp.Int("hidden1", min_value=32, max_value=512, step=32)),
        nn.ReLU(),
        nn.Dropout(hp.Float("dropout1", min_value=0.1, max_value=0.5, step=0.1)),
        nn.Linear(hidden1, hidden2 := hp.Int("hidden2", min_value=16, max_value=128, step=16)),
        nn.ReLU(),
        nn.Dropout(hp.Float("dropout2", min_value=0.1, max_value=0.5, step=0.1)),
        nn.Linear(hidden2, 10),
    )


def evaluate(model: nn.Module, loss_fn: nn.Module) -> tuple[float, float]:
    model.eval()
    with torch.inference_mode():
        logits = model(X_VAL)
        loss = loss_fn(logits, Y_VAL).item()
        accuracy = (logits.argmax(dim=1) == Y_VAL).float().mean().item()
    return loss, accuracy


def objective(trial: tunelab.Trial) -> dict[str, float]:
    torch.manual_seed(trial.number)  # the same trial trains the same way every time
    model = build_model(trial.hp)
    learning_rate = trial.hp.Choice("learning_rate", values=[1e-4, 1e-3, 1e-2])
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(trial.number)
    val_loss = val_accuracy = float("nan")
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(len(X_TRAIN), generator=generator)
        total, seen = 0.0, 0
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = loss_fn(model(X_TRAIN[batch]), Y_TRAIN[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
            seen += len(batch)
        val_loss, val_accuracy = evaluate(model, loss_fn)
        trial.report(epoch, train_loss=total / seen, val_loss=val_loss, val_accuracy=val_accuracy)
    return {"val_accuracy": val_accuracy, "val_loss": val_loss}


def main() -> None:
    study = tunelab.create_study(
        "digits-mlp", metric=METRIC, direction=DIRECTION, sampler="random", seed=42
    )
    study.optimize(objective, n_trials=20, show_progress_bar=True)
    best = study.best_trial
    print(f"best val_accuracy {best.value:.4f} (trial {best.number})")
    for name, value in best.params.items():
        print(f"  {name:>14} = {value}")


if __name__ == "__main__":
    main()
