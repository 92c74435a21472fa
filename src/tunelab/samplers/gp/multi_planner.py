"""One GP suggestion for a study of several objectives, or one with constraints.

One GP per objective and one per constraint, all on the same inputs (targets.py), each
standardised and with its own hyperparameters (likelihood.py, warm-started per output as
for one objective: planner.py `refit`). The acquisition (optimizer.py maximises it):

* several objectives: log EHVI (ehvi.py) over the region the current front does not
  dominate (boxes.py). The front: the feasible COMPLETE trials' values (their posterior
  means unless the objective is deterministic, as for one objective), standardised. The
  reference point: the worst standardised value of the feasible COMPLETE trials in each
  objective plus 10% of their range, fixed for the whole suggestion. Not the front's
  nadir (`_pareto.default_reference_point`, right for reporting a front): early on one
  trial often dominates every other, and a reference just past a one-point front
  credits improvement only in a sliver around it, so the search stays there. A
  reference far out weights the front's ends more, which does not help where they are
  degenerate, as in DTLZ2's three objectives (benchmarks/RESULTS.md, "Multi-objective
  search vs Optuna"): `auto` sends three or more objectives to TPE;
* one objective: log EI (acquisition.py) below the best feasible value, chosen as planner.py
  chooses it;
* with constraints: plus log P(every constraint <= 0) (feasibility.py). Until a trial is
  feasible there is no front: log P(feasible) alone is maximised.

In a finite space (every input swept) with several objectives, a configuration a finished
trial already holds is never chosen while one is left that none holds (`Unvisited`). The
front is taken at the posterior means, which leaves log EHVI at an evaluated point of the
front (an end of it, whose box reaches the reference point) above that of the dominated
region however often it was evaluated; a scheduler that keeps that end alive at every rung
lets each copy complete, and the search spends its budget re-running one configuration
that cannot add a point to the front.

Pending trials (other workers' RUNNING ones) and trials other workers are planning: the
kriging believer of planner.py, for every GP: each pending point "observes" the posterior
mean of every objective and constraint, and its objective means join the front (or lower
the incumbent), so the next suggestion goes where no other worker is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from tunelab._pareto import non_dominated_ranks
from tunelab.objectives import Objective
from tunelab.samplers._blas import one_blas_thread
from tunelab.samplers.gp.acquisition import Acquisition, LogEI, SumOf, Unvisited
from tunelab.samplers.gp.boxes import non_dominated_boxes
from tunelab.samplers.gp.ehvi import Boxes, LogEHVI
from tunelab.samplers.gp.encoding import Dim
from tunelab.samplers.gp.feasibility import LogFeasibility
from tunelab.samplers.gp.likelihood import to_hyper
from tunelab.samplers.gp.model import GPPosterior
from tunelab.samplers.gp.observations import model_dims
from tunelab.samplers.gp.optimizer import AcquisitionOptimizer
from tunelab.samplers.gp.planner import (
    MAX_PLANNING,
    Fit,
    Plan,
    PlanSettings,
    decoded,
    fixed_units,
    refit,
    screening_size,
    standardised,
    unmodelled,
)
from tunelab.samplers.gp.targets import Targets, collect_targets
from tunelab.space import SearchSpace
from tunelab.trial import FrozenTrial


@dataclass(frozen=True, eq=False)
class Models:
    """The GPs of one suggestion, the front (standardised objective values, lower is
    better; empty until a trial is feasible) and the reference point (several
    objectives)."""

    objectives: tuple[GPPosterior, ...]
    constraints: tuple[GPPosterior, ...]
    bounds: tuple[float, ...]  # each constraint's 0, standardised
    front: np.ndarray  # (f, m)
    reference: np.ndarray | None

    def believe(self, points: np.ndarray) -> Models:
        """Kriging believer: every GP observes its mean at `points`, whose objective
        means join the front."""
        points = np.atleast_2d(points)
        front = self.front
        if len(front):  # no front yet: feasibility alone is followed
            means = np.column_stack([p.predict(points)[0] for p in self.objectives])
            front = np.vstack([front, means])
        return replace(
            self,
            objectives=tuple(p.with_fantasies(points) for p in self.objectives),
            constraints=tuple(p.with_fantasies(points) for p in self.constraints),
            front=front,
        )

    def acquisition(self) -> Acquisition:
        feasibility = LogFeasibility(self.constraints, self.bounds) if self.constraints else None
        if not len(self.front):
            if feasibility is None:
                raise ValueError("without a feasible trial the GPs need a constraint to follow")
            return feasibility
        main: Acquisition
        if self.reference is None:
            main = LogEI(self.objectives[0], float(self.front[:, 0].min()))
        else:
            main = LogEHVI(
                self.objectives, Boxes.of(*non_dominated_boxes(self.front, self.reference))
            )
        return main if feasibility is None else SumOf(main, feasibility)


def reference_point(values: np.ndarray) -> np.ndarray:
    """The worst value per objective among `values` (standardised) plus 10% of their
    range (of 1 where they are all equal): see the module doc."""
    worst = values.max(axis=0)
    spread = worst - values.min(axis=0)
    return np.asarray(worst + 0.1 * np.where(spread > 0, spread, 1.0))


def plan_many(
    space: SearchSpace,
    history: Sequence[FrozenTrial],
    objectives: Sequence[Objective],
    trial_number: int,
    chosen: Mapping[str, Any],
    rng: np.random.Generator,
    settings: PlanSettings,
    warm: Mapping[tuple[Any, ...], Fit],
) -> Plan:
    """Values for every modelled parameter of trial `trial_number` (see the module doc);
    `warm` maps a model signature to the last fit for it. With one objective, `history`
    is the GP's view of it (observations.py, `learning_history`)."""
    m = len(objectives)
    dims = model_dims(space, history, m)
    if not dims or all(d.name in chosen for d in dims):
        return unmodelled(dims, chosen)
    t = collect_targets(history, dims, objectives, trial_number, settings.max_train)
    if int(t.complete.sum()) < 2:
        return Plan({})
    n_finished = sum(h.state.is_finished for h in history)
    with one_blas_thread():
        fits = Fits(dims, settings, warm, n_finished, trial_number)
        models = _models(t, objectives, fits, settings.deterministic_objective)
        if len(t.pending):
            models = models.believe(t.pending)
        incumbents = _incumbents(t)
        n_screened = screening_size(settings.n_candidates, len(t.y))
        for _ in range(min(t.planning, MAX_PLANNING)):  # step past other workers' next points
            other = AcquisitionOptimizer(models.acquisition(), dims, {})
            guess = other.maximize(rng, n_screened, settings.n_restarts, incumbents)
            models = models.believe(guess)
        acquisition = models.acquisition()
        if m > 1 and all(d.swept for d in dims):
            seen = np.unique(t.x, axis=0)
            if len(seen) < _finite_size(dims):
                acquisition = Unvisited(acquisition, seen)
        optimizer = AcquisitionOptimizer(acquisition, dims, fixed_units(dims, chosen))
        point = optimizer.maximize(rng, n_screened, settings.n_restarts, incumbents)
    return Plan(decoded(dims, point, chosen), tuple(fits.used))


