"""Grid search over define-by-run, possibly conditional, spaces.

The objective asks its parameters in order, so every trial is a path of
(name, value) pairs from the root of a tree; a grid cell is a complete path.
The sampler rebuilds the tree from the history and counts, for each node, how
many cells below it are still free: a child no trial has entered holds at least
one free cell, a node where a finished trial ended holds none (a trial that was
interrupted, by Ctrl-C or a lost worker, leaves its cell free to run again), and
each running trial that stands at a node will take one of its children. A value is chosen
only where a free cell remains, so with decisions made under the study's lock,
parallel workers never run a cell twice; when every free cell is held by a
running trial the sampler says Wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tunelab.errors import GridExhausted
from tunelab.samplers.base import Admission, Sampler, SampleRequest, Wait
from tunelab.space import Fixed, SearchSpace
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState


@dataclass
class _Node:
    param: str | None = None  # the parameter asked at this node, once some trial went past it
    ended_done: bool = False  # a finished trial ended here
    holders: list[int] = field(default_factory=list)  # numbers of running trials that end here
    running_below: int = 0  # running trials at or below this node
    children: dict[Any, _Node] = field(default_factory=dict)


def _key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)  # keeps True apart from 1


def _build(history: Sequence[FrozenTrial], skip_trial: int | None) -> _Node:
    root = _Node()
    for t in history:
        if t.number == skip_trial or not t.counts_toward_budget:
            continue  # waiting, or interrupted (Ctrl-C, worker lost): its cell is still free
        running = t.state is TrialState.RUNNING
        node = root
        if running:
            node.running_below += 1
        for name, value in t.params.items():
            node.param = node.param or name
            if node.param != name:
                break  # the objective asked in another order: not part of this tree
            node = node.children.setdefault(_key(value), _Node())
            if running:
                node.running_below += 1
        if running:
            node.holders.append(t.number)
        else:
            node.ended_done = True
    return root


class GridSampler(Sampler):
    """Every combination of the discrete values of the parameters the objective asks for.

    Workers share the grid through the storage: no cell runs twice, and a study whose
    grid is exhausted stops starting trials (`GridExhausted`). Every parameter needs
    finitely many values (a Float needs a `step`).

    Args:
        seed: Kept for a common signature; a grid has no randomness to seed.
    """

    name = "grid"
    multi_objective = True  # it never reads values
    needs_history = True
    needs_lock = True

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(0 if seed is None else seed)

    def _capacity(self, node: _Node | None, space: SearchSpace) -> int:
        """Free cells below `node` (1 stands for 'at least one' in unexplored parts)."""
        if node is None:
            return 1
        if node.param is None:
            return 0 if node.ended_done or node.holders else 1
        param = space[node.param]
        if isinstance(param, Fixed):
            # Not a choice: its value may differ between trials (it can depend on an earlier
            # parameter), so the branches are the values trials actually recorded.
            total = sum(self._capacity(child, space) for child in node.children.values())
        else:
            total = sum(
                self._capacity(node.children.get(_key(v)), space) for v in param.grid_values()
            )
        return max(total - len(node.holders), 0)

    def admit(self, space: SearchSpace, history: Sequence[FrozenTrial]) -> Admission:
        root = _build(history, None)
        if self._capacity(root, space) > 0:
            return Admission.START
        return Admission.WAIT if root.running_below else Admission.EXHAUSTED

    def sample(self, request: SampleRequest) -> Any:
        root = _build(request.history, request.trial_number)
        node: _Node | None = root
        for name, value in request.chosen.items():
            if node is None or node.param not in (None, name):
                node = None
                break
            node = node.children.get(_key(value))
        values = request.param.grid_values()
        if node is None or node.param not in (None, request.param.name):
            return values[0]  # a path no other trial shares: the first value is free
        # Running trials that stand here will each take a cell below. Normally the sampler
        # never lets more trials in than there are cells, but an enqueued value can; then
        # the earlier trial goes first (the later one waits, so none deadlocks).
        ahead = sum(1 for number in node.holders if number < request.trial_number)
        first_free: list[Any] = []
        free = 0
        for value in values:
            capacity = self._capacity(node.children.get(_key(value)), request.space)
            if capacity > 0 and not first_free:
                first_free.append(value)
            free += capacity
            if first_free and free > ahead:
                return first_free[0]
        if node.running_below:
            raise Wait()
        raise GridExhausted(
            f"every grid cell below {dict(request.chosen)} was taken by another worker"
        )
