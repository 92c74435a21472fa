"""Adaptive Hyperband: brackets follow how well each starting rung predicts the final ranking."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import pytest

import tunelab
from tunelab.errors import TrialPruned
from tunelab.schedulers import HyperbandScheduler, make_scheduler
from tunelab.schedulers._trust import FLOOR, MIN_EVIDENCE, bracket_weights, pick
from tunelab.testing.scheduler_conformance import SchedulerConformance, curve_trial, request
from tunelab.trial import FrozenTrial
from tunelab.types import TrialState

R = 9  # brackets for (1, 9, 3): b0 rungs [1, 3], n=9; b1 rungs [3], n=5; b2 no rungs, n=3


class TestAdaptiveHyperbandConformance(SchedulerConformance):
    def make_scheduler(self) -> HyperbandScheduler:
        return HyperbandScheduler(min_resource=1, max_resource=9, seed=2, adaptive=True)


def finished(number: int, values: list[float], start: float, done: float) -> FrozenTrial:
    t = curve_trial(number, values)
    return replace(t, datetime_start=start, datetime_complete=done)


def running(number: int, start: float, values: tuple[float, ...] = (0.5,)) -> FrozenTrial:
    t = curve_trial(number, list(values), state=TrialState.RUNNING)
    return replace(t, value=None, datetime_start=start)


def evidence(late_bloomers: bool, n: int = 12) -> list[FrozenTrial]:
    """n trials that ran all 9 steps (loss, lower is better). Late bloomers: the order after
    one step is the reverse of the final order; otherwise the two agree."""
    out = []
    for i in range(n):
        final = 0.1 + 0.05 * i
        first = 2.0 - 0.1 * i if late_bloomers else 1.0 + 0.1 * i
        curve = [first + (final - first) * s / 8 for s in range(9)]
        out.append(finished(i, curve, start=float(i), done=float(i) + 0.5))
    return out


def brackets_of_new_trials(hb: HyperbandScheduler, history: list[FrozenTrial]) -> Counter[int]:
    """Brackets of 300 trials that start after the history, read as the study reads them."""
    news = [running(n, start=1000.0 + n) for n in range(100, 400)]
    counts: Counter[int] = Counter()
    for t in news:
        hb.decide(request(t, [*history, *news]))
        counts[hb.trial_attrs(t.number)["bracket"]] += 1
    return counts


def test_weights_keep_a_floor_and_the_last_bracket_its_count() -> None:
    assert bracket_weights([9, 5, 3], [-1.0, 1.0, None]) == pytest.approx([9 * FLOOR, 5.0, 3.0])
    assert [pick([1, 1, 2], u) for u in (0.0, 0.24, 0.26, 0.49, 0.51, 0.99)] == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="one trust per bracket"):
        bracket_weights([9, 5], [1.0])


def test_without_enough_evidence_brackets_follow_the_fixed_order() -> None:
    fixed = HyperbandScheduler(max_resource=R, seed=1, adaptive=False)
    adaptive = HyperbandScheduler(max_resource=R, seed=1, adaptive=True)
    few = evidence(late_bloomers=True, n=MIN_EVIDENCE - 1)
    for n in range(40, 60):
        t = running(n, start=500.0 + n)
        adaptive.decide(request(t, [*few, t]))
        assert adaptive.trial_attrs(n) == fixed.trial_attrs(n)


def test_late_bloomer_evidence_moves_trials_out_of_the_early_brackets() -> None:
    plain = HyperbandScheduler(max_resource=R, adaptive=False)
    counts = brackets_of_new_trials(
        HyperbandScheduler(max_resource=R, adaptive=True), evidence(late_bloomers=True)
    )
    # plain Hyperband sends 9 of every 17 trials to bracket 0; here rungs 1 and 3 rank in
    # reverse, so brackets 0 and 1 keep only their floor: 0.9 and 0.5 of weight 4.4
    assert Counter(plain.bracket_of(n) for n in range(100, 400))[0] > 150
    assert counts[0] < 0.25 * 300 and counts[2] > 0.55 * 300
    assert sum(counts.values()) == 300


def test_evidence_that_agrees_keeps_hyperband_proportions() -> None:
    counts = brackets_of_new_trials(
        HyperbandScheduler(max_resource=R, adaptive=True), evidence(late_bloomers=False)
    )
    for b, n_b in enumerate((9, 5, 3)):
        assert counts[b] == pytest.approx(300 * n_b / 17, abs=6)


def test_workers_agree_and_later_evidence_does_not_move_a_started_trial() -> None:
    history = evidence(late_bloomers=True)
    news = [running(n, start=100.0 + n) for n in range(20, 80)]
    one = HyperbandScheduler(max_resource=R, seed=3, adaptive=True)
    for t in news:
        one.decide(request(t, [*history, *news]))
    # another worker reads the history later, when more trials finished at max_resource:
    # they finished after these trials started, so they do not change their brackets
    later = [finished(n, [0.1] * 9, start=0.5, done=1000.0 + n) for n in range(200, 220)]
    two = HyperbandScheduler(max_resource=R, seed=3, adaptive=True)
    for t in news:
        two.decide(request(t, [*history, *later, *news]))
    assert [one.trial_attrs(t.number) for t in news] == [two.trial_attrs(t.number) for t in news]


def test_a_stored_bracket_wins_over_recomputing() -> None:
    history = evidence(late_bloomers=True)
    hb = HyperbandScheduler(max_resource=R, adaptive=True)
    me = running(51, start=100.0)
    of = hb._adaptive_brackets(request(me, [*history, me]))
    for b in range(3):
        peer = replace(running(60 + b, start=100.0), system_attrs={"bracket": b})
        assert of(peer) == b


def test_adaptive_is_the_default_and_always_stored() -> None:
    assert HyperbandScheduler(max_resource=9).adaptive
    assert HyperbandScheduler(max_resource=9).to_json()["adaptive"] is True
    assert HyperbandScheduler(max_resource=9, adaptive=False).to_json()["adaptive"] is False
    for on in (True, False):
        hb = HyperbandScheduler(max_resource=9, adaptive=on)
        again = make_scheduler(hb.to_json())
        assert isinstance(again, HyperbandScheduler) and again.adaptive is on
        assert again.to_json() == hb.to_json()
    # by name, or a hand-written config: today's default
    with pytest.warns(UserWarning, match="max_resource not given"):
        by_name = make_scheduler("hyperband")
    assert isinstance(by_name, HyperbandScheduler) and by_name.adaptive
    by_hand = make_scheduler({"name": "hyperband", "max_resource": 9})
    assert isinstance(by_hand, HyperbandScheduler) and by_hand.adaptive
    with pytest.raises(ValueError, match="adaptive must be True or False"):
        HyperbandScheduler(adaptive="yes")  # type: ignore[arg-type]


def test_a_config_stored_before_adaptive_was_the_default_stays_plain() -> None:
    # what to_json() wrote for HyperbandScheduler() when plain Hyperband was the default
    legacy = {"name": "hyperband", "min_resource": 1, "max_resource": 9, "reduction_factor": 3}
    old = make_scheduler({**legacy, "seed": 0})
    assert isinstance(old, HyperbandScheduler) and not old.adaptive
    assert old.trial_attrs(4) == {"bracket": old.bracket_of(4)}


def late_bloomer(trial: tunelab.Trial) -> float:
    """Higher x: slower start, better end (loss)."""
    x = trial.hp.Float("x", 0.0, 1.0)
    loss = 1.0
    for step in range(R):
        t = (step + 1) / R
        loss = (1 - x) * 0.5 + x * 0.1 + (0.2 + 0.8 * x) * (1 - t) ** 2 + 0.3 * (1 - x) * t
        trial.report(step, loss=loss)
        if trial.should_prune():
            raise TrialPruned("stopped")
    return loss


def test_in_a_study_late_bloomers_shift_brackets_and_every_trial_records_one() -> None:
    counts = {}
    for adaptive in (False, True):
        study = tunelab.create_study(
            storage=":memory:",
            metric="loss",
            direction="minimize",
            sampler="random",
            seed=0,
            scheduler=HyperbandScheduler(max_resource=R, adaptive=adaptive),
        )
        study.optimize(late_bloomer, n_trials=120)
        trials = study.trials
        assert all(isinstance(t.system_attrs.get("bracket"), int) for t in trials)
        counts[adaptive] = Counter(t.system_attrs["bracket"] for t in trials[60:])
        study.close()
    assert counts[True][0] < 0.6 * counts[False][0]
    assert counts[True][2] > counts[False][2]
    assert math.isfinite(sum(counts[True].values()))
