"""Tree-structured Parzen estimator (Bergstra et al. 2011; Watanabe 2023).

TPE ranks the finished trials, fits one density l(x) to the good ones and one g(x) to
the rest, draws candidates from l(x) and keeps the one that maximises l(x) / g(x),
the expected-improvement criterion for this model. The first `n_startup_trials` trials
come from a scrambled Sobol' sequence instead.

Define-by-run spaces. A trial holds only the parameters its code asked for. With
`multivariate=True` the parameters are split into groups that always occur together
(`groups.py`); at a trial's first `sample` call the sampler draws one joint value per
group from the trials that hold it (l and g are product-kernel mixtures, so
correlations such as learning rate vs batch size are kept) and remembers this *plan*;
each parameter takes its planned value when the code asks for it. A group whose
condition is not met in this trial is simply never asked. (Until the trial has taken a
planned value the plan is drawn afresh at each call; with the same history and the same
generator it comes out the same, and a stale plan can never leak into a new trial.) A parameter outside the plan
(first seen now, or only in failed trials) falls back to univariate TPE over the trials
that hold it, as does every parameter with `multivariate=False` (Watanabe's
"independent by parameter" treatment of conditional parameters).

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

from tunelab.samplers._blas import one_blas_thread
from tunelab.samplers.base import Sampler, SampleRequest
from tunelab.samplers.fidelity import learning_view, stopped_by_scheduler
from tunelab.samplers.sobol import SobolSampler
from tunelab.samplers.tpe.encoding import Encoder, is_rounded
from tunelab.samplers.tpe.groups import co_occurring_groups
from tunelab.samplers.tpe.parzen import (
    ParzenEstimator,
    PointSet,
    fit_estimators,
    log_density_ratio,
)
from tunelab.samplers.tpe.split import n_good
from tunelab.samplers.tpe.table import HistoryTable
from tunelab.space import Fixed, Param, SearchSpace
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


@dataclass(frozen=True)
class _Observed:
    """The history as the model sees it: every trial's coordinates (NaN where it lacks a
    parameter) and kernel basis (parzen.py), which rows are good and ranked (good first),
    which are bad (a mask), and the failed and pending rows (bad whatever their rank)."""

    columns: list[str]
    coordinates: np.ndarray
    basis: np.ndarray
    good: np.ndarray
    bad: np.ndarray
    ranked: np.ndarray
    failed: np.ndarray
    pending: np.ndarray
    n_valued: int
    complete: bool  # every good and bad trial holds every column (no conditional ones)

    def groups(self) -> list[tuple[int, ...]]:
        """Columns that the same ranked trials hold (groups.py); all of them, usually."""
        if self.complete:
            return [tuple(range(len(self.columns)))] if len(self.ranked) and self.columns else []
        return co_occurring_groups(~np.isnan(np.take(self.coordinates, self.ranked, axis=0)))


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, but got {name}={value!r}")
    return int(value)


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, but got {name}={value!r}")
    return bool(value)


def _check_float(name: str, value: Any, rule: str, ok: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not ok:
        raise ValueError(f"{name} must be {rule}, but got {name}={value!r}")
    return float(value)


def _current_trial_id(history: Sequence[FrozenTrial], number: int) -> int | None:
    for t in reversed(history):  # the trial being sampled is usually the newest
        if t.number == number:
            return t.trial_id
    return None


class _PrunedScan:
    """Whether any trial of the history was stopped by a scheduler, without walking a
    thousand records at every suggestion: finished records never change, so the scan
    resumes after the longest finished prefix it has already read."""

    def __init__(self) -> None:
        self._first: int | None = None  # trial id of history[0]: the study scanned
        self._upto = 0  # history[:upto] is finished and was read
        self._found = False

    def __call__(self, history: Sequence[FrozenTrial]) -> bool:
        if not history:
            return False
        if history[0].trial_id != self._first or self._upto > len(history):
            self._first, self._upto, self._found = history[0].trial_id, 0, False
        i = self._upto
        while not self._found and i < len(history) and history[i].state.is_finished:
            self._found = stopped_by_scheduler(history[i])
            i += 1
        self._upto = i
        return self._found or any(stopped_by_scheduler(t) for t in history[i:])


class TPESampler(Sampler):
    """Tree-structured Parzen estimator over mixed, conditional, define-by-run spaces.

    gamma: the good trials are the best ceil(gamma * n) of the n ranked ones (at most 25),
    as in Bergstra et al. and Watanabe (2023). prior_weight: weight of the uniform prior
    component in l and g (each trial weighs 1). consider_endpoints: let the bounds narrow
    the outermost kernels (univariate bandwidths only). constant_liar: count other
    workers' running trials as bad observations, so parallel workers spread out.
    """

    name = "tpe"
    needs_history = True

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
            isinstance(gamma, (int, float, np.number)) and 0.0 < float(gamma) <= 1.0,
        )
        self.prior_weight = _check_float(
            "prior_weight",
            prior_weight,
            "a finite number > 0",
            isinstance(prior_weight, (int, float, np.number))
            and math.isfinite(float(prior_weight))
            and float(prior_weight) > 0.0,
        )
        self.consider_endpoints = _check_bool("consider_endpoints", consider_endpoints)
        self.constant_liar = _check_bool("constant_liar", constant_liar)
        # Working state, not configuration: rebuilt on demand, never saved.
        self._startup: SobolSampler | None = None
        self._encoder = Encoder()
        self._plans: dict[int, _Plan] = {}
        self._table = HistoryTable()
        self._pruned = _PrunedScan()
        self._good_estimators: dict[tuple[int, ...], ParzenEstimator] = {}  # by columns
        self._generator: np.random.Generator | None = None  # see _stream
        self._philox_state: dict[str, Any] = {}
        self._memo: tuple[SearchSpace, Sequence[FrozenTrial], tuple[Any, ...], _Observed] | None = (
            None
        )

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
            raise ValueError(f"config names sampler {config.get('name')!r}, not {cls.name!r}")
        return cls(**args)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_json().items() if k != "name")
        return f"{type(self).__name__}({args})"

    # -- sampling ------------------------------------------------------------------------------
    def sample(self, request: SampleRequest) -> Any:
        number, name = request.trial_number, request.param.name
        if isinstance(request.param, Fixed):
            return request.param.value  # nothing to choose (the study never asks for these)
        if self.multivariate:
            plan = self._plans.get(number)
            if plan is not None and name in plan.values:
                trial_id = _current_trial_id(request.history, number)
                if plan.in_use(trial_id, request.chosen):
                    return plan.values[name]
        seen = self._observe(request)
        if seen.n_valued < self.n_startup_trials:
            if self._startup is None:
                self._startup = SobolSampler(seed=self.seed)
            return self._startup.sample(request)
        if self.multivariate:
            rng = self._stream(number, "tpe:joint")
            values: dict[str, Any] = {}
            with one_blas_thread():
                for group in seen.groups():
                    params = [request.space[seen.columns[j]] for j in group]
                    chosen = self._suggest(params, seen, list(group), rng)
                    values.update(zip((p.name for p in params), chosen, strict=True))
            self._remember(number, _current_trial_id(request.history, number), values)
            if name in values:
                return values[name]
        index = [seen.columns.index(name)] if name in seen.columns else []
        with one_blas_thread():
            return self._suggest([request.param], seen, index, self._stream(number, name))[0]

    def _stream(self, number: int, name: str) -> np.random.Generator:
        """The draws for (trial number, what is drawn), as `rng` promises, from a
        counter-based generator (Philox) keyed by the seed and the name, the trial number
        in its counter's top word: a suggestion resets one kept generator instead of
        building a seed sequence (~70 µs with cold caches, a tenth of the model's cost)."""
        if self._generator is None:
            self._generator = np.random.Generator(np.random.Philox(key=0))
            counter, key = np.zeros(4, dtype=np.uint64), np.zeros(2, dtype=np.uint64)
            self._philox_state = {
                "bit_generator": "Philox",
                "state": {"counter": counter, "key": key},
                "buffer": np.zeros(4, dtype=np.uint64),
                "buffer_pos": 4,
                "has_uint32": 0,
                "uinteger": 0,
            }
        state = self._philox_state  # its arrays are read, not kept, by the generator
        seed = self.seed
        state["state"]["counter"][3] = number & _U64
        key = state["state"]["key"]
        key[0] = seed & _U64
        key[1] = ((seed >> 64) & 0xFFFFFFFF) << 32 | zlib.crc32(name.encode())
        self._generator.bit_generator.state = state
        return self._generator

    def _observe(self, request: SampleRequest) -> _Observed:
        """Split (as `split_trials` says) and encode the history. The table keeps what
        it learnt of each trial, so a suggestion re-reads only the trials that changed;
        the same history object for the same trial (one `sample` call per parameter)
        is answered from memory."""
        history = request.history
        key = (request.trial_number, request.direction)
        memo = self._memo
        if memo is not None and memo[0] is request.space and memo[1] is history and memo[2] == key:
            return memo[3]
        self._encoder.use_space(request.space)
        # Once a scheduler has stopped trials, values at different steps are not comparable:
        # as BOHB does, the model ranks the trials that reached the highest step enough
        # finished trials reached, each by its value there (samplers/fidelity.py). Unlike
        # BOHB it keeps the pruned trials that stopped before that step: they lost a
        # comparison at their rung, so they rank after every valued trial (split.py), where
        # a model that never saw them would sample their region again.
        learnt = learning_view(
            request.history, request.metric, request.direction, stopped=self._pruned
        )
        self._table.update(learnt, self._encoder, request.space)
        ranked = self._table.rank(
            request.direction, self.gamma, request.trial_number, self.constant_liar
        )
        table = self._table
        seen = _Observed(
            self._encoder.columns,
            table.coordinates,
            table.basis,
            ranked.good,
            ranked.bad_mask,
            ranked.ranked,
            ranked.failed,
            ranked.pending,
            ranked.n_valued,
            table.holds_every_column(ranked),
        )
        self._memo = (request.space, history, key, seen)
        return seen

    def _split(self, seen: _Observed, columns: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the good and the bad trials for some columns, ranked among the trials
        that hold them. For parameters every trial has this is the study-wide split; for a
        conditional one (momentum, asked only under optimizer="sgd") the best of the sgd
        trials are its good points, even when no sgd trial is among the study's best:
        otherwise its l(x) would be the bare prior and the branch would never be tuned.
        Failed and pending trials that hold the columns stay bad. The bad ones come as a
        mask over the rows."""
        if seen.complete and len(columns) == len(seen.columns):
            return seen.good, seen.bad  # every trial holds every column: the study's split
        holds = ~np.isnan(seen.coordinates[:, columns]).any(axis=1)
        ranked = seen.ranked
        held = ranked[holds[ranked]]
        k = n_good(len(held), self.gamma)
        bad = np.zeros(len(holds), dtype=np.bool_)
        bad[held[k:]] = True
        bad[seen.failed] = True
        bad[seen.pending] = True
        return held[:k], bad & holds

    def _remember(self, number: int, trial_id: int | None, values: Mapping[str, Any]) -> None:
        if len(self._plans) >= _MAX_PLANS:
            del self._plans[next(iter(self._plans))]  # the oldest
        self._plans[number] = _Plan(trial_id, values)

    def _suggest(
        self, params: Sequence[Param], seen: _Observed, columns: list[int], rng: np.random.Generator
    ) -> list[Any]:
        """One TPE step for `params` (the coordinate `columns`) jointly: the candidate from
        l(x) with the best l(x) / g(x)."""
        dims = [self._encoder.dim(p) for p in params]
        good, bad = self._split(seen, columns)  # bad: a mask over the rows
        rule = "scott" if self.multivariate else "neighbour"
        features = self._table.basis_columns(columns) if rule == "scott" else None

        every = len(columns) == len(seen.columns)  # then `columns` lists them all, in order
        good_points = (
            seen.coordinates.take(good, axis=0) if every else seen.coordinates[good][:, columns]
        )
        key = tuple(columns)
        kept = self._good_estimators.get(key)
        if not (
            kept is not None
            and kept.dims == tuple(dims)
            and kept.mu.shape == good_points.shape
            and bool((kept.mu == good_points).all())
        ):
            kept = None  # the good trials rarely change once there are many: then it is reused
        table = self._table
        # g(x) is fitted to the whole table, its bad rows marked: no copy of a thousand rows,
        # and their normalisers are kept in the table
        if features is None:
            sets = [PointSet(seen.coordinates[:, columns], mask=bad)]
        else:
            sets = [
                PointSet(
                    seen.coordinates if every else seen.coordinates[:, columns],
                    seen.basis if every else seen.basis[:, features],
                    lambda dims, widths: table.unit_mass([columns[j] for j in dims], widths),
                    bad,
                    table.basis32 if every else None,
                )
            ]
        if kept is None:
            sets.insert(
                0,
                PointSet(
                    good_points,
                    None if features is None else seen.basis.take(good, axis=0)[:, features],
                ),
            )
        fitted = fit_estimators(sets, dims, self.prior_weight, rule, self.consider_endpoints)
        g_x = fitted[-1]
        l_x = kept if kept is not None else fitted[0]
        if kept is None:
            if len(self._good_estimators) >= _MAX_PLANS:
                self._good_estimators.clear()
            self._good_estimators[key] = l_x
        candidates = l_x.sample(rng, self.n_ei_candidates)
        for j, p in enumerate(params):
            if is_rounded(p):  # a log Int without a step: onto its integers' coordinates
                candidates[:, j] = self._encoder.snap(p, candidates[:, j])
        score = log_density_ratio(l_x, g_x, candidates)
        best = candidates[int(score.argmax())].tolist()
        return [self._encoder.decode(p, u) for p, u in zip(params, best, strict=True)]
