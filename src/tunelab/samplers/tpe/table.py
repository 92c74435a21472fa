"""The history as arrays that survive from one suggestion to the next.

`split_trials` (split.py) states which trials are good and which bad; this table gives
the same answer without walking a thousand trial records in Python at every
suggestion. Each position of the history keeps the record it last saw there, that
record's kind, its ranking keys and its row of coordinates. A new read of the history
only re-examines positions whose record is not the very object seen before (a storage
that hands out shared frozen records, like the in-memory one, changes only the few
trials that moved on; one that builds new records at each read is compared by
content). The ranking itself is a few numpy sorts over those arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tunelab.samplers.tpe.encoding import Encoder
from tunelab.samplers.tpe.split import has_value, n_good
from tunelab.space import SearchSpace
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

_LEFT_OUT, _COMPLETE, _PRUNED, _FAILED, _RUNNING = range(5)


@dataclass(frozen=True)
class Ranked:
    """Coordinates of the good trials, the bad ones and the ranked ones (good first)."""

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

    def update(self, history: Sequence[FrozenTrial], encoder: Encoder, space: SearchSpace) -> None:
        """Bring the table up to `history`; call `encoder.use_space(space)` first."""
        n = len(history)
        columns = encoder.columns
        if len(self._records) > n or columns[: len(self._columns)] != self._columns:
            self._records = []  # another study, or a space the rows no longer fit
        if n > len(self._kind):
            self._grow(n)
        if columns != self._columns:  # new parameters: every row gains columns
            self._columns = columns
            self._rows = np.full((len(self._kind), len(columns)), math.nan)
            self._records = []
        records = self._records
        seen = len(records)
        changed = [
            i
            for i in range(n)
            if i >= seen or (records[i] is not history[i] and not _same(records[i], history[i]))
        ]
        if not changed:
            return
        rows = encoder.matrix([history[i] for i in changed], space)
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
        complete = complete[np.lexsort((number[complete], value[complete]))]
        pruned = np.flatnonzero(kind == _PRUNED)
        no_value = self._no_value[pruned]
        pruned_value = np.where(no_value, 0.0, value[pruned])
        pruned = pruned[np.lexsort((number[pruned], pruned_value, no_value, -self._step[pruned]))]
        ranked = np.concatenate((complete, pruned))
        k = n_good(len(ranked), gamma)
        bad = [ranked[k:], np.flatnonzero(kind == _FAILED)]
        if constant_liar:
            bad.append(np.flatnonzero(kind == _RUNNING))
        rows = self._rows
        return Ranked(
            rows[ranked[:k]],
            rows[np.concatenate(bad)],
            rows[ranked],
            len(ranked),
            len(complete) + int(np.count_nonzero(~no_value)),
        )
