"""Tree-structured Parzen estimator (Bergstra et al. 2011; Watanabe 2023).

TPE ranks the finished trials, fits one density l(x) to the good ones and one g(x) to
the rest, draws candidates from l(x) and keeps the one that maximises l(x) / g(x),
the expected-improvement criterion for this model. The first `n_startup_trials` trials
come from a scrambled Sobol' sequence instead. Which trials are good is split.py's
business (one objective, constraints) and mo_split.py's (several objectives, MOTPE).

Define-by-run spaces. A trial holds only the parameters its code asked for. With
`multivariate=True` the parameters are split into groups that always occur together
(`groups.py`); at a trial's first `sample` call the sampler draws one joint value per
group from the trials that hold it (l and g are product-kernel mixtures, so
correlations such as learning rate vs batch size are kept) and remembers this *plan*;
each parameter takes its planned value when the code asks for it. A group whose
condition is not met in this trial is simply never asked. (Until the trial has taken a
planned value the plan is drawn afresh at each call; with the same history and the same
generator it comes out the same, and a stale plan can never leak into a new trial.) A
parameter outside the plan (first seen now, or only in failed trials) falls back to
univariate TPE over the trials that hold it, as does every parameter with
`multivariate=False` (Watanabe's "independent by parameter" treatment of conditional
parameters).

Every draw uses a generator seeded by (seed, trial number, what is drawn), and the plan
depends only on the history, so a seeded study repeats exactly and a rebuilt sampler in
another worker agrees.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunelab.errors import ConfigurationError
from tunelab.samplers._blas import one_blas_thread
from tunelab.samplers.base import Sampler, SampleRequest
from tunelab.samplers.fidelity import model_history, several_model_history, stopped_by_scheduler
from tunelab.samplers.sobol import SobolSampler
from tunelab.samplers.tpe.observations import KeptHistory, Observations, model_dim
from tunelab.samplers.tpe.parzen import ParzenEstimator, log_density_ratio
from tunelab.samplers.tpe.split import Kind
from tunelab.space import AxisKind, Fixed, Param
from tunelab.space.encoding import snap
from tunelab.trial import FrozenTrial

_MAX_PLANS = 64  # trials planned but not yet finished by this process
_U64 = 2**64 - 1


@dataclass(frozen=True)
class _Plan:
    """Jointly drawn values for one trial. It is in use once the trial took one of them."""

    trial_id: int | None
    values: Mapping[str, Any]

    def in_use(self, trial_id: int | None, chosen: Mapping[str, Any]) -> bool:
        if trial_id != self.trial_id:
            return False
        return any(
            name in chosen and type(chosen[name]) is type(v) and chosen[name] == v
            for name, v in self.values.items()
        )


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigurationError(f"{name} must be an int >= {low}, but got {name}={value!r}")
    return int(value)


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigurationError(f"{name} must be True or False, but got {name}={value!r}")
    return bool(value)


def _check_float(name: str, value: Any, rule: str, ok: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not ok:
        raise ConfigurationError(f"{name} must be {rule}, but got {name}={value!r}")
    return float(value)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def _current_trial_id(history: Sequence[FrozenTrial], number: int) -> int | None:
    for t in reversed(history):  # the trial being sampled is usually the newest
        if t.number == number:
            return t.trial_id
    return None


class TPESampler(Sampler):
    """Tree-structured Parzen estimator over mixed, conditional, define-by-run spaces.

    Args:
        seed: Seeds every draw, so a seeded study repeats exactly; None for fresh entropy.
        n_startup_trials: Trials drawn from a scrambled Sobol' sequence before TPE starts.
        n_ei_candidates: Candidates drawn from the good trials' density per decision; the
            one with the best ratio of good to bad density wins.
        multivariate: Draw parameters that always occur together jointly (keeping
            correlations such as learning rate vs batch size); False: one at a time.
        gamma: The good trials are the best ceil(gamma * n) of the n ranked ones (at most
            25), as in Bergstra et al. and Watanabe (2023); with several objectives, by
            Pareto front and hypervolume (MOTPE, mo_split.py); trials that broke a
            constraint rank after the others, least violating first (c-TPE, split.py).
        prior_weight: Weight of the uniform prior component in l and g (each trial
            weighs 1).
        consider_endpoints: Let the bounds narrow the outermost kernels (univariate
            bandwidths only).
        constant_liar: Count other workers' running trials as bad observations, so
            parallel workers spread out.
    """

    name = "tpe"
    needs_history = True
    multi_objective = True  # several objectives rank by Pareto front (mo_split.py)
    reads_feasibility = True  # infeasible trials rank after feasible ones (split.py)

    def __init__(
        self,
        seed: int | None = None,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        multivariate: bool = True,
        gamma: float = 0.1,
        prior_weight: float = 1.0,
        consider_endpoints: bool = False,
        constant_liar: bool = True,
    ) -> None:
        super().__init__(seed)
        self.n_startup_trials = _check_int("n_startup_trials", n_startup_trials, 0)
        self.n_ei_candidates = _check_int("n_ei_candidates", n_ei_candidates, 1)
        self.multivariate = _check_bool("multivariate", multivariate)
        self.gamma = _check_float(
            "gamma",
            gamma,
            "a number in (0, 1] (the fraction of ranked trials counted as good)",
            _is_real(gamma) and 0.0 < float(gamma) <= 1.0,
        )
        self.prior_weight = _check_float(
            "prior_weight",
            prior_weight,
            "a finite number > 0",
            _is_real(prior_weight) and math.isfinite(prior_weight) and prior_weight > 0,
        )
        self.consider_endpoints = _check_bool("consider_endpoints", consider_endpoints)
        self.constant_liar = _check_bool("constant_liar", constant_liar)
        self._startup = SobolSampler(seed=self.seed)
        # working state, never saved: plans by trial number, the history's coordinates
        self._plans: dict[int, _Plan] = {}
        self._kept = KeptHistory()
        self._kept_learnt = KeptHistory()  # the same for the view a scheduler's pruning gives

    # -- configuration -----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "n_startup_trials": self.n_startup_trials,
            "n_ei_candidates": self.n_ei_candidates,
            "multivariate": self.multivariate,
            "gamma": self.gamma,
            "prior_weight": self.prior_weight,
            "consider_endpoints": self.consider_endpoints,
            "constant_liar": self.constant_liar,
        }

    @classmethod
    def from_json(cls, config: Mapping[str, Any]) -> TPESampler:
        """Rebuild a sampler from `to_json()` output."""
        args = {k: v for k, v in config.items() if k != "name"}
        if config.get("name", cls.name) != cls.name:
            raise ConfigurationError(
                f"config names sampler {config.get('name')!r}, not {cls.name!r}"
            )
        return cls(**args)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_json().items() if k != "name")
        return f"{type(self).__name__}({args})"

    # -- sampling ------------------------------------------------------------------------------
    def sample(self, request: SampleRequest) -> Any:
        number, param = request.trial_number, request.param
        if isinstance(param, Fixed):
            return param.value  # nothing to choose (the study never asks for these)
        trial_id = _current_trial_id(request.history, number)
        plan = self._plans.get(number) if self.multivariate else None
        if plan is not None and param.name in plan.values and plan.in_use(trial_id, request.chosen):
            return plan.values[param.name]
        seen = self._observe(request)
        if seen.ranking.n_valued < self.n_startup_trials:
            return self._startup.sample(request)
        with one_blas_thread():
            if self.multivariate:
                values = self._plan(seen, request)
                self._remember(number, trial_id, values)
                if param.name in values:
                    return values[param.name]
            names = seen.names
            columns = [names.index(param.name)] if param.name in names else []
            rng = self.stream(number, param.name)
            return self._suggest([param], seen, columns, rng)[0]

    def stream(self, number: int, name: str) -> np.random.Generator:
        """The draws for (trial number, what is drawn), as `Sampler.rng` promises: a
        counter-based generator (Philox) keyed by the seed and the name, the trial number
        in its counter's top word (cheaper to build than a seed sequence)."""
        seed = self.seed
        key = [seed & _U64, ((seed >> 64) & 0xFFFFFFFF) << 32 | zlib.crc32(name.encode())]
        return np.random.Generator(np.random.Philox(counter=[0, 0, 0, number & _U64], key=key))

    def _observe(self, request: SampleRequest) -> Observations:
        several = len(request.objectives) > 1
        seen = Observations.of(
            # several objectives: the trials at one rung step once a scheduler stops trials
            several_model_history(request.history, [o.metric for o in request.objectives])
            if several
            else request.history,
            request.space,
            request.direction,
            self.gamma,
            request.trial_number,
            self.constant_liar,
            self._kept,
            request.objectives,
        )
        if several:
            return seen
        pruned = np.flatnonzero(seen.trials.kind == Kind.PRUNED.value).tolist()
        if request.metric is None or not any(
            stopped_by_scheduler(request.history[i]) for i in pruned
        ):
            return seen
        # Once a scheduler has stopped trials, values at different steps are not comparable:
        # as BOHB does, the model ranks the trials that reached the highest step enough
        # finished trials reached, each by its value there (samplers/fidelity.py). Unlike
        # BOHB it keeps the pruned trials that stopped before that step: they lost a
        # comparison at their rung, so they rank after every valued trial (split.py), where
        # a model that never saw them would sample their region again.
        learnt = model_history(request.history, request.metric, request.direction)
        return Observations.of(
            learnt,
            request.space,
            request.direction,
            self.gamma,
            request.trial_number,
            self.constant_liar,
            self._kept_learnt,  # its records are new where a value at the step replaced one
        )

    def _plan(self, seen: Observations, request: SampleRequest) -> dict[str, Any]:
        """One joint draw per group of parameters held by the same trials."""
        rng = self.stream(request.trial_number, "tpe:joint")
        values: dict[str, Any] = {}
        for group in seen.groups():
            params = [request.space[seen.names[j]] for j in group]
            chosen = self._suggest(params, seen, list(group), rng)
            values.update(zip((p.name for p in params), chosen, strict=True))
        return values

    def _remember(self, number: int, trial_id: int | None, values: Mapping[str, Any]) -> None:
        if len(self._plans) >= _MAX_PLANS:
            del self._plans[next(iter(self._plans))]  # the oldest
        self._plans[number] = _Plan(trial_id, values)

    def _suggest(
        self,
        params: Sequence[Param],
        seen: Observations,
        columns: list[int],
        rng: np.random.Generator,
    ) -> list[Any]:
        """One TPE step for `params` (the coordinate `columns`) jointly: the candidate from
        l(x) with the best l(x) / g(x)."""
        dims = [model_dim(p) for p in params]
        if columns:
            good, bad = seen.split(columns)
        else:  # a parameter no trial holds yet: l and g are the prior
            good = bad = np.empty((0, len(params)))
        rule = "scott" if self.multivariate else "neighbour"
        l_x, g_x = (
            ParzenEstimator(points, dims, self.prior_weight, rule, self.consider_endpoints)
            for points in (good, bad)
        )
        candidates = l_x.sample(rng, self.n_ei_candidates)
        for j, p in enumerate(params):
            if p.axis is AxisKind.ROUNDED:  # an Int on a log scale: onto its integers
                candidates[:, j] = snap(p, candidates[:, j])
        score = log_density_ratio(l_x, g_x, candidates)
        if seen.several and len(columns) == seen.coordinates.shape[1]:
            fresh = ~seen.evaluated(candidates)  # see Observations.evaluated
            if fresh.any():
                score = np.where(fresh, score, -np.inf)
        best = candidates[int(score.argmax())]
        return [p.from_unit(u) for p, u in zip(params, best.tolist(), strict=True)]
