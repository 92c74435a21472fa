"""The history as TPE's model sees it: every trial's coordinates in the space's unit cube
(NaN where a trial lacks a parameter) and the good / bad ranking of split.py.

Each parameter is one column, in the space's order (Fixed ones are recorded, never
modelled). A value outside its parameter's domain counts as absent: that trial says
nothing about the parameter. An Int on a log scale without a step is modelled as
continuous (its values are too many and unevenly spread for cells to help), and its
candidates are snapped to the coordinates of their integers before they are scored.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tunelab.objectives import Objective
from tunelab.samplers._rows import in_rows
from tunelab.samplers.tpe.groups import co_occurring_groups
from tunelab.samplers.tpe.mo_split import least_good, objective_rows, rank_several
from tunelab.samplers.tpe.parzen import Dim
from tunelab.samplers.tpe.split import (
    FIELDS,
    Kind,
    Ranking,
    TrialArrays,
    n_good,
    rank,
    trial_fields,
)
from tunelab.space import AxisKind, Param, SearchSpace, UnitEncoding
from tunelab.trial import FrozenTrial
from tunelab.types import Direction


def model_dim(param: Param) -> Dim:
    """How the Parzen estimators model `param`'s coordinate."""
    axis = param.axis
    if axis in (AxisKind.CONTINUOUS, AxisKind.ROUNDED):
        return Dim(AxisKind.CONTINUOUS)
    return Dim(axis, param.cardinality or 1)


_INFEASIBLE = Kind.INFEASIBLE.value
_FEW = 8  # up to this many changed trials are read one by one (trial_fields, encode_row)


class KeptHistory:
    """What the model reads of a history (split keys and coordinates), kept from one
    suggestion to the next: only positions whose record is not the very object seen there
    before are read again. Frozen records never change, and storages hand out the same
    records of finished trials at each read, so a suggestion reads the trial or two that
    moved on instead of a thousand: one pointer comparison a trial, where reading a
    trial's fields touches memory a training step has long since evicted."""

    def __init__(self) -> None:
        self._encoding: UnitEncoding | None = None
        self._objectives: tuple[Objective, ...] = ()
        self._records: list[FrozenTrial] = []
        self._trials = TrialArrays.of([])
        self._coordinates = np.empty((0, 0))
        self._points = np.empty((0, 0))
        # whether a trial read since the records were last reset broke a constraint: until
        # one has, the ranking need not look for such trials (split.rank)
        self.infeasible_seen = False

    @property
    def points(self) -> np.ndarray:
        """After a `read` with several objectives: each trial's objective values to
        minimize (mo_split.objective_rows)."""
        return self._points

    def read(
        self,
        history: Sequence[FrozenTrial],
        encoding: UnitEncoding,
        objectives: tuple[Objective, ...] = (),
    ) -> tuple[TrialArrays, np.ndarray]:
        """`TrialArrays.of(history)` and `encoding.encode` of its params (and, given the
        objectives, `points`); read them, never write to them."""
        if encoding != self._encoding or objectives != self._objectives:
            self._encoding, self._objectives, self._records = encoding, objectives, []
            self.infeasible_seen = False
            self._coordinates = np.empty((0, len(encoding.params)))
            self._points = np.empty((0, len(objectives)))
        n, m = len(history), min(len(history), len(self._records))
        moved = np.fromiter(map(operator.is_not, history, self._records), bool, m)
        stale = np.flatnonzero(moved).tolist() + list(range(m, n))
        if n != len(self._records):
            self._resize(n)
        trials = self._trials
        if len(stale) <= _FEW:
            kind, number, value = trials.kind, trials.number, trials.value
            step, violation = trials.step, trials.violation
            for i in stale:
                t = history[i]
                kind[i], number[i], value[i], step[i], violation[i] = fields = trial_fields(t)
                if fields[0] == _INFEASIBLE:
                    self.infeasible_seen = True
                self._coordinates[i] = encoding.encode_row(t.params)
        else:
            fresh = [history[i] for i in stale]
            part = TrialArrays.of(fresh)
            for name in FIELDS:
                getattr(trials, name)[stale] = getattr(part, name)
            self._coordinates[stale] = encoding.encode([t.params for t in fresh])
            if (part.kind == _INFEASIBLE).any():
                self.infeasible_seen = True
        if objectives and stale:
            self._points[stale] = objective_rows([history[i] for i in stale], objectives)
        self._records = list(history)
        return self._trials, self._coordinates

    def _resize(self, n: int) -> None:
        def resized(a: np.ndarray) -> np.ndarray:
            out = np.empty((n, *a.shape[1:]), dtype=a.dtype)
            m = min(n, len(a))
            out[:m] = a[:m]
            return out

        t = self._trials
        self._trials = TrialArrays(*(resized(getattr(t, name)) for name in FIELDS))
        self._coordinates = resized(self._coordinates)
        if self._objectives:
            self._points = resized(self._points)


