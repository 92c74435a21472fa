"""The median stopping rule, at equal steps, after warm-up and enough trials."""

from __future__ import annotations

from tunelab.schedulers import MedianStoppingScheduler
from tunelab.testing.scheduler_conformance import curve_trial, request
from tunelab.types import Direction

OTHERS = [curve_trial(n, [10.0 - n, 5.0 - n * 0.5, 1.0 + n]) for n in range(5)]
# at step 2 the others' values are 1, 2, 3, 4, 5: median 3


def test_stops_when_its_best_so_far_is_worse_than_the_median_at_that_step() -> None:
    median = MedianStoppingScheduler(warmup_steps=2, min_trials=5)
    assert median.decide(request(curve_trial(9, [9.0, 9.0, 3.5]), OTHERS)).stop
    v = median.decide(request(curve_trial(9, [9.0, 9.0, 3.5]), OTHERS))
    assert v.attrs == {"pruned_by": "median", "pruned_at_step": 2}
    assert not median.decide(request(curve_trial(9, [9.0, 9.0, 3.0]), OTHERS)).stop  # = median
    # its best so far counts: 2.9 at step 1 is better than the step-2 median
    assert not median.decide(request(curve_trial(9, [9.0, 2.9, 3.5]), OTHERS)).stop


def test_no_stop_during_warm_up_or_with_too_few_trials() -> None:
    median = MedianStoppingScheduler(warmup_steps=2, min_trials=5)
    assert not median.decide(request(curve_trial(9, [99.0]), OTHERS)).stop
    assert not median.decide(request(curve_trial(9, [99.0, 99.0]), OTHERS)).stop
    assert not median.decide(request(curve_trial(9, [99.0] * 3), OTHERS[:4])).stop
    assert median.decide(request(curve_trial(9, [99.0] * 3), OTHERS)).stop


def test_only_values_at_the_same_step_count() -> None:
    median = MedianStoppingScheduler(warmup_steps=0, min_trials=5)
    short = [curve_trial(n, [0.0]) for n in range(5)]  # only step 0
    assert not median.decide(request(curve_trial(9, [5.0, 5.0]), short)).stop


def test_maximize() -> None:
    median = MedianStoppingScheduler(warmup_steps=2, min_trials=5)
    up = request(curve_trial(9, [0.0, 0.0, 3.5]), OTHERS, direction=Direction.MAXIMIZE)
    assert not median.decide(up).stop
    up = request(curve_trial(9, [0.0, 0.0, 2.5]), OTHERS, direction=Direction.MAXIMIZE)
    assert median.decide(up).stop


def test_interval() -> None:
    median = MedianStoppingScheduler(warmup_steps=1, min_trials=5, interval=2)
    assert median.needs_history(1, 0) and not median.needs_history(2, 1)
    assert median.needs_history(3, 2)
