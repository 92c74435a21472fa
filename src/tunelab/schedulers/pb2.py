"""Population Based Bandits (PB2; Parker-Holder et al., NeurIPS 2020): PBT's exploit, with
the explored values chosen by a time-varying GP bandit instead of random perturbation.

The data are the population's own intervals: for every trial and every interval it
trained, the time (the interval's last step), the numeric mutable values it trained with
(in the unit cube of the study's encoding, `Param.to_unit`) and the reward, how much the
metric improved over the interval (sign-adjusted, so higher is better; after an exploit
the start is the parent's value, whose weights the interval began from). Rewards are
standardised within each time: early intervals improve by far more than late ones, and
unscaled they would drown what the late ones say. A GP with the paper's time-varying
kernel (tunelab.schedulers._tv_gp) is fitted to them, and the new values maximise the
upper confidence bound mean + κ·sd at the end of the coming interval over the whole of
each parameter's range (the paper's choice; the parent's neighbourhood is searched more
densely, not exclusively). Values other trials took at the same step count as pending
points (PB2's batch rule), so a population exploring together spreads out.

Categorical and boolean mutable values are PBT's: neighbour or resample (the paper
treats continuous values only). Until the population has given `population_size`
intervals of data, all values are explored PBT's way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunelab.errors import ConfigurationError
from tunelab.schedulers.decision import ExploitRequest
from tunelab.schedulers.pbt import SCHEDULE_ATTR, PBTScheduler, _value_at
from tunelab.space import Float, Int, SearchSpace
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

MAX_POINTS = 256  # the newest intervals kept: older ones are mostly forgotten by ε anyway
RANDOM_CANDIDATES = 512
LOCAL_CANDIDATES = 256  # around the parent's values and around the best of the first round
LOCAL_SCALES = (0.02, 0.05, 0.1, 0.2)  # in the unit cube
REFINED = 8  # the first round's best, each perturbed LOCAL_CANDIDATES / REFINED times


@dataclass(frozen=True, eq=False)  # arrays inside
class Intervals:
    """The bandit's data: one row per trained interval."""

    times: np.ndarray  # the interval's last step over `span`: time counted in intervals
    x: np.ndarray  # the numeric mutable values, unit cube
    rewards: np.ndarray  # metric improvement over the interval, higher is better
    span: float  # steps per interval (the unit of time for the kernel)
    keys: frozenset[tuple[int, int]]  # (trial number, first step) of each row


class PB2Scheduler(PBTScheduler):
    """Population Based Bandits: PBT whose explored numeric values (Float, Int) maximise a
    time-varying GP's upper confidence bound on the improvement per interval, learned from
    the population's intervals; settings as PBTScheduler (`perturb` and
    `resample_probability` serve categorical values and the start-up before the GP has
    `population_size` intervals)."""

    name = "pb2"

    def mutable(self, space: SearchSpace) -> list[str]:
        """As PBT's, and at least one of them numeric: the bandit chooses those."""
        names = super().mutable(space)
        if not any(isinstance(space[n], Float | Int) for n in names):
            kinds = ", ".join(f"{n} ({space[n].describe()})" for n in names)
            raise ConfigurationError(
                f"scheduler 'pb2' chooses numeric values (Float, Int) with its GP bandit, but "
                f"the hyperparameters it may change are not numeric: {kinds}; add a numeric one "
                "to hyperparams=[...] or use scheduler='pbt'"
            )
        return names

    def new_values(self, request: ExploitRequest) -> dict[str, Any]:
        """The parent's values with the numeric mutable ones chosen by the bandit (PBT's
        exploration for the rest, and for all until there is enough data)."""
        trial, parent, history, space = (
            request.trial,
            request.parent,
            request.history,
            request.space,
        )
        step = trial.last_step or 0
        rng = self.rng(trial.number, step)
        names = self.mutable(space)
        numeric = [n for n in names if isinstance(space[n], Float | Int) and n in parent.params]
        values = self.explore(parent.params, [n for n in names if n not in numeric], space, rng)
        data = intervals(history, request.metric, request.direction, numeric, space, self.interval)
        if not numeric or len(data.rewards) < self.population_size:
            return self.explore(values, numeric, space, rng)
        now = (step + data.span) / data.span
        pending = _pending(history, trial.number, step, numeric, space, data.keys)
        start = np.array([space[n].to_unit(parent.params[n]) for n in numeric])
        chosen = choose(data, now, pending, start, rng)
        values.update(
            {n: space[n].from_unit(float(u)) for n, u in zip(numeric, chosen, strict=True)}
        )
        return values