_FINISHED = np.array([Kind.COMPLETE.value, Kind.PRUNED.value, Kind.INFEASIBLE.value])


def repeated_rows(trials: TrialArrays, coordinates: np.ndarray) -> np.ndarray:
    """Positions of finished trials whose coordinates equal an older finished trial's:
    exact repeats of a configuration already evaluated.

    With several objectives they rank after every other trial (bad). A repeat adds no new
    evidence about where the front lies, yet a configuration that a scheduler keeps alive
    at every rung (an end of the front) completes each time it is proposed; counted as new,
    its copies fill the good set, l(x) shrinks onto that one point and the sampler proposes
    it again and again. Counted as bad, each copy raises g(x) there instead."""
    finished = np.flatnonzero(np.isin(trials.kind, _FINISHED))
    if len(finished) < 2:
        return np.empty(0, dtype=np.intp)
    finished = finished[np.argsort(trials.number[finished], kind="stable")]
    rows = np.nan_to_num(coordinates[finished], nan=-1.0)
    _, first = np.unique(rows, axis=0, return_index=True)
    repeat = np.ones(len(finished), dtype=bool)
    repeat[first] = False
    return np.sort(finished[repeat])


@dataclass(frozen=True)
class Observations:
    """Coordinates of the history's trials (rows) for the space's tuned parameters
    (columns), and their ranking."""

    encoding: UnitEncoding
    trials: TrialArrays
    coordinates: np.ndarray
    ranking: Ranking
    gamma: float
    several: bool = False
    least_good: int = 1  # mo_split.least_good of the study's objectives

    def evaluated(self, candidates: np.ndarray) -> np.ndarray:
        """Whether each candidate row (all columns) is the configuration of a finished trial.

        With several objectives the sampler prefers a candidate that is not: in a finite
        space l(x) / g(x) is often highest at a configuration already evaluated (a good
        one), and proposing it again adds no point to the front that its first evaluation
        did not, while the epochs it costs are lost to the rest of the space."""
        return in_rows(candidates, self.coordinates[np.isin(self.trials.kind, _FINISHED)], 1e-12)

    @classmethod
    def of(
        cls,
        history: Sequence[FrozenTrial],
        space: SearchSpace,
        direction: Direction,
        gamma: float,
        exclude: int | None,
        constant_liar: bool,
        kept: KeptHistory | None = None,
        objectives: tuple[Objective, ...] = (),
    ) -> Observations:
        """The observations of `history`; with `kept`, read through it (see KeptHistory).
        With several `objectives` the trials rank by them (mo_split.py), else by the
        value in `direction` (split.py)."""
        encoding = UnitEncoding.of(space)
        kept = kept or KeptHistory()
        if len(objectives) > 1:
            trials, coordinates = kept.read(history, encoding, objectives)
            repeats = repeated_rows(trials, coordinates)
            ranking = rank_several(trials, kept.points, gamma, exclude, constant_liar, repeats)
        else:
            trials, coordinates = kept.read(history, encoding)
            ranking = rank(trials, direction, gamma, exclude, constant_liar, kept.infeasible_seen)
        several = len(objectives) > 1
        least = least_good(len(objectives)) if several else 1
        return cls(encoding, trials, coordinates, ranking, gamma, several, least)

    @property
    def names(self) -> list[str]:
        return self.encoding.names

    def groups(self) -> list[tuple[int, ...]]:
        """Columns that the same ranked trials hold (groups.py): all of them, unless the
        space has conditional parameters."""
        present = ~np.isnan(self.coordinates[self.ranking.ranked])
        if len(present) and present.all():  # no conditional parameters: one group
            return [tuple(range(present.shape[1]))] if present.shape[1] else []
        return co_occurring_groups(present)

    def split(self, columns: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates of the good and of the bad trials for some columns, ranked among
        the trials that hold them. For parameters every trial has this is the study-wide
        split; for a conditional one (momentum, asked only under optimizer="sgd") the best
        of the sgd trials are its good points, even when no sgd trial is among the study's
        best: otherwise its l(x) would be the bare prior and the branch never tuned.
        Failed and pending trials that hold the columns stay bad."""
        coordinates = self.coordinates[:, list(columns)]
        holds = ~np.isnan(coordinates).any(axis=1)
        r = self.ranking
        held = r.ranked[holds[r.ranked]]
        k = n_good(len(held), self.gamma, self.least_good)
        bad = np.concatenate((held[k:], r.failed[holds[r.failed]], r.pending[holds[r.pending]]))
        return coordinates[held[:k]], coordinates[bad]
