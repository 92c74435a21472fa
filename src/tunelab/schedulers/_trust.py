"""How far a rung's ranking can be trusted, for adaptive Hyperband: pure functions, no I/O.

A Hyperband bracket that starts at rung r discards trials by their value at r. That only
pays when the value at r ranks trials the way their value at max_resource does. The
evidence is the trials that reached max_resource: each has a value at every rung. For
every starting rung r we measure Kendall's tau-b between the values at r and at
max_resource over those trials: pairs tied at r count against trusting r (rounded
accuracies tie often at early rungs, and a tie there says nothing about the final order).

With several objectives a rung is trusted as far as its least predictive objective: tau
is measured per objective on the values carried to the rung (as MO-ASHA ranks them), and
the smallest counts. An objective whose value at the rung already equals its final value
in every trial (a parameter count reported once at step 0) is known there exactly and is
left out; a rung where every objective is known exactly has tau 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tunelab._stats import explained, kendall_tau
from tunelab.objectives import Objective
from tunelab.schedulers import _pareto_rungs, _rungs
from tunelab.trial import FrozenTrial

# Before this many trials reached max_resource, tau says too little (its standard error
# is about 0.3 at six pairs of values): plain Hyperband proportions are used.
MIN_EVIDENCE = 6
# Every bracket keeps at least this fraction of its Hyperband weight, so a bracket judged
# untrustworthy by early evidence still gets trials and can be re-judged later. (0.02 was
# tried for issue 5: better with the TPE keeping pruned trials, worse without; see
# benchmarks/RESULTS.md.)
FLOOR = 0.1


def rung_trust(
    evidence: Sequence[FrozenTrial], metric: str, starts: Sequence[int], max_resource: int
) -> list[float | None]:
    """Kendall's tau-b between the value at each resource in `starts` and the value at
    max_resource, over the `evidence` trials having both (finite)."""
    finals: list[float] = []
    at: list[list[float]] = [[] for _ in starts]
    for trial in evidence:
        final = _rungs.rung_value(trial.reports, metric, max_resource)
        if final is None or not math.isfinite(final):
            continue
        values = [_rungs.rung_value(trial.reports, metric, r) for r in starts]
        if any(v is None or not math.isfinite(v) for v in values):
            continue
        finals.append(final)
        for column, v in zip(at, values, strict=True):
            column.append(float(v))  # type: ignore[arg-type]
    return [kendall_tau(column, finals) for column in at]


def rung_trust_objectives(
    evidence: Sequence[FrozenTrial],
    objectives: Sequence[Objective],
    starts: Sequence[int],
    max_resource: int,
) -> list[float | None]:
    """Per start rung, the smallest Kendall's tau-b over the objectives not yet known
    exactly there (see the module docstring)."""
    finals = [_pareto_rungs.rung_point(t.reports, objectives, max_resource) for t in evidence]
    out: list[float | None] = []
    for start in starts:
        pairs = []  # (points at the rung, final points) of the trials having both, finite
        for trial, final in zip(evidence, finals, strict=True):
            early = _pareto_rungs.rung_point(trial.reports, objectives, start)
            if final is None or early is None or not all(map(math.isfinite, early + final)):
                continue
            pairs.append((early, final))
        taus = [
            kendall_tau([e[k] for e, _ in pairs], [f[k] for _, f in pairs])
            for k in range(len(objectives))
            if any(e[k] != f[k] for e, f in pairs)
        ]
        if not pairs:
            out.append(None)
        elif not taus:
            out.append(1.0)
        else:
            out.append(None if None in taus else min(t for t in taus if t is not None))
    return out


def bracket_weights(n_trials: Sequence[int], trust: Sequence[float | None]) -> list[float]:
    """Each bracket's share of new trials: its Hyperband count n_b times
    max(FLOOR, explained(tau_b)). `trust` has one entry per bracket; the last bracket
    (no pruning) gets weight n_b as it is: its ranking is the final one."""
    if len(n_trials) != len(trust):
        raise ValueError(f"one trust per bracket, but got {len(trust)} for {len(n_trials)}")
    out = [n * max(FLOOR, explained(t)) for n, t in zip(n_trials, trust, strict=True)]
    out[-1] = float(n_trials[-1])
    return out


def pick(weights: Sequence[float], u: float) -> int:
    """The bracket at quantile u in [0, 1) of the distribution `weights` describes."""
    total = float(sum(weights))
    if total <= 0 or not 0 <= u < 1:
        raise ValueError(f"weights must sum > 0 and 0 <= u < 1, but got {weights!r}, u={u}")
    acc = 0.0
    for b, w in enumerate(weights):
        acc += w / total
        if u < acc:
            return b
    return len(weights) - 1
