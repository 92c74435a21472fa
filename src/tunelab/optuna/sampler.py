"""TunelabSampler: tunelab's search inside an Optuna study, by changing one argument:
`optuna.create_study(sampler=TunelabSampler())`.

Each Optuna study the sampler serves gets a private in-memory tunelab study that mirrors
it. Before a trial starts, Optuna's finished trials that the mirror lacks are replayed
into it (all of them the first time: an existing study is warm-started), and a tunelab
trial is asked for the new one. Every parameter the objective suggests is then asked of
that tunelab trial, in the objective's order: define-by-run, as in tunelab itself, so the
GP's joint plan (made at the first parameter, over every parameter seen so far) and TPE's
groups of co-occurring parameters work as they do there, conditional parameters included.
When the Optuna trial ends, its intermediate values, state and values end the tunelab
trial, which thereby holds exactly the values the objective used.

That is why the relative search space Optuna asks for is empty: sampling a fixed set of
parameters before the objective runs would give values to parameters a trial may never
use (a branch not taken), and the mirror would learn from values no objective saw.
"""

from __future__ import annotations

import threading
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial as OptunaTrial
from optuna.trial import TrialState as OptunaState

import tunelab
from tunelab.errors import ConfigurationError, SearchSpaceError
from tunelab.optuna.distributions import from_sampler_value, sampler_param, to_sampler_value
from tunelab.optuna.replay import FINISHED, finish, holds, objectives_of, replay
from tunelab.samplers import Sampler, make_sampler
from tunelab.space import Param


def _params(record: OptunaTrial) -> dict[str, tuple[Param, Any]]:
    """A trial's parameters in the sampler's form, with their values."""
    return {
        name: (sampler_param(name, dist), to_sampler_value(dist, record.params[name]))
        for name, dist in record.distributions.items()
    }


class _Mirror:
    """The private tunelab study that mirrors one Optuna study, and its running trials."""

    def __init__(self, study: optuna.Study, sampler: Sampler) -> None:
        self.study = tunelab.create_study(
            "optuna-mirror", storage=":memory:", sampler=sampler, **objectives_of(study)
        )
        self.mirrored: set[int] = set()  # Optuna trial numbers the mirror holds
        self.running: dict[int, tunelab.Trial] = {}  # Optuna trial number -> tunelab trial

    def catch_up(self, study: optuna.Study) -> None:
        """Replay the finished trials the mirror lacks, other workers' ones included."""
        for record in study.get_trials(deepcopy=False, states=FINISHED):
            if record.number in self.mirrored:
                continue
            trial = self.running.pop(record.number, None)  # ended without after_trial
            if trial is None:
                replay(self.study, record, _params(record))
            else:
                finish(self.study, trial, record, _params(record), record.state, record.values)
            self.mirrored.add(record.number)

    def start(self, record: OptunaTrial) -> None:
        """Ask a tunelab trial for the Optuna trial that is starting."""
        self.running[record.number] = self.study.ask()

    def suggest(self, number: int, name: str, dist: BaseDistribution) -> tuple[bool, Any]:
        """(True, value) from the running tunelab trial, or (False, None) where it cannot
        answer: no trial (another sampler started it) or a domain the name did not have."""
        trial = self.running.get(number)
        if trial is None:
            return False, None
        try:
            param = sampler_param(name, dist)
            if not holds(self.study, param):
                return False, None
            value = trial.hp.define(param)
        except SearchSpaceError:
            return False, None
        return True, from_sampler_value(dist, value)

    def end(self, record: OptunaTrial, state: OptunaState, values: Any) -> None:
        trial = self.running.pop(record.number, None)
        if trial is not None:
            finish(self.study, trial, record, _params(record), state, values)
            self.mirrored.add(record.number)


class TunelabSampler(optuna.samplers.BaseSampler):
    """tunelab's sampler as an Optuna sampler.

    `sampler`: "auto" (default: GP where it is strong, else TPE), "gp", "tpe", "random",
    "sobol", or a tunelab Sampler. Works for one or several objectives (as the tunelab
    sampler does) and for Optuna's pruned and failed trials, which it learns from as
    tunelab does. A parameter whose distribution changes from the one its name first had
    is drawn by Optuna's RandomSampler in those trials, and the mirror leaves it out.
    """

    def __init__(self, sampler: str | Sampler = "auto", seed: int | None = None) -> None:
        self._sampler = make_sampler(sampler, seed)
        if self._sampler.needs_lock:
            raise ConfigurationError(
                f"TunelabSampler cannot run tunelab's {self._sampler.name!r} sampler, which "
                "decides under a study lock; use Optuna's GridSampler, or 'auto', 'gp', 'tpe', "
                "'random' or 'sobol'"
            )
        self._random = optuna.samplers.RandomSampler(seed=seed)
        self._lock = threading.Lock()  # Optuna's n_jobs runs trials in threads
        self._mirrors: dict[str, _Mirror] = {}

    def __repr__(self) -> str:
        return f"TunelabSampler({self._sampler!r})"

    def mirror_of(self, study: optuna.Study) -> tunelab.Study | None:
        """The in-memory tunelab study that mirrors `study` (None before its first trial),
        to look at what the tunelab sampler learns from; a categorical parameter holds its
        choice's index there."""
        mirror = self._mirrors.get(study.study_name)
        return None if mirror is None else mirror.study

    def _mirror(self, study: optuna.Study) -> _Mirror:
        mirror = self._mirrors.get(study.study_name)
        if mirror is None:
            mirror = self._mirrors[study.study_name] = _Mirror(study, self._sampler)
        return mirror

    def before_trial(self, study: optuna.Study, trial: OptunaTrial) -> None:
        """Start mirroring the Optuna trial as a tunelab trial (Optuna calls this)."""
        with self._lock:
            mirror = self._mirror(study)
            mirror.catch_up(study)
            mirror.start(trial)

    def infer_relative_search_space(
        self, study: optuna.Study, trial: OptunaTrial
    ) -> dict[str, BaseDistribution]:
        """Empty: every parameter is asked when the objective suggests it (module doc)."""
        return {}

    def sample_relative(
        self,
        study: optuna.Study,
        trial: OptunaTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        """Empty: every parameter is sampled when the objective suggests it."""
        return {}

    def sample_independent(
        self,
        study: optuna.Study,
        trial: OptunaTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        """The tunelab sampler's value for `param_name` (Optuna calls this on each `trial.suggest_*`)."""
        with self._lock:
            mirror = self._mirrors.get(study.study_name)
            if mirror is not None:
                answered, value = mirror.suggest(trial.number, param_name, param_distribution)
                if answered:
                    return value
        return self._random.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: optuna.Study,
        trial: OptunaTrial,
        state: OptunaState,
        values: Any,
    ) -> None:
        """Record the finished Optuna trial in the mirror, so later suggestions learn from it."""
        with self._lock:
            mirror = self._mirrors.get(study.study_name)
            if mirror is not None:
                mirror.end(trial, state, values)

    def reseed_rng(self) -> None:
        """Nothing to do: tunelab draws from (seed, trial number, parameter name)."""
        self._random.reseed_rng()
