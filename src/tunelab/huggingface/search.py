"""`tune_trainer`: a whole search over a Hugging Face Trainer in one call.

Why not `trainer.hyperparameter_search(backend="tunelab")`: transformers (5.x) has no
public way to add a backend. `HPSearchBackend` is a closed enum (optuna, ray, wandb), so
`backend="tunelab"` is refused before any backend table is read, and the Trainer branches
on that enum in its private `_hp_search_setup`, `_report_to_hp_search` and
`_get_output_dir`. A backend would have to replace private internals, and break with
them; `tune_trainer` needs only the public `Trainer`, `TrainerCallback` and `train()`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tunelab
from tunelab import ConfigurationError, ConfigurationTypeError, Study, Trial
from tunelab.huggingface.callback import TunelabCallback, transformers


def tune_trainer(
    make_trainer: Callable[[Trial], Any],
    *,
    study: Study | None = None,
    n_trials: int | None = 10,
    monitor: str | None = None,
    direction: str | None = None,
    step: str = "global_step",
    **optimize: Any,
) -> Study:
    """Run `n_trials` trials, each training the Trainer `make_trainer(trial)` builds with
    hyperparameters drawn from `trial.hp`; return the study.

    Each Trainer gets a `TunelabCallback(trial, monitor, step)`: every evaluation is
    reported, and the study's scheduler stops poor trials (they end PRUNED). A finished
    trial's result is its last evaluation's metrics.

    Args:
        make_trainer: Builds one trial's Trainer from `trial.hp`.
        study: The study to run the trials in; None for a new in-memory study that judges
            `monitor` in `direction`.
        n_trials: How many trials to run.
        monitor: The evaluation metric reported as the study's metric; None for the
            study's metric (without `study`: `eval_loss`).
        direction: Only without `study`: `"minimize"` (the default) or `"maximize"`.
        step: What a report's step counts: `"global_step"` or `"epoch"`.
        **optimize: Passed to `Study.optimize` (`timeout`, `callbacks`, ...).
    """
    if not callable(make_trainer):
        raise ConfigurationTypeError(
            f"make_trainer must be a function of the trial that returns a Trainer, but got "
            f"{make_trainer!r:.80}"
        )
    if study is None:
        study = tunelab.create_study(
            storage=":memory:", metric=monitor or "eval_loss", direction=direction or "minimize"
        )
    elif direction is not None:
        raise ConfigurationError(
            f"direction= is for the study tune_trainer creates; the study {study.name!r} "
            f"already has direction {study.direction.value!r}: leave direction= out"
        )
    TunelabCallback.check_step(step)

    def objective(trial: Trial) -> dict[str, float]:
        trainer = make_trainer(trial)
        if not isinstance(trainer, transformers.Trainer):
            raise ConfigurationTypeError(
                f"make_trainer must return a transformers.Trainer, but returned "
                f"{type(trainer).__name__}"
            )
        callback = TunelabCallback(trial, monitor=monitor, step=step)
        trainer.add_callback(callback)
        trainer.train()
        callback.check_pruned()
        if not callback.metrics:  # e.g. eval_steps beyond the last step: judge the end
            trainer.evaluate()
            callback.check_monitored()
        return dict(callback.metrics)

    study.optimize(objective, n_trials=n_trials, **optimize)
    return study
