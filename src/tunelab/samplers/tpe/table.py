"""The history as arrays that survive from one suggestion to the next.

`split_trials` (split.py) states which trials are good and which bad; this table gives
the same answer without walking a thousand trial records in Python at every
suggestion. Each position of the history keeps the record it last saw there, that
record's kind, its ranking keys, its row of coordinates and that row's kernel basis
(parzen.py: what a Parzen estimator with shared bandwidths needs of an observation,
computed once per trial instead of once per suggestion). A new read of the history
only re-examines positions whose record is not the very object seen before (a storage
that hands out shared frozen records, like the in-memory one, changes only the few
trials that moved on; one that builds new records at each read is compared by
content). The ranking itself is a few numpy sorts over those arrays, and it answers
with row indices into them.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tunelab.samplers.tpe.encoding import Encoder
from tunelab.samplers.tpe.parzen import Dim, basis, log_unit_mass
from tunelab.samplers.tpe.split import has_value, n_good
from tunelab.space import SearchSpace
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

_LEFT_OUT, _COMPLETE, _PRUNED, _FAILED, _RUNNING = range(5)
_MAX_UNIT_MASSES = 16
_NO_ROWS = np.empty(0)
_NO_VERSIONS = np.empty(0, dtype=np.int64)  # kept (column, width) normalisers


@dataclass(frozen=True)
class Ranked:
    """Row indices (into `HistoryTable.coordinates` and `.basis`) of the good trials, the
    bad ones and the ranked ones (good first)."""

    good: np.ndarray
    bad: np.ndarray
    ranked: np.ndarray
    n_ranked: int
    n_valued: int


def _kind(t: FrozenTrial) -> int:
    state = t.state
    if state is TrialState.COMPLETE:
        return _COMPLETE if has_value(t) else _FAILED
    if state is TrialState.PRUNED:
        return _PRUNED
    if state is TrialState.FAIL:
        return _FAILED if t.counts_toward_budget else _LEFT_OUT
    if state is TrialState.RUNNING:
        return _RUNNING
    return _LEFT_OUT


def _same(a: FrozenTrial, b: FrozenTrial) -> bool:
    """What the split and the encoding read of a record is unchanged."""
    return (
        a.trial_id == b.trial_id
        and a.state is b.state
        and a.last_step == b.last_step
        and (
            a.value == b.value
            or (
                a.value is not None
                and b.value is not None
                and math.isnan(a.value)
                and math.isnan(b.value)
            )
        )
        and a.params == b.params
        and bool(a.system_attrs.get("interrupted")) == bool(b.system_attrs.get("interrupted"))
    )


class HistoryTable:
    """Kinds, ranking keys and coordinates of a study's trials, updated in place."""

    def __init__(self) -> None:
        self._records: list[FrozenTrial] = []
        self._columns: list[str] = []
        size = 64
        self._kind = np.full(size, _LEFT_OUT, dtype=np.int8)
        self._number = np.full(size, -1, dtype=np.int64)
        self._value = np.zeros(size)
        self._step = np.full(size, -1.0)
        self._no_value = np.ones(size, dtype=np.bool_)
        self._rows = np.full((size, 0), math.nan)
        self._dims: list[Dim] = []
        self._offsets = np.zeros(1, dtype=np.intp)
        self._basis = np.zeros((size, 0))
        # (column, width) -> (log mass of [0, 1] under that kernel at each row's coordinate,
        # the row versions it was computed for); a row's version grows when it changes
        self._unit_mass: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = {}
        self._version = np.zeros(size, dtype=np.int64)

    @property
    def coordinates(self) -> np.ndarray:
        """(trials, columns) coordinates, NaN where a trial lacks a parameter."""
        return self._rows[: len(self._records)]

    @property
    def basis(self) -> np.ndarray:
        """(trials, basis features) of the coordinates; `basis_columns` picks a column's."""
        return self._basis[: len(self._records)]

    def basis_columns(self, columns: Sequence[int]) -> np.ndarray | slice:
        """Where the basis features of some coordinate columns lie (a slice for all)."""
        if list(columns) == list(range(len(self._columns))):
            return slice(None)
        at = self._offsets
        return np.concatenate([np.arange(at[j], at[j + 1]) for j in columns]).astype(np.intp)

    def unit_mass(self, columns: Sequence[int], widths: Sequence[float] | np.ndarray) -> np.ndarray:
        """Per row, the sum over CONTINUOUS `columns` of the log mass of [0, 1] under a
        Normal(coordinate, width) kernel: what a Parzen estimator with shared widths
        normalises its kernels by (parzen.PointSet). Kept per (column, width), with the
        rows that changed since recomputed, so a fit whose snapped widths recur costs a
        few normal CDFs instead of two per row and column."""
        n = len(self._records)
        kept: list[np.ndarray] = []
        stale_rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, int, float]] = []
        now = self._version[:n]
        for column, width in zip(columns, widths, strict=True):
            key = (int(column), float(width))
            values, seen = self._unit_mass.pop(key, (_NO_ROWS, _NO_VERSIONS))
            if len(values) < n:
                more = max(n, 2 * len(values)) - len(values)
                values = np.concatenate((values, np.empty(more)))
                seen = np.concatenate((seen, np.full(more, -1, dtype=np.int64)))
            stale = np.flatnonzero(seen[:n] != now)
            if len(stale):
                stale_rows.append((values, seen, stale, *key))
            if len(self._unit_mass) >= _MAX_UNIT_MASSES:
                del self._unit_mass[next(iter(self._unit_mass))]  # the least recently used
            self._unit_mass[key] = (values, seen)
            kept.append(values)
        if stale_rows:  # one pass over the stale rows of every column
            mu = np.concatenate([self._rows[stale, c] for _, _, stale, c, _ in stale_rows])
            sigma = np.repeat([w for *_, w in stale_rows], [len(r[2]) for r in stale_rows])
            with np.errstate(invalid="ignore"):  # NaN rows: trials without the parameter
                mass = log_unit_mass(mu, sigma)
            at = 0
            for values, seen, stale, _, _ in stale_rows:
                values[stale] = mass[at : at + len(stale)]
                seen[stale] = now[stale]
                at += len(stale)
        total = np.zeros(n)
        for values in kept:
            total += values[:n]
        return total

    def _grow(self, n: int) -> None:
        """Room for at least n trials (doubling, so appends stay cheap)."""
        old, size = len(self._kind), max(64, 2 * n)

        def resized(a: np.ndarray, fill: float) -> np.ndarray:
            out = np.full((size, *a.shape[1:]), fill, dtype=a.dtype)
            out[:old] = a
            return out

        self._kind = resized(self._kind, _LEFT_OUT)
        self._number = resized(self._number, -1)
        self._value = resized(self._value, 0.0)
        self._step = resized(self._step, -1.0)
        self._no_value = resized(self._no_value, True)
        self._rows = resized(self._rows, math.nan)
        self._basis = resized(self._basis, 0.0)
        self._version = resized(self._version, 0)

    def update(self, history: Sequence[FrozenTrial], encoder: Encoder, space: SearchSpace) -> None:
        """Bring the table up to `history`; call `encoder.use_space(space)` first."""
        n = len(history)
        columns = encoder.columns
        if len(self._records) > n or columns[: len(self._columns)] != self._columns:
            self._records = []  # another study, or a space the rows no longer fit
        if n > len(self._kind):
            self._grow(n)
        dims = [encoder.dim(space[name]) for name in columns]
        if columns != self._columns or dims != self._dims:  # new or redefined parameters
            self._columns, self._dims = columns, dims
            self._offsets = np.cumsum([0, *(dim.width for dim in self._dims)])
            self._rows = np.full((len(self._kind), len(columns)), math.nan)
            self._basis = np.zeros((len(self._kind), int(self._offsets[-1])))
            self._records = []
        if not self._records:
            self._unit_mass.clear()
        records = self._records
        seen = min(len(records), n)
        # identity first, at C speed: a storage that shares frozen records changes few
        moved = np.fromiter(map(operator.is_not, records, history), bool, seen)  # seen pairs
        changed = [i for i in np.flatnonzero(moved).tolist() if not _same(records[i], history[i])]
        changed += range(seen, n)
        if not changed:
            return
        rows = encoder.matrix([history[i] for i in changed], space)
        self._basis[changed] = basis(rows, self._dims)
        self._version[changed] += 1  # kept normalisers of these rows are stale now
        for j, i in enumerate(changed):
            t = history[i]
            self._kind[i] = _kind(t)
            self._number[i] = t.number
            valued = has_value(t)
            self._no_value[i] = not valued
            self._value[i] = t.value if t.value is not None and valued else 0.0
            self._step[i] = t.last_step if t.last_step is not None else -1
            self._rows[i] = rows[j]
        if seen < n:
            records.extend(history[seen:n])
        for i in changed:
            records[i] = history[i]

    def rank(
        self,
        direction: Direction,
        gamma: float,
        exclude: int | None = None,
        constant_liar: bool = True,
    ) -> Ranked:
        """The split of `split_trials`, in the same order, as rows of coordinates."""
        n = len(self._records)
        kind = self._kind[:n].copy()
        number = self._number[:n]
        if exclude is not None:
            kind[number == exclude] = _LEFT_OUT
        sign = 1.0 if direction is Direction.MINIMIZE else -1.0
        value = sign * self._value[:n]
        complete = np.flatnonzero(kind == _COMPLETE)
        if np.all(number[1:] > number[:-1]):  # rows in number order, as storages return them:
            # a stable sort by value gives ties to the older trial
            complete = complete[np.argsort(value[complete], kind="stable")]
        else:
            complete = complete[np.lexsort((number[complete], value[complete]))]
        pruned = np.flatnonzero(kind == _PRUNED)
        n_valued = len(complete)
        if len(pruned):
            no_value = self._no_value[pruned]
            by_value = np.where(no_value, 0.0, value[pruned])
            pruned = pruned[np.lexsort((number[pruned], by_value, no_value, -self._step[pruned]))]
            complete = np.concatenate((complete, pruned))
            n_valued += int(np.count_nonzero(~no_value))
        ranked = complete
        k = n_good(len(ranked), gamma)
        bad = [ranked[k:], np.flatnonzero(kind == _FAILED)]
        if constant_liar:
            bad.append(np.flatnonzero(kind == _RUNNING))
        return Ranked(ranked[:k], np.concatenate(bad), ranked, len(ranked), n_valued)
