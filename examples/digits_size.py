"""The seed tutorial's MLP on digits, tuned for accuracy and for size at once.

The same model and training as run_hparam_tuning.py, in a study of two objectives:
val_accuracy (maximized) against n_parameters (minimized), which tunelab's kit reports
by itself. Models over MAX_PARAMETERS are kept out of the answer by a constraint. The
answer is the Pareto front: each of its trials is the most accurate model of its size.
Run it either way:

    python examples/digits_size.py                     # 30 trials into ./tunelab.db
    tunelab run examples/digits_size.py --trials 30 --scheduler asha

Rerunning resumes the stored study instead of starting over.
"""

from __future__ import annotations

from typing import cast

from run_hparam_tuning import DATA, FIT, build_model  # the seed example, beside this file

import tunelab
from tunelab import torch as tl_torch

METRICS = ["val_accuracy", "n_parameters"]  # `tunelab run` reads these two lists
DIRECTIONS = ["maximize", "minimize"]
MAX_PARAMETERS = 20_000


def objective(trial: tunelab.Trial) -> dict[str, float]:
    # In a study of several metrics fit() returns the best epoch's metrics with
    # n_parameters and train_seconds: a dict holding both objectives.
    result = cast(dict[str, float], tl_torch.fit(build_model(trial.hp), DATA, trial, **FIT))
    trial.set_constraint("n_parameters", result["n_parameters"] - MAX_PARAMETERS)  # <= 0 holds
    return result


def main(n_trials: int = 30, storage: str | None = None) -> tunelab.Study:
    study = tunelab.create_study(
        "digits_size",  # as `tunelab run` names it: either way resumes the other
        storage=storage,
        metrics=METRICS,
        directions=DIRECTIONS,
        scheduler="asha",  # MO-ASHA: n_parameters, reported at step 0, counts at every rung
        seed=42,
    )
    study.optimize(objective, n_trials=n_trials, show_progress_bar=True)
    front = sorted(study.best_trials, key=lambda t: t.values[1])
    if not front:
        print(f"no complete trial has at most {MAX_PARAMETERS} parameters yet; run more trials")
        return study
    print(f"Pareto front ({len(front)} trials, at most {MAX_PARAMETERS} parameters):")
    for t in front:
        accuracy, size = t.values
        print(f"  trial {t.number:3d}: val_accuracy {accuracy:.4f} with {int(size):6d} parameters")
    model = ("hidden1", "dropout1", "hidden2", "dropout2", "learning_rate")
    print(f"the smallest of them: { ({k: front[0].params[k] for k in model}) }")
    return study


if __name__ == "__main__":
    main()
