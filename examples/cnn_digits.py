"""A small CNN on the 8x8 digits as images, with tunable data augmentation.

The kit's SmallCNN tunes conv blocks, filters, kernel size, pooling, batch norm and
dropout; fit() tunes the optimizer, learning rate, batch size, schedule and weight decay;
augment="tune" adds random shifts and small rotations (no flips: a mirrored 2 is no 2).

    tunelab run examples/cnn_digits.py --trials 30 --jobs 2
"""

from __future__ import annotations

import tunelab
from tunelab import torch as tl_torch

METRIC = "val_accuracy"
DATA = tl_torch.load_digits(images=True)


def objective(trial: tunelab.Trial) -> float:
    model = tl_torch.SmallCNN(trial.hp, in_shape=(1, 8, 8), out_features=10)
    return tl_torch.fit(model, DATA, trial, epochs=15, augment="tune")


if __name__ == "__main__":
    study = tunelab.create_study("digits-cnn", metric=METRIC, sampler="sobol", seed=0)
    study.optimize(objective, n_trials=20, show_progress_bar=True)
    print(study.best_value, study.best_params)
