"""The seed tutorial's tuning run, on PyTorch and scikit-learn's bundled digits.

An MLP  64 -> hidden1 -> dropout1 -> hidden2 -> dropout2 -> 10  with Adam, tuning the
units, the dropout rates and the learning rate exactly as the Keras Tuner tutorial does,
trained by tunelab's kit (per-epoch reports, early stopping on validation loss). Run it
either way:

    python examples/run_hparam_tuning.py            # 20 trials into ./tunelab.db
    tunelab run examples/run_hparam_tuning.py --trials 50 --jobs 2
    tunelab run examples/run_hparam_tuning.py --trials 50 --gpus 0,1 --trials-per-gpu 2

With `--gpus`, each trial runs in a process that sees one of the listed GPUs (its
CUDA_VISIBLE_DEVICES), which the kit trains on with device "auto"; the model is small
enough that two trials share a GPU well. Rerunning resumes the stored study instead of
starting over.
"""

from __future__ import annotations

from torch import nn

import tunelab
from tunelab import torch as tl_torch

METRIC = "val_accuracy"
DIRECTION = "maximize"
DATA = tl_torch.load_digits()  # 8x8 digits in [0, 1], a fixed stratified 80/20 split

# The tutorial fixes everything but the learning rate; the kit would tune the rest too.
FIT = dict(
    optimizer="adam",
    learning_rate=[1e-4, 1e-3, 1e-2],
    batch_size=64,
    epochs=10,
    lr_schedule="constant",
    weight_decay=0.0,
)


def build_model(hp: tunelab.HyperParameters) -> nn.Module:
    """The tutorial's tunable model, written the Keras Tuner way."""
    hidden1 = hp.Int("hidden1", min_value=32, max_value=512, step=32)
    hidden2 = hp.Int("hidden2", min_value=16, max_value=128, step=16)
    return nn.Sequential(
        nn.Linear(64, hidden1),
        nn.ReLU(),
        nn.Dropout(hp.Float("dropout1", min_value=0.1, max_value=0.5, step=0.1)),
        nn.Linear(hidden1, hidden2),
        nn.ReLU(),
        nn.Dropout(hp.Float("dropout2", min_value=0.1, max_value=0.5, step=0.1)),
        nn.Linear(hidden2, 10),
    )


def objective(trial: tunelab.Trial) -> float:
    return tl_torch.fit(build_model(trial.hp), DATA, trial, **FIT)


def main() -> None:
    study = tunelab.create_study("digits-mlp", metric=METRIC, direction=DIRECTION, seed=42)
    study.optimize(objective, n_trials=20, show_progress_bar=True)
    best = study.best_trial
    print(f"best val_accuracy {best.value:.4f} (trial {best.number})")
    for name in ("hidden1", "dropout1", "hidden2", "dropout2", "learning_rate"):
        print(f"  {name:>14} = {best.params[name]}")


if __name__ == "__main__":
    main()
