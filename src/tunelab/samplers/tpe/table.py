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
content; the finished prefix, which never changes, in one C-level comparison). The
ranking of complete trials is kept and updated with the rows that changed (a trial or two
per suggestion) rather than sorted again; it answers with row indices, and with the bad
trials as a mask over the rows, so that g(x) is fitted to the table as it is.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tunelab.samplers.tpe.encoding import Encoder
from tunelab.samplers.tpe.parzen import Dim, basis, basis_row, log_unit_mass, log_unit_mass_of
from tunelab.samplers.tpe.split import has_value, n_good
from tunelab.space import SearchSpace
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

_KINDS = 5
_LEFT_OUT, _COMPLETE, _PRUNED, _FAILED, _RUNNING = range(_KINDS)
_MAX_UNIT_MASSES = 64  # kept normalisers: sums and their per-column terms
_FEW = 8  # up to this many changed rows, kept normalisers are updated in plain Python
_MAX_INSERTS = 32  # more changed rows than this: the kept ranking is sorted afresh
# whether a trial of each kind is bad (unless good or left out), without and with the liar
_BAD = np.array([False, True, True, True, False])
_BAD_WITH_LIAR = np.array([False, True, True, True, True])
_NO_INDICES = np.empty(0, dtype=np.intp)
_NO_ROWS = np.empty(0)
_NO_VERSIONS = np.empty(0, dtype=np.int64)  # kept (columns, widths) normalisers


