"""The tuners users name: each a `Tuner` with one of tunelab's samplers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab import ConfigurationError, ConfigurationTypeError
from tunelab.keras.tuner import Tuner


class RandomSearch(Tuner):
    """Each hyperparameter drawn at random from its domain (tunelab's `random` sampler)."""

    sampler_name = "random"


class GridSearch(Tuner):
    """Every combination of the discrete values, each once (tunelab's `grid` sampler,
    which follows conditional branches); `max_trials=None` runs the whole grid."""

    sampler_name = "grid"

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(hypermodel, objective, max_trials, **kwargs)


class BayesianOptimization(Tuner):
    """Bayesian optimization with tunelab's Gaussian process (`sampler="gp"`, the default)
    or any tunelab sampler by name, e.g. `sampler="auto"` or `"tpe"` for conditional spaces.
    `num_initial_points` quasi-random trials come first (default: the GP's own, one per
    tuned parameter and at least 5)."""

    sampler_name = "gp"

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int | None = 10,
        num_initial_points: int | None = None,
        alpha: float | None = None,
        beta: float | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        if alpha is not None or beta is not None:
            raise ConfigurationTypeError(
                "alpha and beta (Keras Tuner's GP noise and UCB weight) have no counterpart: "
                "tunelab's GP fits its noise and uses expected improvement; leave them out"
            )
        sampler = kwargs.pop("sampler", None)
        if sampler is None and num_initial_points is not None:
            from tunelab.samplers import GPSampler

            sampler = GPSampler(seed=seed, n_startup_trials=num_initial_points)
        super().__init__(hypermodel, objective, max_trials, seed=seed, sampler=sampler, **kwargs)


class Hyperband(Tuner):
    """Hyperband over epochs, run by tunelab's `HyperbandScheduler` (brackets of
    asynchronous successive halving): every trial may train up to `max_epochs` epochs and
    is stopped at its bracket's rungs unless it ranks in the top 1/`factor` of its bracket
    there. One iteration holds as many trials as Hyperband's brackets together. The
    epochs given to `search()` are replaced by `max_epochs`."""

    sampler_name = "random"

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_epochs: int = 100,
        factor: int = 3,
        hyperband_iterations: int = 1,
        seed: int | None = None,
        max_trials: int | None = None,
        **kwargs: Any,
    ) -> None:
        from tunelab.schedulers import HyperbandScheduler

        if (
            isinstance(hyperband_iterations, bool)
            or not isinstance(hyperband_iterations, int)
            or hyperband_iterations < 1
        ):
            raise ConfigurationError(
                f"hyperband_iterations must be an int >= 1, but got {hyperband_iterations!r}"
            )
        if "scheduler" in kwargs:
            raise ConfigurationTypeError(
                "Hyperband brings its own scheduler, but got scheduler=; leave it out, or use "
                "RandomSearch(scheduler=...)"
            )
        scheduler = HyperbandScheduler(
            min_resource=1, max_resource=max_epochs, reduction_factor=factor
        )
        self.max_epochs = max_epochs
        self.factor = factor
        self.hyperband_iterations = hyperband_iterations
        per_iteration = sum(b.n_trials for b in scheduler.brackets)
        total = max_trials if max_trials is not None else per_iteration * hyperband_iterations
        super().__init__(hypermodel, objective, total, seed=seed, scheduler=scheduler, **kwargs)

    def _fit_epochs(self, fit_kwargs: Mapping[str, Any]) -> dict[str, Any]:
        return {"epochs": self.max_epochs}
