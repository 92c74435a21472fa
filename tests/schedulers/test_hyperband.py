"""Hyperband brackets allocate trials and resources as Li et al. (2018) specify (the plain,
fixed-order Hyperband: adaptive=False; the adaptive default is in test_adaptive_hyperband.py)."""

from __future__ import annotations

from collections import Counter

from tunelab.schedulers import HyperbandScheduler
from tunelab.testing.scheduler_conformance import curve_trial, request
from tunelab.types import TrialState


def test_brackets_match_the_published_table_for_r81_eta3() -> None:
    hb = HyperbandScheduler(min_resource=1, max_resource=81, reduction_factor=3, adaptive=False)
    table = [(b.min_resource, b.n_trials) for b in hb.brackets]
    # Li et al. 2018, Table 1 (R=81, eta=3): s=4..0 -> (r, n) = (1,81) (3,34) (9,15) (27,8) (81,5)
    assert table == [(1, 81), (3, 34), (9, 15), (27, 8), (81, 5)]
    assert [list(b.rungs) for b in hb.brackets] == [[1, 3, 9, 27], [3, 9, 27], [9, 27], [27], []]


def test_every_bracket_spends_about_the_same_budget() -> None:
    hb = HyperbandScheduler(min_resource=1, max_resource=81, reduction_factor=3, adaptive=False)
    budgets = [b.budget(81, 3) for b in hb.brackets]
    assert budgets == [405, 363, 351, 378, 405]
    s_max = len(hb.brackets) - 1
    assert all(b <= (s_max + 1) * 81 for b in budgets)  # the bound Hyperband is built on


def test_each_round_holds_exactly_n_b_trials_of_bracket_b() -> None:
    for seed in (0, 5):
        hb = HyperbandScheduler(
            min_resource=2, max_resource=18, reduction_factor=3, seed=seed, adaptive=False
        )
        per_round = sum(b.n_trials for b in hb.brackets)
        for start in (0, per_round, 7 * per_round):
            counts = Counter(hb.bracket_of(n) for n in range(start, start + per_round))
            assert [counts[b.index] for b in hb.brackets] == [b.n_trials for b in hb.brackets]
        # interleaved, not in blocks: the first quarter of a round already mixes brackets
        assert len({hb.bracket_of(n) for n in range(per_round // 4)}) >= 2


def test_min_resources_are_geometric_and_capped() -> None:
    hb = HyperbandScheduler(min_resource=2, max_resource=50, reduction_factor=3, adaptive=False)
    assert [b.min_resource for b in hb.brackets] == [2, 6, 18]
    assert all(r < 50 for b in hb.brackets for r in b.rungs)


def test_trials_compete_only_within_their_bracket() -> None:
    hb = HyperbandScheduler(min_resource=1, max_resource=9, reduction_factor=3, adaptive=False)
    zero = [n for n in range(40) if hb.bracket_of(n) == 0]
    other = [n for n in range(40) if hb.bracket_of(n) != 0]
    me = zero[5]
    # strong trials in other brackets do not count against a bracket-0 trial at step 0
    history = [curve_trial(n, [0.0], state=TrialState.PRUNED) for n in other[:8]]
    assert not hb.decide(request(curve_trial(me, [5.0]), history)).stop
    history += [curve_trial(n, [1.0], state=TrialState.PRUNED) for n in zero[:5]]
    verdict = hb.decide(request(curve_trial(me, [5.0]), history))
    assert (
        verdict.stop and verdict.attrs["bracket"] == 0 and verdict.attrs["pruned_by"] == "hyperband"
    )


def test_the_last_bracket_never_prunes() -> None:
    hb = HyperbandScheduler(min_resource=1, max_resource=9, reduction_factor=3, adaptive=False)
    last = next(n for n in range(40) if hb.bracket_of(n) == len(hb.brackets) - 1)
    history = [curve_trial(n, [0.0] * 9) for n in range(40) if n != last]
    for k in range(1, 10):
        assert not hb.decide(request(curve_trial(last, [9.0] * k), history)).stop


def test_bracket_is_a_system_attr_not_a_hyperparameter() -> None:
    hb = HyperbandScheduler(max_resource=9, adaptive=False)
    assert hb.trial_attrs(3) == {"bracket": hb.bracket_of(3)}
