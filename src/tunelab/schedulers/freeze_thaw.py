"""Freeze-thaw: resumable trials train in slices of `slice` steps (epochs) and pause at
each slice's end; a free worker then either resumes the paused trial whose next slice
promises most, or starts a new configuration (as DyHPO chooses, with tunelab's own curve
model in place of its deep-kernel GP).

Promises are compared at equal budget, as expected improvement per step of training:
- A paused trial last seen at step `s` is scored by the expected improvement (EI) of its
  value at `s + slice` (predicted by `tunelab.curves`, calibrated on the curves of trials
  that got that far) over the incumbent *at that step*: the best value any trial reported
  at `s + slice`, or, where no trial got there yet, the best value at any step up to it.
  Judging a trial against values other trials reached only after many more epochs would
  score every young trial 0, however steep its curve. With `lookahead` > 1 the same is
  done at `s + 2 slice`, ... (each against the incumbent at its own step, divided by its
  own cost) and the best counts: one slice ahead alone (DyHPO's rule) is myopic where
  curves cross, since a late bloomer still behind the fast starters one slice on is never
  resumed even when it would overtake them a few slices later.
- A new configuration is scored by the EI of its first-slice value over the best
  first-slice value so far. Those values are modelled by their empirical distribution
  with an exponential upper tail fitted to the top `sqrt(n)` of them (peaks over a
  threshold, as extreme-value statistics estimates tails). Not one normal: first-slice
  values are skewed (many configurations near chance, a few good ones), so a normal takes
  its spread from the bad tail and over-promises above the best; nor a kernel density,
  whose bandwidth is also set by the whole spread, for the same reason. Only the top
  values shape the tail, so the promise is positive and shrinks about as `beta / n` as
  configurations accumulate (a new exchangeable draw beats `n` others with chance
  `1/(n+1)`; `beta` is the top values' typical spacing).
Both are divided by the steps they cost (a slice, or less where a trial is that close to
the last step any trial completed at). Until `initial` trials have completed a first slice,
new configurations come first. Once the study's budget of trials is spent, only paused
trials run, best promise first, and only while one's chance of beating the best value by
the study's last step is at least `min_chance`: the others stay PAUSED (a later run with a
larger budget resumes them). Trials that cannot resume ignore all of this: they run to
their end.

A decision predicts only for trials whose curve, target step or set of references changed
since the last decision (predictions are kept per trial between decisions; references are
counted in buckets about a quarter apart, so one more finished curve does not re-predict
every paused trial), and reads each trial's curve once: with hundreds of paused trials a
decision costs milliseconds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import ndtr

from tunelab.curves import Curve, CurveModel, Prediction
from tunelab.errors import ConfigurationError
from tunelab.schedulers.base import Scheduler
from tunelab.schedulers.decision import GO_ON, PruneRequest, ResumeRequest, Verdict, check_int
from tunelab.trial import FrozenTrial
from tunelab.types import Direction, TrialState

CHANCE_CHECKS = 16  # budget spent: paused trials, best promise first, asked for their chance
KERNEL = 0.25  # a calibrated draw's smoothing, in spreads (Prediction.probability_beyond's)
PHI0 = 1.0 / math.sqrt(2.0 * math.pi)


class FreezeThawScheduler(Scheduler):
    """Pause resumable trials after each slice and, whenever a worker is free, resume the
    paused trial or start the new configuration whose next slice promises the larger
    expected improvement per step, each judged against the best value at the step it
    would reach (freeze-thaw search).

    Args:
        slice: Reports (epochs) a trial trains before it pauses.
        initial: New configurations that complete a first slice before any paused trial is
            resumed.
        min_chance: Once the study's budget of trials is spent, a paused trial goes on only
            while its chance of beating the best value by the last step is at least this.
        lookahead: Slices ahead a paused trial's promise looks: its score is the best
            expected improvement per step at the end of its next slice, of the one after,
            ... up to this many, each against the incumbent at that step (1 is DyHPO's
            rule; a longer look lets a late bloomer that is behind one slice ahead catch
            up a few slices on).
        rules: Curve rules (`Divergence`, `Plateau`, `Overfitting`, or their names) that still
            stop a trial for good.
    """

    name = "freeze-thaw"
    pauses = True

    def __init__(
        self,
        slice: int = 3,
        initial: int = 4,
        min_chance: float = 0.05,
        lookahead: int = 3,
        rules: Any = (),
    ) -> None:
        super().__init__(rules)
        self.slice = check_int("slice", slice, 1)
        self.lookahead = check_int("lookahead", lookahead, 1)
        self.initial = check_int("initial", initial, 1)
        if isinstance(min_chance, bool) or not isinstance(min_chance, int | float):
            raise ConfigurationError(f"min_chance must be a probability, but got {min_chance!r}")
        if not 0.0 <= min_chance < 1.0:
            raise ConfigurationError(
                f"min_chance must lie in [0, 1) (a probability), but got {min_chance!r}"
            )
        self.min_chance = float(min_chance)
        self.model = CurveModel(min_references=4)
        # kept between decisions: per paused trial (what its prediction depended on, the
        # prediction, the incumbent it was scored against, the score); every trial's curve
        # per count of reports; references' curves cut at a step (they never change)
        self._kept: dict[tuple[int, int], tuple[tuple[Any, ...], Prediction, float, float]] = {}
        self._curves: dict[tuple[int, int, str], dict[int, float]] = {}
        self._cuts: dict[tuple[int, int], Curve] = {}

    def config(self) -> dict[str, Any]:
        return {
            "slice": self.slice,
            "initial": self.initial,
            "min_chance": self.min_chance,
            "lookahead": self.lookahead,
        }

    def needs_history(self, step: int, previous_step: int | None) -> bool:
        return False

    def rank_decision(self, request: PruneRequest) -> Verdict:
        return GO_ON  # it pauses instead of stopping; curve rules may still stop a trial

    def pause_due(self, steps_this_run: int) -> bool:
        return steps_this_run >= self.slice

    def choose_resume(self, request: ResumeRequest) -> int | None:
        sign = 1.0 if request.direction is Direction.MAXIMIZE else -1.0
        curves = {t.trial_id: self._curve(t, request.metric) for t in request.history}
        for t in request.paused:
            curves.setdefault(t.trial_id, self._curve(t, request.metric))
        self._curves = {k: v for k, v in self._curves.items() if k[0] in curves}
        paused = [t for t in request.paused if curves[t.trial_id]]
        if not paused:
            return None
        firsts = [sign * c[s] for c in curves.values() if (s := self._first_step(c)) is not None]
        if len(firsts) < self.initial and not request.budget_spent:
            return None
        board = Incumbents(curves.values(), sign)
        complete = [t.last_step for t in request.history if t.state is TrialState.COMPLETE]
        end = max((s for s in complete if s is not None), default=None)
        references = References(request.history, curves, self._cuts, sign)
        scores = {
            t.number: self._score(t.trial_id, curves[t.trial_id], end, board, references)
            for t in paused
        }
        self._kept = {k: v for k, v in self._kept.items() if k[0] in curves}
        order = sorted(scores, key=lambda n: (-scores[n], n))
        if not request.budget_spent:
            new = new_configuration_gain(firsts) / self.slice
            return order[0] if scores[order[0]] > new else None
        final = max(t.last_step or 0 for t in request.history)
        by_number = {t.number: t for t in paused}
        for number in order[:CHANCE_CHECKS]:
            t = by_number[number]
            own = curves[t.trial_id]
            if max(own) >= final or self.min_chance == 0.0:
                return number
            chance = self._predict(own, final, references)
            if chance.probability_beyond(sign * board.best, above=sign > 0) >= self.min_chance:
                return number
        return None

    def _score(
        self,
        trial_id: int,
        own: dict[int, float],
        end: int | None,
        board: Incumbents,
        references: References,
    ) -> float:
        """The best expected improvement per step over `lookahead` horizons (the end of the
        trial's next slice, of the one after, ...), each against the incumbent at its step;
        each kept between decisions while the curve, the step, the references' bucket and
        the incumbent stay the same."""
        last = max(own)
        score = 0.0
        for j in range(1, self.lookahead + 1):
            target = last + j * self.slice
            if end is not None and last < end:
                target = min(target, end)
            depends = (len(own), last, own[last], target, references.bucket(target))
            best = board.at(target)
            kept = self._kept.get((trial_id, j))
            if kept is None or kept[0] != depends:
                kept = (depends, self._predict(own, target, references), math.nan, 0.0)
            if kept[2] != best:
                value = gain(kept[1], best, references.sign) / (target - last)
                kept = (depends, kept[1], best, value)
            self._kept[trial_id, j] = kept
            score = max(score, kept[3])
            if end is not None and target >= end:
                break
        return score

    def _first_step(self, curve: dict[int, float]) -> int | None:
        """The step of the trial's first slice's end (its `slice`-th report), if it got there."""
        if len(curve) < self.slice:
            return None
        return sorted(curve)[self.slice - 1]

    def _predict(self, own: dict[int, float], step: int, references: References) -> Prediction:
        """The trial's value at `step` from its own curve, calibrated on the references."""
        steps = sorted(own)
        refs = references.at(step, self.model.max_references)
        return self.model.predict(steps, [own[s] for s in steps], step, refs)

    def _curve(self, t: FrozenTrial, metric: str) -> dict[int, float]:
        """The trial's finite values by step, read once per count of reports."""
        key = (t.trial_id, len(t.reports), metric)
        if key not in self._curves:
            self._curves[key] = _curve(t, metric)
        return self._curves[key]


class Incumbents:
    """The best value ("higher is better" units) reported at each step, and the best at
    any step up to a given one, from every trial's curve."""

    def __init__(self, curves: Any, sign: float) -> None:
        at: dict[int, float] = {}
        for c in curves:
            for s, v in c.items():
                if sign * v > at.get(s, -math.inf):
                    at[s] = sign * v
        self._at = at
        self._steps = np.array(sorted(at), dtype=float)
        self._upto = np.maximum.accumulate(np.array([at[int(s)] for s in self._steps]))
        self.best = float(self._upto[-1]) if len(self._upto) else -math.inf

    def at(self, step: int) -> float:
        """The best value reported at `step`; where none was, the best at any earlier step."""
        if step in self._at:
            return self._at[step]
        i = int(np.searchsorted(self._steps, step, side="right")) - 1
        return float(self._upto[i]) if i >= 0 else -math.inf


class References:
    """Per step, the curves (cut at that step) of the trials that reached it, in history
    order, built once per decision and shared by every paused trial aiming there."""

    def __init__(
        self,
        history: Sequence[FrozenTrial],
        curves: dict[int, dict[int, float]],
        cuts: dict[tuple[int, int], Curve],
        sign: float = 1.0,
    ) -> None:
        self._history = history
        self._curves = curves
        self._cuts = cuts  # (trial id, step) -> Curve, shared between decisions
        self._made: dict[int, list[Curve]] = {}
        self.sign = sign

    def at(self, step: int, most: int) -> list[Curve]:
        """The last `most` references at `step`."""
        if step not in self._made:
            refs = []
            for t in self._history:
                c = self._curves[t.trial_id]
                if step in c:
                    cut = self._cuts.get((t.trial_id, step))
                    if cut is None:
                        steps = sorted(s for s in c if s <= step)
                        cut = Curve(t.trial_id, steps, [c[s] for s in steps])
                        self._cuts[t.trial_id, step] = cut
                    refs.append(cut)
            self._made[step] = refs
        return self._made[step][-most:]

    def bucket(self, step: int) -> int:
        """The count of references at `step` in buckets about a quarter apart once past 8,
        so one more reference does not re-predict every trial aiming there."""
        self.at(step, 1)
        n = len(self._made[step])
        return n if n < 8 else 8 + int(math.log(n / 8) / math.log(1.25))


def _curve(t: FrozenTrial, metric: str) -> dict[int, float]:
    return {s: v for s, v in t.intermediate(metric).items() if math.isfinite(v)}


def gain(prediction: Prediction, best: float, sign: float) -> float:
    """E[max(value - best, 0)] in "higher is better" units, closed-form: for a calibrated
    prediction each of its equally likely draws is smoothed by a Gaussian kernel a quarter
    of the spread wide (as `Prediction.probability_beyond` does), so a trial whose draws
    all fall short still ranks by how near they come."""
    if prediction.calibrated:
        width = KERNEL * prediction.spread
        return float(np.mean(_normal_gain(sign * prediction.draws, width, best)))
    return float(_normal_gain(sign * prediction.mean, prediction.spread, best))


def new_configuration_gain(firsts: Sequence[float]) -> float:
    """E[max(value - best, 0)] for a new configuration's first-slice value (higher is
    better): the values seen are the distribution up to the (k+1)-th best `u`, k = ceil of
    the square root of their count; above `u` it has an exponential tail whose mean excess
    `beta` is that of the top k values (peaks over a threshold). So P(value > x) is
    (k / n) exp(-(x - u) / beta) above `u`, and the expected improvement over the best
    value `b` is its integral from `b` up: (k / n) beta exp(-(b - u) / beta)."""
    values = np.sort(np.asarray(firsts, dtype=float))
    n = len(values)
    if n < 2:
        return math.inf if n == 0 else 0.0
    k = min(max(2, math.ceil(math.sqrt(n))), n - 1)
    threshold = float(values[n - k - 1])
    beta = float(np.mean(values[n - k :] - threshold))
    if beta <= 0.0:  # the top values all alike: nothing suggests a new one does better
        return 0.0
    return k / n * beta * math.exp(-(float(values[-1]) - threshold) / beta)


def _normal_gain(mean: Any, spread: float, best: float) -> Any:
    """E[max(X - best, 0)] for X ~ N(mean, spread²) (elementwise over an array of means)."""
    if spread <= 0.0:
        return np.maximum(mean - best, 0.0)
    z = (np.asarray(mean, dtype=float) - best) / spread
    return spread * (z * ndtr(z) + PHI0 * np.exp(-0.5 * z * z))
