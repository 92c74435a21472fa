"""Regression with the training kit: scikit-learn's bundled diabetes data (442 patients,
10 features, a disease-progression score from 25 to 346; nothing is downloaded).

The features and the target are standardised with statistics of the training split only,
as a practitioner would; fit() then trains with MSE and reports val_rmse, val_mae and
val_r2 each epoch. The study minimizes val_rmse (in standard deviations of the target;
main() prints it in the score's own units too). The kit's MLP tunes its layers, units,
dropout, activation and init; fit() tunes the optimizer, learning rate, batch size,
schedule and weight decay. Run it either way:

    python examples/diabetes_regression.py              # 20 trials into ./tunelab.db
    tunelab run examples/diabetes_regression.py --trials 10

Rerunning resumes the stored study instead of starting over.
"""

from __future__ import annotations

from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from torch import nn

import tunelab
from tunelab import torch as tl_torch

METRIC = "val_rmse"  # or "val_r2" with DIRECTION = "maximize"
DIRECTION = "minimize"
FIT = dict(epochs=40, patience=8)


def load() -> tuple[tl_torch.Data, float]:
    """The data, standardised on the training split; and the target's standard deviation,
    which turns a standardised RMSE back into score points."""
    x, y = load_diabetes(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, random_state=0)
    x_mean, x_std = x_train.mean(0), x_train.std(0)
    y_mean, y_std = float(y_train.mean()), float(y_train.std())
    data = tl_torch.from_arrays(
        (x_train - x_mean) / x_std,
        (y_train - y_mean) / y_std,
        x_val=(x_val - x_mean) / x_std,
        y_val=(y_val - y_mean) / y_std,
        task="regression",  # whole-valued scores: the kit asks rather than guess classes
        name="diabetes",
    )
    return data, y_std


DATA, Y_STD = load()


def build_model(hp: tunelab.HyperParameters) -> nn.Module:
    """The kit's tunable MLP with one output: the standardised score."""
    return tl_torch.MLP(hp, DATA.in_features, DATA.n_outputs, units=(16, 256, 16))


def main(n_trials: int = 20, storage: str | None = None) -> tunelab.Study:
    study = tunelab.create_study(
        "diabetes_regression",  # as `tunelab run` names it: either way resumes the other
        storage=storage,
        metric=METRIC,
        direction=DIRECTION,
        seed=0,
    )
    study.optimize(
        lambda trial: tl_torch.fit(build_model(trial.hp), DATA, trial, **FIT),
        n_trials=n_trials,
        show_progress_bar=True,
    )
    best = study.best_trial
    epoch = best.user_attrs["best_epoch"]
    r2 = best.intermediate("val_r2")[epoch]
    print(
        f"best val_rmse {best.value:.4f} ({best.value * Y_STD:.1f} score points, "
        f"val_r2 {r2:.3f}) in trial {best.number}"
    )
    for name, value in sorted(best.params.items()):
        print(f"  {name:>16} = {value}")
    return study


if __name__ == "__main__":
    main()