class Fits:
    """Builds one GP per output, its hyperparameters warm-started from the last fit for
    its signature (the modelled inputs plus the output's name), and keeps the fits used."""

    def __init__(
        self,
        dims: tuple[Dim, ...],
        settings: PlanSettings,
        warm: Mapping[tuple[Any, ...], Fit],
        n_finished: int,
        trial_number: int,
    ) -> None:
        self.dims = dims
        self.base = (tuple((d.name, d.categorical) for d in dims), settings.deterministic_objective)
        self.fit_noise = not settings.deterministic_objective
        self.warm = warm
        self.n_finished = n_finished
        self.trial_number = trial_number
        self.categorical = np.array([d.categorical for d in dims], dtype=bool)
        self.used: list[tuple[tuple[Any, ...], Fit]] = []

    def posterior(self, x: np.ndarray, y: np.ndarray, label: tuple[str, str]) -> GPPosterior:
        signature = (*self.base, label)
        last = self.warm.get(signature)
        fit = refit(
            x, y, self.categorical, last, self.n_finished, self.trial_number, self.fit_noise
        )
        self.used.append((signature, fit))
        hyper = to_hyper(fit.theta, len(self.dims), self.fit_noise)
        return GPPosterior(x, y, hyper, self.categorical)


def _models(t: Targets, objectives: Sequence[Objective], fits: Fits, deterministic: bool) -> Models:
    """The GPs, the front and the reference point (see the module doc)."""
    ys = [standardised(t.y[:, j])[0] for j in range(len(objectives))]
    posteriors = tuple(
        fits.posterior(t.x, y, ("objective", o.metric)) for y, o in zip(ys, objectives, strict=True)
    )
    constraints, bounds = [], []
    for k, name in enumerate(t.constraint_names):
        known = ~np.isnan(t.constraints[:, k])
        if known.sum() < 2:
            continue
        c, mean, scale = standardised(t.constraints[known, k])
        constraints.append(fits.posterior(t.x[known], c, ("constraint", name)))
        bounds.append(-mean / scale)
    feasible = t.feasible if constraints else t.complete
    y = np.column_stack(ys)
    if deterministic or not feasible.any():
        front = y[feasible]
    else:  # noisy: the means, not the luckiest draws
        front = np.column_stack([p.predict(t.x[feasible])[0] for p in posteriors])
    reference = reference_point(y[feasible]) if len(objectives) > 1 and len(front) else None
    return Models(posteriors, tuple(constraints), tuple(bounds), front, reference)


def _incumbents(t: Targets) -> np.ndarray:
    """Rows best first: feasible by non-dominated rank, then the rest by total violation
    of the constraints they report."""
    key = np.full(len(t.y), np.inf)
    if t.feasible.any():
        key[t.feasible] = non_dominated_ranks(t.y[t.feasible])
    violation = np.nansum(np.clip(t.constraints, 0.0, None), axis=1)
    order = np.lexsort((violation, key))
    return t.x[order]


def _finite_size(dims: Sequence[Dim]) -> int:
    return int(np.prod([float(d.n_values) for d in dims]))
