"""A plain-Python objective: any code that reads hyperparameters and returns a number.

No framework and no GPU: mini-batch gradient descent with momentum fits a linear model to
generated data, and tunelab searches the learning rate, momentum and batch size that leave
the lowest validation loss after a few passes. Replace the body of `objective` with your
own training code; keep the `trial.hp` calls, the `trial.report` per epoch and the return.

    tunelab run examples/plain_objective.py --trials 30
    tunelab show plain_objective

Rerunning the first command resumes the stored study (./tunelab.db) instead of starting over.
"""

from __future__ import annotations

import numpy as np

import tunelab

METRIC = "val_loss"
DIRECTION = "minimize"
EPOCHS = 5

_rng = np.random.default_rng(0)  # the same data in every trial and every run
_w = _rng.normal(size=8)
_x = _rng.normal(size=(600, 8))
_y = _x @ _w + 0.3 * _rng.normal(size=600)
X_TRAIN, Y_TRAIN, X_VAL, Y_VAL = _x[:480], _y[:480], _x[480:], _y[480:]


def objective(trial: tunelab.Trial) -> float:
    hp = trial.hp
    learning_rate = hp.Float("learning_rate", 1e-3, 0.3, sampling="log")
    momentum = hp.Float("momentum", 0.0, 0.9, step=0.1)
    batch_size = hp.Choice("batch_size", [16, 64, 256])
    order = np.random.default_rng(1)  # the same batches for the same configuration
    w = np.zeros(X_TRAIN.shape[1])
    velocity = np.zeros_like(w)
    val_loss = float(np.mean(Y_VAL**2))
    for epoch in range(EPOCHS):
        rows = order.permutation(len(X_TRAIN))
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            error = X_TRAIN[batch] @ w - Y_TRAIN[batch]
            velocity = momentum * velocity - learning_rate * X_TRAIN[batch].T @ error / len(batch)
            w = w + velocity
        val_loss = float(np.mean((X_VAL @ w - Y_VAL) ** 2))
        trial.report(epoch, val_loss=val_loss)  # a learning curve, and pruning's cue
        if trial.should_prune():
            raise tunelab.TrialPruned()
    return val_loss


if __name__ == "__main__":
    study = tunelab.create_study("plain_objective", metric=METRIC, direction=DIRECTION, seed=0)
    study.optimize(objective, n_trials=30)
    print(f"best val_loss {study.best_value:.4f}: {study.best_params}")