@dataclass(frozen=True)
class Ranked:
    """Row indices (into `HistoryTable.coordinates` and `.basis`) of the good trials and
    of the ranked ones (good first); which rows are bad, as a mask over the rows and (for
    the few callers that need them in split_trials' order) as indices: ranked ones first,
    then failed, then pending."""

    good: np.ndarray
    bad_mask: np.ndarray
    ranked: np.ndarray
    n_ranked: int
    n_valued: int
    failed: np.ndarray
    pending: np.ndarray

    @functools.cached_property
    def bad(self) -> np.ndarray:
        return np.concatenate((self.ranked[len(self.good) :], self.failed, self.pending))


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
        and a.counts_toward_budget == b.counts_toward_budget
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
        self._basis32 = np.zeros((size, 0), dtype=np.float32)  # the same, for fast products
        # (columns, widths) -> (summed log mass of [0, 1] under those kernels at each row's
        # coordinates, the row versions it was computed for); a row's version grows when
        # it changes
        self._unit_mass: dict[
            tuple[tuple[int, ...], tuple[float, ...]], tuple[np.ndarray, np.ndarray]
        ] = {}
        self._version = np.zeros(size, dtype=np.int64)
        self._lacking_rows: set[int] = set()  # rows lacking a column: usually one or none
        self._row_of: dict[int, int] = {}  # trial number -> row
        self._open = 0  # rows before this one hold finished trials
        self._generation = -1  # the encoder's generation the columns were taken from
        # the last ranking of the COMPLETE rows, kept to be updated rather than redone:
        # rows by (sign * value, number), their keys, how many rows it covered, and the
        # rows that changed since
        self._order = np.empty(0, dtype=np.intp)
        self._order_keys = np.empty(0)
        self._order_sign = 0.0
        self._order_rows = 0
        self._order_dirty: set[int] = set()
        self._ordered = np.zeros(size, dtype=np.bool_)  # the row is in the kept ranking

    @property
    def lacking(self) -> np.ndarray:
        """Per row, whether the trial lacks one of the columns."""
        mask = np.zeros(len(self._records), dtype=np.bool_)
        mask[list(self._lacking_rows)] = True
        return mask

    def holds_every_column(self, ranked: Ranked) -> bool:
        """Whether every good and bad trial of `ranked` holds every column (no conditional
        parameters in play). Usually one trial lacks columns or none: the one being
        planned, which is neither good nor bad."""
        rows = self._lacking_rows
        if not rows:
            return True
        if len(rows) > _FEW:
            lacking = self.lacking
            return not (lacking[ranked.good].any() or (lacking & ranked.bad_mask).any())
        good = ranked.good.tolist()
        return not any(ranked.bad_mask[r] or r in good for r in rows)

    @property
    def coordinates(self) -> np.ndarray:
        """(trials, columns) coordinates, NaN where a trial lacks a parameter."""
        return self._rows[: len(self._records)]

    @property
    def basis(self) -> np.ndarray:
        """(trials, basis features) of the coordinates; `basis_columns` picks a column's."""
        return self._basis[: len(self._records)]

    @property
    def basis32(self) -> np.ndarray:
        """`basis` in float32 (exact: one-hots, and [u, u^2] rounded once)."""
        return self._basis32[: len(self._records)]

    def basis_columns(self, columns: Sequence[int]) -> np.ndarray | slice:
        """Where the basis features of some coordinate columns lie (a slice for all)."""
        if list(columns) == list(range(len(self._columns))):
            return slice(None)
        at = self._offsets
        return np.concatenate([np.arange(at[j], at[j + 1]) for j in columns]).astype(np.intp)

    def unit_mass(self, columns: Sequence[int], widths: Sequence[float]) -> np.ndarray:
        """Per row, the sum over CONTINUOUS `columns` of the log mass of [0, 1] under a
        Normal(coordinate, width) kernel: what a Parzen estimator with shared widths
        normalises its kernels by (parzen.PointSet). Kept per (columns, widths), with the
        rows that changed since recomputed: snapped widths recur for many fits in a row,
        so a fit usually costs the normal CDFs of a trial or two instead of two per row
        and column. When one width moves to the next step of its grid, the sum is made
        from per-column terms (kept too), so only that column is computed afresh. The
        answer is the kept array itself: read it, never write to it."""
        key = (tuple(columns), tuple(widths))
        kept = self._unit_mass.get(key)
        if kept is None and len(columns) > 1:
            parts = [
                self._kept_mass(((c,), (w,)), None) for c, w in zip(columns, widths, strict=True)
            ]
            kept = (np.sum(parts, axis=0), self._version[: len(self._records)].copy())
        return self._kept_mass(key, kept)

    def _kept_mass(
        self,
        key: tuple[tuple[int, ...], tuple[float, ...]],
        kept: tuple[np.ndarray, np.ndarray] | None,
    ) -> np.ndarray:
        """`unit_mass` for `key` from its kept values (or `kept`), stale rows recomputed."""
        n = len(self._records)
        values, seen = self._unit_mass.pop(key, None) or kept or (_NO_ROWS, _NO_VERSIONS)
        if len(values) < n:
            more = max(n, 2 * len(values)) - len(values)
            values = np.concatenate((values, np.empty(more)))
            seen = np.concatenate((seen, np.full(more, -1, dtype=np.int64)))
        now = self._version[:n]
        stale = np.flatnonzero(seen[:n] != now)
        if len(stale):
            mu = self._rows[stale][:, key[0]]
            if len(stale) <= _FEW:  # a trial or two changed: plain Python
                values[stale] = [sum(map(log_unit_mass_of, row, key[1])) for row in mu.tolist()]
            else:
                # (NaN rows, trials without the parameter, propagate without a warning)
                values[stale] = log_unit_mass(mu, np.array(key[1])).sum(axis=1)
            seen[stale] = now[stale]
        if len(self._unit_mass) >= _MAX_UNIT_MASSES:
            del self._unit_mass[next(iter(self._unit_mass))]  # the least recently used
        self._unit_mass[key] = (values, seen)
        return values[:n]

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
        self._basis32 = resized(self._basis32, 0.0)
        self._version = resized(self._version, 0)
        self._ordered = resized(self._ordered, False)

    def update(self, history: Sequence[FrozenTrial], encoder: Encoder, space: SearchSpace) -> None:
        """Bring the table up to `history`; call `encoder.use_space(space)` first."""
        n = len(history)
        if len(self._records) > n:
            self._records = []  # another study
        if n > len(self._kind):
            self._grow(n)
        if encoder.generation != self._generation:  # the columns may have changed
            self._generation = encoder.generation
            columns = encoder.columns
            if columns[: len(self._columns)] != self._columns:
                self._records = []  # another study, or a space the rows no longer fit
            dims = [encoder.dim(space[name]) for name in columns]
            if columns != self._columns or dims != self._dims:  # new or redefined parameters
                self._columns, self._dims = columns, dims
                self._offsets = np.cumsum([0, *(dim.width for dim in self._dims)])
                self._rows = np.full((len(self._kind), len(columns)), math.nan)
                self._basis = np.zeros((len(self._kind), int(self._offsets[-1])))
                self._basis32 = np.zeros(self._basis.shape, dtype=np.float32)
                self._records = []
        if not self._records:
            self._unit_mass.clear()
            self._row_of.clear()
            self._lacking_rows.clear()
            self._open = 0
            self._order_sign = 0.0  # no kept ranking
        records = self._records
        seen = min(len(records), n)
        # Finished trials do not change, and a storage that shares frozen records hands out
        # the very objects seen before: then the finished prefix is checked by identity in
        # one C loop (list equality tries identity first; new objects are compared by
        # content, which is just as right), and only the rest one by one.
        start = min(self._open, seen)
        if not (
            start
            and records[start - 1] is history[start - 1]
            and records[:start] == history[:start]
        ):
            start = 0
        moved = np.fromiter(
            map(operator.is_not, records[start:seen], history[start:seen]), bool, seen - start
        )
        changed = [
            i for i in (np.flatnonzero(moved) + start).tolist() if not _same(records[i], history[i])
        ]
        changed += range(seen, n)
        if not changed:
            return
        lacking: list[bool]
        if len(changed) <= _FEW:  # a trial or two: plain Python, row by row
            width = self._basis.shape[1]
            lacking = []
            for i in changed:
                if not history[i].params:  # the trial being planned, say: nothing to encode
                    self._rows[i] = math.nan
                    self._basis[i] = self._basis32[i] = 0.0
                    lacking.append(len(self._columns) > 0)
                    continue
                row = encoder.row(history[i], space)
                values = row.tolist()
                self._rows[i] = row
                self._basis[i] = self._basis32[i] = basis_row(values, self._dims, width)
                lacking.append(any(v != v for v in values))
        else:
            rows = encoder.matrix([history[i] for i in changed], space)
            self._rows[changed] = rows
            self._basis[changed] = self._basis32[changed] = basis(rows, self._dims)
            lacking = np.isnan(rows).any(axis=1).tolist()
        self._version[changed] += 1  # kept normalisers of these rows are stale now
        self._order_dirty.update(changed)
        for i, lacks in zip(changed, lacking, strict=True):
            if lacks:
                self._lacking_rows.add(i)
            else:
                self._lacking_rows.discard(i)
        for i in changed:
            t = history[i]
            self._kind[i] = _kind(t)
            self._row_of[t.number] = i
            self._number[i] = t.number
            valued = has_value(t)
            self._no_value[i] = not valued
            self._value[i] = t.value if t.value is not None and valued else 0.0
            self._step[i] = t.last_step if t.last_step is not None else -1
        if seen < n:
            records.extend(history[seen:n])
        for i in changed:
            records[i] = history[i]
        open_rows = [i for i in changed if not history[i].state.is_finished]
        if open_rows:
            self._open = min(self._open, *open_rows)
        while self._open < n and history[self._open].state.is_finished:
            self._open += 1

    def rank(
        self,
        direction: Direction,
        gamma: float,
        exclude: int | None = None,
        constant_liar: bool = True,
    ) -> Ranked:
        """The split of `split_trials`, in the same order, as rows of coordinates."""
        n = len(self._records)
        kind = self._kind[:n]
        number = self._number[:n]
        sign = 1.0 if direction is Direction.MINIMIZE else -1.0
        complete = self._complete_order(sign)
        left_out = self._row_of.get(exclude, -1) if exclude is not None else -1
        if left_out >= 0 and kind[left_out] == _COMPLETE:
            complete = complete[complete != left_out]
        counts = np.bincount(kind, minlength=_KINDS).tolist()  # kinds a study lacks: no scan
        pruned = np.flatnonzero(kind == _PRUNED) if counts[_PRUNED] else _NO_INDICES
        n_valued = len(complete)
        if len(pruned):
            pruned = pruned[pruned != left_out]
            no_value = self._no_value[pruned]
            by_value = np.where(no_value, 0.0, sign * self._value[pruned])
            pruned = pruned[np.lexsort((number[pruned], by_value, no_value, -self._step[pruned]))]
            complete = np.concatenate((complete, pruned))
            n_valued += int(np.count_nonzero(~no_value))
        ranked = complete
        k = n_good(len(ranked), gamma)
        good = ranked[:k]
        bad_mask = (_BAD_WITH_LIAR if constant_liar else _BAD)[kind]
        bad_mask[good] = False
        if left_out >= 0:
            bad_mask[left_out] = False
        failed = np.flatnonzero(kind == _FAILED) if counts[_FAILED] else _NO_INDICES
        others_running = counts[_RUNNING] - int(left_out >= 0 and kind[left_out] == _RUNNING)
        pending = (
            np.flatnonzero(kind == _RUNNING) if constant_liar and others_running else _NO_INDICES
        )
        if left_out >= 0:
            failed, pending = failed[failed != left_out], pending[pending != left_out]
        return Ranked(good, bad_mask, ranked, len(ranked), n_valued, failed, pending)

    def _complete_order(self, sign: float) -> np.ndarray:
        """The COMPLETE rows by (sign * value, number): ties go to the older trial. The
        last answer is kept and updated with the rows that changed since (a trial or
        two per suggestion) instead of sorting a thousand values again."""
        n = len(self._records)
        kind, number = self._kind[:n], self._number[:n]
        m = self._order_rows
        dirty = self._order_dirty
        if self._order_sign != sign or m > n or len(dirty) > _MAX_INSERTS:
            complete = np.flatnonzero(kind == _COMPLETE)
            keys = sign * self._value[complete]
            by = np.lexsort((number[complete], keys))
            order, keys = complete[by], keys[by]
            self._ordered[:] = False
            self._ordered[order] = True
        else:
            order, keys = self._order, self._order_keys
            moved = sorted(r for r in dirty if r < m and self._ordered[r])
            if moved:  # a ranked trial changed
                keep = ~np.isin(order, moved)
                order, keys = order[keep], keys[keep]
                self._ordered[moved] = False
            for r in sorted(dirty):
                if kind[r] != _COMPLETE:
                    continue
                key = sign * float(self._value[r])
                at = int(keys.searchsorted(key, side="left"))
                stop = int(np.searchsorted(keys, key, side="right"))
                while at < stop and number[order[at]] < number[r]:
                    at += 1
                order = np.concatenate((order[:at], [r], order[at:]))
                keys = np.concatenate((keys[:at], [key], keys[at:]))
                self._ordered[r] = True
        self._order, self._order_keys, self._order_sign = order, keys, sign
        self._order_rows = n
        dirty.clear()
        return order
