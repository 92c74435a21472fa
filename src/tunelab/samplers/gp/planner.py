"""One GP suggestion for a whole trial: history in, a value for every modelled parameter out.

Steps: pick the modelled parameters and training data (observations.py), standardise
the outputs, fit the hyperparameters (likelihood.py, warm-started by the caller),
condition on pending trials (kriging believer: each pending point "observes" the current
posterior mean there, which collapses the variance and so the EI around it), step past
trials other workers are planning at this moment, and maximise log EI (optimizer.py).
Values the trial already holds stay fixed, and the other parameters are chosen around them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunelab.samplers._blas import one_blas_thread
from tunelab.samplers.gp.acquisition import LogEI
from tunelab.samplers.gp.encoding import Dim, active_mask
from tunelab.samplers.gp.likelihood import fit_hyperparameters, to_hyper
from tunelab.samplers.gp.model import GPPosterior
from tunelab.samplers.gp.observations import collect, model_dims
from tunelab.samplers.gp.optimizer import AcquisitionOptimizer
from tunelab.space import SearchSpace
from tunelab.trial import FrozenTrial
from tunelab.types import Direction

MAX_PLANNING = 8  # concurrent plans stepped past; each costs one more acquisition search
PRIOR_CHECK_EVERY = 5  # trials: also try the prior's centre as the fit's start
REFIT_DIVISOR = 64  # refit once n_train / 64 trials (at least 1) finished since the last fit
SCREEN_FULL_UNTIL = 150  # trials: see screening_size


def screening_size(n_candidates: int, n_train: int) -> int:
    """Quasi-random points to score before local optimisation: `n_candidates` while the
    model trains on up to `SCREEN_FULL_UNTIL` trials, then fewer, in proportion, down to a
    quarter. Scoring costs O(points · n²); with few trials (where each suggestion matters
    most, and the acquisition has the most separate peaks) a wide screen finds better
    starts (Levy-10 at 50 trials: median regret 13.1 with 512 points, 11.2 with 2048),
    while with many trials the starts near the best points carry the search."""
    if n_train <= SCREEN_FULL_UNTIL:
        return n_candidates
    return max(n_candidates // 4, n_candidates * SCREEN_FULL_UNTIL // n_train, 1)


@dataclass(frozen=True)
class PlanSettings:
    n_candidates: int
    n_restarts: int
    max_train: int
    deterministic_objective: bool


@dataclass(frozen=True, eq=False)
class Fit:
    """Fitted hyperparameters θ, and how many trials had finished when they were fitted."""

    theta: np.ndarray
    n_finished: int


@dataclass(frozen=True, eq=False)
class Plan:
    """Planned values (empty when the GP had too little data), and the fits it used, by
    model signature (one per GP: the objective's, or each objective's and constraint's)."""

    values: Mapping[str, Any]
    fits: tuple[tuple[tuple[Any, ...], Fit], ...] = ()


def standardised(y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(y - mean) / sd (sd 1 where y is constant), with the mean and sd used."""
    mean, scale = float(y.mean()), float(y.std())
    scale = scale if scale > 0 else 1.0
    return (y - mean) / scale, mean, scale


def refit(
    x: np.ndarray,
    y: np.ndarray,
    categorical: np.ndarray,
    last: Fit | None,
    n_finished: int,
    trial_number: int,
    fit_noise: bool,
) -> Fit:
    """`last`, or a new fit warm-started from it once enough trials finished since it
    (see `plan`)."""
    if last is not None and n_finished - last.n_finished < max(1, len(y) // REFIT_DIVISOR):
        return last
    _, theta = fit_hyperparameters(
        x,
        y,
        categorical,
        fit_noise=fit_noise,
        init=None if last is None else last.theta,
        check_prior_centre=trial_number % PRIOR_CHECK_EVERY == 0,
    )
    return Fit(theta, n_finished)


def decoded(dims: tuple[Dim, ...], point: np.ndarray, chosen: Mapping[str, Any]) -> dict[str, Any]:
    """The values of a point, but those the trial already holds; an inactive parameter is
    left out: the trial will not ask for it."""
    exists = active_mask(dims, point[None, :])[0]
    return {
        d.name: (chosen[d.name] if d.name in chosen else d.decode(point[j]))
        for j, d in enumerate(dims)
        if exists[j] or d.name in chosen
    }


def unmodelled(dims: tuple[Dim, ...], chosen: Mapping[str, Any]) -> Plan:
    """The plan when there is nothing to search: no modelled parameter, or the trial
    already holds every one."""
    return Plan({d.name: chosen[d.name] for d in dims} if dims else {})


def fixed_units(dims: tuple[Dim, ...], chosen: Mapping[str, Any]) -> dict[int, float]:
    """Input positions the trial's chosen values pin."""
    return {j: d.encode(chosen[d.name]) for j, d in enumerate(dims) if d.name in chosen}


def plan(
    space: SearchSpace,
    history: Sequence[FrozenTrial],
    direction: Direction,
    trial_number: int,
    chosen: Mapping[str, Any],
    rng: np.random.Generator,
    settings: PlanSettings,
    warm: Mapping[tuple[Any, ...], Fit],
) -> Plan:
    """Values for every modelled parameter of trial `trial_number`; `warm` maps a model
    signature to the last fit for it.

    Hyperparameters are refitted (warm-started from the last fit) once enough trials
    finished since it: every trial while the model trains on fewer than 128 trials, every
    n_train/64 trials after that (e.g. every 4th at 300). They change little from one
    trial to the next, and fitting is the costliest step; the posterior itself is always
    rebuilt from all the data."""
    with one_blas_thread():
        return _plan(space, history, direction, trial_number, chosen, rng, settings, warm)


def _plan(
    space: SearchSpace,
    history: Sequence[FrozenTrial],
    direction: Direction,
    trial_number: int,
    chosen: Mapping[str, Any],
    rng: np.random.Generator,
    settings: PlanSettings,
    warm: Mapping[tuple[Any, ...], Fit],
) -> Plan:
    dims = model_dims(space, history)
    if not dims or all(d.name in chosen for d in dims):
        return unmodelled(dims, chosen)
    obs = collect(history, dims, direction, trial_number, settings.max_train)
    if int(obs.complete.sum()) < 2:
        return Plan({})
    y = standardised(obs.y)[0]
    categorical = obs.categorical
    signature = (
        tuple((d.name, d.categorical) for d in dims),
        settings.deterministic_objective,
    )
    fit_noise = not settings.deterministic_objective
    n_finished = sum(t.state.is_finished for t in history)
    fit = refit(obs.x, y, categorical, warm.get(signature), n_finished, trial_number, fit_noise)
    hyper = to_hyper(fit.theta, len(dims), fit_noise)
    posterior = GPPosterior(obs.x, y, hyper, categorical)
    if settings.deterministic_objective:
        best = float(y[obs.complete].min())
    else:  # noisy: the best mean, not the luckiest draw
        best = float(posterior.predict(obs.x[obs.complete])[0].min())
    if len(obs.pending):  # kriging believer: pending points "observe" their mean,
        best = min(best, float(posterior.predict(obs.pending)[0].min()))  # incumbent too
        posterior = posterior.with_fantasies(obs.pending)
    incumbents = obs.x[np.argsort(y, kind="stable")]
    n_screened = screening_size(settings.n_candidates, len(y))
    # Trials other workers are planning right now will likely take the first points of a
    # kriging-believer batch: take the next one.
    for _ in range(min(obs.planning, MAX_PLANNING)):
        other = AcquisitionOptimizer(LogEI(posterior, best), dims, {})
        guess = other.maximize(rng, n_screened, settings.n_restarts, incumbents)
        best = min(best, float(posterior.predict(guess)[0][0]))
        posterior = posterior.with_fantasies(guess)
    optimizer = AcquisitionOptimizer(LogEI(posterior, best), dims, fixed_units(dims, chosen))
    point = optimizer.maximize(rng, n_screened, settings.n_restarts, incumbents)
    return Plan(decoded(dims, point, chosen), ((signature, fit),))
