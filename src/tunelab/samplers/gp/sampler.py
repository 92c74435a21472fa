"""GPSampler: Bayesian optimisation with a Gaussian process and log expected improvement.

The study asks one parameter at a time (define-by-run), but a GP suggests a whole
configuration. So the first `sample` of a trial plans every modelled parameter at once
(planner.py) and caches the plan by trial number; later calls return planned values.
Parameters outside the plan (conditional ones that not every finished trial has, or
new ones) come from a scrambled Sobol' sequence, as do all values during the start-up
phase (fewer than `n_startup_trials` finished trials; by default one per tuned parameter,
at least 5: see `startup_size`).

If the trial already holds a value that differs from its plan (an enqueued value), the
rest is planned again around it.

A study of several objectives, or one whose finished trials hold constraint values, is
planned by multi_planner.py: one GP per objective and per constraint, log expected
hypervolume improvement (or log EI for one objective) plus the log probability that
every constraint holds, from the feasible trials' front. A single objective without
constraints takes planner.py's path.

Reproducibility: candidates are drawn from a generator seeded by (seed, trial number).
The hyperparameters are refitted every few trials, warm-started from this sampler's
previous fit (planner.py), so a fresh sampler replaying the same trials in the same order
makes the same choices to the last digit (as a seeded sequential study does); a sampler
that joins mid-study fits from the prior instead, and its choices may differ slightly.
With threadpoolctl installed, BLAS runs on one thread while planning (faster for these
small matrices, and the results do not depend on the number of cores).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tunelab.errors import ConfigurationError
from tunelab.objectives import Objective
from tunelab.samplers.base import Sampler, SampleRequest
from tunelab.samplers.sobol import SobolSampler
from tunelab.space import Fixed
from tunelab.trial import FrozenTrial

if TYPE_CHECKING:
    from tunelab.samplers.gp.planner import Fit

_PLANS_KEPT = 64
_FITS_KEPT = 16  # fits by model signature: one per objective and constraint
MIN_STARTUP = 5


def startup_size(n_params: int) -> int:
    """Default start-up trials: one quasi-random point per tuned parameter, at least
    `MIN_STARTUP`. The GP needs no large random design first: its length-scale prior
    scales with the dimension, and every start-up trial is one the model does not steer.
    Measured on Hartmann-6 (6 parameters, seeds 0-19, benchmarks/RESULTS.md): with 10
    start-up trials 9 of 20 runs settled in a local minimum and the median regret at 50
    trials was 0.12; with 6, 5 of 20 and 0.007. Ten parameters keep the old 10 (Levy-10
    unchanged); more parameters get more."""
    return max(MIN_STARTUP, n_params)


def _trial_id(history: Sequence[FrozenTrial], number: int) -> int | None:
    for t in reversed(history):  # the trial being planned is usually the newest
        if t.number == number:
            return t.trial_id
    return None


def _constrained(history: Sequence[FrozenTrial]) -> bool:
    """Whether some finished trial holds constraint values (then feasibility is modelled)."""
    return any(t.constraints for t in history if t.state.is_finished)


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigurationError(f"{name} must be an int >= {low}, but got {name}={value!r}")
    return int(value)


class GPSampler(Sampler):
    """Gaussian-process Bayesian optimisation (Matérn-5/2 ARD kernel, log EI; log EHVI
    for several objectives; times P(feasible) with constraints).

    Args:
        seed: Seeds the Sobol' points and the acquisition's optimisation; None for fresh
            entropy.
        n_startup_trials: Finished trials to collect (by Sobol') before the GP takes over;
            None (the default): one per tuned parameter, at least 5 (`startup_size`).
        n_restarts: Local optimisations of the acquisition, from its best candidates.
        n_candidates: Quasi-random points scored before local optimisation (fewer once the
            model trains on more than 150 trials: see planner.screening_size).
        max_train: Most trials the GP trains on (the best half plus the most recent).
        deterministic_objective: The objective has no noise (noise variance fixed near 0).
    """

    name = "gp"
    needs_history = True
    multi_objective = True  # one GP per objective, log EHVI (multi_planner.py)
    reads_feasibility = True  # one GP per constraint, log P(feasible) (feasibility.py)

    def __init__(
        self,
        seed: int | None = None,
        n_startup_trials: int | None = None,
        n_restarts: int = 10,
        n_candidates: int = 2048,
        max_train: int = 500,
        deterministic_objective: bool = False,
    ) -> None:
        super().__init__(seed)
        self.n_startup_trials = (
            None
            if n_startup_trials is None
            else _check_int("n_startup_trials", n_startup_trials, 0)
        )
        self.n_restarts = _check_int("n_restarts", n_restarts, 1)
        self.n_candidates = _check_int("n_candidates", n_candidates, 1)
        self.max_train = _check_int("max_train", max_train, 2)
        if not isinstance(deterministic_objective, bool):
            raise ConfigurationError(
                "deterministic_objective must be True or False, but got "
                f"deterministic_objective={deterministic_objective!r}"
            )
        self.deterministic_objective = deterministic_objective
        self._sobol: SobolSampler | None = None
        self._plans: OrderedDict[tuple[int, int | None], dict[str, Any]] = OrderedDict()
        self._fits: OrderedDict[tuple[Any, ...], Fit] = OrderedDict()

    # -- the sampler contract ----------------------------------------------------------------
    def sample(self, request: SampleRequest) -> Any:
        if isinstance(request.param, Fixed):
            return request.param.value
        planned = self._plan(request)
        if request.param.name in planned:
            return planned[request.param.name]
        return self._fallback().sample(request)

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "n_startup_trials": self.n_startup_trials,
            "n_restarts": self.n_restarts,
            "n_candidates": self.n_candidates,
            "max_train": self.max_train,
            "deterministic_objective": self.deterministic_objective,
        }

    @classmethod
    def from_json(cls, config: Mapping[str, Any]) -> GPSampler:
        """Rebuild from `to_json()` (how worker processes reopen a study's sampler)."""
        if config.get("name", cls.name) != cls.name:
            raise ConfigurationError(
                f"{cls.__name__}.from_json needs name={cls.name!r}, but the config names sampler "
                f"{config.get('name')!r}; rebuild it with make_sampler(config)"
            )
        return cls(**{k: v for k, v in config.items() if k != "name"})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_json().items() if k != "name")
        return f"{type(self).__name__}({args})"

    # -- planning ----------------------------------------------------------------------------
    def _fallback(self) -> SobolSampler:
        if self._sobol is None:
            self._sobol = SobolSampler(seed=self.seed)
        return self._sobol

    def _plan(self, request: SampleRequest) -> dict[str, Any]:
        """The trial's plan, made at its first `sample` (or again if the trial already holds
        a value that contradicts it). Keyed by trial number and id, so a sampler shared by
        two studies does not hand one study's plan to the other's trial of the same number."""
        key = (request.trial_number, _trial_id(request.history, request.trial_number))
        cached = self._plans.get(key)
        if cached is not None and all(
            _same(v, cached[k]) for k, v in request.chosen.items() if k in cached
        ):
            return cached
        planned = self._make_plan(request)
        self._plans[key] = planned
        self._plans.move_to_end(key)
        while len(self._plans) > _PLANS_KEPT:
            self._plans.popitem(last=False)
        return planned

    def _make_plan(self, request: SampleRequest) -> dict[str, Any]:
        finished = sum(t.state.is_finished for t in request.history)
        startup = self.n_startup_trials
        if startup is None:
            startup = startup_size(sum(not isinstance(e.param, Fixed) for e in request.space))
        if finished < max(startup, 2):
            return {}
        from tunelab.samplers.fidelity import several_model_history
        from tunelab.samplers.gp.multi_planner import plan_many  # scipy: only when used
        from tunelab.samplers.gp.observations import learning_history
        from tunelab.samplers.gp.planner import PlanSettings, plan

        settings = PlanSettings(
            self.n_candidates, self.n_restarts, self.max_train, self.deterministic_objective
        )
        objectives = request.objectives or (
            Objective(request.metric or "value", request.direction),
        )
        history = request.history
        if len(objectives) == 1:  # once a scheduler stops trials: one fidelity's values
            history = learning_history(history, request.metric, request.direction)
        else:
            history = several_model_history(history, [o.metric for o in objectives])
        rng = self.rng(request.trial_number, "gp")
        args = (request.trial_number, request.chosen, rng, settings, self._fits)
        if len(objectives) > 1 or _constrained(request.history):
            result = plan_many(request.space, history, objectives, *args)
        else:
            result = plan(request.space, history, request.direction, *args)
        for signature, fit in result.fits:
            self._fits[signature] = fit
            self._fits.move_to_end(signature)
        while len(self._fits) > _FITS_KEPT:
            self._fits.popitem(last=False)
        return dict(result.values)
