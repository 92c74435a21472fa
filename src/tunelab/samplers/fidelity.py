"""Which observations a model-based sampler should learn from when trials are pruned.

BOHB's answer (Falkner et al., 2018): fit the model on the highest fidelity that has
enough observations. Here fidelity is the reported step. Among finished trials
(COMPLETE and PRUNED alike), find the highest step at which at least `min_points`
trials have a finite value of the metric; return every such trial with its value at
that exact step. Pruned trials thereby teach the model through their partial curves,
instead of being ignored (or worse, ranked by values from different steps).

A lower step can do the same job with more trials: when the trials that reached both rank
alike at it and at the top step (rho**2 >= `explained_at_least`, rho = sin(pi * tau / 2)
for Kendall's tau-b, over at least MIN_PAIRS trials; see tunelab/_stats.py), the lowest
such step with more trials is used instead. With late bloomers the early steps rank
differently and the top step stays; when early values already rank like final ones, the
model learns from every trial that got that far, not only from the few that finished.

A COMPLETE trial whose curve ended before that step (its own early stopping) counts
with its last reported value: its curve is over. A PRUNED one counts only at steps
it reported. With too few points at every step, the result falls back to the
COMPLETE trials' final values (step None), which is what samplers fit on today.

`model_history` is the history a ranking model (the TPE) learns from: the trials at the
chosen step, valued there, and *below them* the pruned trials that stopped earlier, left
PRUNED so that they rank after every valued trial (further first, then by their last
value; see samplers/tpe/split.py). BOHB drops them, one model per budget; but a trial the
scheduler stopped lost a comparison at its rung, and a model that never sees it samples
its region again as if nothing were known there (measured in benchmarks/RESULTS.md,
issue 5: "pruned trials kept"). A regression model (the GP) leaves them out, as BOHB does
(`keep_stopped_below=False`): it has no rank to put them at, only a made-up value.

Pure: no storage, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tunelab._stats import explained, kendall_tau
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

MIN_POINTS_FLOOR = 5
MIN_PAIRS = 6  # trials with values at both steps before their agreement is trusted
EXPLAINED_AT_LEAST = 0.9


@dataclass(frozen=True)
class FidelityObservations:
    """Trials and their values at one fidelity (`step`; None means final values)."""

    step: int | None
    trials: tuple[FrozenTrial, ...]
    values: tuple[float, ...]
    direction: Direction

    @property
    def losses(self) -> tuple[float, ...]:
        """The values oriented so that lower is better (negated when maximizing)."""
        sign = -1.0 if self.direction is Direction.MAXIMIZE else 1.0
        return tuple(sign * v for v in self.values)


def default_min_points(history: Sequence[FrozenTrial]) -> int:
    """max(5, d + 1) for d distinct parameter names in the history: enough points to
    say something about every dimension, never fewer than five."""
    names = {name for t in history for name in t.params}
    return max(MIN_POINTS_FLOOR, len(names) + 1)


def _curve(trial: FrozenTrial, metric: str) -> dict[int, float]:
    """The trial's finite reports of `metric`; a trial that a curve model stopped (the
    extrapolate scheduler records `predicted_step` and `predicted`) also carries its
    predicted value at that step: a calibrated guess of where it was heading, which
    teaches a model more than dropping the trial or valuing it where it stopped."""
    curve = {s: v for s, v in trial.intermediate(metric).items() if math.isfinite(v)}
    if trial.state is TrialState.PRUNED:
        step = trial.system_attrs.get("predicted_step")
        predicted = trial.system_attrs.get("predicted")
        if isinstance(step, int) and isinstance(predicted, dict) and step not in curve:
            value = predicted.get(metric)
            if isinstance(value, int | float) and math.isfinite(value):
                curve[step] = float(value)
    return curve


def fidelity_observations(
    history: Sequence[FrozenTrial],
    metric: str,
    direction: Direction | str,
    min_points: int | None = None,
    explained_at_least: float | None = EXPLAINED_AT_LEAST,
) -> FidelityObservations:
    """The observations to fit on: see the module docstring. `min_points` defaults to
    `default_min_points(history)`; `explained_at_least=None` keeps the top step always."""
    direction = Direction.parse(direction)
    need = default_min_points(history) if min_points is None else int(min_points)
    if need < 1:
        raise ValueError(f"min_points must be >= 1, but got min_points={min_points!r}")
    if explained_at_least is not None and not 0 < explained_at_least <= 1:
        raise ValueError(
            "explained_at_least must be in (0, 1] or None, but got "
            f"explained_at_least={explained_at_least!r}"
        )
    finished = [t for t in history if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    curves = {t.trial_id: _curve(t, metric) for t in finished}
    steps = sorted({s for c in curves.values() for s in c}, reverse=True)
    for step in steps:
        chosen: list[FrozenTrial] = []
        values: list[float] = []
        for t in finished:
            value = _value_at(t, curves[t.trial_id], step)
            if value is not None:
                chosen.append(t)
                values.append(value)
        if len(chosen) >= need:
            top = FidelityObservations(step, tuple(chosen), tuple(values), direction)
            if explained_at_least is None:
                return top
            return _lower_if_alike(top, finished, curves, explained_at_least)
    done = [
        t
        for t in finished
        if t.state is TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)
    ]
    finals = tuple(float(t.value) for t in done if t.value is not None)
    return FidelityObservations(None, tuple(done), finals, direction)


def _value_at(trial: FrozenTrial, curve: dict[int, float], step: int) -> float | None:
    if step in curve:
        return curve[step]
    if trial.state is TrialState.COMPLETE and curve and max(curve) < step:
        return curve[max(curve)]  # its own early stopping ended the curve: carry it forward
    return None


def _lower_if_alike(
    top: FidelityObservations,
    finished: Sequence[FrozenTrial],
    curves: dict[int, dict[int, float]],
    threshold: float,
) -> FidelityObservations:
    """The lowest step below top.step that ranks like it (and has more trials), else top."""
    if top.step is None:
        return top
    at_top = {t.trial_id: v for t, v in zip(top.trials, top.values, strict=True)}
    for step in sorted({s for c in curves.values() for s in c if s < top.step}):
        pairs = [(c[step], at_top[i]) for i, c in curves.items() if i in at_top and step in c]
        if len(pairs) < MIN_PAIRS:
            continue
        tau = kendall_tau([a for a, _ in pairs], [b for _, b in pairs])
        if explained(tau) < threshold:
            continue
        chosen, values = [], []
        for t in finished:
            value = _value_at(t, curves[t.trial_id], step)
            if value is not None:
                chosen.append(t)
                values.append(value)
        if len(chosen) > len(top.trials):
            return FidelityObservations(step, tuple(chosen), tuple(values), top.direction)
        return top
    return top


def stopped_by_scheduler(trial: FrozenTrial) -> bool:
    """Whether a scheduler stopped the trial (it records itself as `pruned_by`): only then
    are its values from an earlier step than its peers' by the scheduler's judgement, not
    because the objective gave up by itself (`TrialPruned` raised without a scheduler)."""
    return trial.state is TrialState.PRUNED and "pruned_by" in trial.system_attrs


def model_history(
    history: Sequence[FrozenTrial],
    metric: str,
    direction: Direction | str,
    min_points: int | None = None,
    explained_at_least: float | None = EXPLAINED_AT_LEAST,
    keep_stopped_below: bool = True,
) -> list[FrozenTrial]:
    """The history a ranking model learns from once a scheduler has stopped trials (see
    the module docstring): each trial of `fidelity_observations` as COMPLETE with its value
    at the chosen step; PRUNED trials that stopped before that step (left out when
    `keep_stopped_below` is False: BOHB's own rule, which the GP follows), and trials that
    are not finished (failed, running, waiting), as they are; in trial-number order.
    COMPLETE trials without a value at any step (none reported the metric) are left out.
    With no step to choose (too few reports), the history as it is."""
    seen = fidelity_observations(history, metric, direction, min_points, explained_at_least)
    if seen.step is None:
        return list(history)
    chosen = {t.trial_id for t in seen.trials}
    left_out = _left_out(keep_stopped_below)
    view = [
        replace(t, state=TrialState.COMPLETE, value=v)
        for t, v in zip(seen.trials, seen.values, strict=True)
    ]
    view += [t for t in history if t.trial_id not in chosen and t.state not in left_out]
    return sorted(view, key=lambda t: t.number)


def _left_out(keep_stopped_below: bool) -> set[TrialState]:
    """The states a valued view drops for trials not valued at its step: COMPLETE ones
    (their final values are from another step), and PRUNED ones too unless kept below."""
    if keep_stopped_below:
        return {TrialState.COMPLETE}
    return {TrialState.COMPLETE, TrialState.PRUNED}


def any_stopped_by_scheduler(history: Sequence[FrozenTrial]) -> bool:
    return any(stopped_by_scheduler(t) for t in history)


def learning_view(
    history: Sequence[FrozenTrial],
    metric: str | None,
    direction: Direction | str,
    keep_stopped_below: bool = True,
    stopped: Callable[[Sequence[FrozenTrial]], bool] = any_stopped_by_scheduler,
) -> Sequence[FrozenTrial]:
    """What a sampler's model learns from: `history` itself until a scheduler has stopped
    trials (`stopped(history)`: a caller that keeps track passes a cheaper test), then
    `model_history`. Values from different steps are not comparable; with too few
    reports to choose a step the history is used as it is."""
    if metric is None or not stopped(history):
        return history
    return model_history(history, metric, direction, keep_stopped_below=keep_stopped_below)


def _values_at(
    trial: FrozenTrial, curves: Sequence[dict[int, float]], step: int
) -> tuple[float, ...] | None:
    """The trial's objectives at `step`; a trial that got there keeps a metric reported
    only earlier (a model's size, reported once at step 0, still stands)."""
    reached = any(curve and max(curve) >= step for curve in curves)
    values = []
    for curve in curves:
        value = _value_at(trial, curve, step)
        if value is None and reached:
            value = next((curve[s] for s in sorted(curve, reverse=True) if s <= step), None)
        if value is None:
            return None
        values.append(float(value))
    return tuple(values)


def _alike(pairs: Sequence[tuple[tuple[float, ...], tuple[float, ...]]], threshold: float) -> bool:
    """Whether every objective ranks the trials at the lower step as at the top one (an
    objective that does not change between them, such as a model's size, does)."""
    for j in range(len(pairs[0][0])):
        low = [a[j] for a, _ in pairs]
        top = [b[j] for _, b in pairs]
        if low != top and explained(kendall_tau(low, top)) < threshold:
            return False
    return True


def several_model_history(
    history: Sequence[FrozenTrial],
    metrics: Sequence[str],
    keep_stopped_below: bool = True,
    explained_at_least: float = EXPLAINED_AT_LEAST,
) -> Sequence[FrozenTrial]:
    """`model_history` for several objectives: once a scheduler has stopped trials, each
    trial valued at one step as COMPLETE with its values there (`values`); below it what
    `model_history` keeps. The step is chosen as for one objective: the highest one where
    at least `default_min_points` trials report every metric, or the lowest one below it
    (with more trials) at which every objective ranks the trials as there.

    Why: a multi-objective scheduler keeps the ends of the front alive at every rung (the
    smallest model survives however poor its accuracy), so the trials that complete are a
    biased few; a model fitted on final values alone learns from them only and proposes
    more of the same. At a rung step every trial that got there counts, compared at the
    same budget, as BOHB does for one objective. The history as it is until a scheduler
    has stopped trials or while no step has enough trials."""
    if not any_stopped_by_scheduler(history):
        return history
    need = default_min_points(history)
    finished = [t for t in history if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    curves = {t.trial_id: [_curve(t, m) for m in metrics] for t in finished}
    steps = sorted({s for cs in curves.values() for c in cs for s in c})

    def valued_at(step: int) -> dict[int, tuple[float, ...]]:
        at = ((t.trial_id, _values_at(t, curves[t.trial_id], step)) for t in finished)
        return {i: v for i, v in at if v is not None}

    tops = ((s, valued) for s in reversed(steps) if len(valued := valued_at(s)) >= need)
    at_top = next(tops, None)
    if at_top is None:
        return history
    top_step, top = at_top
    for step in steps[: steps.index(top_step)]:
        lower = valued_at(step)
        pairs = [(v, top[i]) for i, v in lower.items() if i in top]
        if len(pairs) < MIN_PAIRS:
            continue
        if _alike(pairs, explained_at_least):
            if len(lower) > len(top):
                top = lower
            break
    valued = top
    left_out = _left_out(keep_stopped_below)
    return [
        replace(t, state=TrialState.COMPLETE, value=None, values=valued[t.trial_id])
        if t.trial_id in valued
        else t
        for t in history
        if t.trial_id in valued or t.state not in left_out
    ]