def intervals(
    history: Sequence[FrozenTrial],
    metric: str,
    direction: Direction,
    names: Sequence[str],
    space: SearchSpace,
    interval: int,
) -> Intervals:
    """Every complete interval of the population (see the module doc), newest MAX_POINTS."""
    sign = 1.0 if direction is Direction.MAXIMIZE else -1.0
    by_number = {t.number: t for t in history}
    rows: list[tuple[float, list[float], float, int, int]] = []
    spans: list[float] = []
    for t in sorted(history, key=lambda t: t.number):
        if t.state is TrialState.FAIL:
            continue
        curve = {s: v for s, v in t.intermediate(metric).items() if math.isfinite(v)}
        steps = sorted(curve)
        if not steps:
            continue  # nothing reported yet (another worker's trial just started)
        entries = _schedule(t)
        starts = {e["step"]: e for e in entries}
        cuts = sorted(
            {i for i in range(0, len(steps), interval)}
            | {i for i, s in enumerate(steps) if s in starts}
        )
        for a, b in zip(cuts, [*cuts[1:], len(steps)], strict=True):
            if b - a < max(interval, 2 if a == 0 else 1):
                continue  # unfinished or cut short (or a first with no change to measure)
            params = next(
                (e["params"] for e in reversed(entries) if e["step"] <= steps[a]), t.params
            )
            if a == 0:
                before: float | None = curve[steps[0]]  # the first report is the baseline
            else:
                entry = starts.get(steps[a])
                theirs = (
                    by_number.get(entry["parent"])
                    if entry and entry.get("parent") is not None
                    else None
                )
                before = (
                    curve[steps[a - 1]]
                    if theirs is None
                    else _value_at(theirs, metric, steps[a - 1])
                )
                spans.append(steps[b - 1] - steps[a - 1])
            x = _unit(params, names, space)
            if x is None:
                continue  # a value outside today's range or a missing parameter
            if before is None or not math.isfinite(before):
                continue
            rows.append(
                (steps[b - 1], x, sign * (curve[steps[b - 1]] - before), t.number, steps[a])
            )
    rows = sorted(rows, key=lambda r: (r[0], r[3]))[-MAX_POINTS:]
    span = float(np.median(spans)) if spans else float(interval)
    span = span if span > 0 else float(interval)
    return Intervals(
        times=np.array([r[0] / span for r in rows], dtype=float),
        x=np.array([r[1] for r in rows], dtype=float).reshape(len(rows), len(names)),
        rewards=np.array([r[2] for r in rows], dtype=float),
        span=span,
        keys=frozenset((r[3], r[4]) for r in rows),
    )


def standardised(times: np.ndarray, rewards: np.ndarray) -> np.ndarray:
    """Rewards as z-scores among the rewards of the same time (0 where they cannot vary)."""
    out = np.zeros_like(rewards)
    for t in np.unique(times):
        at = times == t
        sd = float(rewards[at].std())
        if at.sum() > 1 and sd > 0:
            out[at] = (rewards[at] - rewards[at].mean()) / sd
    return out


def kappa(n: int) -> float:
    """The UCB's exploration weight √β with PB2's β = 0.2 + log(0.4 n) (at least 0.2)."""
    return math.sqrt(0.2 + max(0.0, math.log(0.4 * n)))


def choose(
    data: Intervals, now: float, pending: np.ndarray, start: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The unit-cube point of highest UCB at time `now`: the best of random points and
    points near `start` (the parent's values), refined around the best of them."""
    # scipy's linalg and optimize take ~0.8 s to import: only once PB2 chooses
    from tunelab.schedulers._tv_gp import TimeVaryingGP

    gp = TimeVaryingGP.fit(data.times, data.x, standardised(data.times, data.rewards))
    gp = gp.with_pending(now, pending)
    weight = kappa(len(data.rewards))
    d = len(start)

    def ucb(points: np.ndarray) -> np.ndarray:
        mean, sd = gp.predict(now, points)
        return mean + weight * sd

    def near(centres: np.ndarray, count: int) -> np.ndarray:
        scale = rng.choice(LOCAL_SCALES, size=(count, 1))
        picks = centres[rng.integers(len(centres), size=count)]
        return np.clip(picks + scale * rng.normal(size=(count, d)), 0.0, 1.0)

    first = np.vstack(
        [start[None, :], rng.random((RANDOM_CANDIDATES, d)), near(start[None, :], LOCAL_CANDIDATES)]
    )
    scores = ucb(first)
    top = first[np.argsort(-scores, kind="stable")[:REFINED]]
    second = near(top, LOCAL_CANDIDATES)
    points = np.vstack([first, second])
    scores = np.concatenate([scores, ucb(second)])
    return np.asarray(points[int(np.argmax(scores))])


def _pending(
    history: Sequence[FrozenTrial],
    number: int,
    step: int,
    names: Sequence[str],
    space: SearchSpace,
    observed: frozenset[tuple[int, int]],
) -> np.ndarray:
    """The values other trials took after the same step and have not yet trained through."""
    rows = []
    for t in sorted(history, key=lambda t: t.number):
        if t.number == number or t.state is TrialState.FAIL:
            continue
        for entry in _schedule(t):
            if (
                entry["step"] == step + 1
                and entry.get("parent") is not None
                and (t.number, step + 1) not in observed
            ):
                x = _unit(entry["params"], names, space)
                if x is not None:
                    rows.append(x)
    return np.array(rows, dtype=float).reshape(len(rows), len(names))


def _schedule(trial: FrozenTrial) -> list[dict[str, Any]]:
    entries = trial.system_attrs.get(SCHEDULE_ATTR)
    if not isinstance(entries, list):
        return []
    return [
        e
        for e in entries
        if isinstance(e, dict)
        and isinstance(e.get("step"), int)
        and isinstance(e.get("params"), dict)
    ]


def _unit(
    params: Mapping[str, Any], names: Sequence[str], space: SearchSpace
) -> list[float] | None:
    """The values of `names` in the unit cube (None when one is missing or out of range)."""
    try:
        return [space[n].to_unit(params[n]) for n in names]
    except (KeyError, ValueError, TypeError):
        return None
