"""Population-based training (Jaderberg et al. 2017): a population of resumable trials
trains in intervals of `interval` reports and pauses at each interval's end. When a
paused trial is resumed, and its value at that step is in the bottom `quantile` of the
trials that reached the step, it *exploits* a top-quantile trial (goes on from a copy of
that trial's checkpoint of the same step, with its hyperparameters) and *explores*:
each mutable hyperparameter is multiplied by a factor from `perturb` (clipped to its
range) or, with `resample_probability`, drawn afresh; a categorical one moves to a
neighbouring choice or is drawn afresh.

This module decides (who is the parent, which values follow); the study copies the
checkpoint and records the change (tunelab.study.pbt)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tunelab.errors import ConfigurationError
from tunelab.schedulers.base import Scheduler
from tunelab.schedulers.decision import (
    GO_ON,
    ExploitRequest,
    PruneRequest,
    ResumeRequest,
    Verdict,
    check_int,
)
from tunelab.space import Boolean, Choice, Fixed, Float, Int, Param, SearchSpace
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

# What `tunelab.torch.fit` reads afresh when a trial resumes: the default mutable set.
TRAINING_KNOBS = ("learning_rate", "base_learning_rate", "weight_decay", "momentum")
# The system attribute holding the values a trial trained with, from which step, whose
# weights: [{"step", "params", "parent"}] (written by tunelab.study.pbt, read by PB2).
SCHEDULE_ATTR = "schedule"
_ALIVE = (TrialState.RUNNING, TrialState.PAUSED)  # enqueued ones join as they start


class PBTScheduler(Scheduler):
    """Population-based training: `population_size` resumable trials train in intervals
    of `interval` reports; at each interval's end the bottom `quantile` go on from a top
    trial's checkpoint with its values, perturbed by a factor from `perturb` or resampled
    with `resample_probability`. `hyperparams` names what may change (None: the training
    knobs fit() reads afresh on resume: learning_rate, weight_decay, momentum)."""

    name = "pbt"
    pauses = True
    requires_resume = True

    def __init__(
        self,
        population_size: int = 8,
        interval: int = 4,
        quantile: float = 0.25,
        perturb: Sequence[float] = (0.8, 1.2),
        resample_probability: float = 0.25,
        hyperparams: Sequence[str] | None = None,
        seed: int = 0,
        rules: Any = (),
    ) -> None:
        super().__init__(rules)
        self.population_size = check_int("population_size", population_size, 2)
        self.interval = check_int("interval", interval, 1)
        self.quantile = _fraction("quantile", quantile, upper=0.5)
        if self.quantile == 0.0:
            raise ConfigurationError("quantile must be > 0 (0.25: the bottom quarter exploits)")
        self.resample_probability = _fraction("resample_probability", resample_probability, 1.0)
        if isinstance(perturb, str | bytes) or not isinstance(perturb, Sequence) or not perturb:
            raise ConfigurationError(f"perturb must be a list of factors, but got {perturb!r}")
        for factor in perturb:
            if isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0:
                raise ConfigurationError(
                    f"perturb factors must be positive numbers, e.g. (0.8, 1.2), but got {factor!r}"
                )
        self.perturb = tuple(float(f) for f in perturb)
        if hyperparams is not None and (
            isinstance(hyperparams, str) or not all(isinstance(h, str) and h for h in hyperparams)
        ):
            raise ConfigurationError(
                f"hyperparams must be a list of parameter names, but got {hyperparams!r}"
            )
        self.hyperparams = None if hyperparams is None else tuple(hyperparams)
        self.seed = check_int("seed", seed, 0)

    def config(self) -> dict[str, Any]:
        return {
            "population_size": self.population_size,
            "interval": self.interval,
            "quantile": self.quantile,
            "perturb": list(self.perturb),
            "resample_probability": self.resample_probability,
            "hyperparams": None if self.hyperparams is None else list(self.hyperparams),
            "seed": self.seed,
        }

    def needs_history(self, step: int, previous_step: int | None) -> bool:
        return False

    def rank_decision(self, request: PruneRequest) -> Verdict:
        return GO_ON  # it pauses and exploits instead of stopping; curve rules may stop

    def pause_due(self, steps_this_run: int) -> bool:
        return steps_this_run >= self.interval

    def check_budget(self, budget: int | None) -> None:
        """A population needs that many configurations: refuse a smaller budget."""
        if budget is not None and budget < self.population_size:
            raise ConfigurationError(
                f"scheduler {self.name!r} trains a population of {self.population_size} trials, but "
                f"the study's budget is {budget} trials; pass n_trials >= {self.population_size} "
                f"or a smaller population_size"
            )

    def choose_resume(self, request: ResumeRequest) -> int | None:
        """New trials until the population is full; then the paused trial furthest behind
        (the population moves on together, so each comparison has peers at its step)."""
        alive = sum(t.state in _ALIVE for t in request.history)
        if not request.budget_spent and alive < self.population_size:
            return None
        if not request.paused:
            return None
        behind = min(request.paused, key=lambda t: (t.last_step or 0, t.number))
        return behind.number

    # -- exploit and explore ------------------------------------------------------------
    def mutable(self, space: SearchSpace) -> list[str]:
        """The names PBT may change, checked against the study's space."""
        if self.hyperparams is None:
            names = [n for n in TRAINING_KNOBS if n in space and not isinstance(space[n], Fixed)]
            if not names:
                raise ConfigurationError(
                    f"scheduler {self.name!r} found none of the training hyperparameters it "
                    "changes by "
                    f"default ({', '.join(TRAINING_KNOBS)}) in the study; name the ones it may "
                    "change: hyperparams=['lr', ...] (PBTScheduler(hyperparams=...) or "
                    f"scheduler={{'name': {self.name!r}, 'hyperparams': [...]}})"
                )
            return names
        label = f"{self.name.upper()} hyperparameter"
        for name in self.hyperparams:
            if name not in space:
                raise ConfigurationError(
                    f"{label} {name!r} is not a hyperparameter of the study (it has "
                    f"{', '.join(space.names()) or 'none yet'}); fix hyperparams=[...]"
                )
            if isinstance(space[name], Fixed):
                raise ConfigurationError(
                    f"{label} {name!r} is fixed ({space[name].describe()}), so it cannot be "
                    "perturbed; give it a range or leave it out of hyperparams"
                )
            if isinstance(space[name], Boolean) and self.resample_probability == 0.0:
                raise ConfigurationError(
                    f"{label} {name!r} is a Boolean, which has no neighbour to move to: it "
                    "changes only when resampled, and resample_probability is 0; raise "
                    "resample_probability or leave it out of hyperparams"
                )
        return list(self.hyperparams)

    def parents(
        self,
        trial: FrozenTrial,
        history: Sequence[FrozenTrial],
        metric: str,
        direction: Direction,
    ) -> list[int]:
        """The trials whose checkpoint `trial` should take (the first that kept it): the
        top quantile in a seeded random order, then the rest of the upper half, best
        first, when its value at its last step is in the bottom quantile of the
        population's values at that step (a trial still short of it counts with its
        latest value, so a trial resumed first is not left alone); [] when it goes on
        as it is."""
        step = trial.last_step
        if step is None:
            return []
        sign = 1.0 if direction is Direction.MAXIMIZE else -1.0
        peers: dict[int, float] = {}
        for t in history:
            value = _value_at(t, metric, step)
            if t.state is not TrialState.FAIL and value is not None and math.isfinite(value):
                peers[t.number] = sign * value
        k = min(math.ceil(len(peers) * self.quantile), len(peers) // 2)  # a top and a bottom
        if k == 0 or trial.number not in peers:
            return []
        ranked = sorted(peers, key=lambda n: (peers[n], -n))  # worst first
        if trial.number not in ranked[:k]:
            return []
        top = [n for n in ranked[-k:] if n != trial.number]
        order = self.rng(trial.number, step).permutation(len(top))
        # then the rest of the upper half, best first: a top trial still running has not
        # kept its checkpoint of this step yet
        upper = [n for n in reversed(ranked[len(ranked) - len(ranked) // 2 :]) if n not in top]
        return [top[i] for i in order] + upper

    def rng(self, number: int, step: int) -> np.random.Generator:
        """The seeded generator of one trial's decision at one step (the same in any worker)."""
        return np.random.default_rng([self.seed, number, step])

    def new_values(self, request: ExploitRequest) -> dict[str, Any]:
        """The values a bottom trial goes on with once it takes the parent's weights: the
        parent's values, explored (PB2 chooses the numeric ones from the history)."""
        trial, space = request.trial, request.space
        rng = self.rng(trial.number, trial.last_step or 0)
        return self.explore(request.parent.params, self.mutable(space), space, rng)

    def explore(
        self, params: Mapping[str, Any], names: Sequence[str], space: SearchSpace, rng: Any
    ) -> dict[str, Any]:
        """`params` with each of `names` perturbed or resampled (see the module doc)."""
        out = dict(params)
        for name in names:
            if name in out:
                out[name] = self._explore_one(space[name], out[name], rng)
        return out

    def _explore_one(self, param: Param, value: Any, rng: np.random.Generator) -> Any:
        if rng.random() < self.resample_probability:
            return param.from_unit(float(rng.random()))
        if isinstance(param, Float | Int):
            factor = self.perturb[int(rng.integers(len(self.perturb)))]
            moved = min(max(float(value) * factor, param.min_value), param.max_value)
            return param.from_unit(param.to_unit(moved))  # on the parameter's own grid
        if isinstance(param, Choice):
            values = param.grid_values()
            i = values.index(param.canonical(value)) + int(rng.choice((-1, 1)))
            return values[min(max(i, 0), len(values) - 1)]
        return value  # a Boolean has no neighbour: it changes by resampling only


def _value_at(trial: FrozenTrial, metric: str, step: int) -> float | None:
    """The trial's value at `step`, or its latest before it (None without one)."""
    curve = trial.intermediate(metric)
    if step in curve:
        return curve[step]
    earlier = [s for s in curve if s < step]
    return curve[max(earlier)] if earlier else None


def _fraction(label: str, value: Any, upper: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(f"{label} must be a number, but got {value!r}")
    if not 0.0 <= value <= upper:
        raise ConfigurationError(f"{label} must lie in [0, {upper}], but got {value!r}")
    return float(value)
